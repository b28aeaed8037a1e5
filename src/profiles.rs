//! Company profiles: validation of what a customer sends, creation, updates that never undo a
//! concurrent change, and the operator's review. Each change is one statement guarded by the
//! profile's version.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::AppState;
use crate::domain::{
    FieldError, PhoneNumberType, ProfileStatus, describe, e164_value, is_country_code, is_e164,
    new_id, now_ms,
};
use crate::idempotency::{self, Answer, Idempotency, IdempotencyError};
use crate::model::{CompanyProfile, ProfileData};
use crate::rules;
use crate::store::{Retryable, StoreError, emails, profiles, retrying};

/// Why a profile operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("The company profile was not found.")]
    NotFound,
    /// Fields that are not valid; nothing changed.
    #[error("The profile is not valid: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// The caller based its change on another version than the profile is at now.
    #[error("The profile is at version {current}, not the one this change was based on.")]
    VersionMismatch { current: i64 },
    /// Concurrent changes kept winning the race; nothing changed.
    #[error("The profile changed meanwhile; try again.")]
    Contended,
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ProfileError {
    fn from(e: sqlx::Error) -> Self {
        ProfileError::Store(e.into())
    }
}

impl From<serde_json::Error> for ProfileError {
    fn from(e: serde_json::Error) -> Self {
        ProfileError::Store(e.into())
    }
}

impl Retryable for ProfileError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            ProfileError::Store(e) | ProfileError::Idempotency(IdempotencyError::Store(e)) => {
                Some(e)
            }
            _ => None,
        }
    }
}

type ProfileResult<T> = Result<T, ProfileError>;

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// A company profile as sent to create one: the fields marked required must be there.
// Every field is optional in Rust, so the same shape serves create (where required fields must
// be present) and the partial update (absent = unchanged, null = clear), documented as
// `ProfileUpdate`. Each field's schema is the rule of `crate::rules` that `check` applies.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub business_register_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub representative_first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub representative_last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::nullable_e164_schema)]
    pub representative_phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::country_code_schema, required = true)]
    pub country_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::nullable_profile_text_schema)]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::profile_text_schema, required = true)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::postal_code_schema, required = true)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::street_schema, required = true)]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::house_number_schema, required = true)]
    pub house_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::email_addresses_schema, required = true)]
    pub email_addresses: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::country_code_schema, required = true)]
    pub number_country_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::phone_number_types_schema, required = true)]
    pub phone_number_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = crate::rules::required_fields_schema)]
    pub required_fields: Option<Option<BTreeMap<String, String>>>,
}

/// The body of a profile update in the document: [`ProfileInput`] with nothing required (an
/// absent field is unchanged).
pub struct ProfileUpdate;

impl utoipa::PartialSchema for ProfileUpdate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut schema = <ProfileInput as utoipa::PartialSchema>::schema();
        if let utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(o)) = &mut schema {
            o.required.clear();
            o.description = Some(
                "The fields to change: an absent field is unchanged, null clears a nullable one"
                    .into(),
            );
        }
        schema
    }
}

impl utoipa::ToSchema for ProfileUpdate {}

