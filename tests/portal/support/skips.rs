//! Variants that cannot run on this machine. In CI (`ci()`) a skip is a failure; elsewhere the
//! test returns early, and when the test binary exits one line says what was skipped and why:
//!
//! `skipped: 121 PostgreSQL variants (PORTAL_TEST_POSTGRES_URL is not set), 6 browser tests (…)`

use std::io::Write;
use std::sync::{Mutex, Once};

/// Whether this run is CI (`CI=true` or `CI=1`): the one place that decides.
pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// What a skipped variant needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Postgres,
    Browser,
    Python,
    Redis,
}

impl Missing {
    fn index(self) -> usize {
        match self {
            Missing::Postgres => 0,
            Missing::Browser => 1,
            Missing::Python => 2,
            Missing::Redis => 3,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Missing::Postgres => "PostgreSQL variants",
            Missing::Browser => "browser tests",
            Missing::Python => "tests that drive Python tools (tests/python-requirements.txt)",
            Missing::Redis => "Redis tests",
        }
    }
}

/// (count, the first reason) per `Missing`.
static SKIPPED: Mutex<[(usize, String); 4]> = Mutex::new([
    (0, String::new()),
    (0, String::new()),
    (0, String::new()),
    (0, String::new()),
]);

/// Records that the calling test cannot run its variant here because of `reason` (the caller
/// then returns without testing). With `CI=true` this fails the test instead.
pub fn skip(missing: Missing, reason: &str) {
    assert!(
        !ci(),
        "CI=true but {reason}: the {} must run in CI",
        missing.what()
    );
    eprintln!("skipping one of the {}: {reason}", missing.what());
    {
        let mut skipped = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
        let (count, first) = &mut skipped[missing.index()];
        *count += 1;
        if first.is_empty() {
            *first = reason.to_string();
        }
    }
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn` that takes no arguments and never unwinds.
        let registered = unsafe { libc::atexit(print_summary) };
        assert_eq!(registered, 0, "registering the skip summary");
    });
}

/// The summary line, or `None` when nothing was skipped.
fn summary() -> Option<String> {
    let skipped = match SKIPPED.try_lock() {
        Ok(s) => s,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return None,
    };
    let parts: Vec<String> = [
        Missing::Postgres,
        Missing::Browser,
        Missing::Python,
        Missing::Redis,
    ]
    .into_iter()
    .filter_map(|m| {
        let (count, reason) = &skipped[m.index()];
        (*count > 0).then(|| format!("{count} {} ({reason})", m.what()))
    })
    .collect();
    (!parts.is_empty()).then(|| format!("skipped: {}", parts.join(", ")))
}

/// Runs when the test binary exits (after libtest's own summary), so the line is the last one
/// the run prints; stderr, so that libtest's output capture cannot swallow it.
extern "C" fn print_summary() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(line) = summary() {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    });
}

/// The Python that has the tests' pinned tools (tests/python-requirements.txt): the one named by
/// `PORTAL_TEST_PYTHON`, else `target/test-venv` (what `.ci/run` installs), if it can import
/// `module`; otherwise a skip (a failure in CI).
pub fn test_python(module: &str) -> Option<std::path::PathBuf> {
    let python = std::env::var_os("PORTAL_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python")
        });
    let works = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        skip(
            Missing::Python,
            &format!(
                "no {module} for {}; see tests/python-requirements.txt and .ci/run",
                python.display()
            ),
        );
        return None;
    }
    Some(python)
}
