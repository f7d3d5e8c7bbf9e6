//! Pages and figures more than one area shows. Areas (`public`, `account`, `developer`, `org`,
//! `admin`) import from here, never from each other.

pub mod confirm;
pub mod retirement;
pub mod secret;

pub use secret::secret_page;

/// Days of usage the charts show (developer and admin pages).
pub const USAGE_DAYS: i64 = 30;
