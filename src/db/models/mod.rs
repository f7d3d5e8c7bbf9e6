//! One file per entity: the read struct, an insertable, and named queries. Queries return
//! `QueryResult<Option<T>>` (via `.optional()`) rather than hiding errors.

pub mod access_requests;
pub mod api_secrets;
pub mod api_usage;
pub mod audit;
pub mod authorizations;
pub mod developer_accounts;
pub mod events;
pub mod integrations;
pub mod invitations;
pub mod job_runs;
pub mod login_failures;
pub mod organizations;
pub mod outbox;
pub mod reactivations;
pub mod tokens;
pub mod users;

/// A model's columns for an `INSERT … RETURNING` (or `UPDATE … RETURNING`), read back as the
/// model: the statement hands back the row it wrote, so nothing is read again to get it.
/// diesel's `as_returning()` cannot be used through the multi-connection backend (its `SelectBy`
/// is not a query fragment of the inner backends); the plain column tuple it wraps can, and is
/// the one `as_select()` reads, in the struct's field order.
pub fn returning<T>() -> T::SelectExpression
where
    T: diesel::Selectable<crate::db::MultiBackend>,
{
    T::construct_selection()
}
