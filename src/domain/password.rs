use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../auth/common_passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// A password typed to log in: never printed, never checked for strength (old passwords stay
/// usable), only bounded in length so nobody can make the server hash a megabyte.
pub struct PasswordInput(SecretString);

impl PasswordInput {
    pub fn new(raw: String) -> Self {
        Self(SecretString::from(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_plausible(&self) -> bool {
        let n = self.expose().chars().count();
        n > 0 && n <= MAX_LEN
    }
}

impl fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordInput([redacted])")
    }
}

/// A new password that meets the policy: 12–128 characters, not on the common-password list.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n < MIN_LEN {
            return Err(format!("Use at least {MIN_LEN} characters."));
        }
        if n > MAX_LEN {
            return Err(format!("Use at most {MAX_LEN} characters."));
        }
        if COMMON.contains(raw.to_lowercase().as_str()) {
            return Err("This password is too common. Choose one that is harder to guess.".into());
        }
        Ok(Self(SecretString::from(raw.to_string())))
    }

    /// Parses a new password and its confirmation field.
    pub fn parse_confirmed(raw: &str, confirm: &str) -> Result<Self, String> {
        let p = Self::parse(raw)?;
        if raw != confirm {
            return Err("The two passwords do not match.".into());
        }
        Ok(p)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert!(
            NewPassword::parse("Password1234").is_err(),
            "common list is case-insensitive"
        );
        assert!(NewPassword::parse("correct horse battery").is_ok());
        assert!(
            NewPassword::parse_confirmed("correct horse battery", "correct horse batterx").is_err()
        );
        assert_eq!(
            format!("{:?}", NewPassword::parse("correct horse battery").unwrap()),
            "NewPassword([redacted])"
        );
    }
}
