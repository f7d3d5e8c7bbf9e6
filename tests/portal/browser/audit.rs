//! What the browser tests check on every page they visit, besides what the page says:
//!
//! - **axe-core** (from npm, pinned in `tests/browser-deps/package-lock.json`; `.ci/run`
//!   installs it into `target/browser-deps`, or `AXE_CORE_JS` names an `axe.min.js`), injected
//!   into the page over WebDriver and run on the whole document. Without it the test is skipped
//!   locally (`Missing::Browser`); with `CI=true` that is a failure.
//! - **The viewport** really has the width asked for. A window narrower than Chromium allows
//!   stays wider (a 390 px window is 500 px outside), so the width is set through the DevTools
//!   protocol (`Emulation.setDeviceMetricsOverride`; below 640 px as a phone, `mobile: true`,
//!   which honours `<meta name="viewport">` and has overlay scroll bars) and read back from the
//!   page with the media query CSS sees (`(width: 390px)`).
//! - **No horizontal overflow**: `document.documentElement.scrollWidth` is at most the layout
//!   viewport's width (`clientWidth`: `innerWidth` less a classic scroll bar at 1280 px), and
//!   a phone did not zoom out: an emulated phone, like a real one, shows a page wider than the
//!   screen whole by growing `innerWidth` to the page's width (a 608 px page gives
//!   `innerWidth` 608), so `scrollWidth <= innerWidth` alone would pass it. When the page is too
//!   wide, the elements that reach furthest right are named.
//!
//! The axe rules: every rule tagged WCAG 2.0, 2.1 and 2.2 A and AA, plus axe's best practices
//! (landmarks, one `<h1>`, heading order, unique landmark names…). Experimental rules and
//! AAA are not run. Nothing is disabled: `DISABLED_RULES` is where a rule would be turned off,
//! each with its reason.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{Browser, Extension};
use crate::support::{skip, Missing};

/// The axe tags that are run (see the module documentation).
pub const AXE_TAGS: &[&str] = &[
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// Rules turned off, with the reason for each. None so far.
pub const DISABLED_RULES: &[(&str, &str)] = &[];

/// axe-core's source, read once per test.
pub struct Axe {
    source: String,
    version: String,
}

/// The pinned axe-core version, read from the committed `package.json`.
fn pinned_version() -> String {
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser-deps/package.json");
    let text = std::fs::read_to_string(&manifest).expect("tests/browser-deps/package.json");
    let json: Value = serde_json::from_str(&text).expect("package.json is JSON");
    json["dependencies"]["axe-core"]
        .as_str()
        .expect("axe-core is pinned in package.json")
        .to_string()
}

/// Finds `axe.min.js` (`AXE_CORE_JS`, else `target/browser-deps`, where `.ci/run` installs it);
/// `None` (recorded as a skip) when it is not there.
pub fn axe() -> Option<Axe> {
    let path = match std::env::var_os("AXE_CORE_JS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser-deps/node_modules/axe-core/axe.min.js"),
    };
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(Axe {
            source,
            version: pinned_version(),
        }),
        Err(e) => {
            skip(
                Missing::Browser,
                &format!(
                    "axe-core not found at {} ({e}; install it with `mkdir -p target/browser-deps \
                     && cp tests/browser-deps/package*.json target/browser-deps/ && npm ci \
                     --prefix target/browser-deps`, or set AXE_CORE_JS)",
                    path.display()
                ),
            );
            None
        }
    }
}

/// One DevTools protocol call, as a ChromeDriver extension command.
fn cdp(cmd: &str, params: Value) -> Extension {
    Extension {
        path: "goog/cdp/execute".into(),
        body: Some(json!({ "cmd": cmd, "params": params })),
    }
}

