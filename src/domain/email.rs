use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::Text;

/// A syntactically valid email address, trimmed. `normalized()` is the lower-cased form used for
/// uniqueness and look-ups, so `Ada@Example.com` and `ada@example.com` are one account.
#[derive(Clone, PartialEq, Eq, diesel::FromSqlRow)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts exactly the plain `local@domain` addresses the mail transport can deliver: the
    /// input must parse as a lettre `Mailbox` (the parser the SMTP transport uses) that is just
    /// the address, with no display name. Beyond that, quoted local parts (`"a,b"@…`), domain
    /// literals and IP addresses (`a@[127.0.0.1]`) and domains without a dot are refused: lettre
    /// accepts some of them, but they cannot be delivered (or only to hosts we never mean).
    pub fn parse(input: &str) -> Result<Self, String> {
        const INVALID: &str = "Enter a valid email address, like name@example.com.";
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an email address.".into());
        }
        if s.len() > 254 {
            return Err("That email address is too long.".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(INVALID.into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(INVALID.into());
        };
        if local.is_empty() || domain.is_empty() {
            return Err(INVALID.into());
        }
        if local.contains('"') {
            return Err(
                "Quoted addresses (\"…\"@example.com) cannot be used; enter a plain address, like name@example.com."
                    .into(),
            );
        }
        let bare = domain
            .strip_prefix('[')
            .and_then(|d| d.strip_suffix(']'))
            .unwrap_or(domain);
        if domain.starts_with('[') || bare.parse::<std::net::IpAddr>().is_ok() {
            return Err(
                "Enter an address at a domain name, like name@example.com, not at an IP address."
                    .into(),
            );
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(
                "The part after @ must be a full domain name, like name@example.com.".into(),
            );
        }
        // The transport's own parser: what passes here is what `Mailer::send` can address.
        match s.parse::<lettre::message::Mailbox>() {
            Ok(mailbox) if mailbox.name.is_none() && mailbox.email.to_string() == s => {
                Ok(Self(s.to_string()))
            }
            _ => Err(INVALID.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Read back from a TEXT column. The value was parsed when it was written, so it is taken as
/// stored: re-checking every row on every read would cost a parse per row and make an old row
/// unreadable once a rule gets stricter.
impl<DB> FromSql<Text, DB> for EmailAddress
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, DB>>::from_sql(bytes).map(Self)
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
            "a..b@example.com",
            "ada@-example.com",
            "ada@example.com.",
            "a(comment)@example.com",
            "Ada <ada@example.com>",
            "<ada@example.com>",
            "ada@example.com, bob@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn rejects_addresses_that_cannot_be_delivered_with_a_reason() {
        for (bad, says) in [
            ("\"a,b@evil.org\"@example.com", "Quoted addresses"),
            ("\"ada\"@example.com", "Quoted addresses"),
            ("a@[127.0.0.1]", "not at an IP address"),
            ("a@[IPv6:::1]", "not at an IP address"),
            ("a@127.0.0.1", "not at an IP address"),
            ("ada@localhost", "full domain name"),
            ("ada@", "Enter a valid email address"),
        ] {
            let err = EmailAddress::parse(bad).expect_err(bad);
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn what_it_accepts_the_transport_accepts() {
        for good in [
            "ada@example.com",
            "Ada.Lovelace+dev@Example.COM",
            "o'brien@example.co.uk",
            "ada@bücher.example",
        ] {
            let e = EmailAddress::parse(good).unwrap();
            let mailbox: lettre::message::Mailbox = e.as_str().parse().unwrap();
            assert_eq!(mailbox.email.to_string(), good);
        }
    }
}
