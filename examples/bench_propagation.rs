//! Benchmark (not a test) of how fast a revocation reaches another instance (issue 16): seeds N
//! integrations (default 100) with one secret each into a PostgreSQL portal database, then, for
//! each in turn: warms the secret on instance B over HTTP (`GET /api/v1/me` answers 200, so B
//! has it cached), waits a random 0–100 ms (so that revocations do not fall in step with the
//! listener's polling, which would measure nearly its worst case every time), revokes it the way the developer's "Revoke" button does
//! (`api_credentials::revoke_secret` in `db::transaction_then` with
//! `ApiRuntime::on_commit_invalidate_integration`: the transaction announces the change with
//! `NOTIFY`), and polls B with it until B refuses it (401/403). The time from the commit to that
//! first refusal is the propagation time; a secret B still accepts after 6 s counts as a failure.
//!
//! Prints the figures on stderr and, on stdout, shell assignments for `scripts/bench-cluster.sh`:
//! `PROP_N=… PROP_FAILED=… PROP_P50=… PROP_P95=… PROP_P99=… PROP_MAX=…` (milliseconds; `inf`
//! where failures reach the percentile).
//!
//! Usage: `bench_propagation <postgres://…/database> <http://instance-B> [N]` (the database the
//! instances use, already migrated; see `scripts/bench-cluster.sh`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use concat_portal::auth::{accounts, api_credentials};
use concat_portal::context::{RequestContext, RequestMeta};
use concat_portal::db::models::{api_secrets, developer_accounts, integrations};
use concat_portal::db::{self, new_id, AfterCommit, DbConn};
use concat_portal::domain::{ApiId, DisplayName, EmailAddress};
use concat_portal::gateway::ApiRuntime;
use concat_portal::settings::Settings;
use rand::Rng;

/// How long B may keep accepting a revoked secret before the revocation counts as failed (the
/// cache TTL, 5 s, would end it by then even without announcements).
const GIVE_UP: Duration = Duration::from_secs(6);
/// Pause between two polls of B.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// Requests that warm a secret on B (each must answer 200).
const WARM: usize = 3;
/// At most this long a random pause before each revocation.
const JITTER_MS: u64 = 100;

struct Credential {
    integration_id: String,
    secret_id: String,
    prefix: String,
    bearer: String,
}

/// The handler's `AfterCommit`, noting when the commit returned (before the local invalidation).
struct Timed<A> {
    inner: A,
    committed: Arc<Mutex<Option<Instant>>>,
}

impl<T, A: AfterCommit<T>> AfterCommit<T> for Timed<A> {
    fn before_commit(&self, conn: &mut DbConn, out: &T) -> diesel::QueryResult<()> {
        self.inner.before_commit(conn, out)
    }

    fn after_commit(self, out: &T) {
        *self.committed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.inner.after_commit(out);
    }
}

