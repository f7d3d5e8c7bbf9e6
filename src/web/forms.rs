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

pub use crate::db::Seek;

/// A position in a list ordered newest first by (time, id): `<Unix nanoseconds>.<id>`, as
/// keyset pagination's `older=` and `newer=` parameters carry it. Reading a page from a position
/// costs the same on page 1 and page 10,000 (no `OFFSET`, no count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub at: chrono::NaiveDateTime,
    pub id: String,
}

impl Position {
    pub fn encode(&self) -> String {
        // Nanoseconds: the time exactly as the database returned it (SQLite keeps what was
        // written), so the row itself is the boundary.
        let nanos = self.at.and_utc().timestamp_nanos_opt().unwrap_or(i64::MAX);
        format!("{nanos}.{}", self.id)
    }

    /// `None` for anything `encode` could not have made.
    pub fn parse(raw: &str) -> Option<Self> {
        let (nanos, id) = raw.split_once('.')?;
        let digits = nanos.strip_prefix('-').unwrap_or(nanos);
        if !(1..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let at = chrono::DateTime::from_timestamp_nanos(nanos.parse().ok()?);
        Some(Self {
            at: at.naive_utc(),
            id: id.to_string(),
        })
    }
}

/// The page a keyset-paginated list asks for, from its `older` and `newer` query parameters
/// (empty: absent); a malformed one is a 400 that says which.
pub fn seek(older: &str, newer: &str) -> Result<Seek, crate::errors::AppError> {
    let parse = |name: &str, raw: &str| {
        Position::parse(raw.trim()).ok_or_else(|| {
            crate::errors::AppError::BadRequest(format!(
                "{name} must be a position from this list's own links"
            ))
        })
    };
    match (older.trim().is_empty(), newer.trim().is_empty()) {
        (true, true) => Ok(Seek::Newest),
        (false, true) => parse("older", older).map(|p| Seek::Older(p.at, p.id)),
        (true, false) => parse("newer", newer).map(|p| Seek::Newer(p.at, p.id)),
        (false, false) => Err(crate::errors::AppError::BadRequest(
            "give older or newer, not both".into(),
        )),
    }
}

/// The links of one keyset page (see `db::Seek`): newest, newer and older, each keeping the
/// filters.
#[derive(Debug, Clone)]
pub struct Keyset {
    pub newest: Option<String>,
    pub newer: Option<String>,
    pub older: Option<String>,
}

impl Keyset {
    /// `rows` are the page's (newest first); `more` whether the query found rows beyond them in
    /// the direction it read.
    pub fn links<T>(
        path: &str,
        query: &str,
        seek: &Seek,
        rows: &[T],
        more: bool,
        position: impl Fn(&T) -> Position,
    ) -> Self {
        let link = |param: &str, p: Option<Position>| {
            let mut url = path.to_string();
            let mut parts: Vec<String> = Vec::new();
            if !query.is_empty() {
                parts.push(query.to_string());
            }
            if let Some(p) = p {
                parts.push(format!("{param}={}", p.encode()));
            }
            if !parts.is_empty() {
                url.push('?');
                url.push_str(&parts.join("&"));
            }
            url
        };
        let (has_newer, has_older) = match seek {
            Seek::Newest => (false, more),
            // Came from a newer page, so there is one.
            Seek::Older(..) => (true, more),
            Seek::Newer(..) => (more, true),
        };
        let (first, last) = (rows.first(), rows.last());
        Self {
            newest: (!matches!(seek, Seek::Newest) && has_newer).then(|| link("", None)),
            newer: has_newer
                .then(|| first.map(|r| link("newer", Some(position(r)))))
                .flatten(),
            older: has_older
                .then(|| last.map(|r| link("older", Some(position(r)))))
                .flatten(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_exactly_and_nothing_else_parses() {
        let at = chrono::DateTime::from_timestamp_nanos(1_796_694_094_040_684_123).naive_utc();
        let p = Position {
            at,
            id: "01a25332-e7b6-742f-bfa0-356c6e51db7a".into(),
        };
        assert_eq!(Position::parse(&p.encode()), Some(p));
        for bad in [
            "",
            "abc",
            "12.",
            ".id",
            "1.id with space",
            "99999999999999999999.x",
            "1.<script>",
        ] {
            assert_eq!(Position::parse(bad), None, "{bad}");
        }
        assert!(seek("1.a", "2.b").is_err());
        assert_eq!(seek(" ", "").unwrap(), Seek::Newest);
    }

    #[test]
    fn keyset_links_keep_the_filters_and_point_both_ways() {
        let rows: Vec<Position> = (0..3)
            .map(|i| Position {
                at: chrono::DateTime::from_timestamp(1_000 - i, 0)
                    .unwrap()
                    .naive_utc(),
                id: format!("r{i}"),
            })
            .collect();
        let newest = Keyset::links("/l", "q=x", &Seek::Newest, &rows, true, Clone::clone);
        assert_eq!(newest.newer, None);
        assert_eq!(newest.newest, None);
        assert_eq!(
            newest.older.as_deref(),
            Some("/l?q=x&older=998000000000.r2")
        );
        let last = Keyset::links(
            "/l",
            "",
            &Seek::Older(rows[0].at, rows[0].id.clone()),
            &rows,
            false,
            Clone::clone,
        );
        assert_eq!(last.older, None);
        assert_eq!(last.newer.as_deref(), Some("/l?newer=1000000000000.r0"));
        assert_eq!(last.newest.as_deref(), Some("/l"));
    }
}
