//! E-mail addresses of an account: which are confirmed, the confirmation messages (an outbox of
//! their own) and their link tokens, and the hourly e-mail budget every message is taken from.
//!
//! Addresses are compared by [`address_key`]: `Ann@Example.COM` and `ann@example.com` are one
//! address, and so are an internationalised domain and its ASCII (`xn--`) form.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::{AnyConnection, Row};

use super::accounts::{hash_key, new_api_key};
use super::deliveries::{Outbox, nothing_due, outbox_row};
use super::{Db, StoreError, is_sqlite};
use crate::domain::{format_ms, new_id};
use crate::model::CompanyProfile;

/// How long a confirmation link works.
pub const TOKEN_TTL_MS: i64 = 7 * 86_400_000;

/// An address is sent the confirmation message again at most this often.
pub const RESEND_INTERVAL_MS: i64 = 10 * 60_000;

/// The hourly budget counts the e-mails of this many whole minutes back, plus the current one:
/// a message counts for at least an hour, so no 60-minute span ever holds more than the limit.
const BUDGET_MINUTES: i64 = 60;

/// The form an address is compared in: lower case, its domain in the ASCII form the mailer
/// sends to.
pub fn address_key(address: &str) -> String {
    match crate::text::mail_address(address) {
        Ok(a) => a.to_string().to_lowercase(),
        Err(_) => address.trim().to_lowercase(),
    }
}

/// `$first, $first+1, ...` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which of `keys` the account has a row for (`confirmed_only`: a confirmed one).
async fn known_keys(
    conn: &mut AnyConnection,
    account_id: &str,
    keys: &[String],
    confirmed_only: bool,
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT address_key FROM account_emails WHERE account_id = $1 AND address_key IN ({}){}",
            placeholders(2, chunk.len()),
            if confirmed_only {
                " AND confirmed_ms IS NOT NULL"
            } else {
                ""
            }
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql).bind(account_id);
        for k in chunk {
            q = q.bind(k);
        }
        found.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// The addresses of `addresses` (as given) with their keys, each address once.
fn unique(addresses: &[String]) -> Vec<(&str, String)> {
    let mut seen = HashSet::new();
    addresses
        .iter()
        .filter_map(|a| {
            let k = address_key(a);
            seen.insert(k.clone()).then_some((a.as_str(), k))
        })
        .collect()
}

