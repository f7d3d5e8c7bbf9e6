//! Typed settings, read from the environment (and optionally an env-style config file named by
//! `PORTAL_CONFIG`). They are parsed once at start-up and passed explicitly; nothing reads the
//! environment later. Secrets are wrapped so that `Debug` never prints them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;

/// A setting that could not be parsed; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {name}: {reason}")]
pub struct SettingsError {
    pub name: &'static str,
    pub reason: String,
}

fn err(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        name,
        reason: reason.into(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://…`. Kept secret: a PostgreSQL URL may carry a password.
    pub url: SecretString,
    pub kind: DatabaseKind,
    pub pool_size: u32,
}

impl DatabaseSettings {
    pub fn parse(url: &str, pool_size: u32) -> Result<Self, SettingsError> {
        let kind = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else {
            return Err(err(
                "DATABASE_URL",
                "must start with sqlite:// or postgres://",
            ));
        };
        if kind == DatabaseKind::Sqlite && sqlite_path(url).is_empty() {
            return Err(err("DATABASE_URL", "the SQLite path is empty"));
        }
        Ok(Self {
            url: SecretString::from(url.to_string()),
            kind,
            pool_size,
        })
    }

    /// The file path of a SQLite URL (`sqlite://data/portal.db` → `data/portal.db`).
    pub fn sqlite_path(&self) -> Option<String> {
        (self.kind == DatabaseKind::Sqlite)
            .then(|| sqlite_path(self.url.expose_secret()).to_string())
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

#[derive(Clone, Debug)]
pub struct OutboxSettings {
    /// Run the background dispatcher in `serve` (tests drive it by hand).
    pub dispatcher_enabled: bool,
    pub poll_interval: Duration,
    /// After this many failed attempts a message is marked failed (an admin can retry it).
    pub max_attempts: i32,
    pub base_backoff: Duration,
}

/// The JSON API under `/api/v1`.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Accept `?_apikey=<API ID>:<API Secret>` (off by default).
    pub allow_query_key: bool,
    /// Requests per minute per developer account, unless an admin set the account's own limit.
    pub rate_limit_per_minute: u32,
    /// Requests per minute per client address that do not authenticate (failed or missing
    /// credentials, the public OpenAPI document).
    pub unauthenticated_per_minute: u32,
    /// How long a cached credential is trusted before it is re-read (changes made by other
    /// processes take effect within this time; this process's own changes at once).
    pub cache_ttl: Duration,
    /// How often usage counts and last-used times are written to the database.
    pub usage_flush_interval: Duration,
    /// Run the periodic usage flush in `serve` (tests flush by hand; shutdown always flushes).
    pub usage_flusher_enabled: bool,
    /// Redis for rate limits shared by every instance (`PORTAL_REDIS_URL`); `None`: local.
    pub redis_url: Option<RedisUrl>,
    /// Prefix of the portal's Redis keys (`PORTAL_REDIS_KEY_PREFIX`), so one Redis can serve
    /// several deployments.
    pub redis_key_prefix: String,
}

/// A Redis URL, which may carry a password: never printed.
#[derive(Clone)]
pub struct RedisUrl(String);

impl RedisUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl([redacted])")
    }
}

/// The scheduled lifecycle jobs (`src/jobs`).
#[derive(Clone, Debug)]
pub struct JobsSettings {
    /// Run the jobs from `serve` (off for deployments that run `concat-portal jobs run`
    /// from cron, or for all but one SQLite process).
    pub scheduler_enabled: bool,
    /// Time between runs.
    pub interval: Duration,
    /// Raw API usage counters older than this many days are deleted (the daily rollups stay).
    pub usage_retention_days: u32,
}

/// Who must sign in with a second factor (`PORTAL_REQUIRE_MFA`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaPolicy {
    /// ConCat admins (the default).
    Admins,
    /// ConCat admins and organization admins.
    AdminsAndOrgAdmins,
    Everyone,
}

