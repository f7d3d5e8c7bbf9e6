//! Pure parsing of what an API request presents: its credentials (Bearer, Basic, or the
//! `_apikey` query parameter) and its `EventId` header. No I/O, no panics on any input (see the
//! property tests below and `fuzz/fuzz_targets/api_headers.rs`).

use base64::Engine as _;

use crate::domain::{ApiId, ApiSecret};

/// How the credentials arrived, in ConCat's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Bearer,
    Basic,
    QueryKey,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Bearer => "bearer",
            AuthMethod::Basic => "basic",
            AuthMethod::QueryKey => "query",
        }
    }
}

/// Why presented credentials cannot be checked at all (before any lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// No `Authorization` header and no (allowed) `_apikey`.
    Missing,
    /// `_apikey` was sent but query-string keys are turned off.
    QueryKeyDisabled,
    /// Not `<API ID>:<API Secret>`, an unknown scheme, bad base64, or a wrong checksum.
    Malformed,
}

/// What a request presents as credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Pair {
        api_id: ApiId,
        secret: ApiSecret,
        method: AuthMethod,
    },
    /// Unusable; `api_id` is kept when its part was well-formed (for usage statistics).
    Unusable {
        reason: Unusable,
        api_id: Option<ApiId>,
    },
}

impl Presented {
    pub fn api_id(&self) -> Option<&ApiId> {
        match self {
            Presented::Pair { api_id, .. } => Some(api_id),
            Presented::Unusable { api_id, .. } => api_id.as_ref(),
        }
    }
}

pub use crate::domain::QUERY_KEY;

/// Reads the credentials from the raw `Authorization` header value and the raw query string.
/// The header wins when present; `_apikey` is used only when `allow_query_key` is set.
pub fn credentials(authorization: Option<&[u8]>, query: &str, allow_query_key: bool) -> Presented {
    read_credentials(authorization, query, allow_query_key).presented
}

/// What `read_credentials` found.
pub struct Read {
    pub presented: Presented,
    /// The credentials were taken from `_apikey` (enabled or not, well-formed or not): for usage.
    pub via_query_key: bool,
    /// A well-formed pair sent in `_apikey` while query-string keys are turned off: refused
    /// whatever it is, but checked, so the use counts as its integration's (and warns its
    /// developer) only when the secret matched.
    pub disabled_pair: Option<(ApiId, ApiSecret)>,
}

/// `credentials`, and whether they came from the query string.
pub fn read_credentials(authorization: Option<&[u8]>, query: &str, allow_query_key: bool) -> Read {
    if let Some(raw) = authorization {
        return Read {
            presented: from_header(raw),
            via_query_key: false,
            disabled_pair: None,
        };
    }
    let value = query_key(query);
    let via_query_key = value.is_some();
    let mut disabled_pair = None;
    let presented = match value {
        None => unusable(Unusable::Missing, None),
        Some(value) if !allow_query_key => {
            let api_id = match pair(&value) {
                Ok((id, secret)) => {
                    disabled_pair = Some((id.clone(), secret));
                    Some(id)
                }
                Err(id) => id,
            };
            unusable(Unusable::QueryKeyDisabled, api_id)
        }
        Some(value) => with_method(pair(&value), AuthMethod::QueryKey),
    };
    Read {
        presented,
        via_query_key,
        disabled_pair,
    }
}

fn unusable(reason: Unusable, api_id: Option<ApiId>) -> Presented {
    Presented::Unusable { reason, api_id }
}

fn from_header(raw: &[u8]) -> Presented {
    let Ok(value) = std::str::from_utf8(raw) else {
        return unusable(Unusable::Malformed, None);
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        with_method(pair(rest), AuthMethod::Bearer)
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            // `echo id:secret | base64` adds a newline: forgive trailing whitespace.
            Some(text) => with_method(pair(text.trim_end()), AuthMethod::Basic),
            None => unusable(Unusable::Malformed, None),
        }
    } else {
        unusable(Unusable::Malformed, None)
    }
}

fn with_method(parsed: Result<(ApiId, ApiSecret), Option<ApiId>>, method: AuthMethod) -> Presented {
    match parsed {
        Ok((api_id, secret)) => Presented::Pair {
            api_id,
            secret,
            method,
        },
        Err(api_id) => unusable(Unusable::Malformed, api_id),
    }
}

/// `<API ID>:<API Secret>`; on failure, the API ID when that part was well-formed.
fn pair(text: &str) -> Result<(ApiId, ApiSecret), Option<ApiId>> {
    let (id, secret) = text.split_once(':').ok_or(None)?;
    let id = ApiId::parse(id).map_err(|_| None)?;
    match ApiSecret::parse(secret) {
        Some(secret) => Ok((id, secret)),
        None => Err(Some(id)),
    }
}

fn query_key(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == QUERY_KEY)
        .map(|(_, v)| v.into_owned())
}

/// The `EventId` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventIdHeader {
    Absent,
    Malformed,
    Valid(String),
}

impl EventIdHeader {
    pub fn valid(&self) -> Option<&str> {
        match self {
            EventIdHeader::Valid(s) => Some(s),
            _ => None,
        }
    }
}

