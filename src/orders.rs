//! The order lifecycle: create (checks, claim, assign), fulfilment of open requests, cancel,
//! and the operator's accept and reject. Each status change and its event share one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::AppState;
use crate::domain::{PhoneNumberType, ProfileStatus, RequestStatus, is_nanpa, new_id, now_ms};
use crate::idempotency::{self, Answer, Idempotency, IdempotencyError};
use crate::model::{NumberRequest, PhoneNumber, Restrictions};
use crate::store::inventory::{self, Criteria, Unit};
use crate::store::requests::{self, RequestRow};
use crate::store::{Db, Dialect, Retryable, StoreError, Tx, profiles, retrying};

/// A create request whose field shapes are valid (check 1 of the create rules passed).
#[derive(Debug, Clone)]
pub struct CreateInput {
    pub company_profile_id: String,
    pub quantity: i64,
    pub range_size: Option<i64>,
    pub phone_number_type: PhoneNumberType,
    pub area_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub comment: Option<String>,
    pub callback_url: Option<url::Url>,
}

/// Why an order operation did not happen. The web layer gives each its status and code; the
/// texts are the messages a caller reads.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("The number request was not found.")]
    RequestNotFound,
    #[error("The company profile was not found.")]
    ProfileNotFound,
    #[error("The company profile is not approved.")]
    ProfileNotApproved,
    #[error("The company profile may not request {0} numbers.")]
    NumberTypeNotAllowed(&'static str),
    #[error("A LOCAL request needs an areaCode or a city.")]
    AreaCodeOrCityRequired,
    #[error("A LOCAL request in a +1 country needs a region.")]
    RegionRequired,
    #[error("quantity must be between {min} and {max} for {country} {kind}.")]
    QuantityNotAllowed {
        min: i64,
        max: i64,
        country: String,
        kind: &'static str,
    },
    #[error("rangeSize {size} is not allowed for {country} {kind}; allowed: {allowed:?}.")]
    RangeSizeNotAllowed {
        size: i64,
        country: String,
        kind: &'static str,
        allowed: Vec<i64>,
    },
    #[error("Numbers of this type need an areaCode in the region of the company's address.")]
    AreaCodeRequired,
    #[error("The company's address is not in the region of area code {0}.")]
    AddressNotInPrefixRegion(String),
    #[error("The callbackUrl points to a loopback, private or otherwise non-public address.")]
    CallbackUrlNotAllowed,
    /// The request is in a final status.
    #[error("The request is {} and can no longer change.", .0.name())]
    Finalized(RequestStatus),
    #[error("The request is already Accepted.")]
    AlreadyAccepted,
    /// The status changed between the read and the guarded write.
    #[error("The request changed meanwhile; read it again.")]
    ChangedMeanwhile,
    /// Release of a number the account does not hold.
    #[error("The account does not hold this number.")]
    NumberNotHeld,
    /// The account has `NUMBERDESK_MAX_OPEN_REQUESTS` open requests already.
    #[error(
        "The account already has {0} open (Pending or Accepted) requests, the most it may have; wait for some to complete or cancel some."
    )]
    TooManyOpenRequests(i64),
    /// The create writer is gone (the process is stopping).
    #[error("The service is stopping; try again shortly.")]
    Stopping,
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        OrderError::Store(e.into())
    }
}
impl From<anyhow::Error> for OrderError {
    fn from(e: anyhow::Error) -> Self {
        OrderError::Store(e.into())
    }
}
impl From<serde_json::Error> for OrderError {
    fn from(e: serde_json::Error) -> Self {
        OrderError::Store(e.into())
    }
}

impl Retryable for OrderError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            OrderError::Store(e) | OrderError::Idempotency(IdempotencyError::Store(e)) => Some(e),
            _ => None,
        }
    }
}

type OrderResult<T> = Result<T, OrderError>;

const REASON_ASSIGNED: &str = "Numbers assigned from stock";
const REASON_WAIT_STOCK: &str = "Waiting for numbers to become available";
const REASON_WAIT_REVIEW: &str = "Waiting for review by the operator";

fn criteria_of(r: &NumberRequest) -> Criteria {
    Criteria {
        country_code: r.country_code.clone(),
        phone_number_type: r.phone_number_type,
        area_code: r.area_code.clone(),
        city: r.city.clone(),
        region: r.region.clone(),
    }
}