impl MfaPolicy {
    fn parse(v: &str) -> Option<Self> {
        let mut parts: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        parts.sort_unstable();
        parts.dedup();
        match parts.as_slice() {
            ["admins"] => Some(Self::Admins),
            ["admins", "org_admins"] => Some(Self::AdminsAndOrgAdmins),
            ["everyone"] => Some(Self::Everyone),
            _ => None,
        }
    }

    /// Whether a user with these roles must have a second factor.
    pub fn covers(self, is_concat_admin: bool, administers_orgs: bool) -> bool {
        match self {
            Self::Admins => is_concat_admin,
            Self::AdminsAndOrgAdmins => is_concat_admin || administers_orgs,
            Self::Everyone => true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub base_url: Url,
    /// `PORTAL_SMTP_URL`, checked and rewritten into the form lettre reads (`parse_smtp_url`).
    pub smtp_url: Option<SecretString>,
    /// `PORTAL_MAIL_FROM`, the sender of every message.
    pub mail_from: lettre::message::Mailbox,
    /// 64-byte cookie key; `None` means "load or create `<data_dir>/secret_key`".
    pub secret_key: Option<SecretKey>,
    pub tls: Option<TlsSettings>,
    pub outbox: OutboxSettings,
    /// Take the client address from `X-Forwarded-For` / `Forwarded` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    pub log_format: LogFormat,
    /// Largest accepted form body, in bytes.
    pub form_limit: usize,
    pub api: ApiSettings,
    pub jobs: JobsSettings,
    /// Password hashes (argon2id, 19 MiB each) computed at once; further ones wait in a short
    /// queue, and beyond it are refused with 503.
    pub password_hash_concurrency: usize,
    /// With built-in TLS: also listen here for plain HTTP and redirect to the HTTPS base URL.
    pub http_redirect_addr: Option<SocketAddr>,
    /// Also serve the API (and `/healthz`) on this address, from worker threads of its own, so
    /// that work on pages (a storm of sign-ins) never holds up an API request.
    pub api_addr: Option<SocketAddr>,
    /// Serve Prometheus metrics (`GET /metrics`) on this address, for operators only.
    pub metrics_addr: Option<SocketAddr>,
    /// Who must sign in with a second factor.
    pub require_mfa: MfaPolicy,
}

/// The cookie signing/encryption key.
#[derive(Clone)]
pub struct SecretKey(pub std::sync::Arc<SecretBox<Vec<u8>>>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(std::sync::Arc::new(SecretBox::new(Box::new(bytes))))
    }

    /// Parses 64 bytes given as 128 hex characters.
    pub fn parse_hex(hex_str: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_str.trim()).map_err(|_| "must be hex".to_string())?;
        if bytes.len() < 64 {
            return Err(format!(
                "must be at least 64 bytes (128 hex characters), got {} bytes",
                bytes.len()
            ));
        }
        Ok(Self::from_bytes(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl Settings {
    /// Reads settings from the process environment, after loading `PORTAL_CONFIG` if it is set.
    pub fn from_env() -> Result<Self, SettingsError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("PORTAL_CONFIG") {
            let iter = dotenvy::from_path_iter(&path)
                .map_err(|e| err("PORTAL_CONFIG", format!("cannot read {path}: {e}")))?;
            for item in iter {
                let (k, v) = item.map_err(|e| err("PORTAL_CONFIG", format!("{path}: {e}")))?;
                vars.insert(k, v);
            }
        }
        // The environment wins over the file.
        vars.extend(std::env::vars());
        Self::from_lookup(|k| vars.get(k).cloned())
    }

    /// Builds settings from any key/value source (used by `from_env` and by tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let addr: SocketAddr = get("PORTAL_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| err("PORTAL_ADDR", "must be host:port, e.g. 127.0.0.1:8080"))?;
        let data_dir = PathBuf::from(get("PORTAL_DATA_DIR").unwrap_or_else(|| "data".into()));
        let pool_size = parse_num(get("PORTAL_DB_POOL_SIZE"), "PORTAL_DB_POOL_SIZE", 10u32)?;
        if pool_size == 0 {
            return Err(err("PORTAL_DB_POOL_SIZE", "must be at least 1"));
        }
        let database = DatabaseSettings::parse(
            &get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/portal.db".into()),
            pool_size,
        )?;
        let tls = match (get("PORTAL_TLS_CERT"), get("PORTAL_TLS_KEY")) {
            (Some(c), Some(k)) => Some(TlsSettings {
                cert_path: c.into(),
                key_path: k.into(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err("PORTAL_TLS_KEY", "must be set with PORTAL_TLS_CERT"))
            }
            (None, Some(_)) => {
                return Err(err("PORTAL_TLS_CERT", "must be set with PORTAL_TLS_KEY"))
            }
        };
        let default_base = format!(
            "{}://{}",
            if tls.is_some() { "https" } else { "http" },
            addr
        );
        let base_url_raw = get("PORTAL_BASE_URL").unwrap_or(default_base);
        let base_url = Url::parse(base_url_raw.trim_end_matches('/'))
            .map_err(|e| err("PORTAL_BASE_URL", format!("not a URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.host().is_none() {
            return Err(err("PORTAL_BASE_URL", "must be an http:// or https:// URL"));
        }
        let smtp_url = match get("PORTAL_SMTP_URL") {
            Some(u) => {
                let lettre_url =
                    parse_smtp_url(&u).map_err(|reason| err("PORTAL_SMTP_URL", reason))?;
                Some(SecretString::from(lettre_url))
            }
            None => None,
        };
        let mail_from = get("PORTAL_MAIL_FROM")
            .unwrap_or_else(|| "ConCat Developer Portal <no-reply@concat.localhost>".into())
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| err("PORTAL_MAIL_FROM", format!("not a mailbox: {e}")))?;
        let secret_key = match get("PORTAL_SECRET_KEY") {
            Some(k) => Some(SecretKey::parse_hex(&k).map_err(|r| err("PORTAL_SECRET_KEY", r))?),
            None => None,
        };
        let trust_proxy_headers = parse_bool(
            get("PORTAL_TRUST_PROXY_HEADERS"),
            "PORTAL_TRUST_PROXY_HEADERS",
            false,
        )?;
        let log_format = match get("PORTAL_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(err("PORTAL_LOG_FORMAT", "must be pretty or json")),
        };
        let outbox = OutboxSettings {
            dispatcher_enabled: parse_bool(
                get("PORTAL_OUTBOX_DISPATCHER"),
                "PORTAL_OUTBOX_DISPATCHER",
                true,
            )?,
            poll_interval: Duration::from_millis(parse_num(
                get("PORTAL_OUTBOX_POLL_MS"),
                "PORTAL_OUTBOX_POLL_MS",
                2000u64,
            )?),
            max_attempts: parse_num(
                get("PORTAL_OUTBOX_MAX_ATTEMPTS"),
                "PORTAL_OUTBOX_MAX_ATTEMPTS",
                10i32,
            )?,
            base_backoff: Duration::from_secs(30),
        };
        if outbox.max_attempts < 1 {
            return Err(err("PORTAL_OUTBOX_MAX_ATTEMPTS", "must be at least 1"));
        }
        let api = ApiSettings {
            allow_query_key: parse_bool(
                get("PORTAL_API_ALLOW_QUERY_KEY"),
                "PORTAL_API_ALLOW_QUERY_KEY",
                false,
            )?,
            rate_limit_per_minute: parse_num(
                get("PORTAL_API_RATE_LIMIT"),
                "PORTAL_API_RATE_LIMIT",
                1000u32,
            )?,
            unauthenticated_per_minute: parse_num(
                get("PORTAL_API_UNAUTHENTICATED_LIMIT"),
                "PORTAL_API_UNAUTHENTICATED_LIMIT",
                60u32,
            )?,
            cache_ttl: Duration::from_millis(parse_num(
                get("PORTAL_API_CACHE_TTL_MS"),
                "PORTAL_API_CACHE_TTL_MS",
                5000u64,
            )?),
            usage_flush_interval: Duration::from_millis(parse_num(
                get("PORTAL_API_USAGE_FLUSH_MS"),
                "PORTAL_API_USAGE_FLUSH_MS",
                5000u64,
            )?),
            usage_flusher_enabled: parse_bool(
                get("PORTAL_API_USAGE_FLUSHER"),
                "PORTAL_API_USAGE_FLUSHER",
                true,
            )?,
            redis_url: match get("PORTAL_REDIS_URL") {
                None => None,
                Some(u) => {
                    let u = u.trim().to_string();
                    if !(u.starts_with("redis://") || u.starts_with("rediss://"))
                        || url::Url::parse(&u).is_err()
                    {
                        return Err(err(
                            "PORTAL_REDIS_URL",
                            "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379",
                        ));
                    }
                    Some(RedisUrl(u))
                }
            },
            redis_key_prefix: get("PORTAL_REDIS_KEY_PREFIX").unwrap_or_else(|| "concat:".into()),
        };
        if api.rate_limit_per_minute == 0 {
            return Err(err("PORTAL_API_RATE_LIMIT", "must be at least 1"));
        }
        if api.unauthenticated_per_minute == 0 {
            return Err(err(
                "PORTAL_API_UNAUTHENTICATED_LIMIT",
                "must be at least 1",
            ));
        }
        if api.cache_ttl > Duration::from_secs(5) || api.cache_ttl.is_zero() {
            return Err(err(
                "PORTAL_API_CACHE_TTL_MS",
                "must be between 1 and 5000 (revocations elsewhere must apply within 5 s)",
            ));
        }
        if api.usage_flush_interval > Duration::from_secs(5) || api.usage_flush_interval.is_zero() {
            return Err(err(
                "PORTAL_API_USAGE_FLUSH_MS",
                "must be between 1 and 5000",
            ));
        }
        let jobs = JobsSettings {
            scheduler_enabled: parse_bool(
                get("PORTAL_JOBS_SCHEDULER"),
                "PORTAL_JOBS_SCHEDULER",
                true,
            )?,
            interval: Duration::from_secs(parse_num(
                get("PORTAL_JOBS_INTERVAL_SECS"),
                "PORTAL_JOBS_INTERVAL_SECS",
                3600u64,
            )?),
            usage_retention_days: parse_num(
                get("PORTAL_USAGE_RETENTION_DAYS"),
                "PORTAL_USAGE_RETENTION_DAYS",
                400u32,
            )?,
        };
        if !(60..=36_500).contains(&jobs.usage_retention_days) {
            return Err(err(
                "PORTAL_USAGE_RETENTION_DAYS",
                "must be between 60 and 36500 (usage detail is folded 30 days after a revocation)",
            ));
        }
        if jobs.interval.is_zero() || jobs.interval > Duration::from_secs(86_400) {
            return Err(err(
                "PORTAL_JOBS_INTERVAL_SECS",
                "must be between 1 and 86400 (reminders are due to the day)",
            ));
        }
        let default_hashers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let password_hash_concurrency = parse_num(
            get("PORTAL_PASSWORD_HASH_CONCURRENCY"),
            "PORTAL_PASSWORD_HASH_CONCURRENCY",
            default_hashers,
        )?;
        if !(1..=64).contains(&password_hash_concurrency) {
            return Err(err(
                "PORTAL_PASSWORD_HASH_CONCURRENCY",
                "must be between 1 and 64 (each hash takes 19 MiB)",
            ));
        }
        let http_redirect_addr = match get("PORTAL_HTTP_REDIRECT_ADDR") {
            None => None,
            Some(a) => {
                if tls.is_none() {
                    return Err(err(
                        "PORTAL_HTTP_REDIRECT_ADDR",
                        "needs built-in TLS (PORTAL_TLS_CERT and PORTAL_TLS_KEY)",
                    ));
                }
                if base_url.scheme() != "https" {
                    return Err(err(
                        "PORTAL_HTTP_REDIRECT_ADDR",
                        "redirects to PORTAL_BASE_URL, which must then be an https:// URL",
                    ));
                }
                Some(a.trim().parse().map_err(|_| {
                    err(
                        "PORTAL_HTTP_REDIRECT_ADDR",
                        "must be host:port, e.g. 0.0.0.0:80",
                    )
                })?)
            }
        };
        let api_addr = match get("PORTAL_API_ADDR") {
            None => None,
            Some(a) => {
                let parsed: SocketAddr = a
                    .trim()
                    .parse()
                    .map_err(|_| err("PORTAL_API_ADDR", "must be host:port, e.g. 0.0.0.0:8081"))?;
                if parsed == addr && parsed.port() != 0 {
                    return Err(err(
                        "PORTAL_API_ADDR",
                        "must differ from PORTAL_ADDR (the API is served there too)",
                    ));
                }
                Some(parsed)
            }
        };
        let metrics_addr = match get("PORTAL_METRICS_ADDR") {
            None => None,
            Some(a) => {
                let parsed: SocketAddr = a.trim().parse().map_err(|_| {
                    err(
                        "PORTAL_METRICS_ADDR",
                        "must be host:port, e.g. 127.0.0.1:9464",
                    )
                })?;
                let taken = [Some(addr), api_addr, http_redirect_addr];
                if parsed.port() != 0 && taken.contains(&Some(parsed)) {
                    return Err(err(
                        "PORTAL_METRICS_ADDR",
                        "must differ from the portal's other addresses (metrics are for operators only)",
                    ));
                }
                Some(parsed)
            }
        };
        let require_mfa = match get("PORTAL_REQUIRE_MFA") {
            None => MfaPolicy::Admins,
            Some(v) => MfaPolicy::parse(&v).ok_or_else(|| {
                err(
                    "PORTAL_REQUIRE_MFA",
                    "must be admins, admins,org_admins or everyone",
                )
            })?,
        };
        Ok(Settings {
            database,
            addr,
            data_dir,
            base_url,
            smtp_url,
            mail_from,
            secret_key,
            tls,
            outbox,
            trust_proxy_headers,
            log_format,
            form_limit: 64 * 1024,
            api,
            jobs,
            password_hash_concurrency,
            http_redirect_addr,
            api_addr,
            metrics_addr,
            require_mfa,
        })
    }

    /// True when users reach the portal over HTTPS (built-in TLS or a TLS-terminating proxy).
    pub fn https(&self) -> bool {
        self.tls.is_some() || self.base_url.scheme() == "https"
    }

    /// An absolute link into the portal, for emails and the first-run line.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.base_url.as_str().trim_end_matches('/'), path)
    }
}

fn parse_num<T: std::str::FromStr>(
    v: Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match v {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| err(name, format!("not a number: {s:?}"))),
    }
}

fn parse_bool(v: Option<String>, name: &'static str, default: bool) -> Result<bool, SettingsError> {
    match v.as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(s) => Err(err(name, format!("must be true or false, got {s:?}"))),
    }
}

/// Parses `PORTAL_SMTP_URL` into the form lettre understands. Our default for `smtp://` is
/// STARTTLS *required*; `?tls=none` is an explicit opt-out for a relay on localhost.
fn parse_smtp_url(raw: &str) -> Result<String, String> {
    let mut url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if url.host_str().unwrap_or("").is_empty() {
        return Err("has no host".into());
    }
    let tls: Option<String> = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let others: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "tls")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let lettre_tls = match (url.scheme(), tls.as_deref()) {
        ("smtps", None) => None,
        ("smtps", Some(_)) => return Err("smtps:// always uses TLS; drop the tls parameter".into()),
        ("smtp", None | Some("required")) => Some("required"),
        ("smtp", Some("opportunistic")) => Some("opportunistic"),
        ("smtp", Some("none")) => None,
        ("smtp", Some(other)) => {
            return Err(format!(
                "tls must be required, opportunistic or none, not {other:?}"
            ))
        }
        (other, _) => return Err(format!("scheme must be smtp or smtps, not {other:?}")),
    };
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &others {
            q.append_pair(k, v);
        }
        if let Some(t) = lettre_tls {
            q.append_pair("tls", t);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        assert_eq!(
            parse_smtp_url("smtp://u:p@mail.example.com:587").unwrap(),
            "smtp://u:p@mail.example.com:587?tls=required"
        );
        assert_eq!(
            parse_smtp_url("smtp://127.0.0.1:2525?tls=none").unwrap(),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            parse_smtp_url("smtps://mail.example.com").unwrap(),
            "smtps://mail.example.com"
        );
        assert!(parse_smtp_url("http://mail.example.com").is_err());
        assert!(parse_smtp_url("smtp://mail.example.com?tls=maybe").is_err());
    }

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sqlite_on_loopback() {
        let s = from(&[]).unwrap();
        assert_eq!(s.database.kind, DatabaseKind::Sqlite);
        assert_eq!(s.database.sqlite_path().unwrap(), "data/portal.db");
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:8080/");
        assert!(!s.https());
    }

