//! `src/db/schema.rs` is kept by hand for both backends (see diesel.toml), so nothing but this
//! test ties it to the migrations: on a fresh database of each backend, the embedded migrations
//! must create exactly the tables `schema.rs` declares, each with exactly its columns (name, SQL
//! type, nullability) and its primary key.

use std::collections::BTreeMap;

use concat_portal::db;
use concat_portal::settings::DatabaseSettings;
use diesel::sql_types::{Bool, Integer, Text};
use diesel::RunQueryDsl;

use crate::support::*;

/// One column as `schema.rs` declares it, or as a migrated database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// The diesel type without `Nullable`: `Text`, `Integer`, `BigInt`, `Bool` or `Timestamp`.
    sql_type: String,
    nullable: bool,
}

impl std::fmt::Display for Column {
    /// As `schema.rs` writes it: `Text`, `Nullable<Text>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.nullable {
            true => write!(f, "Nullable<{}>", self.sql_type),
            false => write!(f, "{}", self.sql_type),
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    primary_key: Vec<String>,
    columns: BTreeMap<String, Column>,
}

/// The SQL types both backends support (the only ones `schema.rs` may use).
const TYPES: [&str; 5] = ["Text", "Integer", "BigInt", "Bool", "Timestamp"];

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

fn unreadable(line: usize, text: &str, why: &str) -> ! {
    panic!("src/db/schema.rs line {line}: {why}: {text:?}")
}

/// The `diesel::table!` blocks of `schema.rs`. Strict on purpose: a line inside a block that is
/// not a column of the form `name -> Type,` / `name -> Nullable<Type>,` (or a `///` comment)
/// fails the test, so the parser is extended rather than silently skipping what it does not
/// understand.
fn parse_schema(text: &str) -> BTreeMap<String, Table> {
    enum State {
        Outside,
        Header,
        Columns(String),
        Close,
    }
    let mut tables = BTreeMap::new();
    let mut state = State::Outside;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        state = match state {
            State::Outside if line == "diesel::table! {" => State::Header,
            State::Outside if line.contains("table!") => {
                unreadable(n + 1, raw, "a table! this parser does not read")
            }
            State::Outside => State::Outside,
            State::Header => {
                let (name, rest) = line
                    .split_once(" (")
                    .unwrap_or_else(|| unreadable(n + 1, raw, "expected `name (key, …) {`"));
                let key = rest
                    .strip_suffix(") {")
                    .unwrap_or_else(|| unreadable(n + 1, raw, "expected `name (key, …) {`"));
                let primary_key: Vec<String> =
                    key.split(',').map(|k| k.trim().to_string()).collect();
                if !is_identifier(name) || !primary_key.iter().all(|k| is_identifier(k)) {
                    unreadable(n + 1, raw, "a table name or key that is not an identifier");
                }
                let table = Table {
                    primary_key,
                    columns: BTreeMap::new(),
                };
                if tables.insert(name.to_string(), table).is_some() {
                    unreadable(n + 1, raw, "a table declared twice");
                }
                State::Columns(name.to_string())
            }
            State::Columns(_) if line == "}" => State::Close,
            State::Columns(table) if line.starts_with("///") => State::Columns(table),
            State::Columns(table) => {
                let (name, ty) = line
                    .strip_suffix(',')
                    .and_then(|l| l.split_once(" -> "))
                    .unwrap_or_else(|| unreadable(n + 1, raw, "expected `column -> Type,`"));
                let (sql_type, nullable) = match ty
                    .strip_prefix("Nullable<")
                    .and_then(|t| t.strip_suffix('>'))
                {
                    Some(inner) => (inner, true),
                    None => (ty, false),
                };
                if !is_identifier(name) || !TYPES.contains(&sql_type) {
                    unreadable(
                        n + 1,
                        raw,
                        "a column name that is not an identifier or a type outside the shared set",
                    );
                }
                let column = Column {
                    sql_type: sql_type.to_string(),
                    nullable,
                };
                let columns = &mut tables.get_mut(&table).unwrap().columns;
                if columns.insert(name.to_string(), column).is_some() {
                    unreadable(n + 1, raw, "a column declared twice");
                }
                State::Columns(table)
            }
            State::Close if line == "}" => State::Outside,
            State::Close => unreadable(n + 1, raw, "expected the `}` that closes table!"),
        };
    }
    assert!(
        matches!(state, State::Outside),
        "src/db/schema.rs ends inside a table! block"
    );
    assert_eq!(
        tables.len(),
        text.matches("diesel::table!").count(),
        "every table! in src/db/schema.rs is read"
    );
    for (name, table) in &tables {
        for key in &table.primary_key {
            assert!(
                table.columns.contains_key(key),
                "schema.rs: {name}'s key {key} is not one of its columns"
            );
        }
    }
    tables
}

/// What a migrated database reports for one column.
#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    sql_type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    /// The column's position in the primary key (from 1), or 0.
    #[diesel(sql_type = Integer)]
    pk: i32,
}

const SQLITE_COLUMNS: &str = r#"
    SELECT m.name AS table_name, p.name AS column_name, p.type AS sql_type,
           p."notnull" <> 0 AS not_null, p.pk AS pk
    FROM sqlite_master m JOIN pragma_table_info(m.name) p
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
      AND m.name <> '__diesel_schema_migrations'"#;

const POSTGRES_COLUMNS: &str = r#"
    SELECT c.table_name::text AS table_name, c.column_name::text AS column_name,
           c.data_type::text AS sql_type, c.is_nullable = 'NO' AS not_null,
           COALESCE((
               SELECT k.ordinal_position::integer
               FROM information_schema.table_constraints t
               JOIN information_schema.key_column_usage k
                 ON k.constraint_schema = t.constraint_schema
                AND k.constraint_name = t.constraint_name
               WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = c.table_schema
                 AND t.table_name = c.table_name AND k.column_name = c.column_name
           ), 0) AS pk
    FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.table_name <> '__diesel_schema_migrations'"#;

