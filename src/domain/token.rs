use std::fmt;

use base64::Engine;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

crate::text_enum! {
    /// What a one-time link is for (`one_time_tokens.purpose`), with its lifetime.
    pub enum TokenPurpose {
        /// First-run admin setup: valid until used.
        Setup = "setup",
        /// Forgot password: one hour.
        PasswordReset = "password_reset",
        /// An invitation link (team, organization admins, ConCat admins; `subject_id` is the
        /// invitation), or — for older links — an invited user's first password: seven days.
        Invitation = "invitation",
        /// Approval email: set (or confirm) a password and reveal the first API secret; seven
        /// days.
        Credentials = "credentials",
        /// An access request waiting for more information: the requester's answer link; 14 days.
        InfoResponse = "info_response",
        /// A new access request's "confirm your email" link: 48 hours.
        AccessConfirmation = "access_confirmation",
    }
}

impl TokenPurpose {
    pub fn lifetime(self) -> Option<chrono::Duration> {
        match self {
            TokenPurpose::Setup => None,
            TokenPurpose::PasswordReset => Some(chrono::Duration::hours(1)),
            TokenPurpose::Invitation | TokenPurpose::Credentials => Some(chrono::Duration::days(7)),
            TokenPurpose::InfoResponse => Some(chrono::Duration::days(14)),
            TokenPurpose::AccessConfirmation => Some(chrono::Duration::hours(48)),
        }
    }
}

/// The secret part of a one-time link: 256 random bits from the OS, URL-safe. Only its SHA-256
/// digest is stored; the token itself appears once, in the link.
pub struct OneTimeToken(String);

impl OneTimeToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .expect("the OS random number generator failed");
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts what came back in a URL; anything that cannot be one of ours is rejected early.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken([redacted])")
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let a = OneTimeToken::generate();
        let b = OneTimeToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(
            OneTimeToken::parse(a.expose()).unwrap().digest(),
            a.digest()
        );
        assert!(OneTimeToken::parse("short").is_none());
        assert!(OneTimeToken::parse(&"!".repeat(43)).is_none());
    }
}
