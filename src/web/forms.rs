//! Helpers for forms and lists: field errors kept next to their field, and pagination.

use crate::domain::NewPassword;

/// Field name → message, shown next to the field and, in the order they were found (the
/// form's order), in the summary above the form. The first message for a field wins.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `other`'s messages after this one's (fields already in error keep their message).
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// Every (field, message), for the error summary (each links to its field, `#f-{field}`).
    pub fn list(&self) -> &[(&'static str, String)] {
        &self.0
    }

    /// A new password and its confirmation: a weak password is reported under `password`, a
    /// mismatch under `confirm` — both when both are wrong.
    pub fn new_password(&mut self, password: &str, confirm: &str) -> Option<NewPassword> {
        let parsed = self.take("password", NewPassword::parse(password));
        if password != confirm {
            self.add("confirm", "The two passwords do not match.");
            return None;
        }
        parsed
    }

    /// Takes the value of a parse, recording its error under `field`.
    pub fn take<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e);
                None
            }
        }
    }
}

/// One page of a list. `query` is the rest of the query string (filters), already encoded.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub path: String,
    pub query: String,
}

impl Pager {
    pub fn new(page: Option<i64>, per_page: i64, path: &str, query: String) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page,
            total: 0,
            path: path.to_string(),
            query,
        }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    fn link(&self, page: i64) -> String {
        if self.query.is_empty() {
            format!("{}?page={page}", self.path)
        } else {
            format!("{}?{}&page={page}", self.path, self.query)
        }
    }

    pub fn prev(&self) -> Option<String> {
        (self.page > 1).then(|| self.link(self.page - 1))
    }

    pub fn next(&self) -> Option<String> {
        (self.page < self.pages()).then(|| self.link(self.page + 1))
    }
}

/// Encodes filter pairs (skipping empty ones) for pagination links.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

pub use crate::clock::when;

/// For form fields that never show an error (templates pass it to the input macro).
pub const NO_ERROR: Option<&str> = None;

/// A search or filter value from a query string: trimmed, control characters dropped, at most
/// 100 characters; `None` when nothing is left.
pub fn filter_text(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).take(100).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}
