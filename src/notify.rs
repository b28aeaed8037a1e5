//! Delivery of status events from the outbox: signed callbacks (Standard Webhooks) and e-mail
//! (SMTP, or `.eml` files without SMTP). Workers lease due deliveries, send without holding a
//! transaction, record the attempt, and schedule the next one or finish.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::Rng;
use sha2::Sha256;
use tokio::sync::watch;

use crate::AppState;
use crate::domain::{Channel, RequestStatus, now_ms};
use crate::model::NumberRequest;
use crate::netpolicy::is_non_public_ip;
use crate::store::accounts;
use crate::store::deliveries::{self, Leased, Outcome};
use crate::store::emails;

/// Response bodies are read up to this many bytes (for the error text), the rest is dropped.
const BODY_CAP: usize = 1024;

enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// With a gate: files created in one folder by many threads at once make the kernel spin
    /// on the folder's lock (most of the CPU under load, measured with perf), so two at a time.
    Files(std::path::PathBuf, tokio::sync::Semaphore),
}

/// Senders shared by the delivery workers.
pub struct Notifier {
    http: reqwest::Client,
    mailer: Mailer,
    from: Mailbox,
    schedule: Vec<u64>,
    timeout: Duration,
    allow_private: bool,
    /// Where confirmation links point: `NUMBERDESK_PUBLIC_URL`, else `http://` + the bound
    /// listen address; without a trailing slash.
    link_base: String,
    /// `NUMBERDESK_EMAIL_HOURLY_LIMIT` (0: none).
    hourly_limit: u32,
}

