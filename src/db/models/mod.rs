//! One file per entity: the read struct, an insertable, and named queries. Queries return
//! `QueryResult<Option<T>>` (via `.optional()`) rather than hiding errors.

pub mod audit;
pub mod login_failures;
pub mod outbox;
pub mod tokens;
pub mod users;
