//! Counts the SQL statements sqlx runs, reads apart from writes: sqlx
//! emits one `sqlx::query` event per statement it completes (on whichever
//! thread runs it; SQLite's is a worker thread, hence a process-wide
//! subscriber). A statement is one round trip to the database (sqlx sends
//! bind, execute and sync together, and keeps each connection's prepared
//! statements), so this is the stores' round-trip accounting.
//!
//! Include it with `#[path = "support/sql_statements.rs"] mod sql_statements;`
//! in a binary of its own: it installs the global `tracing` subscriber.
#![allow(dead_code)] // the bench and the test use different parts

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

const TARGET: &str = "sqlx::query";

/// Statements run while counting was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statements {
    /// `SELECT`s.
    pub reads: u64,
    /// `INSERT`, `UPDATE`, `DELETE`, `REPLACE`.
    pub writes: u64,
    /// Anything else: the `PRAGMA`s sqlx runs when the pool opens a new
    /// SQLite connection, transaction control, DDL.
    pub other: u64,
}

impl Statements {
    /// Every statement.
    pub fn total(self) -> u64 {
        self.reads + self.writes + self.other
    }
}

/// The process-wide counter.
#[derive(Default)]
pub struct StatementCounter {
    on: AtomicBool,
    reads: AtomicU64,
    writes: AtomicU64,
    other: AtomicU64,
    /// The first words of the statements other than `SELECT`s since the
    /// last count began (at most 32), for failure messages.
    non_reads: Mutex<Vec<String>>,
}

struct FirstWord<'a>(&'a StatementCounter);

impl Visit for FirstWord<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.count(value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.count(format!("{value:?}").trim_matches('"'));
        }
    }
}

impl FirstWord<'_> {
    fn count(&self, summary: &str) {
        let word = summary.split_whitespace().next().unwrap_or_default();
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        let cell = if is("select") {
            &self.0.reads
        } else if is("insert") || is("update") || is("delete") || is("replace") {
            &self.0.writes
        } else {
            &self.0.other
        };
        cell.fetch_add(1, Ordering::Relaxed);
        if !is("select") {
            let mut seen = self.0.non_reads.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() < 32 {
                seen.push(summary.to_owned());
            }
        }
    }
}

impl Subscriber for &'static StatementCounter {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        if m.target() == TARGET {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == TARGET && self.on.load(Ordering::Relaxed)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if self.on.load(Ordering::Relaxed) {
            event.record(&mut FirstWord(self));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The counter, installed as the global subscriber on first use.
pub fn counter() -> &'static StatementCounter {
    static COUNTER: OnceLock<&'static StatementCounter> = OnceLock::new();
    COUNTER.get_or_init(|| {
        let c: &'static StatementCounter = Box::leak(Box::default());
        tracing::subscriber::set_global_default(c)
            .expect("sql_statements needs the global subscriber (a binary of its own)");
        c
    })
}

impl StatementCounter {
    /// The statements `op` runs (and whatever else runs meanwhile: keep
    /// the process otherwise idle).
    pub async fn count<T>(&self, op: impl Future<Output = T>) -> (T, Statements) {
        let now = || Statements {
            reads: self.reads.load(Ordering::SeqCst),
            writes: self.writes.load(Ordering::SeqCst),
            other: self.other.load(Ordering::SeqCst),
        };
        let before = now();
        self.non_reads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.on.store(true, Ordering::SeqCst);
        let out = op.await;
        self.on.store(false, Ordering::SeqCst);
        let after = now();
        let counted = Statements {
            reads: after.reads - before.reads,
            writes: after.writes - before.writes,
            other: after.other - before.other,
        };
        (out, counted)
    }

    /// The statements other than `SELECT`s the last count saw (their
    /// first words, at most 32).
    pub fn non_reads(&self) -> Vec<String> {
        self.non_reads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