/// Queues one confirmation message to `address`.
async fn queue(
    conn: &mut AnyConnection,
    account_id: &str,
    address: &str,
    key: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO confirmation_mails (id, account_id, address, address_key, state, next_attempt_ms, created_ms) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
    )
    .bind(new_id())
    .bind(account_id)
    .bind(address)
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the addresses of a profile for its account, in the transaction that stores the
/// profile. Each address the account has not named before gets a row: with `confirm` it is
/// unconfirmed and one confirmation message is queued for it; without, it is confirmed at once.
/// Answers how many messages were queued.
pub async fn register(
    conn: &mut AnyConnection,
    account_id: &str,
    addresses: &[String],
    confirm: bool,
    now: i64,
) -> Result<usize, StoreError> {
    let list = unique(addresses);
    let keys: Vec<String> = list.iter().map(|(_, k)| k.clone()).collect();
    let known = known_keys(conn, account_id, &keys, false).await?;
    let mut queued = 0;
    for (address, key) in list.iter().filter(|(_, k)| !known.contains(k)) {
        // A concurrent transaction may have named the address meanwhile: then it queued the
        // message, and this one does not.
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO account_emails (account_id, address_key, created_ms, confirmed_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, address_key) DO NOTHING RETURNING address_key",
        )
        .bind(account_id)
        .bind(key)
        .bind(now)
        .bind((!confirm).then_some(now))
        .fetch_optional(&mut *conn)
        .await?;
        if inserted.is_some() && confirm {
            queue(conn, account_id, address, key, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Marks `addresses` confirmed for the account (the demo's seed, and addresses that existed
/// before confirmation did).
pub async fn seed_confirmed(
    conn: &mut AnyConnection,
    account_id: &str,
    addresses: &[String],
    now: i64,
) -> Result<(), StoreError> {
    for (_, key) in unique(addresses) {
        sqlx::query(
            "INSERT INTO account_emails (account_id, address_key, created_ms, confirmed_ms) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (account_id, address_key) DO UPDATE SET confirmed_ms = COALESCE(account_emails.confirmed_ms, excluded.confirmed_ms)",
        )
        .bind(account_id)
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Once per database: the addresses profiles held before addresses were confirmed count as
/// confirmed, so an upgrade does not silently stop their mail.
pub async fn adopt_existing(db: &Db) -> Result<(), StoreError> {
    const MARK: &str = "email_addresses_adopted";
    let done: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(MARK)
        .fetch_optional(db.read())
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let rows = sqlx::query("SELECT account_id, body FROM company_profiles")
        .fetch_all(&mut *tx)
        .await?;
    let now = crate::domain::now_ms();
    for r in &rows {
        let account: String = r.try_get("account_id")?;
        let body: String = r.try_get("body")?;
        let Ok(data) = serde_json::from_str::<crate::model::ProfileData>(&body) else {
            continue;
        };
        seed_confirmed(&mut tx, &account, &data.email_addresses, now).await?;
    }
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(MARK)
        .bind(format_ms(now))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Fills in `unconfirmedEmailAddresses` of each profile: its addresses that are not confirmed
/// for its account (none when confirmation is off).
pub async fn annotate(
    conn: &mut AnyConnection,
    profiles: &mut [CompanyProfile],
    confirm: bool,
) -> Result<(), StoreError> {
    for p in profiles.iter_mut() {
        p.unconfirmed_email_addresses.clear();
    }
    if !confirm {
        return Ok(());
    }
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in profiles.iter() {
        by_account
            .entry(p.account_id.clone())
            .or_default()
            .extend(p.data.email_addresses.iter().map(|a| address_key(a)));
    }
    let mut confirmed: HashMap<String, HashSet<String>> = HashMap::new();
    for (account, mut keys) in by_account {
        keys.sort();
        keys.dedup();
        let found = known_keys(conn, &account, &keys, true).await?;
        confirmed.insert(account, found);
    }
    for p in profiles.iter_mut() {
        let ok = confirmed.get(&p.account_id);
        p.unconfirmed_email_addresses = p
            .data
            .email_addresses
            .iter()
            .filter(|a| !ok.is_some_and(|set| set.contains(&address_key(a))))
            .cloned()
            .collect();
    }
    Ok(())
}

/// [`annotate`] on a connection of the read pool.
pub async fn annotate_db(
    db: &Db,
    profiles: &mut [CompanyProfile],
    confirm: bool,
) -> Result<(), StoreError> {
    if !confirm || profiles.is_empty() {
        return annotate_none(profiles);
    }
    let mut conn = db.read().acquire().await?;
    annotate(&mut conn, profiles, confirm).await
}

fn annotate_none(profiles: &mut [CompanyProfile]) -> Result<(), StoreError> {
    for p in profiles.iter_mut() {
        p.unconfirmed_email_addresses.clear();
    }
    Ok(())
}

/// Which of `targets` (account, address) may receive status mail now: confirmed addresses only.
pub async fn confirmed_targets(
    conn: &mut AnyConnection,
    targets: &[(&str, &str)],
) -> Result<HashSet<(String, String)>, StoreError> {
    let mut by_account: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (account, address) in targets {
        by_account
            .entry(account)
            .or_default()
            .push(address_key(address));
    }
    let mut ok = HashSet::new();
    for (account, mut keys) in by_account {
        keys.sort();
        keys.dedup();
        for k in known_keys(conn, account, &keys, true).await? {
            ok.insert((account.to_string(), k));
        }
    }
    Ok(ok)
}

/// What a request to send the confirmation message again did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resent {
    /// Addresses a message was queued for.
    pub sent: Vec<String>,
    /// Addresses sent one less than [`RESEND_INTERVAL_MS`] ago, with the time (ms) from which
    /// another may be sent.
    pub waiting: Vec<(String, i64)>,
}

/// Queues the confirmation message again for each unconfirmed address of `addresses`, unless
/// it was sent again less than [`RESEND_INTERVAL_MS`] ago. Concurrent calls send once.
pub async fn resend(
    conn: &mut AnyConnection,
    account_id: &str,
    addresses: &[String],
    now: i64,
) -> Result<Resent, StoreError> {
    let list = unique(addresses);
    let keys: Vec<String> = list.iter().map(|(_, k)| k.clone()).collect();
    let confirmed = known_keys(conn, account_id, &keys, true).await?;
    let mut out = Resent::default();
    for (address, key) in list.iter().filter(|(_, k)| !confirmed.contains(k)) {
        sqlx::query(
            "INSERT INTO account_emails (account_id, address_key, created_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, address_key) DO NOTHING",
        )
        .bind(account_id)
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let taken = sqlx::query(
            "UPDATE account_emails SET resent_ms = $1 WHERE account_id = $2 AND address_key = $3 \
             AND confirmed_ms IS NULL AND (resent_ms IS NULL OR resent_ms <= $4)",
        )
        .bind(now)
        .bind(account_id)
        .bind(key)
        .bind(now - RESEND_INTERVAL_MS)
        .execute(&mut *conn)
        .await?;
        if taken.rows_affected() == 1 {
            queue(conn, account_id, address, key, now).await?;
            out.sent.push(address.to_string());
        } else {
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT resent_ms FROM account_emails WHERE account_id = $1 AND address_key = $2 AND confirmed_ms IS NULL",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            if let Some(last) = last {
                out.waiting
                    .push((address.to_string(), last + RESEND_INTERVAL_MS));
            }
        }
    }
    Ok(out)
}

/// What a confirmation link is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    /// Usable: the address it confirms.
    Valid { address: String },
    /// Used already (the address is confirmed).
    Used { address: String },
    /// Older than [`TOKEN_TTL_MS`].
    Expired { address: String },
    /// No such token.
    Unknown,
}

/// A token as we make them: 43 characters of URL-safe base64. Anything else is not looked up.
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What `token` is now, without using it.
pub async fn token_state(db: &Db, token: &str, now: i64) -> Result<TokenState, StoreError> {
    if !well_formed(token) {
        return Ok(TokenState::Unknown);
    }
    let row = sqlx::query(
        "SELECT address, expires_ms, used_ms FROM confirmation_tokens WHERE token_hash = $1",
    )
    .bind(hash_key(token))
    .fetch_optional(db.read())
    .await?;
    let Some(r) = row else {
        return Ok(TokenState::Unknown);
    };
    let address: String = r.try_get("address")?;
    let expires: i64 = r.try_get("expires_ms")?;
    let used: Option<i64> = r.try_get("used_ms")?;
    Ok(if used.is_some() {
        TokenState::Used { address }
    } else if expires <= now {
        TokenState::Expired { address }
    } else {
        TokenState::Valid { address }
    })
}

/// Uses `token`: when it is valid, its address is confirmed for its account (every profile of
/// it) and messages still waiting to confirm it are dropped. Answers what the token was.
pub async fn confirm(db: &Db, token: &str, now: i64) -> Result<TokenState, StoreError> {
    if !well_formed(token) {
        return Ok(TokenState::Unknown);
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "UPDATE confirmation_tokens SET used_ms = $1 WHERE token_hash = $2 AND used_ms IS NULL AND expires_ms > $1 \
         RETURNING account_id, address_key, address",
    )
    .bind(now)
    .bind(hash_key(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        tx.rollback().await?;
        return token_state(db, token, now).await;
    };
    let account: String = r.try_get("account_id")?;
    let key: String = r.try_get("address_key")?;
    let address: String = r.try_get("address")?;
    sqlx::query(
        "INSERT INTO account_emails (account_id, address_key, created_ms, confirmed_ms) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (account_id, address_key) DO UPDATE SET confirmed_ms = COALESCE(account_emails.confirmed_ms, excluded.confirmed_ms)",
    )
    .bind(&account)
    .bind(&key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE confirmation_mails SET state = 'cancelled', last_error = 'the address was confirmed meanwhile' \
         WHERE account_id = $1 AND address_key = $2 AND state = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $3)",
    )
    .bind(&account)
    .bind(&key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(TokenState::Valid { address })
}

/// The outcome of taking e-mails from the budgets of their accounts.
#[derive(Debug, Default)]
pub struct Budgeted {
    /// Ids of the messages that may be sent now.
    pub granted: HashSet<String>,
    /// Ids of the messages that wait, with the time (ms) the budget has room again.
    pub deferred: Vec<(String, i64)>,
}

/// Takes one e-mail from its account's hourly budget for each of `items` (account, message id),
/// in order, inside the lease's transaction. Messages past an account's budget are deferred to
/// the time its oldest counted minute leaves the window: their rows in `outbox` lose the lease
/// and wait until then, with a note. `hourly_limit` 0: no budget.
pub async fn take_budget(
    conn: &mut AnyConnection,
    outbox: Outbox,
    items: &[(String, String)],
    hourly_limit: u32,
    now: i64,
) -> Result<Budgeted, StoreError> {
    let mut out = Budgeted::default();
    if hourly_limit == 0 {
        out.granted = items.iter().map(|(_, id)| id.clone()).collect();
        return Ok(out);
    }
    let mut by_account: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (account, id) in items {
        by_account.entry(account).or_default().push(id);
    }
    let minute = now.div_euclid(60_000);
    let oldest_counted = minute - BUDGET_MINUTES;
    let postgres = !is_sqlite(conn);
    // Accounts in a fixed order, so two instances leasing at once never wait on each other in
    // a cycle.
    for (account, ids) in by_account {
        if postgres {
            // Instances leasing at once take turns per account, so neither counts what the
            // other is about to send.
            sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE")
                .bind(account)
                .fetch_optional(&mut *conn)
                .await?;
        }
        sqlx::query("DELETE FROM email_budget WHERE account_id = $1 AND minute < $2")
            .bind(account)
            .bind(oldest_counted)
            .execute(&mut *conn)
            .await?;
        let rows = sqlx::query(
            "SELECT minute, sent FROM email_budget WHERE account_id = $1 ORDER BY minute",
        )
        .bind(account)
        .fetch_all(&mut *conn)
        .await?;
        let mut used = 0i64;
        let mut first: Option<i64> = None;
        for r in &rows {
            let m: i64 = r.try_get("minute")?;
            let n: i64 = r.try_get("sent")?;
            if n > 0 {
                first.get_or_insert(m);
            }
            used += n;
        }
        let room = (i64::from(hourly_limit) - used).max(0);
        let granted = room.min(ids.len() as i64);
        if granted > 0 {
            sqlx::query(
                "INSERT INTO email_budget (account_id, minute, sent) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, minute) DO UPDATE SET sent = email_budget.sent + excluded.sent",
            )
            .bind(account)
            .bind(minute)
            .bind(granted)
            .execute(&mut *conn)
            .await?;
            first.get_or_insert(minute);
        }
        let free_at = (first.unwrap_or(minute) + BUDGET_MINUTES + 1) * 60_000;
        for (k, id) in ids.into_iter().enumerate() {
            if (k as i64) < granted {
                out.granted.insert(id.to_string());
            } else {
                out.deferred.push((id.to_string(), free_at));
            }
        }
    }
    let defer = format!(
        "UPDATE {} SET lease_until_ms = NULL, next_attempt_ms = $1, last_error = $2 WHERE id = $3",
        outbox.table()
    );
    for (id, free_at) in &out.deferred {
        sqlx::query(&defer)
            .bind(free_at)
            .bind(budget_note(hourly_limit, *free_at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(out)
}

/// The `lastError` of a message that waits for its account's budget.
fn budget_note(hourly_limit: u32, free_at: i64) -> String {
    format!(
        "waiting: the account's e-mail budget ({hourly_limit} per hour) is used up; next try at {}",
        format_ms(free_at)
    )
}

/// A leased confirmation message, with the token its link carries.
#[derive(Debug, Clone)]
pub struct ConfirmationMail {
    pub id: String,
    pub account_id: String,
    /// The account's name (set by the operator), to tell the reader who asks.
    pub account_name: String,
    pub address: String,
    /// The link's token (only its hash is stored).
    pub token: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub lease_until_ms: i64,
}

/// Leases up to `limit` due confirmation messages until `lease_until_ms`, in one transaction:
/// those whose address was confirmed meanwhile are dropped, those past their account's budget
/// wait, and each of the others gets a new token (valid [`TOKEN_TTL_MS`]). Answers the
/// messages to send and how many were put off.
pub async fn lease_confirmations(
    db: &Db,
    now: i64,
    lease_until_ms: i64,
    limit: i64,
    hourly_limit: u32,
) -> Result<(Vec<ConfirmationMail>, usize), StoreError> {
    if nothing_due(db, Outbox::ConfirmationMails, None, now)? {
        return Ok((Vec::new(), 0));
    }
    let mut tx = db.begin().await?;
    let sql = format!(
        "WITH due AS MATERIALIZED (\
           SELECT id FROM confirmation_mails WHERE state = 'pending' AND next_attempt_ms <= $2 \
           AND (lease_until_ms IS NULL OR lease_until_ms < $2) ORDER BY next_attempt_ms, id LIMIT $3{lock}) \
         UPDATE confirmation_mails SET lease_until_ms = $1 WHERE id IN (SELECT id FROM due) \
         RETURNING id, account_id, address, address_key, attempts, \
           (SELECT a.name FROM accounts a WHERE a.id = confirmation_mails.account_id) AS account_name, \
           (SELECT e.confirmed_ms FROM account_emails e WHERE e.account_id = confirmation_mails.account_id \
              AND e.address_key = confirmation_mails.address_key) AS confirmed_ms",
        lock = db.skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(lease_until_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    let mut mails = Vec::new();
    let mut keys = HashMap::new();
    let mut done_already = Vec::new();
    for r in &rows {
        let id: String = r.try_get("id")?;
        if r.try_get::<Option<i64>, _>("confirmed_ms")?.is_some() {
            done_already.push(id);
            continue;
        }
        keys.insert(id.clone(), r.try_get::<String, _>("address_key")?);
        mails.push(ConfirmationMail {
            id,
            account_id: r.try_get("account_id")?,
            account_name: r
                .try_get::<Option<String>, _>("account_name")?
                .unwrap_or_default(),
            address: r.try_get("address")?,
            token: String::new(),
            attempts: r.try_get("attempts")?,
            lease_until_ms,
        });
    }
    for id in &done_already {
        sqlx::query(
            "UPDATE confirmation_mails SET state = 'cancelled', lease_until_ms = NULL, last_error = 'the address was confirmed meanwhile' WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let items: Vec<(String, String)> = mails
        .iter()
        .map(|m| (m.account_id.clone(), m.id.clone()))
        .collect();
    let budget = take_budget(
        &mut tx,
        Outbox::ConfirmationMails,
        &items,
        hourly_limit,
        now,
    )
    .await?;
    mails.retain(|m| budget.granted.contains(&m.id));
    for m in &mut mails {
        m.token = new_api_key();
        sqlx::query(
            "INSERT INTO confirmation_tokens (token_hash, account_id, address_key, address, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash_key(&m.token))
        .bind(&m.account_id)
        .bind(keys.get(&m.id).cloned().unwrap_or_default())
        .bind(&m.address)
        .bind(now)
        .bind(now + TOKEN_TTL_MS)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((mails, budget.deferred.len()))
}

outbox_row!(ConfirmationMail, Outbox::ConfirmationMails);

/// Deletes tokens that expired more than a day ago (their links only ever say "expired" for a
/// day after).
pub async fn purge_tokens(db: &Db, now: i64) -> Result<u64, StoreError> {
    let r = sqlx::query("DELETE FROM confirmation_tokens WHERE expires_ms < $1")
        .bind(now - 86_400_000)
        .execute(db.write())
        .await?;
    Ok(r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_the_form_of_the_domain() {
        assert_eq!(address_key("Ann@Example.COM"), "ann@example.com");
        assert_eq!(
            address_key("ann@bücher.de"),
            address_key("ann@xn--bcher-kva.de")
        );
        assert_ne!(
            address_key("ann@example.com"),
            address_key("bob@example.com")
        );
    }

    #[test]
    fn only_tokens_of_our_shape_are_looked_up() {
        assert!(well_formed(&new_api_key()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&format!("{}%", "a".repeat(42))));
    }
}
