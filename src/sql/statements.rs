//! Every statement the SQL stores run, built once per store from static
//! text and the validated table prefix. Values always travel as bound
//! arguments (`$1`, `$2`, ...; SQLite reads `$NNN` by number too), never in
//! the text.

use super::driver::{Sql, Step};

/// The two dialects: they differ in a function name and in the DDL.
// A build with one backend never constructs the other's variant.
#[cfg_attr(not(all(feature = "postgres", feature = "sqlite")), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The backend's name in errors and logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// The two-argument maximum.
    fn max(self) -> &'static str {
        match self {
            Dialect::Postgres => "GREATEST",
            Dialect::Sqlite => "MAX",
        }
    }
}

/// The prefix the shipped migration files use for every name.
const FILE_PREFIX: &str = "portcullis_";

/// The versioned migrations, in order. A new schema version is a new file
/// here; a released file never changes.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[(
    1,
    "records, revocations and login-throttle counters",
    include_str!("migrations/postgres/0001_init.sql"),
    include_str!("migrations/sqlite/0001_init.sql"),
)];

/// Whether `prefix` may name tables: lower-case ASCII letters, digits and
/// `_`, starting with a letter or `_`, at most 40 characters (so every
/// derived name stays within PostgreSQL's 63). Checked because the prefix
/// is written into statement text.
pub(crate) fn valid_identifier(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    prefix.len() <= 40
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The statements of one store.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) migrations_table: String,
    attempts_table: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) ping: Sql,
    pub(crate) create: Sql,
    pub(crate) load: Sql,
    pub(crate) update: Sql,
    pub(crate) delete: Sql,
    pub(crate) delete_user: Sql,
    pub(crate) list_user: Sql,
    pub(crate) list_user_kind: Sql,
    pub(crate) keep_max: Sql,
    pub(crate) is_revoked: Sql,
    pub(crate) attempt_insert: Sql,
    pub(crate) attempt_update: Sql,
    pub(crate) attempt_delete: Sql,
    /// `attempt_load[n - 1]` loads `n` counters.
    pub(crate) attempt_load: Vec<Sql>,
    pub(crate) purge: [Sql; 3],
}

/// Counter loads prepared in advance (a login reads at most three).
const ATTEMPT_LOADS: usize = 4;

