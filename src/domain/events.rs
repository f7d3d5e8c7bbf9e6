//! Organizations and their events: names, public ids, time zones, local times, status.

use std::fmt;

use super::access::line;
use super::credentials::random_base62;
use chrono::{NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;

/// `org_` + 16 random base62 characters: an organization's public, unique ID.
pub fn new_org_public_id() -> String {
    format!("org_{}", random_base62(16))
}

/// `evt_` + 16 random base62 characters: an event's public, unique ID.
pub fn new_event_public_id() -> String {
    format!("evt_{}", random_base62(16))
}

/// An organization's name (1–120 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(input: &str) -> Result<Self, String> {
        line(input, 120, "Enter the organization's name.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event's name (1–160 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventName(String);

impl EventName {
    pub fn parse(input: &str) -> Result<Self, String> {
        line(input, 160, "Enter the event's name.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional venue (up to 200 characters).
pub fn parse_venue(input: &str) -> Result<String, String> {
    if input.trim().is_empty() {
        return Ok(String::new());
    }
    line(input, 200, "")
}

/// An IANA time zone, like `Europe/Berlin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    /// Every IANA name the portal accepts, for the forms' searchable list.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Choose the event's time zone.".into());
        }
        s.parse::<Tz>()
            .map(Self)
            .map_err(|_| format!("\"{s}\" is not a time zone we know. Use a name like Europe/Berlin or America/New_York."))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Parses a `datetime-local` value (`2026-06-01T18:30`) in this zone and returns UTC.
    pub fn local_to_utc(&self, input: &str, what: &str) -> Result<NaiveDateTime, String> {
        let s = input.trim();
        let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
            .map_err(|_| format!("Enter the {what} as a date and time, like 2026-06-01T18:30."))?;
        if !(1970..=2200).contains(&chrono::Datelike::year(&local)) {
            return Err(format!("Enter a {what} between the years 1970 and 2200."));
        }
        match self.0.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => Ok(t.naive_utc()),
            // The earlier of the two, when clocks go back.
            chrono::LocalResult::Ambiguous(a, _) => Ok(a.naive_utc()),
            chrono::LocalResult::None => Err(format!(
                "That {what} does not exist in {} (the clocks skip it).",
                self.name()
            )),
        }
    }

    /// A stored UTC time shown in this zone, as a `datetime-local` value.
    pub fn utc_to_local_input(&self, utc: &NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(utc)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    }

    /// A stored UTC time shown in this zone, for reading.
    pub fn display(&self, utc: &NaiveDateTime) -> String {
        self.0
            .from_utc_datetime(utc)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

crate::text_enum! {
    /// An event's status (`events.status`).
    pub enum EventStatus {
        Draft = "draft",
        Published = "published",
        Cancelled = "cancelled",
    }
}

impl EventStatus {
    /// A form's or the API's input (surrounding white space allowed).
    pub fn parse(input: &str) -> Result<Self, String> {
        input
            .trim()
            .parse()
            .map_err(|_| "Choose draft, published or cancelled.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_and_local_times() {
        let tz = TimeZone::parse("Europe/Berlin").unwrap();
        let utc = tz.local_to_utc("2026-06-01T18:30", "start").unwrap();
        assert_eq!(utc.to_string(), "2026-06-01 16:30:00");
        assert_eq!(tz.utc_to_local_input(&utc), "2026-06-01T18:30");
        assert!(TimeZone::parse("Mars/Olympus")
            .unwrap_err()
            .contains("not a time zone"));
        assert!(tz.local_to_utc("tomorrow", "start").is_err());
        assert!(tz.local_to_utc("-5000-01-01T10:00", "start").is_err());
        assert!(tz
            .local_to_utc("2201-01-01T10:00", "start")
            .unwrap_err()
            .contains("between the years"));
        // 02:30 on the last Sunday of March does not exist in Berlin.
        assert!(tz
            .local_to_utc("2026-03-29T02:30", "start")
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn public_ids() {
        let o = new_org_public_id();
        assert!(o.starts_with("org_") && o.len() == 20);
        assert_ne!(new_event_public_id(), new_event_public_id());
    }
}