/// Checks a whole profile against the field limits of a company profile.
fn check(d: &ProfileData) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut text = |field: &str, v: &str, rule: rules::Text| {
        if let Some(problem) = rule.problem(v) {
            errors.push(FieldError::new(field, problem));
        }
    };
    text("name", &d.name, rules::PROFILE_TEXT);
    text("companyName", &d.company_name, rules::PROFILE_TEXT);
    text(
        "businessRegisterNumber",
        &d.business_register_number,
        rules::PROFILE_TEXT,
    );
    text(
        "representativeFirstName",
        &d.representative_first_name,
        rules::PROFILE_TEXT,
    );
    text(
        "representativeLastName",
        &d.representative_last_name,
        rules::PROFILE_TEXT,
    );
    text("city", &d.city, rules::PROFILE_TEXT);
    text("postalCode", &d.postal_code, rules::POSTAL_CODE);
    text("street", &d.street, rules::STREET);
    text("houseNumber", &d.house_number, rules::HOUSE_NUMBER);
    if let Some(r) = &d.region {
        text("region", r, rules::PROFILE_TEXT);
    }
    if let Some(p) = &d.representative_phone_number
        && !(is_e164(p) && e164_value(p).is_some_and(crate::phone::is_valid_number))
    {
        errors.push(FieldError::new(
            "representativePhoneNumber",
            "must be a valid number in E.164, e.g. +31201234567",
        ));
    }
    if !is_country_code(&d.country_code) {
        errors.push(FieldError::new(
            "countryCode",
            "must be an ISO 3166-1 alpha-2 code, e.g. NL",
        ));
    }
    if !is_country_code(&d.number_country_code) {
        errors.push(FieldError::new(
            "numberCountryCode",
            "must be an ISO 3166-1 alpha-2 code, e.g. NL",
        ));
    }
    if !rules::EMAIL_COUNT.contains(d.email_addresses.len() as i64) {
        errors.push(FieldError::new(
            "emailAddresses",
            "must list 1 to 10 addresses",
        ));
    }
    for (i, e) in d.email_addresses.iter().enumerate() {
        if let Err(why) = crate::text::mail_address(e) {
            errors.push(FieldError::new(
                format!("emailAddresses[{i}]"),
                format!("is not a valid e-mail address: {why}"),
            ));
        }
    }
    if let Some(rf) = &d.required_fields
        && (rf.len() > rules::REQUIRED_FIELDS_MAX
            || rf.iter().any(|(k, v)| {
                k.chars().count() > rules::REQUIRED_FIELD_KEY_MAX
                    || v.chars().count() > rules::REQUIRED_FIELD_VALUE_MAX
            }))
    {
        errors.push(FieldError::new(
            "requiredFields",
            "at most 50 entries, keys ≤ 100 and values ≤ 1000 characters",
        ));
    }
    errors
}

impl ProfileInput {
    /// Applies the input to `base` (absent = keep); an explicit `null` on a required field fails.
    pub fn apply(&self, base: ProfileData) -> Result<ProfileData, Vec<FieldError>> {
        let this = self.clone();
        this.apply_owned(base)
    }

    fn apply_owned(self, base: ProfileData) -> Result<ProfileData, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut req = |field: &str, v: Option<Option<String>>, cur: String| match v {
            None => cur,
            Some(Some(s)) => s,
            Some(None) => {
                errors.push(FieldError::new(field, "is required"));
                cur
            }
        };
        let name = req("name", self.name, base.name);
        let company_name = req("companyName", self.company_name, base.company_name);
        let brn = req(
            "businessRegisterNumber",
            self.business_register_number,
            base.business_register_number,
        );
        let first = req(
            "representativeFirstName",
            self.representative_first_name,
            base.representative_first_name,
        );
        let last = req(
            "representativeLastName",
            self.representative_last_name,
            base.representative_last_name,
        );
        let country = req("countryCode", self.country_code, base.country_code);
        let city = req("city", self.city, base.city);
        let postal = req("postalCode", self.postal_code, base.postal_code);
        let street = req("street", self.street, base.street);
        let house = req("houseNumber", self.house_number, base.house_number);
        let number_country = req(
            "numberCountryCode",
            self.number_country_code,
            base.number_country_code,
        );
        let emails = match self.email_addresses {
            None => base.email_addresses,
            Some(Some(v)) => v,
            Some(None) => {
                errors.push(FieldError::new("emailAddresses", "is required"));
                Vec::new()
            }
        };
        let types = match self.phone_number_types {
            None => base.phone_number_types,
            Some(Some(v)) => number_types(&v, &mut errors),
            Some(None) => {
                errors.push(FieldError::new("phoneNumberTypes", "is required"));
                Vec::new()
            }
        };
        let data = ProfileData {
            name,
            company_name,
            business_register_number: brn,
            representative_first_name: first,
            representative_last_name: last,
            representative_phone_number: self
                .representative_phone_number
                .unwrap_or(base.representative_phone_number),
            country_code: country,
            region: self.region.unwrap_or(base.region),
            city,
            postal_code: postal,
            street,
            house_number: house,
            email_addresses: emails,
            number_country_code: number_country,
            phone_number_types: types,
            required_fields: self.required_fields.unwrap_or(base.required_fields),
        };
        for e in check(&data) {
            if !errors.iter().any(|x: &FieldError| x.field == e.field) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(data)
        } else {
            Err(errors)
        }
    }
}

fn empty_profile() -> ProfileData {
    ProfileData {
        name: String::new(),
        company_name: String::new(),
        business_register_number: String::new(),
        representative_first_name: String::new(),
        representative_last_name: String::new(),
        representative_phone_number: None,
        country_code: String::new(),
        region: None,
        city: String::new(),
        postal_code: String::new(),
        street: String::new(),
        house_number: String::new(),
        email_addresses: Vec::new(),
        number_country_code: String::new(),
        phone_number_types: Vec::new(),
        required_fields: None,
    }
}