/// One user, one developer account, `n` active integrations with one secret each.
fn seed(c: &mut DbConn, n: usize) -> anyhow::Result<((String, String), Vec<Credential>)> {
    let now = Utc::now().naive_utc();
    db::write_tx(c, |c| {
        let email = format!("propagation-{}@concat.example", new_id());
        let user = accounts::insert_user(
            c,
            &EmailAddress::parse(&email).map_err(anyhow::Error::msg)?,
            &DisplayName::parse("Propagation").map_err(anyhow::Error::msg)?,
            None,
            false,
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let account = new_id();
        developer_accounts::insert(c, &account, "Propagation Co", "https://bench.example/", now)?;
        let mut credentials = Vec::with_capacity(n);
        for k in 0..n {
            let integration_id = new_id();
            let api_id = ApiId::generate();
            integrations::insert(
                c,
                &integrations::NewIntegration {
                    id: &integration_id,
                    account_id: &account,
                    api_id: api_id.as_str(),
                    display_name: &format!("Propagation {k}"),
                    description: "Revocation propagation benchmark",
                    status: integrations::IntegrationStatus::Active,
                    created_at: now,
                    approved_by_user_id: None,
                    activity_at: now,
                },
            )?;
            let integration = integrations::find(c, &integration_id)?.context("integration")?;
            let secret = api_credentials::issue(c, &integration, Some(&user.id), now)?;
            let row = api_secrets::active(c, &integration_id, now)?
                .into_iter()
                .next()
                .context("the secret just issued")?;
            credentials.push(Credential {
                integration_id,
                secret_id: row.id,
                prefix: row.prefix,
                bearer: format!("Bearer {}:{}", api_id.as_str(), secret.expose()),
            });
        }
        Ok::<_, anyhow::Error>(((user.id, email), credentials))
    })
}

/// B's answer to `GET /api/v1/me` with `bearer`.
async fn me(http: &reqwest::Client, base: &str, bearer: &str) -> anyhow::Result<u16> {
    let response = http
        .get(format!("{base}/api/v1/me"))
        .header("Authorization", bearer)
        .send()
        .await
        .with_context(|| format!("GET {base}/api/v1/me"))?;
    let status = response.status().as_u16();
    // Read the body, so the connection is reused.
    response.bytes().await?;
    Ok(status)
}

/// Nearest-rank percentile of sorted samples (`None`: a failure, ranked after every time).
fn percentile(sorted: &[Option<f64>], p: f64) -> Option<f64> {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied().flatten()
}

fn show(v: Option<f64>) -> String {
    v.map_or_else(|| "inf".to_string(), |ms| format!("{ms:.1}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench_propagation <postgres://…/database> <http://instance-B> [N]";
    let url = args.next().context(usage)?;
    let base = args
        .next()
        .context(usage)?
        .trim_end_matches('/')
        .to_string();
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100);
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "propagation needs PostgreSQL (announcements are NOTIFY): {usage}"
    );
    anyhow::ensure!((1..=10_000).contains(&n), "N must be 1..=10000");

    // This process stands for the instance where the developer clicks "Revoke": the same
    // settings as `serve` (defaults), its own caches, no Redis.
    let settings = Settings::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "PORTAL_DB_POOL_SIZE" => Some("2".into()),
        _ => None,
    })
    .map_err(|e| anyhow::anyhow!("{}: {}", e.name, e.reason))?;
    let pool = db::build_pool(&settings.database)?;
    let api = Arc::new(ApiRuntime::new(&settings.api)?);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;

    let (user, credentials) = {
        let mut c = pool.get()?;
        seed(&mut c, n)?
    };
    eprintln!(
        "seeded {n} integrations with one secret each; revoking them one by one, polling {base}"
    );

    let mut samples: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut polls = 0usize;
    for (k, cred) in credentials.iter().enumerate() {
        for _ in 0..WARM {
            let status = me(&http, &base, &cred.bearer).await?;
            anyhow::ensure!(
                status == 200,
                "revocation {k}: B answered {status} to a valid secret"
            );
        }

        let pause = rand::rng().random_range(0..=JITTER_MS);
        tokio::time::sleep(Duration::from_millis(pause)).await;

        // What `web::developer::integrations::revoke_secret` does, as the owner.
        let rc = RequestContext::new(
            Utc::now().naive_utc(),
            RequestMeta {
                client_ip: "127.0.0.1".into(),
                request_id: format!("bench-propagation-{k}"),
            },
            Some((user.0.as_str(), user.1.as_str())),
        );
        let committed = Arc::new(Mutex::new(None));
        let (integration_id, secret_id, prefix) = (
            cred.integration_id.clone(),
            cred.secret_id.clone(),
            cred.prefix.clone(),
        );
        let revoked = db::transaction_then(
            &pool,
            move |c| {
                api_credentials::revoke_secret(
                    c,
                    &rc.ctx(),
                    &integration_id,
                    &secret_id,
                    Some(&prefix),
                )
            },
            Timed {
                inner: api.on_commit_invalidate_integration(&cred.integration_id),
                committed: committed.clone(),
            },
        )
        .await?;
        anyhow::ensure!(revoked, "revocation {k}: the secret was not active");
        let t0 = committed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .context("the commit time")?;

        let mut sample = None;
        while t0.elapsed() < GIVE_UP {
            polls += 1;
            let status = me(&http, &base, &cred.bearer).await?;
            match status {
                200 => tokio::time::sleep(POLL_EVERY).await,
                401 | 403 => {
                    sample = Some(t0.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                other => anyhow::bail!("revocation {k}: B answered {other}"),
            }
        }
        if sample.is_none() {
            eprintln!(
                "revocation {k}: B still accepted the secret {} s after the commit",
                GIVE_UP.as_secs()
            );
        }
        samples.push(sample);
    }

    let failed = samples.iter().filter(|s| s.is_none()).count();
    samples.sort_by(|a, b| match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let [p50, p95, p99] = [50.0, 95.0, 99.0].map(|p| percentile(&samples, p));
    let max = samples.last().copied().flatten();
    let min = samples.first().copied().flatten();
    eprintln!(
        "propagation of {n} revocations to {base}: min {} ms, p50 {} ms, p95 {} ms, p99 {} ms, max {} ms; {failed} not refused within {} s; {polls} polls",
        show(min),
        show(p50),
        show(p95),
        show(p99),
        show(max),
        GIVE_UP.as_secs()
    );
    println!(
        "PROP_N={n} PROP_FAILED={failed} PROP_P50={} PROP_P95={} PROP_P99={} PROP_MAX={}",
        show(p50),
        show(p95),
        show(p99),
        show(max)
    );
    Ok(())
}
