use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::events as e;
use crate::db::DbConn;
use crate::domain::EventStatus;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = e)]
pub struct Event {
    pub id: String,
    pub public_id: String,
    pub organization_id: String,
    pub name: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub venue: String,
    pub status: EventStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The API ID of the integration whose change was the last, if the last change came through
    /// the API (`None` after an organization admin's save).
    pub changed_by_api_id: Option<String>,
}

/// An event as the API lists it (what `Event` has, less `created_at`: one timestamp fewer to
/// decode per row on the API's busiest read).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = e)]
pub struct EventListing {
    pub public_id: String,
    pub name: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub venue: String,
    pub status: EventStatus,
    pub updated_at: NaiveDateTime,
}

impl From<&Event> for EventListing {
    fn from(e: &Event) -> Self {
        Self {
            public_id: e.public_id.clone(),
            name: e.name.clone(),
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            time_zone: e.time_zone.clone(),
            venue: e.venue.clone(),
            status: e.status,
            updated_at: e.updated_at,
        }
    }
}

/// What an event form sets.
pub struct EventFields<'a> {
    pub name: &'a str,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: &'a str,
    pub venue: &'a str,
    pub status: EventStatus,
}

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    public_id: &str,
    organization_id: &str,
    f: &EventFields<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(e::table)
        .values((
            e::id.eq(id),
            e::public_id.eq(public_id),
            e::organization_id.eq(organization_id),
            e::name.eq(f.name),
            e::starts_at.eq(f.starts_at),
            e::ends_at.eq(f.ends_at),
            e::time_zone.eq(f.time_zone),
            e::venue.eq(f.venue),
            e::status.eq(f.status),
            e::created_at.eq(now),
            e::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Updates an event of this organization; false when it is not one of its events.
pub fn update(
    conn: &mut DbConn,
    organization_id: &str,
    public_id: &str,
    f: &EventFields<'_>,
    by_api_id: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        e::table
            .filter(e::organization_id.eq(organization_id))
            .filter(e::public_id.eq(public_id)),
    )
    .set((
        e::name.eq(f.name),
        e::starts_at.eq(f.starts_at),
        e::ends_at.eq(f.ends_at),
        e::time_zone.eq(f.time_zone),
        e::venue.eq(f.venue),
        e::status.eq(f.status),
        e::updated_at.eq(now),
        e::changed_by_api_id.eq(by_api_id),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// An event, only if it belongs to the organization.
pub fn find_in_org(
    conn: &mut DbConn,
    organization_id: &str,
    public_id: &str,
) -> QueryResult<Option<Event>> {
    e::table
        .filter(e::organization_id.eq(organization_id))
        .filter(e::public_id.eq(public_id))
        .select(Event::as_select())
        .first(conn)
        .optional()
}

pub fn for_org(conn: &mut DbConn, organization_id: &str) -> QueryResult<Vec<Event>> {
    e::table
        .filter(e::organization_id.eq(organization_id))
        .order((e::starts_at.asc(), e::id.asc()))
        .select(Event::as_select())
        .load(conn)
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Event>> {
    e::table
        .filter(e::public_id.eq(public_id))
        .select(Event::as_select())
        .first(conn)
        .optional()
}

/// One page of an organization's events by start time (then public id), after `after`. Two
/// fixed statements (not boxed), so diesel caches them as prepared statements.
pub fn page_for_org(
    conn: &mut DbConn,
    organization_id: &str,
    after: Option<(NaiveDateTime, &str)>,
    limit: i64,
    include_drafts: bool,
) -> QueryResult<Vec<EventListing>> {
    let mut query = e::table
        .filter(e::organization_id.eq(organization_id))
        .order((e::starts_at.asc(), e::public_id.asc()))
        .select(EventListing::as_select())
        .limit(limit)
        .into_boxed();
    if !include_drafts {
        query = query.filter(e::status.ne(EventStatus::Draft));
    }
    if let Some((starts_at, public_id)) = after {
        query = query.filter(
            e::starts_at
                .gt(starts_at)
                .or(e::starts_at.eq(starts_at).and(e::public_id.gt(public_id))),
        );
    }
    query.load(conn)
}
