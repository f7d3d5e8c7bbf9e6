//! The framework's own limit, for `scripts/bench-api.sh`: a bare actix-web server that answers
//! each of a few paths with a response the portal sent, byte for byte (status, every header name
//! and value, body), and does nothing else: no middleware, no authentication, no database, no
//! logging. Same actix-web (version and features) as the portal, and, like the portal, actix's
//! default worker count (`available_parallelism`, which follows the CPU affinity mask) on a Tokio
//! runtime started by `#[tokio::main]`.
//!
//! The responses are captured from the running portal with `curl --http1.1 -i` (status line,
//! headers, a blank line, the body). `date` and `content-length` are left out when loading a
//! capture (actix writes them itself, as it does for the portal), and so are the hop-by-hop
//! `connection`, `keep-alive` and `transfer-encoding`.
//!
//! Usage: `bare_reference <PORT> <PATH=CAPTURE_FILE>...`; listens on 127.0.0.1 only, e.g.
//! `bare_reference 18182 /api/v1/me=/tmp/me.http /healthz=/tmp/healthz.http`.

use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use anyhow::{bail, Context};

/// Headers actix writes itself on every response, or that belong to the connection.
const WRITTEN_BY_ACTIX: &[&str] = &[
    "date",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// One captured response.
struct Captured {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Captured {
    /// Parses `curl -i` output: `HTTP/1.1 200 OK`, header lines, a blank line, the body.
    fn parse(raw: &[u8]) -> anyhow::Result<Self> {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("no blank line after the headers")?;
        let head = std::str::from_utf8(&raw[..split]).context("headers are not UTF-8")?;
        let body = Bytes::copy_from_slice(&raw[split + 4..]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let code = status_line
            .split(' ')
            .nth(1)
            .context("no status code in the first line")?;
        let status = StatusCode::from_bytes(code.as_bytes()).context("bad status code")?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .with_context(|| format!("not a header line: {line:?}"))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("bad header name in {line:?}"))?;
            if WRITTEN_BY_ACTIX.contains(&name.as_str()) {
                continue;
            }
            let value = HeaderValue::from_bytes(value.trim().as_bytes())
                .with_context(|| format!("bad header value in {line:?}"))?;
            headers.push((name, value));
        }
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    fn response(&self) -> HttpResponse {
        let mut res = HttpResponse::with_body(self.status, self.body.clone());
        let headers = res.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        res.map_into_boxed_body()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_reference <PORT> <PATH=CAPTURE_FILE>...";
    let port: u16 = args.next().context(usage)?.parse().context(usage)?;
    let mut routes = Vec::new();
    for arg in args {
        let (path, file) = arg.split_once('=').context(usage)?;
        let raw = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        let captured = Captured::parse(&raw).with_context(|| format!("parsing {file}"))?;
        routes.push((path.to_string(), Arc::new(captured)));
    }
    if routes.is_empty() {
        bail!(usage);
    }
    let server = HttpServer::new(move || {
        routes.iter().fold(App::new(), |app, (path, captured)| {
            let captured = captured.clone();
            app.route(
                path,
                web::get().to(move || {
                    let res = captured.response();
                    async move { res }
                }),
            )
        })
    })
    .bind(("127.0.0.1", port))
    .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    eprintln!("bare_reference listening on 127.0.0.1:{port}");
    server.run().await?;
    Ok(())
}