    #[test]
    fn mfa_policy_defaults_to_admins_and_parses_lists() {
        assert_eq!(from(&[]).unwrap().require_mfa, MfaPolicy::Admins);
        for (v, want) in [
            ("admins", MfaPolicy::Admins),
            ("org_admins, admins", MfaPolicy::AdminsAndOrgAdmins),
            ("admins,org_admins", MfaPolicy::AdminsAndOrgAdmins),
            ("everyone", MfaPolicy::Everyone),
        ] {
            assert_eq!(
                from(&[("PORTAL_REQUIRE_MFA", v)]).unwrap().require_mfa,
                want
            );
        }
        assert!(MfaPolicy::Admins.covers(true, false));
        assert!(!MfaPolicy::Admins.covers(false, true));
        assert!(MfaPolicy::AdminsAndOrgAdmins.covers(false, true));
        assert!(!MfaPolicy::AdminsAndOrgAdmins.covers(false, false));
        assert!(MfaPolicy::Everyone.covers(false, false));
    }

    #[test]
    fn postgres_url_selects_postgres() {
        let s = from(&[("DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(s.database.kind, DatabaseKind::Postgres);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("DATABASE_URL", "mysql://x"),
            ("PORTAL_ADDR", "nope"),
            ("PORTAL_BASE_URL", "ftp://x"),
            ("PORTAL_SECRET_KEY", "abcd"),
            ("PORTAL_SMTP_URL", "http://mail"),
            ("PORTAL_TLS_CERT", "/x.pem"),
            ("PORTAL_HTTP_REDIRECT_ADDR", "0.0.0.0:80"),
            ("PORTAL_PASSWORD_HASH_CONCURRENCY", "0"),
            ("PORTAL_PASSWORD_HASH_CONCURRENCY", "many"),
            ("PORTAL_API_ADDR", "api.example"),
            ("PORTAL_API_ADDR", "127.0.0.1:8080"),
            ("PORTAL_METRICS_ADDR", "metrics"),
            ("PORTAL_USAGE_RETENTION_DAYS", "30"),
            ("PORTAL_USAGE_RETENTION_DAYS", "forever"),
            ("PORTAL_METRICS_ADDR", "127.0.0.1:8080"),
            ("PORTAL_REQUIRE_MFA", "nobody"),
            ("PORTAL_REDIS_URL", "localhost:6379"),
            ("PORTAL_REQUIRE_MFA", "org_admins"),
        ] {
            let e = from(&[(k, v)]).unwrap_err();
            let shown = e.to_string();
            assert!(
                shown.contains(if k == "PORTAL_TLS_CERT" {
                    "PORTAL_TLS_KEY"
                } else {
                    k
                }),
                "{shown}"
            );
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let s = from(&[
            ("PORTAL_SECRET_KEY", &"ab".repeat(64)),
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(&"ab".repeat(64)),
            "{shown}"
        );
    }
}