/// Resolves callback hosts and drops non-public addresses, so that a name which resolves to a
/// private address is refused at connect time too (no DNS-rebinding window after the check).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| !is_non_public_ip(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(
                    "refused: the callback host resolves only to non-public addresses".into(),
                );
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Notifier {
    /// The senders for `config`; `listening` is the bound address, the base of confirmation
    /// links when no public URL is configured.
    pub fn new(config: &crate::config::Config, listening: SocketAddr) -> anyhow::Result<Notifier> {
        let timeout = Duration::from_secs(config.webhook_timeout_secs);
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .pool_max_idle_per_host(32)
            .user_agent(concat!("numberdesk/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_callbacks {
            http = http.dns_resolver(Arc::new(PublicOnly));
        }
        let mailer = match &config.smtp_url {
            Some(url) => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                    .timeout(Some(timeout))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.mail_dir)?;
                Mailer::Files(config.mail_dir.clone(), tokio::sync::Semaphore::new(2))
            }
        };
        Ok(Notifier {
            http: http.build()?,
            mailer,
            from: config.mail_from.parse()?,
            schedule: config.webhook_retry_schedule.clone(),
            timeout,
            allow_private: config.allow_private_callbacks,
            link_base: match &config.public_url {
                Some(u) => u.trim_end_matches('/').to_string(),
                None => format!("http://{listening}"),
            },
            hourly_limit: config.email_hourly_limit,
        })
    }

    /// The link of a confirmation message.
    pub fn confirmation_link(&self, token: &str) -> String {
        format!("{}/confirm-email/{token}", self.link_base)
    }

    /// The outcome of a failed attempt: retry on the schedule (with up to 10 % jitter, or later
    /// if the receiver asked with `Retry-After`), or give up after the last entry.
    fn after_failure(&self, d: &Leased, error: String, retry_after: Option<u64>) -> Outcome {
        self.after_failed_attempt(d.scheduled_attempts, error, retry_after)
    }

    /// [`Self::after_failure`] for a message with `before` attempts before this one.
    fn after_failed_attempt(
        &self,
        before: i64,
        error: String,
        retry_after: Option<u64>,
    ) -> Outcome {
        let k = before.max(0) as usize;
        match self.schedule.get(k) {
            None => Outcome::Failed { error },
            Some(&secs) => {
                let base_ms = secs.saturating_mul(1000);
                let jitter = if base_ms > 0 {
                    rand::rng().random_range(0..=base_ms / 10)
                } else {
                    0
                };
                let wait = (base_ms + jitter).max(retry_after.unwrap_or(0).min(86_400) * 1000);
                Outcome::Retry {
                    next_ms: now_ms() + wait as i64,
                    error,
                }
            }
        }
    }

    async fn send_callback(&self, d: &Leased, secrets: &[String], payload: &str) -> Outcome {
        let url = match url::Url::parse(&d.target) {
            Ok(u) => u,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("invalid callback URL: {e}"),
                };
            }
        };
        if !self.allow_private && crate::callback_target_is_private(&url).await {
            return self.after_failure(
                d,
                "refused: the callback host is a loopback, private or non-public address".into(),
                None,
            );
        }
        if secrets.is_empty() {
            return self.after_failure(
                d,
                "the account's signing secrets could not be read".into(),
                None,
            );
        }
        let ts = now_ms() / 1000;
        let signature = sign(secrets, &d.event_id, ts, payload);
        let res = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(payload.to_string())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) => {
                let status = r.status();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let body = read_capped(r).await;
                let error = format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    if body.is_empty() {
                        String::new()
                    } else {
                        format!(": {body}")
                    }
                );
                if status == reqwest::StatusCode::GONE {
                    Outcome::Failed { error }
                } else {
                    self.after_failure(d, error, retry_after)
                }
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("timed out after {} s", self.timeout.as_secs())
                } else {
                    // Without the URL: the target is shown beside the error anyway, and the
                    // URL may carry credentials.
                    error_chain(&e.without_url())
                };
                self.after_failure(d, what, None)
            }
        }
    }

    async fn send_email(&self, d: &Leased, status_id: i64, reason: &str, payload: &str) -> Outcome {
        // The address as the mailer sends it (an internationalised domain in ASCII form).
        let to = match crate::text::mail_address(&d.target) {
            Ok(a) => Mailbox::new(None, a),
            Err(e) => {
                return Outcome::Failed {
                    error: format!("invalid address: {e}"),
                };
            }
        };
        let req: NumberRequest = match serde_json::from_str(payload) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("unreadable event: {e}"),
                };
            }
        };
        let status = RequestStatus::from_id(status_id)
            .map(|s| s.name())
            .unwrap_or("Unknown");
        let subject = format!("Number request {}: {status}", req.id);
        self.send_message(to, subject, email_body(&req, status, reason), |e| {
            self.after_failure(d, e, None)
        })
        .await
    }

    /// Sends a message from us to `to` with a plain and an HTML body. One that cannot be built
    /// fails for good; a failed send is `retry`'s to judge.
    async fn send_message(
        &self,
        to: Mailbox,
        subject: String,
        (text, html): (String, String),
        retry: impl FnOnce(String) -> Outcome,
    ) -> Outcome {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(text, html));
        let message = match message {
            Ok(m) => m,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("building the message: {e}"),
                };
            }
        };
        match self.send_mail(message).await {
            Ok(()) => Outcome::Delivered,
            Err(e) => retry(e),
        }
    }

    /// Hands one message to the SMTP server, or writes it as an `.eml` file.
    async fn send_mail(&self, message: Message) -> Result<(), String> {
        match &self.mailer {
            // The whole conversation is bounded: a server that accepts and then says nothing
            // would otherwise hold the attempt (and shutdown) for ever.
            Mailer::Smtp(t) => match tokio::time::timeout(self.timeout, t.send(message)).await {
                Ok(r) => r.map(|_| ()).map_err(|e| error_chain(&e)),
                Err(_) => Err(format!(
                    "timed out after {} s talking to the SMTP server",
                    self.timeout.as_secs()
                )),
            },
            Mailer::Files(dir, gate) => {
                let _turn = gate.acquire().await;
                write_eml(dir, message.formatted())
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("writing the .eml file in {}: {e}", dir.display()))
            }
        }
    }

    /// Sends one confirmation message: fixed text, the account's name (set by the operator)
    /// and the link; nothing a customer wrote.
    async fn send_confirmation(&self, m: &emails::ConfirmationMail) -> Outcome {
        let to = match crate::text::mail_address(&m.address) {
            Ok(a) => Mailbox::new(None, a),
            Err(e) => {
                return Outcome::Failed {
                    error: format!("invalid address: {e}"),
                };
            }
        };
        let link = self.confirmation_link(&m.token);
        self.send_message(
            to,
            "Confirm your e-mail address for number request messages".into(),
            confirmation_body(&m.account_name, &m.address, &link),
            |e| self.after_failed_attempt(m.attempts, e, None),
        )
        .await
    }

    /// Makes one attempt. `secrets` are the account's signing secrets (callbacks only).
    async fn deliver(&self, state: &AppState, d: &Leased, secrets: &[String]) -> Outcome {
        let outcome = match &d.event {
            Some((status_id, reason, payload)) => {
                if d.channel == Channel::Callback {
                    self.send_callback(d, secrets, payload).await
                } else {
                    self.send_email(d, *status_id, reason, payload).await
                }
            }
            None => Outcome::Failed {
                error: "the status event is missing".into(),
            },
        };
        let label = match &outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry { .. } => "retry",
            Outcome::Failed { .. } => "failed",
        };
        state.metrics.delivery(d.channel.as_str(), label);
        outcome
    }
}

