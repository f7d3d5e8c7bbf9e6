//! SQL text for the seeding: literals, multi-row `INSERT`s, timed transactions, and a small
//! reproducible random number generator.

use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDateTime;
use concat_portal::db::{self, DbConn};
use diesel::connection::SimpleConnection;

/// splitmix64: reproducible variety without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// In `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next() % (hi - lo) as u64) as i64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

pub fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn qo(s: Option<&str>) -> String {
    s.map(q).unwrap_or_else(|| "NULL".into())
}

pub fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

pub fn tso(t: Option<NaiveDateTime>) -> String {
    t.map(ts).unwrap_or_else(|| "NULL".into())
}

pub fn b(v: bool) -> String {
    if v { "TRUE" } else { "FALSE" }.into()
}

pub fn exec(c: &mut DbConn, sql: &str) -> anyhow::Result<()> {
    c.batch_execute(sql)
        .with_context(|| format!("running: {}", &sql[..sql.len().min(300)]))
}

/// Multi-row `INSERT`s of literal rows, 500 rows a statement.
pub struct Insert<'c> {
    c: &'c mut DbConn,
    head: String,
    sql: String,
    rows: usize,
    total: usize,
}

impl<'c> Insert<'c> {
    pub fn new(c: &'c mut DbConn, table: &str, columns: &str) -> Self {
        Self {
            c,
            head: format!("INSERT INTO {table} ({columns}) VALUES "),
            sql: String::new(),
            rows: 0,
            total: 0,
        }
    }

    pub fn row(&mut self, values: &[String]) -> anyhow::Result<()> {
        self.sql
            .push_str(if self.rows == 0 { &self.head } else { "," });
        self.sql.push('(');
        self.sql.push_str(&values.join(","));
        self.sql.push(')');
        self.rows += 1;
        if self.rows == 500 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows > 0 {
            exec(self.c, &self.sql)?;
            self.total += self.rows;
            self.rows = 0;
            self.sql.clear();
        }
        Ok(())
    }

    pub fn done(mut self) -> anyhow::Result<usize> {
        self.flush()?;
        Ok(self.total)
    }
}

/// Runs `f` in one transaction and reports how long it took.
pub fn phase<T>(
    c: &mut DbConn,
    what: &str,
    f: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let t = Instant::now();
    let out = db::write_tx(c, f).with_context(|| format!("seeding {what}"))?;
    eprintln!("  {what}: {:.1} s", t.elapsed().as_secs_f64());
    Ok(out)
}