impl Browser {
    /// Makes the viewport `width` CSS pixels wide (900 high) and checks the page agrees.
    pub async fn set_viewport(&self, width: u32) {
        let mobile = width < 640;
        self.client
            .issue_cmd(cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({
                    "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile,
                }),
            ))
            .await
            .expect("Emulation.setDeviceMetricsOverride");
        self.assert_viewport(width).await;
    }

    /// Fails unless the current page's layout viewport is `width` CSS pixels wide.
    pub async fn assert_viewport(&self, width: u32) {
        let (matches, inner) = {
            let v = self
                .client
                .execute(
                    "return [matchMedia(`(width: ${arguments[0]}px)`).matches, innerWidth]",
                    vec![json!(width)],
                )
                .await
                .unwrap();
            (v[0].as_bool(), v[1].clone())
        };
        assert_eq!(
            matches,
            Some(true),
            "the viewport is not {width} px wide (innerWidth {inner})"
        );
    }

    /// `None` when the document is no wider than the `width` px viewport; otherwise what
    /// sticks out.
    pub async fn horizontal_overflow(&self, width: u32) -> Option<String> {
        let found = self
            .client
            .execute(OVERFLOW_JS, vec![json!(width)])
            .await
            .expect("measuring the page");
        if found["fits"].as_bool() == Some(true) {
            return None;
        }
        let widest: Vec<String> = found["widest"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "      {} (left {}, right {}, width {})",
                    e["path"].as_str().unwrap_or("?"),
                    e["left"],
                    e["right"],
                    e["width"]
                )
            })
            .collect();
        Some(format!(
            "the page is {} px wide in a {width} px viewport (layout width {}, innerWidth {}); \
             the elements that reach furthest right:\n{}",
            found["scrollWidth"],
            found["clientWidth"],
            found["innerWidth"],
            widest.join("\n")
        ))
    }

    /// A PNG of the whole page (beyond the viewport), for a person to look at; with `height`,
    /// only its top `height` CSS pixels (what a reader sees first, for docs/screenshots).
    pub async fn full_page_png(&self, height: Option<u32>) -> Vec<u8> {
        use base64::Engine;
        let mut params = json!({ "format": "png", "captureBeyondViewport": true });
        if let Some(height) = height {
            let width = self
                .client
                .execute("return document.documentElement.clientWidth", vec![])
                .await
                .expect("the page's width");
            params["clip"] =
                json!({ "x": 0, "y": 0, "width": width, "height": height, "scale": 1 });
        }
        let shot = self
            .client
            .issue_cmd(cdp("Page.captureScreenshot", params))
            .await
            .expect("Page.captureScreenshot");
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("the screenshot's data"))
            .expect("base64")
    }

    /// Injects axe-core into the current page and runs it on the whole document; each
    /// violation as a readable paragraph (rule, impact, help, up to 5 target selectors with
    /// axe's summary of what is wrong), none when the page passes.
    pub async fn axe_violations(&self, axe: &Axe) -> Vec<String> {
        let loaded = self
            .client
            .execute(
                &format!(
                    "{}\n;return typeof axe === 'object' ? axe.version : null;",
                    axe.source
                ),
                vec![],
            )
            .await
            .expect("injecting axe-core");
        assert_eq!(
            loaded.as_str(),
            Some(axe.version.as_str()),
            "the axe-core in the page is the pinned one (re-run npm ci in target/browser-deps)"
        );
        let disabled: serde_json::Map<String, Value> = DISABLED_RULES
            .iter()
            .map(|(id, _)| (id.to_string(), json!({ "enabled": false })))
            .collect();
        let options = json!({
            "runOnly": { "type": "tag", "values": AXE_TAGS },
            "rules": disabled,
            "resultTypes": ["violations"],
        });
        let result = self
            .client
            .execute_async(AXE_RUN_JS, vec![options])
            .await
            .expect("running axe-core");
        if let Some(error) = result["error"].as_str() {
            panic!("axe-core failed: {error}");
        }
        result["violations"]
            .as_array()
            .expect("axe's violations")
            .iter()
            .map(|v| {
                let nodes = v["nodes"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                let mut text = format!(
                    "    [{}] {} ({}) — {} node(s): {}",
                    v["impact"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    nodes.len(),
                    v["helpUrl"].as_str().unwrap_or("")
                );
                for n in nodes.iter().take(5) {
                    text.push_str(&format!(
                        "\n      {} {}\n        {}",
                        n["target"],
                        n["html"].as_str().unwrap_or(""),
                        n["failureSummary"]
                            .as_str()
                            .unwrap_or("")
                            .replace('\n', "\n        ")
                    ));
                }
                text
            })
            .collect()
    }
}

/// Runs axe with the options given as the first argument and calls back with the violations
/// (only what a failure message needs) or the error.
const AXE_RUN_JS: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, arguments[0]).then(
  r => done({ violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({
      target: n.target, html: n.html.slice(0, 200), failureSummary: n.failureSummary,
    })),
  })) }),
  e => done({ error: String(e && e.stack || e) }),
);
"#;

/// Measures the document against the viewport of the width given as the first argument; when
/// it is wider, lists the (at most 8) elements whose right edge is furthest beyond the layout
/// viewport (leaving out what a scrolling or clipping ancestor contains), each with a short
/// path.
const OVERFLOW_JS: &str = r#"
const width = arguments[0];
const doc = document.documentElement;
const layout = doc.clientWidth;
const fits = doc.scrollWidth <= layout && window.innerWidth <= width;
const path = el => {
  const parts = [];
  for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
    let p = e.localName;
    if (e.id) p += '#' + e.id;
    else if (e.classList.length) p += '.' + [...e.classList].join('.');
    parts.unshift(p);
    if (e.id) break;
  }
  return parts.join(' > ');
};
// Content of a scroll region, or clipped, does not widen the page: only the region would. An
// absolutely positioned element escapes the clipping of ancestors below its containing block
// (a visually hidden label in a scroll region that is not positioned widens the page).
const clipped = el => {
  let position = getComputedStyle(el).position;
  if (position === 'fixed') return false;
  for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
    const style = getComputedStyle(e);
    if (position === 'absolute' && style.position === 'static') continue;
    if (style.overflowX !== 'visible') return true;
    position = style.position;
    if (position === 'fixed') return false;
  }
  return false;
};
const widest = fits ? [] : [...document.body.querySelectorAll('*')]
  .map(el => ({ el, r: el.getBoundingClientRect() }))
  .filter(({ el, r }) => r.width > 0 && r.right + window.scrollX > layout + 0.5 && !clipped(el))
  .sort((a, b) => b.r.right - a.r.right)
  .slice(0, 8)
  .map(({ el, r }) => ({
    path: path(el), left: Math.round(r.left + window.scrollX),
    right: Math.round(r.right + window.scrollX), width: Math.round(r.width),
  }));
return {
  fits, scrollWidth: doc.scrollWidth, clientWidth: layout, innerWidth: window.innerWidth, widest,
};
"#;
