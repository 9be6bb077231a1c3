//! `AUDIT_LOG`: the demos' audit sink.

/// `AUDIT_LOG`: one JSON object per line for every audit event, written by
/// a thread of its own so a request never waits on the disk (a full queue
/// drops the line rather than block). The file is created with mode 0600.
pub struct JsonLinesSink {
    lines: std::sync::mpsc::SyncSender<String>,
}

impl JsonLinesSink {
    /// Open (or create, mode 0600) `path` for appending.
    pub fn open(path: &str) -> Result<Self, String> {
        use std::io::Write as _;
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("AUDIT_LOG: cannot open {path}: {e}"))?;
        // An existing file keeps its mode on open: tighten it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("AUDIT_LOG: cannot restrict {path}: {e}"))?;
        let (lines, rx) = std::sync::mpsc::sync_channel::<String>(8192);
        std::thread::spawn(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Ok(line) = rx.recv() {
                let _ = writeln!(out, "{line}");
                while let Ok(more) = rx.try_recv() {
                    let _ = writeln!(out, "{more}");
                }
                let _ = out.flush();
            }
        });
        Ok(JsonLinesSink { lines })
    }
}

impl portcullis::EventSink for JsonLinesSink {
    fn record(&self, e: &portcullis::Event) {
        let mut line = serde_json::Map::new();
        line.insert("event".into(), e.kind.name().into());
        line.insert("at".into(), rfc3339(e.at_ms).into());
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                line.insert(k.into(), v.into());
            }
        };
        put("user", e.user.clone());
        put("actor", e.actor.clone());
        put("ip", e.ip.map(|ip| ip.to_string()));
        put("user_agent", e.user_agent.as_deref().map(str::to_owned));
        put("id_hint", e.id_hint.clone());
        put("reason", e.reason.map(str::to_owned));
        put("request_id", e.request_id.clone());
        put(
            "scheme",
            e.scheme.map(|s| match s {
                portcullis::Scheme::Bearer => "bearer".to_owned(),
                _ => "session".to_owned(),
            }),
        );
        if e.suppressed > 0 {
            line.insert("suppressed".into(), e.suppressed.into());
        }
        let _ = self
            .lines
            .try_send(serde_json::Value::Object(line).to_string());
    }
}

/// `ms` since the Unix epoch as RFC 3339 UTC, e.g. `2026-12-02T06:15:00.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}
