//! A sign-in storm for `scripts/bench-login-storm.sh`: `CONCURRENCY` tasks post to `/login`
//! back to back for `SECONDS` (bounded also by `MAX_REQUESTS`), half with malformed emails and
//! half with unknown well-formed ones, each from its own `X-Forwarded-For` address (the portal
//! must run with `PORTAL_TRUST_PROXY_HEADERS=true`). Prints one line per status code.
//! Usage: `login_storm <base URL> [concurrency=400] [seconds=15] [mode=sustained|waves]`.
//! `sustained`: every task posts again as soon as it has its answer (`concurrency` always in
//! flight). `waves`: `concurrency` sign-ins fired at once, then a pause of a second after the
//! last answer, repeated until `seconds` have passed. Loopback only.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

const MAX_REQUESTS: u64 = 2_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .context("usage: login_storm <base URL> [concurrency] [seconds]")?;
    let concurrency: usize = args.next().map_or(Ok(400), |v| v.parse())?;
    let seconds: u64 = args.next().map_or(Ok(15), |v| v.parse())?;
    let waves = match args.next().as_deref() {
        None | Some("sustained") => false,
        Some("waves") => true,
        Some(other) => anyhow::bail!("mode must be sustained or waves, not {other}"),
    };
    anyhow::ensure!(
        base.starts_with("http://127.") || base.starts_with("http://localhost"),
        "loopback only"
    );

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    // One session, one CSRF token for every task (failed sign-ins do not renew the session).
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("no CSRF token on /login")?
        .to_string();

    // STORM_EMAILS=malformed|wellformed sends only one kind (to tell their costs apart).
    let kinds = std::env::var("STORM_EMAILS").unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let statuses = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let mut wave = 0;
    loop {
        let mut tasks = Vec::new();
        for task in 0..concurrency {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            let (sent, statuses) = (sent.clone(), statuses.clone());
            let kinds = kinds.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = sent.fetch_add(1, Ordering::Relaxed);
                    if n >= MAX_REQUESTS {
                        break;
                    }
                    let malformed = match kinds.as_str() {
                        "malformed" => true,
                        "wellformed" => false,
                        _ => task % 2 == 0,
                    };
                    let email = if malformed {
                        format!("not-an-email-{n}")
                    } else {
                        format!("nobody{n}@storm.example")
                    };
                    // A fresh address for every request, so the per-address limit never stops
                    // the storm before the hashing gate has to.
                    let xff = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
                    let status = match client
                        .post(format!("{base}/login"))
                        .header("x-forwarded-for", xff)
                        .form(&[
                            ("csrf_token", token.as_str()),
                            ("email", email.as_str()),
                            ("password", "a storm of guessed passphrases"),
                        ])
                        .send()
                        .await
                    {
                        Ok(res) => {
                            let code = res.status().as_u16().to_string();
                            let _ = res.bytes().await;
                            code
                        }
                        Err(e) if e.is_timeout() => "timeout".to_string(),
                        Err(e) => {
                            // Named in the report: a refused connection is not a closed one.
                            eprintln!("login_storm: {e:?}");
                            if e.is_connect() {
                                "connect-error".to_string()
                            } else {
                                "error".to_string()
                            }
                        }
                    };
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                    if waves || Instant::now() >= deadline {
                        break;
                    }
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        wave += 1;
        if !waves || Instant::now() + Duration::from_secs(1) >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if waves {
        println!("waves {wave}");
    }
    for (status, count) in statuses.lock().unwrap().iter() {
        println!("{status} {count}");
    }
    Ok(())
}