/// What the checks of a create decided: where the numbers come from and who hears of it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub criteria: Criteria,
    pub restrictions: Restrictions,
    pub emails: Vec<String>,
    /// Status mail to confirmed addresses only.
    pub confirm_emails: bool,
}

/// The criteria of a request for a profile's number country.
pub fn criteria(country: &str, input: &CreateInput) -> Criteria {
    Criteria {
        country_code: country.into(),
        phone_number_type: input.phone_number_type,
        area_code: input.area_code.clone(),
        city: input.city.clone(),
        region: input.region.clone(),
    }
}

/// Checks 2–7 of the create rules, in order, each with its own error. Shared by create and
/// availability.
pub async fn plan(state: &AppState, account_id: &str, input: &CreateInput) -> OrderResult<Plan> {
    // 2. The profile.
    let profile = profiles::get(&state.db, Some(account_id), &input.company_profile_id)
        .await?
        .ok_or(OrderError::ProfileNotFound)?;
    if profile.status != ProfileStatus::Approved {
        return Err(OrderError::ProfileNotApproved);
    }
    let kind = input.phone_number_type;
    if !profile.data.phone_number_types.contains(&kind) {
        return Err(OrderError::NumberTypeNotAllowed(kind.as_str()));
    }
    let country = profile.data.number_country_code.clone();
    // 3. and 4. Where the numbers are.
    if kind == PhoneNumberType::Local {
        if input.area_code.is_none() && input.city.is_none() {
            return Err(OrderError::AreaCodeOrCityRequired);
        }
        if is_nanpa(&country) && input.region.is_none() {
            return Err(OrderError::RegionRequired);
        }
    }
    // 5. Restrictions.
    let (restrictions, reqs) = rules(state, &country, kind).await?;
    if input.quantity < restrictions.min_quantity || input.quantity > restrictions.max_quantity {
        return Err(OrderError::QuantityNotAllowed {
            min: restrictions.min_quantity,
            max: restrictions.max_quantity,
            country,
            kind: kind.as_str(),
        });
    }
    if let Some(size) = input.range_size
        && (!restrictions.ranges_supported || !restrictions.allowed_range_sizes.contains(&size))
    {
        return Err(OrderError::RangeSizeNotAllowed {
            size,
            country,
            kind: kind.as_str(),
            allowed: if restrictions.ranges_supported {
                restrictions.allowed_range_sizes.clone()
            } else {
                Vec::new()
            },
        });
    }
    // 6. Requirements.
    if reqs.iter().any(|r| r.code == "ADDRESS_IN_PREFIX_REGION") {
        let Some(area) = &input.area_code else {
            return Err(OrderError::AreaCodeRequired);
        };
        let cities = inventory::area_code_cities(&state.db, &country, area).await?;
        if !cities.contains(&inventory::key(Some(&profile.data.city))) {
            return Err(OrderError::AddressNotInPrefixRegion(area.clone()));
        }
    }
    // 7. The callback target.
    if let Some(url) = &input.callback_url
        && !state.config.allow_private_callbacks
        && crate::callback_target_is_private(url).await
    {
        return Err(OrderError::CallbackUrlNotAllowed);
    }
    Ok(Plan {
        criteria: criteria(&country, input),
        restrictions,
        emails: profile.data.email_addresses,
        confirm_emails: state.config.confirm_emails,
    })
}

/// The restrictions and requirements of a country and type, from the cache when fresh.
async fn rules(
    state: &AppState,
    country: &str,
    kind: PhoneNumberType,
) -> OrderResult<crate::cache::Rules> {
    let key = (country.to_string(), kind.as_str().to_string());
    if let Some(rules) = state.caches.rules.get(&key) {
        return Ok(rules);
    }
    let rules = (
        inventory::restrictions(&state.db, country, kind).await?,
        inventory::requirements(&state.db, country, kind).await?,
    );
    state.caches.rules.put(key, rules.clone());
    Ok(rules)
}

/// Units free now for these criteria: single numbers, or whole aligned blocks of `range_size`.
/// The same stock query as the claim uses.
pub async fn available_units(
    state: &AppState,
    c: &Criteria,
    range_size: Option<i64>,
) -> OrderResult<i64> {
    Ok(inventory::count_units(&state.db, c, range_size).await?)
}

