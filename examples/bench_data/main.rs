//! Benchmark data at production size, and the pages timed against it (issue 16, "Costs that
//! grow with data"); driven by `scripts/bench-data.sh`.
//!
//! - `bench_data seed <DATABASE_URL> [scale]` runs the migrations and fills an empty database:
//!   2,000 developer accounts with 10,000 integrations, 1,000 organizations with their events
//!   and 30,000 authorizations, a year of raw API usage, 10,000,000 audit entries, 100,000
//!   access requests (their emails in the outbox) and the users that own all of it (see
//!   `seed.rs` for the exact shape). `scale` (default 1.0) multiplies every count; 0.01 is a
//!   quick run. Progress goes to stderr; stdout is shell assignments (`BENCH_…=…` and
//!   `PORTAL_SECRET_KEY=…`, which the server needs to open the admin's TOTP secret).
//! - `bench_data time <BASE_URL> [title]` signs in over HTTP as the seeded ConCat admin
//!   (password, then a TOTP code), developer and organization admin (reading the `BENCH_…`
//!   variables), then times every GET page of the admin, organization and developer areas:
//!   one warm-up request, then the median and maximum of 5. Prints a markdown table against
//!   the 100 ms target; exits non-zero if any page did not answer 200.

mod pages;
mod seed;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: bench_data seed <DATABASE_URL> [scale] | bench_data time <BASE_URL> [title]";
    match args.first().map(String::as_str) {
        Some("seed") => {
            let url = args.get(1).context(usage)?;
            let scale = match args.get(2) {
                Some(s) => s.parse::<f64>().context("scale: a number, e.g. 0.01")?,
                None => 1.0,
            };
            if !(scale > 0.0 && scale <= 10.0) {
                anyhow::bail!("scale must be in (0, 10]");
            }
            seed::run(url, scale)
        }
        Some("time") => {
            let base = args.get(1).context(usage)?;
            let title = args.get(2).cloned().unwrap_or_else(|| base.clone());
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(pages::run(base.trim_end_matches('/'), &title))
        }
        _ => anyhow::bail!(usage),
    }
}
