//! What an access request is made of. Each parser returns a message for its form field.

use std::fmt;

/// Trimmed single-line text of 1 to `max` characters without control characters.
pub(crate) fn line(input: &str, max: usize, empty: &str) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err(empty.to_string());
    }
    if s.chars().count() > max {
        return Err(format!("Use at most {max} characters."));
    }
    if s.chars().any(char::is_control) {
        return Err("This contains characters that are not allowed.".into());
    }
    Ok(s.to_string())
}

/// Multi-line text up to `max` characters (line breaks allowed).
fn text(input: &str, max: usize, empty: &str) -> Result<String, String> {
    let s = input.trim().replace("\r\n", "\n");
    if s.is_empty() {
        return Err(empty.to_string());
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!("Use at most {max} characters (this has {n})."));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("This contains characters that are not allowed.".into());
    }
    Ok(s)
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $parse:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, String> {
                let f: fn(&str) -> Result<String, String> = $parse;
                f(input).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

text_type!(
    /// The company's name.
    CompanyName,
    |s| line(s, 120, "Enter your company's name.")
);
text_type!(
    /// The display name of an application (integration).
    AppName,
    |s| line(s, 80, "Enter a name for your application.")
);
text_type!(
    /// What the integration will do: up to 2,000 characters.
    UseCase,
    |s| text(s, 2000, "Describe what your application will do.")
);
text_type!(
    /// A message between ConCat and a requester (a rejection reason, a question, an answer).
    Message,
    |s| text(s, 2000, "Write a message.")
);

text_type!(
    /// A short note or reason kept with a lifecycle decision (a duty's resolution, an exemption,
    /// a reactivation request or its refusal): up to 1,000 characters.
    Note,
    |s| text(s, NOTE_MAX, "Please write a few words.")
);

pub const USE_CASE_MAX: usize = 2000;
pub const NOTE_MAX: usize = 1000;

/// A company website: an absolute http(s) URL with a host.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Website(String);

impl Website {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter your company's website.".into());
        }
        let bad = || {
            "Enter a full web address starting with http:// or https://, like https://example.com."
                .to_string()
        };
        // "ticketly.example" means https://ticketly.example: add the scheme people leave out.
        let with_scheme;
        let s = if s.contains("://") {
            s
        } else {
            with_scheme = format!("https://{s}");
            &with_scheme
        };
        let url = url::Url::parse(s).map_err(|_| bad())?;
        let host_ok = url
            .host_str()
            .is_some_and(|h| h.contains('.') || h == "localhost");
        if !matches!(url.scheme(), "http" | "https") || !host_ok || s.len() > 300 {
            return Err(bad());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("Leave user names and passwords out of the address.".into());
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional phone number: digits with the usual separators, 6–20 digits.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Phone(String);

impl Phone {
    pub fn parse_optional(input: &str) -> Result<Option<Self>, String> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let allowed = s
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(6..=20).contains(&digits) || s.starts_with(['-', '.', ')']) {
            return Err("Enter a phone number with its country code, like +44 20 7946 0000, or leave it empty.".into());
        }
        Ok(Some(Self(s.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Event customers the requester works with: one per line, at most 20, each up to 120
/// characters; blank lines and duplicates are dropped.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EventCustomers(Vec<String>);

impl EventCustomers {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut out: Vec<String> = Vec::new();
        for raw in input.lines() {
            let name = raw.trim();
            if name.is_empty() {
                continue;
            }
            if name.chars().count() > 120 {
                return Err(format!(
                    "\"{}…\" is too long: use at most 120 characters per customer.",
                    name.chars().take(30).collect::<String>()
                ));
            }
            if name.chars().any(char::is_control) {
                return Err("This contains characters that are not allowed.".into());
            }
            if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                out.push(name.to_string());
            }
        }
        if out.len() > 20 {
            return Err("List at most 20 event customers.".into());
        }
        Ok(Self(out))
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// How it is stored: one per line.
    pub fn to_lines(&self) -> String {
        self.0.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites() {
        assert_eq!(
            Website::parse("https://example.com").unwrap().as_str(),
            "https://example.com/"
        );
        // The scheme people leave out is added.
        assert_eq!(
            Website::parse("example.com/about").unwrap().as_str(),
            "https://example.com/about"
        );
        for bad in [
            "",
            "example",
            "mailto:someone@example.com",
            "ftp://example.com",
            "https://",
            "javascript:alert(1)",
            "https://user:pw@example.com",
        ] {
            assert!(Website::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse_optional("").unwrap(), None);
        assert!(Phone::parse_optional("+44 20 7946 0000").unwrap().is_some());
        assert!(Phone::parse_optional("call me").is_err());
        assert!(Phone::parse_optional("12").is_err());
    }

    #[test]
    fn use_case_limit_counts_characters() {
        assert!(UseCase::parse(&"é".repeat(2000)).is_ok());
        let e = UseCase::parse(&"x".repeat(2001)).unwrap_err();
        assert!(e.contains("2000") && e.contains("2001"), "{e}");
        assert!(UseCase::parse("  ").is_err());
    }

    #[test]
    fn event_customers() {
        let c =
            EventCustomers::parse("Acme Events\n\n acme events \nGlobex Conferences\r\n").unwrap();
        assert_eq!(c.names(), ["Acme Events", "Globex Conferences"]);
        assert!(
            EventCustomers::parse(&(0..21).map(|i| format!("c{i}\n")).collect::<String>()).is_err()
        );
        assert_eq!(EventCustomers::parse("").unwrap().names().len(), 0);
    }
}