/// Creates a number request: the checks of [`plan`], then the group-commit writer
/// (see [`spawn_create_writer`]) claims stock and stores the request, its ranges, its first
/// status event and the event's outbox rows in one transaction, and answers after the commit.
pub async fn create(
    state: &AppState,
    account_id: &str,
    input: CreateInput,
    idem: Option<Idempotency>,
) -> OrderResult<Answer> {
    if let Some(idem) = &idem
        && let Some(answer) = idempotency::lookup(state, account_id, idem).await?
    {
        return Ok(answer);
    }
    let plan = plan(state, account_id, &input).await?;
    let max_open = state.config.max_open_requests;
    if requests::open_count(&state.db, account_id).await? >= max_open {
        return Err(OrderError::TooManyOpenRequests(max_open));
    }
    let (reply, answer) = oneshot::channel();
    let job = CreateJob {
        work: CreateWork {
            account_id: account_id.into(),
            input,
            idem,
            plan,
        },
        reply,
    };
    state
        .creates
        .send(job)
        .await
        .map_err(|_| OrderError::Stopping)?;
    answer.await.map_err(|_| OrderError::Stopping)?
}

/// A create that passed its checks.
#[derive(Debug, Clone)]
struct CreateWork {
    account_id: String,
    input: CreateInput,
    idem: Option<Idempotency>,
    plan: Plan,
}

/// A create waiting for a writer, with the channel its answer goes back on.
pub struct CreateJob {
    work: CreateWork,
    reply: oneshot::Sender<OrderResult<Answer>>,
}

/// Creates waiting to be written: at most this many share a transaction.
const MAX_BATCH: usize = 128;

/// Starts the group-commit writer and returns the queue it reads. It takes every
/// create waiting (up to [`MAX_BATCH`]), runs them in one transaction with one claim statement
/// per set of criteria and one multi-row insert per table, commits, and only then answers each
/// caller. If the shared transaction fails, each create of the batch is run again on its own, so
/// one bad create (a reused idempotency key, say) cannot fail the others. One writer per
/// process: SQLite has one write lock anyway, and on PostgreSQL four writers were slower than
/// one (concurrent batches claim neighbouring numbers and wait on each other to delete the same
/// `whole_blocks` rows; BENCHMARKS.md).
pub fn spawn_create_writer(
    db: &Db,
    metrics: &crate::metrics::Metrics,
    wake: &Arc<Notify>,
) -> std::io::Result<mpsc::Sender<CreateJob>> {
    let (tx, rx) = mpsc::channel::<CreateJob>(4 * MAX_BATCH);
    let writer = create_writer(rx, db.clone(), metrics.clone(), wake.clone());
    if db.dialect == Dialect::Sqlite {
        let cpu = db.writer_cpu();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("numberdesk-writer".into())
            .spawn(move || {
                if let Some(cpu) = cpu {
                    crate::store::cpu::pin(0, &[cpu]);
                }
                runtime.block_on(writer);
            })?;
    } else {
        tokio::spawn(writer);
    }
    Ok(tx)
}

/// The create writer's loop (see [`spawn_create_writer`]); ends when every sender is gone.
async fn create_writer(
    mut rx: mpsc::Receiver<CreateJob>,
    db: Db,
    metrics: crate::metrics::Metrics,
    wake: Arc<Notify>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            return;
        }
        let (works, replies): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.work, j.reply)).unzip();
        let answers = match create_batch(&db, &works, &metrics).await {
            Ok(answers) => answers.into_iter().map(Ok).collect(),
            Err(_) => {
                let mut one_by_one = Vec::with_capacity(works.len());
                for w in &works {
                    let answer = retrying(|| create_batch(&db, std::slice::from_ref(w), &metrics))
                        .await
                        .map(|mut a| a.remove(0));
                    one_by_one.push(answer);
                }
                one_by_one
            }
        };
        wake.notify_waiters();
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(answer); // the caller may have gone away
        }
    }
}

/// Account, country and number type: what a price depends on.
type PriceKey<'a> = (&'a str, &'a str, PhoneNumberType);

