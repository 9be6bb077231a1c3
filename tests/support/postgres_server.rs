//! A throw-away PostgreSQL for tests: `initdb` into a temporary directory,
//! the server on a free loopback port, owned by a small shell that stops
//! it and removes the directory when this process ends (its stdin closes),
//! however the test binary exits. As root, the cluster runs as the
//! `postgres` user (Debian's package creates it; `initdb` refuses root).
//!
//! Include it with `#[path = "support/postgres_server.rs"] mod postgres_server;`.
//! Binaries come from `PORTCULLIS_PG_BIN` or the newest
//! `/usr/lib/postgresql/*/bin`; when they are missing the caller panics
//! with a message saying how to install them: these tests never skip.
#![allow(dead_code)] // each test file uses a different subset

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running PostgreSQL cluster.
pub struct PgServer {
    port: u16,
    control: Mutex<Option<ChildStdin>>,
    child: Mutex<Child>,
    bin: PathBuf,
}

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PORTCULLIS_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, p)| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): \
             install Debian's `postgresql` package (scripts/test.sh does) or set PORTCULLIS_PG_BIN"
        )
    })
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local addr").port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run `program args` as the cluster's owner.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The shell that owns the server: `start` and `stop` lines on stdin
/// start and stop it; end of input stops it and removes the directory.
const SUPERVISOR: &str = r#"
dir=$1; port=$2; bin=$3
start() {
  "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=200 >>"$dir/log" 2>&1 &
  pid=$!
}
start
while read -r cmd; do
  case "$cmd" in
    stop) kill -INT "$pid"; wait "$pid";;
    start) start;;
  esac
done
kill -INT "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir"
"#;

impl PgServer {
    /// Start a fresh cluster.
    ///
    /// # Panics
    /// If the binaries are missing or the server does not come up.
    pub fn start() -> PgServer {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!(
            "portcullis-pg-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "chown the cluster directory to postgres (is Debian's postgresql installed?)"
            );
        }
        let out = as_owner(&bin.join("initdb"))
            .args([
                "-U",
                "portcullis",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(dir.join("data"))
            .output()
            .unwrap_or_else(|e| panic!("run initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut child = as_owner(Path::new("/bin/sh"))
            .args(["-c", SUPERVISOR, "supervisor"])
            .arg(&dir)
            .arg(port.to_string())
            .arg(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start the PostgreSQL supervisor: {e}"));
        let control = child.stdin.take().expect("piped stdin");
        let server = PgServer {
            port,
            control: Mutex::new(Some(control)),
            child: Mutex::new(child),
            bin,
        };
        server.wait_ready(&dir);
        server
    }

    /// One cluster for the whole test binary (tests isolate themselves by
    /// table prefix and user names).
    pub fn shared() -> &'static PgServer {
        static SERVER: OnceLock<PgServer> = OnceLock::new();
        SERVER.get_or_init(PgServer::start)
    }

    /// Wait until the server accepts connections; false past the timeout.
    fn ready_within(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn wait_ready(&self, dir: &Path) {
        if !self.ready_within(START_TIMEOUT) {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            panic!("PostgreSQL did not come up on port {}: {log}", self.port);
        }
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://portcullis@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://portcullis@127.0.0.1:{}/postgres", self.port)
    }

    fn send(&self, cmd: &str) {
        let mut c = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let c = c.as_mut().expect("the supervisor is running");
        writeln!(c, "{cmd}").expect("write to the PostgreSQL supervisor");
        c.flush().expect("flush");
    }

    /// Stop the server (fast shutdown) and wait until it refuses connections.
    pub fn stop(&self) {
        self.send("stop");
        let deadline = Instant::now() + START_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "PostgreSQL did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start it again on the same port and data, and wait until it answers.
    pub fn restart(&self) {
        self.send("start");
        assert!(
            self.ready_within(START_TIMEOUT),
            "PostgreSQL did not come back"
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Closing stdin makes the supervisor stop the server and clean up.
        drop(
            self.control
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let _ = self.child.lock().unwrap_or_else(|e| e.into_inner()).wait();
    }
}