pub fn event_id(raw: Option<&[u8]>) -> EventIdHeader {
    match raw {
        None => EventIdHeader::Absent,
        Some(bytes) => match std::str::from_utf8(bytes)
            .ok()
            // Only what HTTP itself treats as padding (its parsers strip it already).
            .and_then(|s| public_id("evt_", s.trim_matches([' ', '\t'])))
        {
            Some(id) => EventIdHeader::Valid(id.to_string()),
            None => EventIdHeader::Malformed,
        },
    }
}

/// An organization's or event's public id: the prefix and 16 base62 characters.
pub fn public_id<'a>(prefix: &str, s: &'a str) -> Option<&'a str> {
    let rest = s.strip_prefix(prefix)?;
    (rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn good() -> (ApiId, ApiSecret) {
        (ApiId::generate(), ApiSecret::generate())
    }

    #[test]
    fn bearer_basic_and_query_key() {
        let (id, secret) = good();
        let pair_text = format!("{}:{}", id.as_str(), secret.expose());
        let bearer = format!("Bearer {pair_text}");
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&pair_text)
        );
        for (header, method) in [
            (bearer.as_str(), AuthMethod::Bearer),
            (basic.as_str(), AuthMethod::Basic),
        ] {
            match credentials(Some(header.as_bytes()), "", false) {
                Presented::Pair {
                    api_id, method: m, ..
                } => {
                    assert_eq!(api_id, id);
                    assert_eq!(m, method);
                }
                other => panic!("{header}: {other:?}"),
            }
        }
        let query = format!("limit=5&_apikey={}", pair_text.replace(':', "%3A"));
        assert!(matches!(
            credentials(None, &query, true),
            Presented::Pair {
                method: AuthMethod::QueryKey,
                ..
            }
        ));
        assert_eq!(
            credentials(None, &query, false),
            Presented::Unusable {
                reason: Unusable::QueryKeyDisabled,
                api_id: Some(id.clone())
            }
        );
        // The header wins over the query string.
        assert!(matches!(
            credentials(Some(b"Bearer nope"), &query, true),
            Presented::Unusable {
                reason: Unusable::Malformed,
                ..
            }
        ));
        assert_eq!(
            credentials(None, "", true),
            Presented::Unusable {
                reason: Unusable::Missing,
                api_id: None
            }
        );
    }

    #[test]
    fn a_wrong_checksum_keeps_the_api_id_but_is_unusable() {
        let (id, secret) = good();
        let mut s = secret.expose().to_string();
        let last = s.pop().unwrap();
        s.push(if last == 'a' { 'b' } else { 'a' });
        let header = format!("Bearer {}:{s}", id.as_str());
        assert_eq!(
            credentials(Some(header.as_bytes()), "", false),
            Presented::Unusable {
                reason: Unusable::Malformed,
                api_id: Some(id)
            }
        );
    }

    #[test]
    fn event_ids() {
        assert_eq!(event_id(None), EventIdHeader::Absent);
        assert_eq!(event_id(Some(b"evt_")), EventIdHeader::Malformed);
        assert_eq!(
            event_id(Some(b" evt_0123456789abcdef ")),
            EventIdHeader::Valid("evt_0123456789abcdef".into())
        );
        assert_eq!(
            event_id(Some(b"evt_0123456789abcde!")),
            EventIdHeader::Malformed
        );
        assert_eq!(event_id(Some(&[0xff, 0xfe])), EventIdHeader::Malformed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_arbitrary_bytes(
            header in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
            query in ".{0,200}",
            allow in any::<bool>(),
            event in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ) {
            let _ = credentials(header.as_deref(), &query, allow);
            let _ = event_id(event.as_deref());
        }

        #[test]
        fn a_pair_with_any_one_character_changed_is_never_accepted(
            basic in any::<bool>(),
            at in 0usize..79,
            with in proptest::char::range('!', '~'),
        ) {
            let (id, secret) = good();
            let text = format!("{}:{}", id.as_str(), secret.expose());
            let mut chars: Vec<char> = text.chars().collect();
            let at = id.as_str().len() + 1 + at % secret.expose().len();
            prop_assume!(chars[at] != with);
            chars[at] = with;
            let mutated: String = chars.into_iter().collect();
            let header = if basic {
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&mutated))
            } else {
                format!("Bearer {mutated}")
            };
            // The checksum catches every single-character change in the secret.
            let accepted = matches!(
                credentials(Some(header.as_bytes()), "", false),
                Presented::Pair { .. }
            );
            prop_assert!(!accepted, "{}", mutated);
        }

        #[test]
        fn every_generated_pair_round_trips(basic in any::<bool>(), pad in " {0,3}") {
            let (id, secret) = good();
            let text = format!("{}:{}", id.as_str(), secret.expose());
            let header = if basic {
                format!("Basic{pad} {}", base64::engine::general_purpose::STANDARD.encode(&text))
            } else {
                format!("Bearer{pad} {text}")
            };
            let ok = matches!(
                credentials(Some(header.as_bytes()), "", false),
                Presented::Pair { api_id, .. } if api_id == id
            );
            prop_assert!(ok);
        }
    }
}