/// One transaction for a batch of creates; answers in the order given.
async fn create_batch(
    db: &Db,
    works: &[CreateWork],
    metrics: &crate::metrics::Metrics,
) -> OrderResult<Vec<Answer>> {
    let mut tx = db.begin().await?;
    let now = now_ms();
    let mut answers: Vec<Option<Answer>> = works.iter().map(|_| None).collect();
    // (index into works, the request as it will be stored)
    let mut reqs: Vec<(usize, NumberRequest)> = Vec::with_capacity(works.len());
    let mut quotes: Vec<(PriceKey, Option<crate::money::Price>)> = Vec::new();
    for (i, w) in works.iter().enumerate() {
        if let Some(answer) =
            idempotency::replay_in_tx(&mut tx, &w.account_id, w.idem.as_ref(), now).await?
        {
            answers[i] = Some(answer);
            continue;
        }
        let mut req = new_request(w, now);
        // Quoted in this transaction: the request keeps the price this create saw. One lookup
        // per account, country and type in the batch: every statement here waits on the writer.
        let key = (
            w.account_id.as_str(),
            w.plan.criteria.country_code.as_str(),
            req.phone_number_type,
        );
        let price = match quotes.iter().find(|(k, _)| *k == key) {
            Some((_, p)) => *p,
            None => {
                let p = crate::store::prices::effective(
                    &mut tx,
                    &w.account_id,
                    &req.country_code,
                    req.phone_number_type.as_str(),
                )
                .await?;
                quotes.push((key, p));
                p
            }
        };
        req.price = price.map(Into::into);
        reqs.push((i, req));
    }
    // Claims: blocks per request (all or nothing, under a savepoint); single numbers with one
    // statement per set of criteria, handed out in arrival order. A request the claim cannot
    // fully serve stays Pending and what was claimed for nobody goes straight back.
    let mut claims: Vec<Option<Vec<Unit>>> = reqs.iter().map(|_| None).collect();
    let mut groups: Vec<(&Criteria, Vec<usize>)> = Vec::new();
    for (k, (i, req)) in reqs.iter().enumerate() {
        let w = &works[*i];
        if w.plan.restrictions.requires_review {
            continue;
        }
        if req.range_size.is_some() {
            claims[k] =
                claim_all(&mut tx, db, &w.plan.criteria, req.range_size, req.quantity).await?;
        } else if let Some(g) = groups.iter_mut().find(|g| *g.0 == w.plan.criteria) {
            g.1.push(k);
        } else {
            groups.push((&w.plan.criteria, vec![k]));
        }
    }
    let mut taken: Vec<Unit> = Vec::new();
    for (c, members) in groups {
        let total: i64 = members.iter().map(|&k| reqs[k].1.quantity).sum();
        let mut got = inventory::claim_singles(&mut tx, db, c, total)
            .await?
            .into_iter()
            .map(Unit::single);
        let mut left = got.len();
        for k in members {
            let q = reqs[k].1.quantity as usize;
            if left >= q {
                let mine: Vec<Unit> = got.by_ref().take(q).collect();
                taken.extend(&mine);
                claims[k] = Some(mine);
                left -= q;
            }
        }
        let unused: Vec<i64> = got.map(|u| u.first).collect();
        inventory::unclaim(&mut tx, &unused).await?;
    }
    inventory::break_blocks(&mut tx, &taken).await?;
    for (k, (_, req)) in reqs.iter_mut().enumerate() {
        if claims[k].is_some() {
            req.set_status(RequestStatus::Completed);
            req.reason = REASON_ASSIGNED.into();
        }
    }
    let rows: Vec<(&NumberRequest, bool)> = reqs
        .iter()
        .map(|(i, r)| (r, works[*i].plan.restrictions.requires_review))
        .collect();
    requests::insert(&mut tx, &rows, now).await?;
    let (granted, grant_list): (Vec<usize>, Vec<requests::Grant>) = reqs
        .iter()
        .enumerate()
        .filter_map(|(k, (_, req))| {
            claims[k].as_ref().map(|units| {
                let grant = requests::Grant {
                    request: req,
                    units,
                };
                (k, grant)
            })
        })
        .unzip();
    let ranges = requests::assign(&mut tx, &grant_list, now).await?;
    for (k, r) in granted.into_iter().zip(ranges) {
        reqs[k].1.ranges = r;
    }
    let bodies = reqs
        .iter()
        .map(|(_, r)| serde_json::to_string(r))
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<requests::EventOf> = reqs
        .iter()
        .zip(&bodies)
        .map(|((i, r), body)| requests::EventOf {
            request: r,
            emails: &works[*i].plan.emails,
            payload: Some(body),
            confirm_emails: works[*i].plan.confirm_emails,
        })
        .collect();
    requests::record_events(&mut tx, &events, now).await?;
    for ((i, _), body) in reqs.iter().zip(&bodies) {
        let w = &works[*i];
        idempotency::remember_created(&mut tx, &w.account_id, w.idem.as_ref(), body, now).await?;
    }
    tx.commit().await?;
    for ((i, r), body) in reqs.into_iter().zip(bodies) {
        metrics.request_created(r.status_id);
        answers[i] = Some(Answer {
            status: idempotency::CREATED,
            body,
            id: r.id,
        });
    }
    Ok(answers
        .into_iter()
        .map(|a| a.expect("every create answered"))
        .collect())
}

