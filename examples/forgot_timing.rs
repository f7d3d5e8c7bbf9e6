//! Times "forgot password" for existing accounts and for unknown emails, for
//! `scripts/bench-forgot-timing.sh`. `forgot_timing seed <DATABASE_URL> <n>` creates accounts
//! `known0@timing.example` … (each is asked for once, so every "existing" request does the full
//! work: token, email, audit, commit — the hourly cap never applies). `forgot_timing time <base
//! URL> <n>` then sends `n` sequential pairs, alternating which goes first, with a pause after
//! each request so the background work of one does not land on the next, and prints both
//! medians and their ratio. Loopback only.

use std::time::{Duration, Instant};

use anyhow::Context;

const USAGE: &str = "usage: forgot_timing seed <DATABASE_URL> <n> | time <base URL> <n>";

fn seed(url: &str, n: usize) -> anyhow::Result<()> {
    use concat_portal::auth::accounts;
    use concat_portal::db;
    use concat_portal::domain::{DisplayName, EmailAddress};
    let settings = concat_portal::settings::DatabaseSettings::parse(url, 1)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut c = db::establish(&settings)?;
    db::run_migrations(&mut c)?;
    let now = chrono::Utc::now().naive_utc();
    db::write_tx(&mut c, |c| {
        for i in 0..n {
            accounts::insert_user(
                c,
                &EmailAddress::parse(&format!("known{i}@timing.example"))
                    .map_err(anyhow::Error::msg)?,
                &DisplayName::parse(&format!("Known {i}")).map_err(anyhow::Error::msg)?,
                None,
                false,
                now,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok::<_, anyhow::Error>(())
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().context(USAGE)?;
    let target = args.next().context(USAGE)?;
    let rounds: usize = args.next().context(USAGE)?.parse()?;
    if mode == "seed" {
        return seed(&target, rounds);
    }
    anyhow::ensure!(mode == "time", "{USAGE}");
    let base = target;
    anyhow::ensure!(base.starts_with("http://127."), "loopback only");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = client
        .get(format!("{base}/forgot-password"))
        .send()
        .await?
        .text()
        .await?;
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("no CSRF token on /forgot-password")?
        .to_string();
    let time = |email: String| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let start = Instant::now();
            let res = client
                .post(format!("{base}/forgot-password"))
                .form(&[("csrf_token", token.as_str()), ("email", email.as_str())])
                .send()
                .await?;
            let status = res.status();
            res.bytes().await?;
            let took = start.elapsed();
            anyhow::ensure!(status == 200, "status {status}");
            // Let the background work (and the SQLite commit) finish before the next request.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, anyhow::Error>(took)
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let (existing, other) = (
            format!("known{i}@timing.example"),
            format!("nobody{i}@timing.example"),
        );
        if i % 2 == 0 {
            known.push(time(existing).await?);
            unknown.push(time(other).await?);
        } else {
            unknown.push(time(other).await?);
            known.push(time(existing).await?);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    println!("existing account: median {k:.3} ms over {rounds}");
    println!("unknown email:    median {u:.3} ms over {rounds}");
    println!(
        "ratio existing ÷ unknown = {:.3} (target within 10 %)",
        k / u
    );
    Ok(())
}
