//! Arbitrary bytes as the `Authorization` header, the query string and the `EventId` header:
//! the parsers must never panic, and must never accept a pair that does not re-parse.
#![no_main]

use concat_portal::api::parse::{credentials, event_id, Presented};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into three parts at the first two 0xFF bytes.
    let mut parts = data.splitn(3, |b| *b == 0xff);
    let header = parts.next().unwrap_or_default();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let event = parts.next();
    for allow in [false, true] {
        if let Presented::Pair { api_id, secret, .. } = credentials(Some(header), &query, allow) {
            let again = format!("Bearer {}:{}", api_id.as_str(), secret.expose());
            assert!(matches!(
                credentials(Some(again.as_bytes()), "", false),
                Presented::Pair { .. }
            ));
        }
        let _ = credentials(None, &query, allow);
    }
    let _ = event_id(event);
});