/// The request a create stores, Pending until the claim says otherwise.
fn new_request(w: &CreateWork, now: i64) -> NumberRequest {
    let input = &w.input;
    NumberRequest {
        id: new_id(),
        account_id: w.account_id.clone(),
        company_profile_id: input.company_profile_id.clone(),
        country_code: w.plan.criteria.country_code.clone(),
        phone_number_type: input.phone_number_type,
        quantity: input.quantity,
        range_size: input.range_size,
        area_code: input.area_code.clone(),
        city: input.city.clone(),
        region: input.region.clone(),
        comment: input.comment.clone(),
        callback_url: input.callback_url.as_ref().map(|u| u.to_string()),
        status: RequestStatus::Pending,
        status_id: RequestStatus::Pending.id(),
        reason: if w.plan.restrictions.requires_review {
            REASON_WAIT_REVIEW
        } else {
            REASON_WAIT_STOCK
        }
        .into(),
        created_on: crate::domain::format_ms(now),
        updated_on: crate::domain::format_ms(now),
        ranges: requests::empty_ranges(input.quantity, input.range_size),
        price: None,
    }
}

/// Claims `quantity` units (single numbers or aligned blocks) with guarded statements, and
/// forgets the whole blocks they were part of. May return fewer: the caller rolls back.
async fn claim_units(
    tx: &mut Tx,
    db: &Db,
    c: &Criteria,
    range_size: Option<i64>,
    quantity: i64,
) -> Result<Vec<Unit>, sqlx::Error> {
    let claimed = match range_size {
        None => inventory::claim_singles(tx, db, c, quantity)
            .await?
            .into_iter()
            .map(Unit::single)
            .collect(),
        Some(size) => inventory::claim_blocks(tx, db, c, size, quantity).await?,
    };
    if claimed.len() == quantity as usize {
        inventory::break_blocks(tx, &claimed).await?;
    }
    Ok(claimed)
}