/// A delivery as the operator's lists show it: the user name, password and query values of a
/// callback URL are `***` (in `target` and wherever `lastError` repeats them), since they are
/// often the receiver's credentials, which the customer gave and the operator need not see.
pub fn redacted_for_operator(mut d: crate::model::Delivery) -> crate::model::Delivery {
    if d.channel != crate::domain::Channel::Callback {
        return d;
    }
    let Ok(mut url) = url::Url::parse(&d.target) else {
        return d;
    };
    let mut secrets: Vec<String> = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        secrets.extend(url.password().map(str::to_string));
        secrets.push(url.username().to_string());
        let _ = url.set_password(None);
        let _ = url.set_username("***");
    }
    if url.query().is_some() {
        let keys: Vec<String> = url
            .query_pairs()
            .map(|(k, v)| {
                secrets.push(v.into_owned());
                k.into_owned()
            })
            .collect();
        secrets.extend(url.query().map(str::to_string));
        url.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|k| (k.as_str(), "***")));
    }
    if let Some(err) = &mut d.last_error {
        // Longest first, so a value is not left half-replaced by a shorter one it contains.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets.iter().filter(|s| s.len() >= 3) {
            *err = err.replace(s.as_str(), "***");
        }
    }
    d.target = url.to_string();
    d
}

