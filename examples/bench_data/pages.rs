//! `bench_data time`: signs in as the seeded users over HTTP, the way a browser does (the
//! forms' CSRF tokens, the session cookie, the admin's TOTP code at `/login/verify`), then
//! times every GET page of the admin, organization and developer areas.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::redirect::Policy;
use reqwest::Client;

/// Requests timed per page, after one warm-up request.
const RUNS: usize = 5;
const TARGET_MS: f64 = 100.0;
/// How deep the deep audit page is.
const DEEP_PAGE: i64 = 500;

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .with_context(|| format!("{name} is not set: eval the output of `bench_data seed` first"))
}

/// The CSRF token every page carries in its `<meta name="csrf-token">`.
fn csrf_of(html: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).context("no csrf-token meta tag")? + marker.len();
    let len = html[start..]
        .find('"')
        .context("an unterminated csrf-token")?;
    Ok(html[start..start + len].to_string())
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The current code of an authenticator app holding `base32` (RFC 6238: SHA-1, 6 digits,
/// 30-second steps), by totp-rs.
fn totp_now(base32: &str) -> anyhow::Result<String> {
    let secret = totp_rs::Secret::Encoded(base32.to_string())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("BENCH_ADMIN_TOTP: {e:?}"))?;
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    );
    Ok(totp.generate_current()?)
}

/// A signed-in client (its cookie jar holds the session), following no redirects.
async fn sign_in(
    base: &str,
    email: &str,
    password: &str,
    totp: Option<&str>,
) -> anyhow::Result<Client> {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?;
    let page = client.get(format!("{base}/login")).send().await?;
    anyhow::ensure!(page.status() == 200, "GET /login: {}", page.status());
    let token = csrf_of(&page.text().await?)?;
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
            ("next", ""),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        res.status() == 303,
        "signing in as {email}: {} (expected 303)",
        res.status()
    );
    let mut to = location(&res);
    if to == "/login/verify" {
        let base32 = totp.with_context(|| format!("{email} is asked for a second factor"))?;
        let page = client.get(format!("{base}/login/verify")).send().await?;
        anyhow::ensure!(page.status() == 200, "GET /login/verify: {}", page.status());
        let token = csrf_of(&page.text().await?)?;
        let code = totp_now(base32)?;
        let res = client
            .post(format!("{base}/login/verify"))
            .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
            .send()
            .await?;
        anyhow::ensure!(
            res.status() == 303,
            "{email}'s TOTP code was refused: {} (expected 303)",
            res.status()
        );
        to = location(&res);
    }
    anyhow::ensure!(
        !to.starts_with("/login") && !to.starts_with("/account/security"),
        "signing in as {email} ended at {to}"
    );
    Ok(client)
}

/// One GET: status, milliseconds to the last byte, bytes.
async fn get(client: &Client, url: &str) -> anyhow::Result<(u16, f64, usize, String)> {
    let t = Instant::now();
    let res = client.get(url).send().await?;
    let status = res.status().as_u16();
    let body = res.text().await?;
    Ok((status, t.elapsed().as_secs_f64() * 1000.0, body.len(), body))
}

/// `/admin/audit`'s page about `DEEP_PAGE` pages in: the first page's "next" link with its
/// page number set (clamped to the last page), or, if the link carries a cursor instead, the
/// page reached by following "next" links (at most `DEEP_PAGE - 1` of them).
async fn deep_audit_page(base: &str, admin: &Client) -> anyhow::Result<String> {
    // The href of the `<a … rel="next" …>` tag, whatever the order of its attributes.
    let next_of = |html: &str| -> Option<String> {
        let rel = html.find("rel=\"next\"")?;
        let open = html[..rel].rfind("<a ")?;
        let tag = &html[open..rel + html[rel..].find('>')?];
        let start = tag.find("href=\"")? + "href=\"".len();
        let len = tag[start..].find('"')?;
        Some(tag[start..start + len].replace("&amp;", "&"))
    };
    let (status, _, _, html) = get(admin, &format!("{base}/admin/audit")).await?;
    anyhow::ensure!(status == 200, "GET /admin/audit: {status}");
    let next = next_of(&html).context("/admin/audit has no next link")?;
    if next.contains("page=") {
        // "Page 1 of N" when the page says how many there are.
        let nav = html.find("class=\"pagination\"").unwrap_or(0);
        let pages = html[nav..]
            .find(" of ")
            .map(|i| nav + i)
            .and_then(|i| {
                html[i + 4..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse::<i64>().ok())
            })
            .unwrap_or(DEEP_PAGE);
        let page = DEEP_PAGE.min(pages.max(1));
        let (path, query) = next.split_once('?').unwrap_or((&next, ""));
        let mut pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .map(str::to_string)
            .collect();
        pairs.push(format!("page={page}"));
        return Ok(format!("{path}?{}", pairs.join("&")));
    }
    let mut url = next;
    for _ in 2..DEEP_PAGE {
        let (status, _, _, html) = get(admin, &format!("{base}{url}")).await?;
        anyhow::ensure!(status == 200, "GET {url}: {status}");
        match next_of(&html) {
            Some(n) if n != url => url = n,
            Some(_) => anyhow::bail!("{url} links to itself as the next page"),
            None => break,
        }
    }
    Ok(url)
}