/// Claims exactly `quantity` units or none: a short claim is rolled back to a savepoint.
async fn claim_all(
    tx: &mut Tx,
    db: &Db,
    c: &Criteria,
    range_size: Option<i64>,
    quantity: i64,
) -> Result<Option<Vec<Unit>>, sqlx::Error> {
    sqlx::query("SAVEPOINT claim").execute(&mut **tx).await?;
    let claimed = claim_units(tx, db, c, range_size, quantity).await?;
    if claimed.len() == quantity as usize {
        sqlx::query("RELEASE SAVEPOINT claim")
            .execute(&mut **tx)
            .await?;
        Ok(Some(claimed))
    } else {
        sqlx::query("ROLLBACK TO SAVEPOINT claim")
            .execute(&mut **tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT claim")
            .execute(&mut **tx)
            .await?;
        Ok(None)
    }
}

/// Tries to complete one open request from stock, in its own transaction. True when completed.
pub async fn try_fulfil(state: &AppState, row: &RequestRow) -> OrderResult<bool> {
    retrying(|| async {
        let mut tx = state.db.begin().await?;
        let now = now_ms();
        let mut req = row.request.clone();
        let claimed = claim_units(
            &mut tx,
            &state.db,
            &criteria_of(&req),
            req.range_size,
            req.quantity,
        )
        .await?;
        if claimed.len() != req.quantity as usize {
            tx.rollback().await?;
            return Ok(false);
        }
        let open = [RequestStatus::Pending, RequestStatus::Accepted];
        if !requests::set_status(
            &mut tx,
            &req.id,
            &open,
            RequestStatus::Completed,
            REASON_ASSIGNED,
            now,
        )
        .await?
        {
            tx.rollback().await?; // cancelled or completed meanwhile
            return Ok(false);
        }
        let grant = requests::Grant {
            request: &req,
            units: &claimed,
        };
        req.ranges = requests::assign(&mut tx, &[grant], now).await?.remove(0);
        entered(
            state,
            &mut tx,
            &mut req,
            RequestStatus::Completed,
            REASON_ASSIGNED,
            now,
        )
        .await?;
        tx.commit().await?;
        state.outbox_wake.notify_waiters();
        Ok(true)
    })
    .await
}

/// Which open requests a fulfilment pass tries.
#[derive(Debug, Clone, Copy)]
pub enum Fulfil<'a> {
    /// Every open request: at start-up and after aged numbers came back.
    All,
    /// Requests created in the last [`RECENT_MS`]: those whose create may have raced an import
    /// on another connection (on PostgreSQL a create's claim can miss stock committed while
    /// its transaction runs, and commit `Pending` after that import's own pass).
    Recent,
    /// Requests that newly added stock of these locales can serve (after an import).
    Stock(&'a [Criteria]),
}

/// How far back [`Fulfil::Recent`] looks.
pub const RECENT_MS: i64 = 10_000;

/// True when stock of `locale` (its own country, type, area code, city and region) can serve
/// `req`: the same country and type, and every criterion `req` names is the locale's.
fn serves(locale: &Criteria, req: &NumberRequest) -> bool {
    let same = |want: &Option<String>, have: &Option<String>| {
        want.is_none() || inventory::key(want.as_deref()) == inventory::key(have.as_deref())
    };
    locale.country_code == req.country_code
        && locale.phone_number_type == req.phone_number_type
        && (req.area_code.is_none() || req.area_code == locale.area_code)
        && same(&req.city, &locale.city)
        && same(&req.region, &locale.region)
}

/// Fulfils the open requests of `scope` oldest first, each in its own transaction. A request
/// that cannot be met does not hold back younger ones; a read of the free units comes before
/// any write transaction, and criteria already found short for a smaller need are skipped, so
/// requests stock cannot serve cost a read each, and requests outside the scope nothing. Stops
/// early (between requests) when `stop` turns true.
pub async fn fulfil(
    state: &AppState,
    scope: Fulfil<'_>,
    stop: Option<&tokio::sync::watch::Receiver<bool>>,
) -> OrderResult<usize> {
    let _guard = state.fulfil_lock.lock().await;
    let since = crate::domain::id_floor(now_ms() - RECENT_MS);
    let scopes: Vec<(requests::OpenScope, Option<&Criteria>)> = match scope {
        Fulfil::All => vec![(requests::OpenScope::All, None)],
        Fulfil::Recent => vec![(requests::OpenScope::Since(&since), None)],
        Fulfil::Stock(locales) => {
            let mut seen = std::collections::HashSet::new();
            locales
                .iter()
                .filter(|&l| seen.insert(l))
                .map(|l| {
                    let s = requests::OpenScope::Stock {
                        country_code: &l.country_code,
                        phone_number_type: l.phone_number_type.as_str(),
                        area_code: l.area_code.as_deref(),
                    };
                    (s, Some(l))
                })
                .collect()
        }
    };
    // Every request in reach, oldest first across the locales.
    let mut rows: Vec<RequestRow> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (scope, locale) in scopes {
        let mut after = String::new();
        loop {
            let batch = requests::open_for_fulfilment(&state.db, scope, &after, 500).await?;
            let Some(last) = batch.last() else { break };
            after = last.request.id.clone();
            rows.extend(batch.into_iter().filter(|r| {
                locale.is_none_or(|l| serves(l, &r.request)) && ids.insert(r.request.id.clone())
            }));
            if stop.is_some_and(|s| *s.borrow()) {
                return Ok(0);
            }
        }
    }
    rows.sort_by(|a, b| a.request.id.cmp(&b.request.id));
    let mut done = 0;
    let mut short: HashMap<(Criteria, Option<i64>), i64> = HashMap::new();
    for row in &rows {
        if stop.is_some_and(|s| *s.borrow()) {
            break;
        }
        let req = &row.request;
        let c = (criteria_of(req), req.range_size);
        if short.get(&c).is_some_and(|&need| req.quantity >= need) {
            continue;
        }
        let enough = available_units(state, &c.0, c.1).await? >= req.quantity;
        if enough && try_fulfil(state, row).await? {
            done += 1;
            state.metrics.request_created(RequestStatus::Completed.id());
        } else {
            let need = short.entry(c).or_insert(i64::MAX);
            *need = (*need).min(req.quantity);
        }
    }
    Ok(done)
}

/// Gives `req` the status it entered (already written, guarded, in `tx`) and records the
/// status event with one delivery per target, in the same transaction.
async fn entered(
    state: &AppState,
    tx: &mut Tx,
    req: &mut NumberRequest,
    to: RequestStatus,
    reason: &str,
    now: i64,
) -> OrderResult<()> {
    req.set_status(to);
    req.reason = reason.into();
    req.updated_on = crate::domain::format_ms(now);
    let emails = profiles::emails(tx, &req.company_profile_id).await?;
    let event = requests::EventOf {
        request: req,
        emails: &emails,
        payload: None,
        confirm_emails: state.config.confirm_emails,
    };
    requests::record_events(tx, &[event], now).await?;
    Ok(())
}

/// Moves a request out of an open status with its event (cancel, reject, accept).
async fn transition(
    state: &AppState,
    account_id: Option<&str>,
    id: &str,
    to: RequestStatus,
    reason: &str,
) -> OrderResult<NumberRequest> {
    retrying(|| async {
        let mut tx = state.db.begin().await?;
        let now = now_ms();
        let row = requests::load(&mut tx, account_id, id)
            .await?
            .ok_or(OrderError::RequestNotFound)?;
        if row.status.is_final() {
            return Err(OrderError::Finalized(row.status));
        }
        if to == RequestStatus::Accepted && row.status == RequestStatus::Accepted {
            return Err(OrderError::AlreadyAccepted);
        }
        let from = [RequestStatus::Pending, RequestStatus::Accepted];
        if !requests::set_status(&mut tx, id, &from, to, reason, now).await? {
            return Err(OrderError::ChangedMeanwhile);
        }
        let mut req = row.request;
        entered(state, &mut tx, &mut req, to, reason, now).await?;
        tx.commit().await?;
        state.outbox_wake.notify_waiters();
        Ok(req)
    })
    .await
}

pub async fn cancel(
    state: &AppState,
    account_id: &str,
    id: &str,
    reason: Option<String>,
) -> OrderResult<NumberRequest> {
    let reason = reason.unwrap_or_else(|| "Cancelled by the customer".into());
    transition(
        state,
        Some(account_id),
        id,
        RequestStatus::Cancelled,
        &reason,
    )
    .await
}

pub async fn reject(state: &AppState, id: &str, reason: &str) -> OrderResult<NumberRequest> {
    transition(state, None, id, RequestStatus::Rejected, reason).await
}

/// Accepts a pending request, then completes it at once if stock is there.
pub async fn accept(
    state: &AppState,
    id: &str,
    reason: Option<String>,
) -> OrderResult<NumberRequest> {
    let reason = reason.unwrap_or_else(|| "Accepted by the operator".into());
    let accepted = transition(state, None, id, RequestStatus::Accepted, &reason).await?;
    let row = RequestRow {
        request: accepted.clone(),
        requires_review: true,
        status: RequestStatus::Accepted,
    };
    if try_fulfil(state, &row).await? {
        let mut conn = state.db.read().acquire().await?;
        if let Some(done) = requests::load(&mut conn, None, id).await? {
            return Ok(done.request);
        }
    }
    Ok(accepted)
}

/// Releases a number the account holds; it returns to stock after `NUMBERDESK_AGING_SECS`.
pub async fn release(
    state: &AppState,
    account_id: &str,
    phone_number: &str,
) -> OrderResult<PhoneNumber> {
    let aging_ms = state
        .config
        .aging_secs
        .saturating_mul(1000)
        .min(i64::MAX as u64) as i64;
    retrying(|| async {
        let mut tx = state.db.begin().await?;
        let now = now_ms();
        let released = requests::release(
            &mut tx,
            account_id,
            phone_number,
            now,
            now.saturating_add(aging_ms),
        )
        .await?
        .ok_or(OrderError::NumberNotHeld)?;
        tx.commit().await?;
        Ok(released)
    })
    .await
}
