//! API credentials. `ApiId`: `cc_id_` + 24 random base62 characters (public). `ApiSecret`:
//! `cc_sk_` + 43 random base62 characters (256 bits from the OS RNG) + `_` + a 6-character
//! base62 CRC-32 of everything before it, so secret scanners can recognise a leaked ConCat secret
//! and the API can reject a mistyped one without a database lookup. A secret is stored only as
//! its SHA-256 digest; `Debug` never prints it.

use std::fmt;

use rand::distr::{Alphanumeric, Distribution};
use rand::TryRngCore;
use subtle::ConstantTimeEq;

use super::sha256_hex;

/// The query parameter carrying `<API ID>:<API Secret>` when enabled (and redacted from logs).
pub const QUERY_KEY: &str = "_apikey";

pub const API_ID_PREFIX: &str = "cc_id_";
pub const SECRET_PREFIX: &str = "cc_sk_";
const API_ID_RANDOM: usize = 24;
const SECRET_RANDOM: usize = 43;
const CHECKSUM_LEN: usize = 6;
/// How much of a secret is shown later, to recognise it.
pub const SHOWN_PREFIX_LEN: usize = 10;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` characters from [0-9A-Za-z], uniformly, from the OS random number generator.
pub(crate) fn random_base62(n: usize) -> String {
    let mut rng = rand::rngs::OsRng.unwrap_err();
    Alphanumeric
        .sample_iter(&mut rng)
        .take(n)
        .map(char::from)
        .collect()
}

fn checksum(body: &str) -> String {
    let mut v = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiId(String);

impl ApiId {
    pub fn generate() -> Self {
        Self(format!("{API_ID_PREFIX}{}", random_base62(API_ID_RANDOM)))
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        match s.strip_prefix(API_ID_PREFIX) {
            Some(rest) if rest.len() >= 20 && rest.len() <= 64 && is_base62(rest) => {
                Ok(Self(s.to_string()))
            }
            _ => Err(
                "An API ID looks like cc_id_ followed by at least 20 letters and digits.".into(),
            ),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ApiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiId({})", self.0)
    }
}

#[derive(Clone)]
pub struct ApiSecret(String);

impl PartialEq for ApiSecret {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for ApiSecret {}

impl ApiSecret {
    pub fn generate() -> Self {
        let body = format!("{SECRET_PREFIX}{}", random_base62(SECRET_RANDOM));
        let sum = checksum(&body);
        Self(format!("{body}_{sum}"))
    }

    /// Accepts only well-formed secrets with a correct checksum (no lookup needed to reject
    /// a typo).
    pub fn parse(input: &str) -> Option<Self> {
        let rest = input.strip_prefix(SECRET_PREFIX)?;
        let (random, sum) = rest.split_once('_')?;
        if random.len() != SECRET_RANDOM
            || sum.len() != CHECKSUM_LEN
            || !is_base62(random)
            || !is_base62(sum)
        {
            return None;
        }
        let expected = checksum(&input[..SECRET_PREFIX.len() + SECRET_RANDOM]);
        bool::from(expected.as_bytes().ct_eq(sum.as_bytes())).then(|| Self(input.to_string()))
    }

    /// Shown exactly once, on the page that creates it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }

    pub fn prefix(&self) -> String {
        self.0[..SHOWN_PREFIX_LEN].to_string()
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let id = ApiId::generate();
        assert!(id.as_str().starts_with("cc_id_") && id.as_str().len() == 30);
        assert_eq!(ApiId::parse(id.as_str()).unwrap(), id);
        assert!(ApiId::parse("cc_id_short").is_err());
        assert!(ApiId::parse("xx_id_AAAAAAAAAAAAAAAAAAAAAAAA").is_err());

        let s = ApiSecret::generate();
        assert_eq!(s.expose().len(), 6 + 43 + 1 + 6);
        assert!(ApiSecret::parse(s.expose()).is_some());
        assert_eq!(s.prefix().len(), 10);
        assert_eq!(format!("{s:?}"), "ApiSecret([redacted])");
        assert_ne!(ApiSecret::generate().expose(), s.expose());
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let s = ApiSecret::generate();
        let mut chars: Vec<char> = s.expose().chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(ApiSecret::parse(&typo).is_none());
        assert!(ApiSecret::parse("cc_sk_short_abcdef").is_none());
    }
}