/// Writes one message as `<uuid>.eml` in `dir`. It is written to a hidden temporary file first
/// and renamed into place when complete; when anything fails (a full disk) the temporary file is
/// removed, so a failed attempt leaves no empty or cut-off message behind, and whoever picks up
/// `*.eml` files never sees one half written.
pub async fn write_eml(
    dir: &std::path::Path,
    message: Vec<u8>,
) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".").suffix(".eml.tmp");
        // As a plain file write would create it (0666 less the umask), not private to us.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder.tempfile_in(&dir)?;
        tmp.write_all(&message)?;
        tmp.flush()?;
        let path = dir.join(format!("{}.eml", uuid::Uuid::new_v4()));
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// `v1,<base64 HMAC-SHA256>` for every secret, space-separated (Standard Webhooks).
pub fn sign(secrets: &[String], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| {
            let key = base64::engine::general_purpose::STANDARD
                .decode(s.trim_start_matches("whsec_"))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
            Some(format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

async fn read_capped(mut r: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = r.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() >= BODY_CAP {
            buf.truncate(BODY_CAP);
            break;
        }
    }
    String::from_utf8_lossy(&buf).trim().to_string()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plain-text and HTML bodies of a confirmation message.
pub fn confirmation_body(account_name: &str, address: &str, link: &str) -> (String, String) {
    let who = if account_name.trim().is_empty() {
        "A numberdesk account".to_string()
    } else {
        format!("The numberdesk account \"{account_name}\"")
    };
    let paragraphs = [
        format!(
            "{who} lists this address ({address}) on a company profile, to receive the status messages of its phone number requests."
        ),
        "To confirm that you want these messages, open the link below and press the button on the page:".to_string(),
        link.to_string(),
        "The link works once and for 7 days. If you did not expect this message, ignore it: this address receives nothing else unless it is confirmed.".to_string(),
    ];
    let text = paragraphs.join("\n\n") + "\n";
    let html = format!(
        "<html><body>{}</body></html>",
        paragraphs
            .iter()
            .map(|p| if p == link {
                format!("<p><a href=\"{0}\">{0}</a></p>", html_escape(p))
            } else {
                format!("<p>{}</p>", html_escape(p))
            })
            .collect::<String>()
    );
    (text, html)
}

/// The plain-text and HTML bodies of a status e-mail.
pub fn email_body(req: &NumberRequest, status: &str, reason: &str) -> (String, String) {
    let mut lines = vec![
        format!("Number request {} is now {status}.", req.id),
        format!("Reason: {reason}"),
        String::new(),
        format!("Country: {}", req.country_code),
        format!("Type: {}", req.phone_number_type),
        format!("Quantity: {}", req.quantity),
    ];
    if let Some(s) = req.range_size {
        lines.push(format!("Range size: {s}"));
    }
    if let Some(p) = &req.price {
        lines.push(format!(
            "Price per number: {} {} setup, {} {} per month",
            p.currency, p.setup_price, p.currency, p.monthly_price
        ));
    }
    for (label, v) in [
        ("Area code", &req.area_code),
        ("City", &req.city),
        ("Region", &req.region),
    ] {
        if let Some(v) = v {
            lines.push(format!("{label}: {v}"));
        }
    }
    let assigned: Vec<String> = req
        .ranges
        .iter()
        .filter_map(|r| match (&r.start, &r.end) {
            (Some(s), Some(e)) if s == e => Some(s.clone()),
            (Some(s), Some(e)) => Some(format!("{s} - {e}")),
            _ => None,
        })
        .collect();
    if status == "Completed" && !assigned.is_empty() {
        lines.push(String::new());
        lines.push("Assigned numbers:".into());
        lines.extend(assigned.iter().map(|a| format!("  {a}")));
    }
    let text = lines.join("\n") + "\n";
    let html = format!(
        "<html><body>{}</body></html>",
        lines
            .iter()
            .map(|l| if l.is_empty() {
                "<br>".to_string()
            } else {
                format!("<p>{}</p>", html_escape(l))
            })
            .collect::<String>()
    );
    (text, html)
}

/// The delivery workers, one per channel so a slow mail server never holds back callbacks:
/// each keeps up to [`IN_FLIGHT`] deliveries in flight, leasing more as slots free up, until
/// `stop` turns true (then the attempts in flight finish and are recorded).
pub async fn run(state: AppState, notifier: Arc<Notifier>, stop: watch::Receiver<bool>) {
    let callbacks = tokio::spawn(run_channel(
        state.clone(),
        notifier.clone(),
        stop.clone(),
        Channel::Callback,
    ));
    let confirmations = tokio::spawn(run_confirmations(
        state.clone(),
        notifier.clone(),
        stop.clone(),
    ));
    run_channel(state, notifier, stop, Channel::Email).await;
    let _ = callbacks.await;
    let _ = confirmations.await;
}

/// Confirmation messages leased at once.
const CONFIRMATIONS_AT_ONCE: i64 = 16;

/// Sends confirmation messages: leases due ones (taking them from their accounts' budgets and
/// giving each a fresh token), sends them, records the attempts; until `stop` turns true.
async fn run_confirmations(
    state: AppState,
    notifier: Arc<Notifier>,
    mut stop: watch::Receiver<bool>,
) {
    let lease_ms = (notifier.timeout.as_millis() as i64) + 15_000;
    let mut last_purge = 0i64;
    loop {
        if *stop.borrow() {
            return;
        }
        let now = now_ms();
        if now - last_purge > 3_600_000 {
            last_purge = now;
            if let Err(e) = emails::purge_tokens(&state.db, now).await {
                tracing::warn!(error = %e, "deleting expired confirmation tokens failed");
            }
        }
        let leased = emails::lease_confirmations(
            &state.db,
            now,
            now + lease_ms,
            CONFIRMATIONS_AT_ONCE,
            notifier.hourly_limit,
        )
        .await;
        let mut busy = false;
        match leased {
            Ok((list, deferred)) => {
                busy = !list.is_empty() || deferred > 0;
                let sent = futures::future::join_all(list.into_iter().map(|m| {
                    let notifier = notifier.clone();
                    let state = state.clone();
                    async move {
                        let outcome = notifier.send_confirmation(&m).await;
                        let label = match &outcome {
                            Outcome::Delivered => "delivered",
                            Outcome::Retry { .. } => "retry",
                            Outcome::Failed { .. } => "failed",
                        };
                        state.metrics.delivery("confirmation", label);
                        (m, now_ms(), outcome)
                    }
                }))
                .await;
                if !sent.is_empty()
                    && let Err(e) = deliveries::record_attempts(&state.db, &sent).await
                {
                    tracing::warn!(error = %e, "recording confirmation messages failed; the leases will expire");
                }
            }
            Err(e) => tracing::warn!(error = %e, "leasing confirmation messages failed"),
        }
        if busy {
            continue;
        }
        tokio::select! {
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Deliveries of one channel in flight at once.
const IN_FLIGHT: usize = 128;

/// After an attempt finishes, the attempts that finish within this window are recorded with it
/// in one transaction: on SQLite every record takes the one writer that creates wait for, and
/// recording e-mails one by one as the SMTP server answered them made many small transactions.
const RECORD_WINDOW: Duration = Duration::from_millis(10);

async fn run_channel(
    state: AppState,
    notifier: Arc<Notifier>,
    mut stop: watch::Receiver<bool>,
    channel: Channel,
) {
    let lease_ms = (notifier.timeout.as_millis() as i64) + 15_000;
    let mut inflight = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            let mut done = Vec::new();
            while let Some(r) = inflight.join_next().await {
                done.extend(r.ok().flatten());
            }
            record(&state, &done).await;
            return;
        }
        let room = IN_FLIGHT - inflight.len();
        let mut leased = 0;
        if room >= IN_FLIGHT / 4 {
            let now = now_ms();
            let lease = deliveries::lease_due(
                &state.db,
                channel,
                now,
                now + lease_ms,
                room as i64,
                notifier.hourly_limit,
            );
            match lease.await {
                Ok((list, deferred)) => {
                    // Deferred ones free the lease's room: look again at once.
                    leased = list.len() + deferred;
                    let secrets = Arc::new(signing_secrets(&state, &list).await);
                    for d in list {
                        let (state, notifier, secrets) =
                            (state.clone(), notifier.clone(), secrets.clone());
                        inflight.spawn(async move {
                            let own = secrets.get(&d.account_id).map(Vec::as_slice).unwrap_or(&[]);
                            let outcome = notifier.deliver(&state, &d, own).await;
                            Some((d, now_ms(), outcome))
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leasing deliveries failed"),
            }
        }
        if leased > 0 && inflight.len() < IN_FLIGHT {
            continue;
        }
        tokio::select! {
            Some(first) = inflight.join_next(), if !inflight.is_empty() => {
                // Record every attempt that finishes within the window in one transaction.
                let mut done: Vec<_> = first.ok().flatten().into_iter().collect();
                let until = tokio::time::Instant::now() + RECORD_WINDOW;
                while let Ok(Some(r)) = tokio::time::timeout_at(until, inflight.join_next()).await {
                    done.extend(r.ok().flatten());
                }
                record(&state, &done).await;
            }
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The signing secrets of every account with a callback among `leased`, read once per lease.
async fn signing_secrets(state: &AppState, leased: &[Leased]) -> HashMap<String, Vec<String>> {
    let mut map = HashMap::new();
    for d in leased.iter().filter(|d| d.channel == Channel::Callback) {
        if !map.contains_key(&d.account_id) {
            match accounts::signing_secrets(&state.db, &d.account_id).await {
                Ok(s) => {
                    map.insert(d.account_id.clone(), s);
                }
                Err(e) => tracing::warn!(error = %e, "reading signing secrets failed"),
            }
        }
    }
    map
}

async fn record(state: &AppState, done: &[(Leased, i64, Outcome)]) {
    if done.is_empty() {
        return;
    }
    if let Err(e) = deliveries::record_attempts(&state.db, done).await {
        tracing::warn!(error = %e, attempts = done.len(), "recording delivery attempts failed; the leases will expire");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/api.md's "Verifying callbacks" section, computed independently with
    /// Python's hmac module.
    #[test]
    fn signature_matches_the_readme_example() {
        let secret = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".to_string();
        let body = r#"{"id":"x","status":"Completed"}"#;
        let sig = sign(
            std::slice::from_ref(&secret),
            "01a21cd8-e835-70a7-b764-cb99ba70f4d3",
            1_795_000_000,
            body,
        );
        assert_eq!(sig, "v1,OpjLpjACDrZ9gdaUKDr0WCKLHAJFoMmNvXT5Xl21GLw=");
        let two = sign(
            &[secret.clone(), secret],
            "01a21cd8-e835-70a7-b764-cb99ba70f4d3",
            1_795_000_000,
            body,
        );
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn completed_mail_lists_the_numbers() {
        let req: NumberRequest = serde_json::from_value(serde_json::json!({
            "id": "r1", "accountId": "a", "companyProfileId": "p", "countryCode": "NL", "phoneNumberType": "LOCAL",
            "quantity": 1, "rangeSize": null, "areaCode": "20", "city": null, "region": null, "comment": null,
            "callbackUrl": null, "status": "Completed", "statusId": 3, "reason": "Numbers assigned from stock",
            "createdOn": "t", "updatedOn": "t",
            "ranges": [{"id": "x", "start": "+31201000000", "end": "+31201000000", "size": 1, "validFrom": "t", "validTo": null}]
        }))
        .unwrap();
        let (text, html) = email_body(&req, "Completed", "Numbers assigned from stock");
        assert!(
            text.contains("is now Completed")
                && text.contains("+31201000000")
                && text.contains("Area code: 20")
        );
        assert!(html.contains("+31201000000"));
    }
}
