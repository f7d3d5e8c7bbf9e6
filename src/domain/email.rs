use std::fmt;

/// A syntactically valid email address, trimmed. `normalized()` is the lower-cased form used for
/// uniqueness and look-ups, so `Ada@Example.com` and `ada@example.com` are one account.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an email address.".into());
        }
        if s.len() > 254 {
            return Err("That email address is too long.".into());
        }
        let valid = email_address::EmailAddress::parse_with_options(
            s,
            email_address::Options::default().without_display_text(),
        )
        .is_ok();
        let domain_ok = s
            .rsplit_once('@')
            .map(|(_, d)| d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
            .unwrap_or(false);
        if !valid || !domain_ok || s.chars().any(char::is_whitespace) {
            return Err("Enter a valid email address, like name@example.com.".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn accepts_ordinary_addresses_and_normalizes_case() {
        let e = EmailAddress::parse("  Ada.Lovelace+dev@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace+dev@Example.COM");
        assert_eq!(e.normalized(), "ada.lovelace+dev@example.com");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