impl Statements {
    pub(crate) fn new(dialect: Dialect, prefix: &str) -> Statements {
        let r = format!("{prefix}records");
        let v = format!("{prefix}revocations");
        let a = format!("{prefix}attempts");
        let max = dialect.max();
        let sql = |s: String| -> Sql { s.into() };
        Statements {
            migrations_table: format!("{prefix}migrations"),
            attempts_table: a.clone(),
            steps: MIGRATIONS
                .iter()
                .map(|&(version, description, pg, lite)| Step {
                    version,
                    description,
                    sql: match dialect {
                        Dialect::Postgres => pg,
                        Dialect::Sqlite => lite,
                    }
                    .replace(FILE_PREFIX, prefix),
                })
                .collect(),
            ping: sql("SELECT CAST(1 AS BIGINT)".to_owned()),
            // `create` and `update` take the same arguments (`record_args`).
            // An expired record under the key is replaced, a live one never.
            create: sql(format!(
                "INSERT INTO {r} (key, user_id, kind, version, expires_at, record) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO UPDATE SET \
                 user_id = excluded.user_id, kind = excluded.kind, version = excluded.version, \
                 expires_at = excluded.expires_at, record = excluded.record \
                 WHERE {r}.expires_at <= $7"
            )),
            load: sql(format!(
                "SELECT version, record FROM {r} WHERE key = $1 AND expires_at > $2"
            )),
            update: sql(format!(
                "UPDATE {r} SET version = version + 1, user_id = $2, kind = $3, \
                 expires_at = $5, record = $6 \
                 WHERE key = $1 AND version = $4 AND expires_at > $7 RETURNING version"
            )),
            delete: sql(format!(
                "DELETE FROM {r} WHERE key = $1 RETURNING expires_at"
            )),
            delete_user: sql(format!(
                "DELETE FROM {r} WHERE user_id = $1 RETURNING expires_at"
            )),
            list_user: sql(format!(
                "SELECT key, version, record FROM {r} WHERE user_id = $1 AND expires_at > $2"
            )),
            list_user_kind: sql(format!(
                "SELECT key, version, record FROM {r} \
                 WHERE user_id = $1 AND expires_at > $2 AND kind = $3"
            )),
            // The larger value and the later expiry win ("latest wins"),
            // unless the stored row had expired: then it starts afresh.
            keep_max: sql(format!(
                "INSERT INTO {v} (kind, id, value, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, id) DO UPDATE SET \
                 value = CASE WHEN {v}.expires_at <= $5 THEN excluded.value \
                 ELSE {max}({v}.value, excluded.value) END, \
                 expires_at = CASE WHEN {v}.expires_at <= $5 THEN excluded.expires_at \
                 ELSE {max}({v}.expires_at, excluded.expires_at) END"
            )),
            is_revoked: sql(format!(
                "SELECT kind, value FROM {v} WHERE expires_at > $4 AND \
                 ((kind = 0 AND id = $1) OR (kind = 1 AND id = $2) OR (kind = 2 AND id = $3))"
            )),
            attempt_insert: sql(format!(
                "INSERT INTO {a} (key, version, value, expires_at_ms) VALUES ($1, 1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET version = 1, value = excluded.value, \
                 expires_at_ms = excluded.expires_at_ms WHERE {a}.expires_at_ms <= $4"
            )),
            attempt_update: sql(format!(
                "UPDATE {a} SET version = version + 1, value = $2, expires_at_ms = $3 \
                 WHERE key = $1 AND version = $4 AND expires_at_ms > $5"
            )),
            attempt_delete: sql(format!("DELETE FROM {a} WHERE key = $1")),
            attempt_load: (1..=ATTEMPT_LOADS)
                .map(|n| Self::attempt_load_sql(&a, n))
                .collect(),
            // Bounded batches; the outer condition is checked again on a row
            // a concurrent login just replaced, so a fresh record is never
            // taken for the expired one it replaced.
            purge: [
                sql(format!(
                    "DELETE FROM {r} WHERE expires_at <= $1 AND key IN \
                     (SELECT key FROM {r} WHERE expires_at <= $1 LIMIT $2)"
                )),
                sql(format!(
                    "DELETE FROM {v} WHERE expires_at <= $1 AND (kind, id) IN \
                     (SELECT kind, id FROM {v} WHERE expires_at <= $1 LIMIT $2)"
                )),
                sql(format!(
                    "DELETE FROM {a} WHERE expires_at_ms <= $1 * 1000 AND key IN \
                     (SELECT key FROM {a} WHERE expires_at_ms <= $1 * 1000 LIMIT $2)"
                )),
            ],
        }
    }

    /// Load `n` counters: `$1` is the time, `$2...` the keys.
    fn attempt_load_sql(table: &str, n: usize) -> Sql {
        let marks: Vec<String> = (2..n + 2).map(|i| format!("${i}")).collect();
        format!(
            "SELECT key, version, value FROM {table} WHERE expires_at_ms > $1 AND key IN ({})",
            marks.join(", ")
        )
        .into()
    }

    /// The statement loading `n` counters.
    pub(crate) fn attempt_load(&self, n: usize) -> Sql {
        match self.attempt_load.get(n.wrapping_sub(1)) {
            Some(s) => s.clone(),
            None => Self::attempt_load_sql(&self.attempts_table, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        for ok in ["portcullis_", "_", "app_auth_", "a1"] {
            assert!(valid_identifier(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "Auth",
            "a-b",
            "a;drop",
            "a b",
            "ä",
            &"a".repeat(41),
        ] {
            assert!(!valid_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn the_prefix_reaches_every_name_and_nothing_else() {
        let s = Statements::new(Dialect::Postgres, "app_");
        assert!(s.steps[0]
            .sql
            .contains("CREATE TABLE IF NOT EXISTS app_records"));
        assert!(s.steps[0].sql.contains("app_records_user ON app_records"));
        assert!(!s.steps[0].sql.contains("portcullis_"));
        assert!(s.load.contains("FROM app_records"));
        assert_eq!(
            &*s.attempt_load(2),
            &*Statements::attempt_load_sql("app_attempts", 2)
        );
        assert!(s
            .attempt_load(9)
            .ends_with("IN ($2, $3, $4, $5, $6, $7, $8, $9, $10)"));
        let lite = Statements::new(Dialect::Sqlite, "portcullis_");
        assert!(lite.keep_max.contains("MAX(portcullis_revocations.value"));
        assert!(lite.steps[0].sql.contains("WITHOUT ROWID"));
    }
}