struct Timed {
    area: &'static str,
    label: String,
    median: f64,
    max: f64,
    kib: f64,
    /// Statuses other than 200, if any.
    bad: Vec<u16>,
}

pub async fn run(base: &str, title: &str) -> anyhow::Result<()> {
    let password = env("BENCH_PASSWORD")?;
    let admin = sign_in(
        base,
        &env("BENCH_ADMIN_EMAIL")?,
        &password,
        Some(&env("BENCH_ADMIN_TOTP")?),
    )
    .await
    .context("the ConCat admin")?;
    let dev = sign_in(base, &env("BENCH_DEV_EMAIL")?, &password, None)
        .await
        .context("the developer")?;
    let org_admin = sign_in(base, &env("BENCH_ORG_EMAIL")?, &password, None)
        .await
        .context("the organization admin")?;

    let (integration, secret, inactive) = (
        env("BENCH_INTEGRATION")?,
        env("BENCH_SECRET")?,
        env("BENCH_INACTIVE_INTEGRATION")?,
    );
    let (account, suspended, user) = (
        env("BENCH_ACCOUNT")?,
        env("BENCH_SUSPENDED_ACCOUNT")?,
        env("BENCH_USER")?,
    );
    let (org, auth, event, request) = (
        env("BENCH_ORG")?,
        env("BENCH_ORG_AUTH")?,
        env("BENCH_EVENT")?,
        env("BENCH_REQUEST")?,
    );
    let deep = deep_audit_page(base, &admin).await?;
    let deep_label = format!("/admin/audit?page={DEEP_PAGE} (deep)");
    let deep_label = if deep.contains("page=") {
        deep_label
    } else {
        format!("/admin/audit, {DEEP_PAGE} pages in by \"next\"")
    };

    // (area, client, label, path): every GET route of the three areas (src/web/{admin,org,
    // developer}/mod.rs), with ids from the seed.
    let pages: Vec<(&'static str, &Client, String, String)> = vec![
        ("admin", &admin, "/admin".into(), "/admin".into()),
        (
            "admin",
            &admin,
            "/admin/users".into(),
            "/admin/users".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/users/{id}/suspension".into(),
            format!("/admin/users/{user}/suspension"),
        ),
        (
            "admin",
            &admin,
            "/admin/requests".into(),
            "/admin/requests".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/requests?status=all".into(),
            "/admin/requests?status=all".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/requests/{id}".into(),
            format!("/admin/requests/{request}"),
        ),
        (
            "admin",
            &admin,
            "/admin/organizations".into(),
            "/admin/organizations".into(),
        ),
        ("admin", &admin, "/admin/api".into(), "/admin/api".into()),
        (
            "admin",
            &admin,
            "/admin/accounts/{id}/suspend".into(),
            format!("/admin/accounts/{account}/suspend"),
        ),
        (
            "admin",
            &admin,
            "/admin/accounts/{id}/reinstate".into(),
            format!("/admin/accounts/{suspended}/reinstate"),
        ),
        ("admin", &admin, "/admin/jobs".into(), "/admin/jobs".into()),
        (
            "admin",
            &admin,
            "/admin/compliance".into(),
            "/admin/compliance".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/compliance?state=all".into(),
            "/admin/compliance?state=all".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/integrations".into(),
            "/admin/integrations".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/integrations/{id}/retire".into(),
            format!("/admin/integrations/{integration}/retire"),
        ),
        (
            "admin",
            &admin,
            "/admin/audit".into(),
            "/admin/audit".into(),
        ),
        ("admin", &admin, deep_label, deep),
        (
            "admin",
            &admin,
            "/admin/audit?action=secret.created".into(),
            "/admin/audit?action=secret.created".into(),
        ),
        (
            "admin",
            &admin,
            "/admin/outbox".into(),
            "/admin/outbox".into(),
        ),
        ("org", &org_admin, "/org".into(), "/org".into()),
        (
            "org",
            &org_admin,
            "/org/{org}".into(),
            format!("/org/{org}"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/admins".into(),
            format!("/org/{org}/admins"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/integrations".into(),
            format!("/org/{org}/integrations"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/integrations/{auth}/revoke".into(),
            format!("/org/{org}/integrations/{auth}/revoke"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/events".into(),
            format!("/org/{org}/events"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/events/new".into(),
            format!("/org/{org}/events/new"),
        ),
        (
            "org",
            &org_admin,
            "/org/{org}/events/{event}/edit".into(),
            format!("/org/{org}/events/{event}/edit"),
        ),
        ("developer", &dev, "/developer".into(), "/developer".into()),
        (
            "developer",
            &dev,
            "/developer/integrations/{id}".into(),
            format!("/developer/integrations/{integration}"),
        ),
        (
            "developer",
            &dev,
            "/developer/integrations/{id}/usage".into(),
            format!("/developer/integrations/{integration}/usage"),
        ),
        (
            "developer",
            &dev,
            "/developer/integrations/{id}/secrets/{secret}/revoke".into(),
            format!("/developer/integrations/{integration}/secrets/{secret}/revoke"),
        ),
        (
            "developer",
            &dev,
            "/developer/integrations/{id}/retire".into(),
            format!("/developer/integrations/{integration}/retire"),
        ),
        (
            "developer",
            &dev,
            "/developer/integrations/{id}/reactivation".into(),
            format!("/developer/integrations/{inactive}/reactivation"),
        ),
        (
            "developer",
            &dev,
            "/developer/accounts/{id}/integrations/new".into(),
            format!("/developer/accounts/{account}/integrations/new"),
        ),
        (
            "developer",
            &dev,
            "/developer/accounts/{id}/team".into(),
            format!("/developer/accounts/{account}/team"),
        ),
    ];

    let mut timed = Vec::new();
    for (area, client, label, path) in pages {
        let url = format!("{base}{path}");
        let mut bad = Vec::new();
        let (status, warm_ms, _, _) = get(client, &url).await?;
        if status != 200 {
            bad.push(status);
        }
        let mut ms = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for _ in 0..RUNS {
            let (status, t, n, _) = get(client, &url).await?;
            if status != 200 && !bad.contains(&status) {
                bad.push(status);
            }
            ms.push(t);
            bytes = n;
        }
        ms.sort_by(f64::total_cmp);
        eprintln!(
            "  {label}: warm-up {warm_ms:.1} ms, median {:.1} ms",
            ms[RUNS / 2]
        );
        timed.push(Timed {
            area,
            label,
            median: ms[RUNS / 2],
            max: ms[RUNS - 1],
            kib: bytes as f64 / 1024.0,
            bad,
        });
    }

    println!("### {title}");
    println!();
    println!("| area | page | median ms | max ms | KiB | ≤ {TARGET_MS:.0} ms |");
    println!("|---|---|---:|---:|---:|:---:|");
    for t in &timed {
        let verdict = if !t.bad.is_empty() {
            format!("HTTP {:?}", t.bad)
        } else if t.median <= TARGET_MS {
            "✔".into()
        } else {
            "✘".into()
        };
        println!(
            "| {} | `{}` | {:.1} | {:.1} | {:.0} | {} |",
            t.area, t.label, t.median, t.max, t.kib, verdict
        );
    }
    let over: Vec<&Timed> = timed.iter().filter(|t| t.median > TARGET_MS).collect();
    println!();
    println!(
        "{} of {} pages over {TARGET_MS:.0} ms (median of {RUNS}, after one warm-up request).",
        over.len(),
        timed.len()
    );
    let failed: Vec<String> = timed
        .iter()
        .filter(|t| !t.bad.is_empty())
        .map(|t| format!("{} answered {:?}", t.label, t.bad))
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("pages did not answer 200: {}", failed.join("; "));
    }
    Ok(())
}
