//! Settings: defaults < TOML file < `NUMBERDESK_*` environment < command-line flags; every
//! setting is described in docs/operations.md and packaging/numberdesk.toml.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// A setting that could not be used. The message names the setting; the binary exits with 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Every setting of the service, validated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub database_max_connections: u32,
    /// PostgreSQL `statement_timeout`, seconds (0: none).
    pub database_statement_timeout_secs: u64,
    /// SQLite: keep the create writer and its connection's thread on one CPU (`store::cpu`).
    pub database_pin_writer: bool,
    /// SQLite: MiB of the write-ahead log written with zeros at start-up, and the size it goes
    /// back to when it restarts (`store::wal`; 0: none).
    pub database_wal_reserve_mib: u64,
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Failed operator-token (and sign-in) attempts per minute per client address; 0: off.
    pub auth_failure_limit: u32,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>`.
    #[serde(default)]
    pub metrics_token: Option<String>,
    #[serde(default)]
    pub smtp_url: Option<String>,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub allow_private_callbacks: bool,
    #[serde(deserialize_with = "schedule")]
    pub webhook_retry_schedule: Vec<u64>,
    pub webhook_timeout_secs: u64,
    pub auto_approve_profiles: bool,
    pub aging_secs: u64,
    pub rate_limit: u32,
    /// Open (`Pending` or `Accepted`) requests per account; a create past it is refused.
    pub max_open_requests: i64,
    /// Confirm e-mail addresses before they receive status mail (off: every address counts as
    /// confirmed).
    pub confirm_emails: bool,
    /// E-mails per account per rolling hour; past it e-mails wait (never dropped). 0: no limit.
    pub email_hourly_limit: u32,
    /// Days API log entries are kept; 0 records none.
    pub api_log_retention_days: u32,
    /// Open connections at once; none: 80 % of the descriptor limit (raised to the hard limit
    /// at start-up). At the cap the oldest connections without a request in progress close.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Open connections from one client address; none: half of `max_connections`.
    #[serde(default)]
    pub max_connections_per_address: Option<usize>,
    /// A connection that has not sent a request's whole head this long after it began closes.
    pub header_read_timeout_secs: u64,
    /// A kept-alive connection with no request this long closes.
    pub idle_timeout_secs: u64,
    /// How log lines on standard error look ([`LogFormat`]).
    pub log_format: LogFormat,
    /// A console session unused this long ends.
    pub session_idle_secs: u64,
    /// The address users reach the service at; an `https` URL makes console cookies `Secure`.
    #[serde(default)]
    pub public_url: Option<String>,
}

/// `NUMBERDESK_LOG_FORMAT`: `text` for people, `json` (one object per line) for log collectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/numberdesk.db".into(),
            database_max_connections: 16,
            database_statement_timeout_secs: 10,
            database_pin_writer: true,
            database_wal_reserve_mib: 64,
            admin_token: None,
            auth_failure_limit: 30,
            metrics_token: None,
            smtp_url: None,
            mail_dir: PathBuf::from("data/mail"),
            mail_from: "numbers@localhost".into(),
            allow_private_callbacks: false,
            webhook_retry_schedule: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            webhook_timeout_secs: 15,
            auto_approve_profiles: false,
            aging_secs: 7_776_000,
            rate_limit: 50,
            max_open_requests: 1000,
            confirm_emails: true,
            email_hourly_limit: 1000,
            api_log_retention_days: 30,
            max_connections: None,
            max_connections_per_address: None,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            log_format: LogFormat::Text,
            session_idle_secs: 43_200,
            public_url: None,
        }
    }
}

/// The retry schedule is a list in TOML and `5,300,...` in the environment.
fn schedule<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<u64>),
        One(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::List(v) => Ok(v),
        Raw::One(n) => Ok(vec![n]),
        Raw::Text(s) if s.trim().is_empty() => Ok(Vec::new()),
        Raw::Text(s) => s
            .split(',')
            .map(|p| p.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                serde::de::Error::custom("expected comma-separated whole seconds, e.g. 5,300,1800")
            }),
    }
}

/// Values given on the command line; they beat every other source.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Loads and validates the settings.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        // Empty variables count as unset, so `NUMBERDESK_ADMIN_TOKEN=` does not mean "".
        let env = Env::prefixed("NUMBERDESK_").filter_map(|k| {
            let var = format!("NUMBERDESK_{}", k.as_str().to_uppercase());
            match std::env::var(&var) {
                Ok(v) if !v.is_empty() => Some(k.into()),
                _ => None,
            }
        });
        fig = fig.merge(env).merge(Serialized::defaults(overrides));
        let config: Config = fig.extract().map_err(|e| {
            let key = e.path.last().cloned().unwrap_or_default();
            let name = if key.is_empty() {
                "configuration".to_string()
            } else {
                format!("NUMBERDESK_{} ({key})", key.to_uppercase())
            };
            ConfigError(format!("invalid setting {name}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |var: &str, why: String| {
            Err(ConfigError(format!(
                "invalid setting NUMBERDESK_{var}: {why}"
            )))
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "LISTEN",
                format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            );
        }
        let db = self.database_url.as_str();
        let is_sqlite = db.starts_with("sqlite:");
        let is_pg = db.starts_with("postgres://") || db.starts_with("postgresql://");
        if !is_sqlite && !is_pg {
            return bad(
                "DATABASE_URL",
                format!("{db:?} must start with sqlite:// or postgres://"),
            );
        }
        if is_sqlite && sqlite_path(db).as_os_str().is_empty() {
            return bad("DATABASE_URL", "the sqlite:// URL names no file".into());
        }
        if self.database_max_connections == 0 {
            return bad("DATABASE_MAX_CONNECTIONS", "must be at least 1".into());
        }
        if self.database_statement_timeout_secs > 3600 {
            return bad(
                "DATABASE_STATEMENT_TIMEOUT_SECS",
                "must be at most 3600".into(),
            );
        }
        if self.database_wal_reserve_mib > 4096 {
            return bad("DATABASE_WAL_RESERVE_MIB", "must be at most 4096".into());
        }
        if let Some(t) = &self.admin_token
            && t.trim().is_empty()
        {
            return bad("ADMIN_TOKEN", "must not be blank".into());
        }
        if self
            .metrics_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return bad("METRICS_TOKEN", "must not be blank".into());
        }
        if self.smtp_url.is_none()
            && let Some(file) = self
                .mail_dir
                .ancestors()
                .find(|p| p.exists() && !p.is_dir())
        {
            let why = format!("{} is a file, not a folder", file.display());
            return bad("MAIL_DIR", why);
        }
        if let Some(u) = &self.smtp_url {
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "smtp" | "smtps") && p.host_str().is_some() => {}
                _ => {
                    return bad(
                        "SMTP_URL",
                        format!("{u:?} is not smtp://host:port or smtps://host:port"),
                    );
                }
            }
        }
        if !email_address::EmailAddress::is_valid(&self.mail_from) {
            return bad(
                "MAIL_FROM",
                format!("{:?} is not an e-mail address", self.mail_from),
            );
        }
        if self.webhook_retry_schedule.len() > 50 {
            return bad("WEBHOOK_RETRY_SCHEDULE", "at most 50 entries".into());
        }
        if self.webhook_timeout_secs == 0 || self.webhook_timeout_secs > 600 {
            return bad("WEBHOOK_TIMEOUT_SECS", "must be 1..600".into());
        }
        if !(1..=10_000_000).contains(&self.max_open_requests) {
            return bad("MAX_OPEN_REQUESTS", "must be 1..10000000".into());
        }
        if self.email_hourly_limit > 10_000_000 {
            return bad("EMAIL_HOURLY_LIMIT", "must be 0..10000000".into());
        }
        if self.max_connections == Some(0) {
            return bad("MAX_CONNECTIONS", "must be at least 1".into());
        }
        if self.max_connections_per_address == Some(0) {
            return bad("MAX_CONNECTIONS_PER_ADDRESS", "must be at least 1".into());
        }
        if !(1..=3600).contains(&self.header_read_timeout_secs) {
            return bad("HEADER_READ_TIMEOUT_SECS", "must be 1..3600".into());
        }
        if !(1..=86_400).contains(&self.idle_timeout_secs) {
            return bad("IDLE_TIMEOUT_SECS", "must be 1..86400".into());
        }
        if !(1..=365 * 86_400).contains(&self.session_idle_secs) {
            return bad("SESSION_IDLE_SECS", "must be 1..31536000".into());
        }
        if let Some(u) = &self.public_url {
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => {}
                _ => {
                    return bad(
                        "PUBLIC_URL",
                        format!("{u:?} is not an http:// or https:// address"),
                    );
                }
            }
        }
        if self.api_log_retention_days > 3_650 {
            return bad("API_LOG_RETENTION_DAYS", "must be 0..3650".into());
        }
        if self.aging_secs > 10 * 365 * 86_400 {
            return bad("AGING_SECS", "must be at most ten years".into());
        }
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// The file behind a `sqlite://path` URL (`sqlite:///abs/path` is absolute, query ignored).
pub fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let rest = rest.split('?').next().unwrap_or("");
    PathBuf::from(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example file (packaging/numberdesk.toml, installed as /etc/numberdesk/numberdesk.toml)
    /// names every setting, and loads.
    #[test]
    fn the_example_file_names_every_setting_and_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/numberdesk.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let named: std::collections::BTreeSet<String> = text
            .lines()
            .filter_map(|l| {
                let l = l.trim_start_matches('#').trim();
                let (key, _) = l.split_once('=')?;
                let key = key.trim();
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    .then(|| key.to_string())
            })
            .collect();
        let settings = serde_json::to_value(Config::default()).unwrap();
        let missing: Vec<&String> = settings
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !named.contains(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "packaging/numberdesk.toml does not describe {missing:?}: add each with its default"
        );
        let unknown: Vec<&String> = named
            .iter()
            .filter(|k| settings.get(k.as_str()).is_none())
            .collect();
        assert!(unknown.is_empty(), "not settings: {unknown:?}");

        // Uncommented, every line shown is a valid value.
        let all: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = ") && !r.contains("example"))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(&all))
            .extract()
            .unwrap();
        parsed.validate().unwrap();
        let loaded = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .extract::<Config>()
            .unwrap();
        loaded.validate().unwrap();
        assert_eq!(
            sqlite_path(&loaded.database_url),
            Path::new("/var/lib/numberdesk/numberdesk.db")
        );
    }
}
