//! Set-up shared by the benchmarks: command-line numbers, NL `LOCAL` stock entries, and an
//! account with an approved NL `LOCAL` company profile written straight to the database.

use numberdesk::AppState;
use numberdesk::domain::{ProfileStatus, new_id, now_ms};
use numberdesk::model::ProfileData;
use numberdesk::stock::StockBlock;
use numberdesk::store::{accounts, profiles};

/// `--name N` from the command line, or `default`.
#[allow(dead_code)] // the benches use it; the load driver, which includes this file too, does not
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A stock entry of `count` NL `LOCAL` numbers from `first`, area code 20, Amsterdam.
#[allow(dead_code)] // the benches use it; the load driver, which includes this file too, does not
pub fn nl_local_entry(first: i64, count: i64) -> StockBlock {
    StockBlock {
        first,
        count,
        country_code: "NL".into(),
        phone_number_type: numberdesk::domain::PhoneNumberType::Local,
        area_code: Some("20".into()),
        city: Some("Amsterdam".into()),
        region: None,
    }
}

/// Creates an account and an approved NL `LOCAL` profile; returns (account id, profile id).
pub async fn account_with_profile(state: &AppState) -> anyhow::Result<(String, String)> {
    let acc = accounts::create_account(&state.db, None, "bench", None).await?;
    let data: ProfileData = serde_json::from_value(serde_json::json!({
        "name": "bench", "companyName": "Bench B.V.", "businessRegisterNumber": "1",
        "representativeFirstName": "B", "representativeLastName": "B", "representativePhoneNumber": null,
        "countryCode": "NL", "region": null, "city": "Amsterdam", "postalCode": "1000AA", "street": "S",
        "houseNumber": "1", "emailAddresses": ["ops@example.com"], "numberCountryCode": "NL",
        "phoneNumberTypes": ["LOCAL"], "requiredFields": null
    }))?;
    let profile_id = new_id();
    let mut conn = state.db.write().acquire().await?;
    profiles::insert(
        &mut conn,
        &profile_id,
        &acc.id,
        &data,
        ProfileStatus::Approved,
        None,
        now_ms(),
    )
    .await?;
    Ok((acc.id, profile_id))
}
