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