/// Validates a complete new profile.
pub fn new_profile(input: ProfileInput) -> Result<ProfileData, Vec<FieldError>> {
    input.apply_owned(empty_profile())
}

/// The requested phone number types, each once, in the order given.
fn number_types(given: &[String], errors: &mut Vec<FieldError>) -> Vec<PhoneNumberType> {
    let mut types = Vec::new();
    for t in given {
        match PhoneNumberType::parse(t) {
            Some(t) if !types.contains(&t) => types.push(t),
            Some(_) => {}
            None => {
                errors.push(FieldError::new(
                    "phoneNumberTypes",
                    "each must be LOCAL, NATIONAL or TOLLFREE",
                ));
                return Vec::new();
            }
        }
    }
    if types.is_empty() {
        errors.push(FieldError::new(
            "phoneNumberTypes",
            "must list at least one type",
        ));
    }
    types
}

/// True when going from `old` to `new` needs a new review: any change but to `name` and
/// `emailAddresses`.
pub fn needs_review(old: &ProfileData, new: &ProfileData) -> bool {
    let (mut a, mut b) = (old.clone(), new.clone());
    a.name.clear();
    b.name.clear();
    a.email_addresses.clear();
    b.email_addresses.clear();
    a != b
}

/// Creates a profile (PendingApproval, or Approved when the operator enabled auto-approval),
/// storing the answer under the idempotency key in the same transaction.
pub async fn create(
    state: &AppState,
    account_id: &str,
    input: ProfileInput,
    idem: Option<Idempotency>,
) -> ProfileResult<Answer> {
    if let Some(idem) = &idem
        && let Some(answer) = idempotency::lookup(state, account_id, idem).await?
    {
        return Ok(answer);
    }
    let data = new_profile(input).map_err(ProfileError::Invalid)?;
    let (status, reason) = if state.config.auto_approve_profiles {
        (ProfileStatus::Approved, Some("Approved automatically"))
    } else {
        (ProfileStatus::PendingApproval, None)
    };
    retrying(|| async {
        let mut tx = state.db.begin().await?;
        let now = now_ms();
        if let Some(answer) =
            idempotency::replay_in_tx(&mut tx, account_id, idem.as_ref(), now).await?
        {
            return Ok(answer);
        }
        let mut profile =
            profiles::insert(&mut tx, &new_id(), account_id, &data, status, reason, now).await?;
        let confirm = state.config.confirm_emails;
        let queued =
            emails::register(&mut tx, account_id, &data.email_addresses, confirm, now).await?;
        emails::annotate(&mut tx, std::slice::from_mut(&mut profile), confirm).await?;
        let body = serde_json::to_string(&profile)?;
        idempotency::remember_created(&mut tx, account_id, idem.as_ref(), &body, now).await?;
        tx.commit().await?;
        if queued > 0 {
            state.outbox_wake.notify_waiters();
        }
        Ok(Answer {
            status: idempotency::CREATED,
            body,
            id: profile.id,
        })
    })
    .await
}

/// How often an update without a version is tried again when another change won the race.
const UPDATE_ATTEMPTS: u32 = 50;

/// Applies `patch` to the profile as it is now. With `expected`, only if the profile is at that
/// version (checked before the patch is validated); without, a concurrent change is read again
/// and the patch applied on top of it, so neither undoes the other.
pub async fn update(
    state: &AppState,
    account_id: &str,
    id: &str,
    expected: Option<i64>,
    patch: &ProfileInput,
) -> ProfileResult<CompanyProfile> {
    for attempt in 0..UPDATE_ATTEMPTS {
        let current = profiles::get(&state.db, Some(account_id), id)
            .await?
            .ok_or(ProfileError::NotFound)?;
        if let Some(v) = expected
            && v != current.version
        {
            return Err(ProfileError::VersionMismatch {
                current: current.version,
            });
        }
        let data = patch
            .apply(current.data.clone())
            .map_err(ProfileError::Invalid)?;
        if data == current.data {
            let mut current = current;
            emails::annotate_db(
                &state.db,
                std::slice::from_mut(&mut current),
                state.config.confirm_emails,
            )
            .await?;
            return Ok(current);
        }
        let (status, reason) = if needs_review(&current.data, &data)
            && current.status != ProfileStatus::PendingApproval
        {
            (
                ProfileStatus::PendingApproval,
                Some("Changed; waiting for approval again".to_string()),
            )
        } else {
            (current.status, current.status_reason.clone())
        };
        let new_addresses = data.email_addresses != current.data.email_addresses;
        let written = write_update(
            state,
            account_id,
            id,
            &data,
            (status, reason.as_deref()),
            current.version,
            new_addresses,
        )
        .await;
        match written {
            Ok(Some(mut p)) => {
                emails::annotate_db(
                    &state.db,
                    std::slice::from_mut(&mut p),
                    state.config.confirm_emails,
                )
                .await?;
                return Ok(p);
            }
            Ok(None) if expected.is_some() => {
                let current = profiles::version(&state.db, Some(account_id), id).await?;
                return Err(current.map_or(ProfileError::NotFound, |current| {
                    ProfileError::VersionMismatch { current }
                }));
            }
            Ok(None) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(e.into()),
        }
        // Another change won; let it finish before reading again.
        tokio::time::sleep(std::time::Duration::from_millis(1 + u64::from(attempt % 8))).await;
    }
    Err(ProfileError::Contended)
}

