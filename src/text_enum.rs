//! Status, kind and role columns as Rust enums stored as TEXT, on both backends. A leaf module:
//! it imports nothing from the crate, so `domain` and `db` both use it.
//!
//! `text_enum!` defines such an enum: each variant names the exact string stored, so the column
//! keeps its values (no migration) and a model field of the enum's type reads and writes it.
//! An unknown stored string is a deserialization error ([`UnknownValue`]), never a panic.
//!
//! ```ignore
//! crate::text_enum! {
//!     /// `users.status`.
//!     pub enum UserStatus {
//!         Active = "active",
//!         Suspended = "suspended",
//!     }
//! }
//! ```
//!
//! The enum gets `as_str()` (the stored text), `ALL`, `FromStr` (the stored text back),
//! `Display` and `Serialize` (both the stored text, so templates and JSON show what they showed
//! as strings), and diesel's `AsExpression`/`FromSqlRow` over `Text` with `ToSql`/`FromSql` for
//! every backend that has them for `str`/`String`: SQLite, PostgreSQL and the `MultiBackend` of
//! [`crate::db::DbConn`].

use std::fmt;

/// A TEXT enum column held a string that names no variant (written by hand, or by another
/// version of the portal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The enum's name, e.g. `UserStatus`.
    pub type_name: &'static str,
    pub value: String,
    /// The strings it accepts.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of: {})",
            self.type_name,
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// Defines an enum stored as TEXT; see the module documentation.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownValue;

            /// The value of a stored text (exact match).
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => ::std::result::Result::Ok($name::$variant),)+
                    _ => ::std::result::Result::Err($crate::text_enum::UnknownValue {
                        type_name: stringify!($name),
                        value: s.to_string(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        // Written as its text, on any backend that writes `str` as TEXT (SQLite, PostgreSQL, and
        // the multi-connection backend, which hands the text on to the inner one).
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(
                bytes: <DB as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(
                        bytes,
                    )?;
                ::std::result::Result::Ok(text.parse::<$name>()?)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        enum Colour {
            Red = "red",
            /// Documented variant.
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn round_trips_its_text() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>(), Ok(*c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
    }

    #[test]
    fn reads_and_writes_its_text_and_refuses_an_unknown_one() {
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        let read: Colour = diesel::select(Colour::DarkBlue.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(read, Colour::DarkBlue);
        let text: String = diesel::select(Colour::Red.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(text, "red");
        let err = diesel::select("purple".into_sql::<Text>())
            .get_result::<Colour>(&mut conn)
            .unwrap_err();
        assert!(
            matches!(err, diesel::result::Error::DeserializationError(_)),
            "{err:?}"
        );
        // diesel names the field; the cause says what is wrong with it.
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert!(
            chain.ends_with("unknown Colour \"purple\" (expected one of: red, dark_blue)"),
            "{chain}"
        );
    }

    #[test]
    fn unknown_text_is_an_error_that_names_the_choices() {
        let err = "Red".parse::<Colour>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown Colour \"Red\" (expected one of: red, dark_blue)"
        );
    }
}