/// The diesel type for a column type as the backend reports it (SQLite: the declared type).
fn diesel_type(backend: Backend, reported: &str) -> String {
    let known = match backend {
        Backend::Sqlite => match reported.to_ascii_uppercase().as_str() {
            "TEXT" => Some("Text"),
            "INTEGER" => Some("Integer"),
            "BIGINT" => Some("BigInt"),
            "BOOLEAN" => Some("Bool"),
            "TIMESTAMP" => Some("Timestamp"),
            _ => None,
        },
        Backend::Postgres => match reported {
            "text" => Some("Text"),
            "integer" => Some("Integer"),
            "bigint" => Some("BigInt"),
            "boolean" => Some("Bool"),
            "timestamp without time zone" => Some("Timestamp"),
            _ => None,
        },
    };
    known.map_or_else(|| format!("(unmapped {reported})"), str::to_string)
}

/// The tables of a fresh database after the embedded migrations.
fn migrated_tables(backend: Backend, url: &str) -> BTreeMap<String, Table> {
    let settings = DatabaseSettings::parse(url, 1).unwrap();
    let mut conn = db::establish(&settings).unwrap();
    assert!(db::run_migrations(&mut conn).unwrap() > 0, "migrations ran");
    let query = match backend {
        Backend::Sqlite => SQLITE_COLUMNS,
        Backend::Postgres => POSTGRES_COLUMNS,
    };
    let rows: Vec<ColumnRow> = diesel::sql_query(query).load(&mut conn).unwrap();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut keys: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
    for row in rows {
        if row.pk > 0 {
            keys.entry(row.table_name.clone())
                .or_default()
                .push((row.pk, row.column_name.clone()));
        }
        let column = Column {
            sql_type: diesel_type(backend, &row.sql_type),
            nullable: !row.not_null,
        };
        tables
            .entry(row.table_name)
            .or_default()
            .columns
            .insert(row.column_name, column);
    }
    for (table, mut key) in keys {
        key.sort();
        tables.get_mut(&table).unwrap().primary_key = key.into_iter().map(|(_, c)| c).collect();
    }
    tables
}

async fn migrated_columns_match_schema_rs(backend: Backend) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs");
    let declared = parse_schema(&std::fs::read_to_string(path).expect("src/db/schema.rs"));
    assert!(declared.len() >= 10, "schema.rs declares its tables");
    let db = TestDb::empty(backend);
    let url = db.url.clone();
    let migrated = tokio::task::spawn_blocking(move || migrated_tables(backend, &url))
        .await
        .unwrap();

    let mut differences = Vec::new();
    for name in declared.keys().filter(|t| !migrated.contains_key(*t)) {
        differences.push(format!(
            "{name}: in schema.rs, not created by the migrations"
        ));
    }
    for name in migrated.keys().filter(|t| !declared.contains_key(*t)) {
        differences.push(format!(
            "{name}: created by the migrations, not in schema.rs"
        ));
    }
    for (name, want) in &declared {
        let Some(got) = migrated.get(name) else {
            continue;
        };
        if want.primary_key != got.primary_key {
            differences.push(format!(
                "{name}: primary key {:?} in schema.rs, {:?} migrated",
                want.primary_key, got.primary_key
            ));
        }
        for (column, w) in &want.columns {
            match got.columns.get(column) {
                None => differences.push(format!("{name}.{column}: not migrated")),
                Some(g) if g != w => {
                    differences.push(format!("{name}.{column}: {w} in schema.rs, {g} migrated"))
                }
                Some(_) => {}
            }
        }
        for column in got
            .columns
            .keys()
            .filter(|c| !want.columns.contains_key(*c))
        {
            differences.push(format!("{name}.{column}: migrated, not in schema.rs"));
        }
    }
    assert!(
        differences.is_empty(),
        "{backend:?}: the migrations and src/db/schema.rs differ:\n{}",
        differences.join("\n")
    );
}

both_backends!(migrated_columns_match_schema_rs);

#[test]
fn the_schema_parser_reads_columns_keys_and_nullability() {
    let tables = parse_schema(
        r#"//! doc

        diesel::table! {
            pairs (a, b) {
                /// the first
                a -> Text,
                b -> Nullable<BigInt>,
            }
        }

        diesel::joinable!(x -> y (z));
        "#,
    );
    let pairs = &tables["pairs"];
    assert_eq!(pairs.primary_key, ["a", "b"]);
    assert_eq!(
        pairs.columns["b"],
        Column {
            sql_type: "BigInt".into(),
            nullable: true
        }
    );
    assert!(!pairs.columns["a"].nullable);
}

#[test]
fn the_schema_parser_refuses_what_it_does_not_read() {
    let table = |key: &str, body: &str| format!("diesel::table! {{\n{key} {{\n{body}\n}}\n}}\n");
    for bad in [
        table("t (id)", "id -> Uuid,"),
        table("t (id)", "#[sql_name = \"x\"]\nid -> Text,"),
        table("t", "id -> Text,"),
        table("t (id)", "id -> Text"),
        table("t (id)", "id -> Text,\nid -> Text,"),
        table("t (id)", "id -> Text,").replace("}\n}\n", "}\n"),
        "diesel::table!{ t (id) { id -> Text, } }\n".to_string(),
    ] {
        let parsed = std::panic::catch_unwind(|| parse_schema(&bad));
        assert!(parsed.is_err(), "accepted:\n{bad}");
    }
    assert_eq!(parse_schema(&table("t (id)", "id -> Text,")).len(), 1);
}