/// Writes an update guarded by `version`, and records addresses new to the account (queueing
/// their confirmation messages) in the same transaction. None when the profile changed meanwhile.
async fn write_update(
    state: &AppState,
    account_id: &str,
    id: &str,
    data: &crate::model::ProfileData,
    (status, reason): (ProfileStatus, Option<&str>),
    version: i64,
    new_addresses: bool,
) -> Result<Option<CompanyProfile>, StoreError> {
    let mut tx = state.db.begin().await?;
    let now = now_ms();
    let Some(p) = profiles::update(&mut tx, id, data, status, reason, version, now).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let mut queued = 0;
    if new_addresses {
        let confirm = state.config.confirm_emails;
        queued = emails::register(&mut tx, account_id, &data.email_addresses, confirm, now).await?;
    }
    tx.commit().await?;
    if queued > 0 {
        state.outbox_wake.notify_waiters();
    }
    Ok(Some(p))
}

/// One profile of the account, with its unconfirmed addresses.
pub async fn get(state: &AppState, account_id: &str, id: &str) -> ProfileResult<CompanyProfile> {
    let mut p = profiles::get(&state.db, Some(account_id), id)
        .await?
        .ok_or(ProfileError::NotFound)?;
    emails::annotate_db(
        &state.db,
        std::slice::from_mut(&mut p),
        state.config.confirm_emails,
    )
    .await?;
    Ok(p)
}

/// A page of the account's profiles, newest first, with their unconfirmed addresses; and the
/// total.
pub async fn list(
    state: &AppState,
    account_id: &str,
    skip: i64,
    take: i64,
) -> ProfileResult<(Vec<CompanyProfile>, i64)> {
    let (mut items, total) = profiles::list(&state.db, account_id, skip, take).await?;
    emails::annotate_db(&state.db, &mut items, state.config.confirm_emails).await?;
    Ok((items, total))
}

/// Sends the confirmation message again to the profile's unconfirmed addresses, each at most
/// once per [`emails::RESEND_INTERVAL_MS`]. Nothing to send (all confirmed, or confirmation
/// off) is no error.
pub async fn resend_confirmations(
    state: &AppState,
    account_id: &str,
    id: &str,
) -> ProfileResult<emails::Resent> {
    let profile = profiles::get(&state.db, Some(account_id), id)
        .await?
        .ok_or(ProfileError::NotFound)?;
    if !state.config.confirm_emails {
        return Ok(emails::Resent::default());
    }
    let resent = retrying(|| async {
        let mut tx = state.db.begin().await?;
        let r =
            emails::resend(&mut tx, account_id, &profile.data.email_addresses, now_ms()).await?;
        tx.commit().await?;
        Ok::<_, ProfileError>(r)
    })
    .await?;
    if !resent.sent.is_empty() {
        state.outbox_wake.notify_waiters();
    }
    Ok(resent)
}

/// The operator's decision on a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Approves or rejects a profile: writes the status and its reason only, never the data. With
/// `expected`, only if the profile is at that version (checked before the reason is validated).
/// A rejection needs a reason.
pub async fn review(
    state: &AppState,
    id: &str,
    expected: Option<i64>,
    decision: Decision,
    reason: Result<Option<String>, FieldError>,
) -> ProfileResult<CompanyProfile> {
    if let Some(v) = expected {
        match profiles::version(&state.db, None, id).await? {
            None => return Err(ProfileError::NotFound),
            Some(current) if current != v => {
                return Err(ProfileError::VersionMismatch { current });
            }
            Some(_) => {}
        }
    }
    let reason = reason.map_err(|e| ProfileError::Invalid(vec![e]))?;
    let (status, reason) = match (decision, reason) {
        (Decision::Approve, r) => (
            ProfileStatus::Approved,
            r.unwrap_or_else(|| "Approved by the operator".into()),
        ),
        (Decision::Reject, Some(r)) => (ProfileStatus::Rejected, r),
        (Decision::Reject, None) => {
            return Err(ProfileError::Invalid(vec![FieldError::new(
                "reason",
                "is required",
            )]));
        }
    };
    let changed =
        retrying(|| profiles::set_status(&state.db, id, status, Some(&reason), expected, now_ms()))
            .await?;
    match changed {
        Some(mut p) => {
            emails::annotate_db(
                &state.db,
                std::slice::from_mut(&mut p),
                state.config.confirm_emails,
            )
            .await?;
            Ok(p)
        }
        None => match profiles::version(&state.db, None, id).await? {
            None => Err(ProfileError::NotFound),
            Some(current) => Err(ProfileError::VersionMismatch { current }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> ProfileInput {
        serde_json::from_value(v).expect("a well-typed profile body")
    }

    fn full() -> serde_json::Value {
        serde_json::json!({
            "name": "Acme NL", "companyName": "Acme B.V.", "businessRegisterNumber": "12345678",
            "representativeFirstName": "Ann", "representativeLastName": "Smit",
            "representativePhoneNumber": "+31201234567", "countryCode": "NL", "city": "Amsterdam",
            "postalCode": "1011 AB", "street": "Damrak", "houseNumber": "1",
            "emailAddresses": ["ops@example.com"], "numberCountryCode": "NL",
            "phoneNumberTypes": ["LOCAL", "TOLLFREE", "LOCAL"]
        })
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_complete_profile_is_valid_and_its_types_are_listed_once() {
        let p = new_profile(input(full())).unwrap();
        assert_eq!(
            p.phone_number_types,
            vec![PhoneNumberType::Local, PhoneNumberType::Tollfree]
        );
        assert_eq!(p.region, None);
    }

    #[test]
    fn missing_blank_long_and_malformed_fields_are_each_named_once() {
        let mut v = full();
        let o = v.as_object_mut().unwrap();
        o.remove("companyName");
        o.insert("street".into(), "   ".into());
        o.insert("postalCode".into(), "1".repeat(13).into());
        o.insert("representativePhoneNumber".into(), "0201234567".into());
        o.insert("countryCode".into(), "nl".into());
        o.insert("emailAddresses".into(), serde_json::json!([]));
        o.insert("phoneNumberTypes".into(), serde_json::json!(["MOBILE"]));
        let errors = new_profile(input(v)).unwrap_err();
        let mut got = fields(&errors);
        got.sort();
        assert_eq!(
            got,
            [
                "companyName",
                "countryCode",
                "emailAddresses",
                "phoneNumberTypes",
                "postalCode",
                "representativePhoneNumber",
                "street"
            ]
        );
    }

    #[test]
    fn an_update_keeps_absent_fields_clears_optional_nulls_and_refuses_required_nulls() {
        let base = new_profile(input(full())).unwrap();
        let p = input(serde_json::json!({"city": "Utrecht", "representativePhoneNumber": null}))
            .apply(base.clone())
            .unwrap();
        assert_eq!(p.city, "Utrecht");
        assert_eq!(p.representative_phone_number, None);
        assert_eq!(p.company_name, base.company_name);
        let errors = input(serde_json::json!({"city": null, "phoneNumberTypes": null}))
            .apply(base)
            .unwrap_err();
        assert_eq!(fields(&errors), ["city", "phoneNumberTypes"]);
    }

    #[test]
    fn only_name_and_email_changes_skip_review() {
        let base = new_profile(input(full())).unwrap();
        let renamed =
            input(serde_json::json!({"name": "Other", "emailAddresses": ["b@example.com"]}))
                .apply(base.clone())
                .unwrap();
        assert!(!needs_review(&base, &renamed));
        let moved = input(serde_json::json!({"street": "Rokin"}))
            .apply(base.clone())
            .unwrap();
        assert!(needs_review(&base, &moved));
        let typed = input(serde_json::json!({"phoneNumberTypes": ["NATIONAL"]}))
            .apply(base.clone())
            .unwrap();
        assert!(needs_review(&base, &typed));
    }
}
