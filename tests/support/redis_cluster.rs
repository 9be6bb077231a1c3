//! A throw-away Redis Cluster for tests: 3 primaries and 3 replicas of
//! Debian's `redis-server` on free loopback ports, joined with
//! `redis-cli --cluster create`, a small `cluster-node-timeout` so a
//! replica takes over a killed primary within seconds. Killed on drop.
//!
//! `Cluster::shared()` starts one per test binary (the first test that asks)
//! and keeps it for the others. Missing binaries fail the test with a
//! message saying how to install them: these tests never skip.
#![allow(dead_code)] // each test file uses a different subset

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Replicas notice a dead primary after this long (ms) and elect one.
pub const NODE_TIMEOUT_MS: u64 = 1_000;

fn server_binary() -> String {
    std::env::var("PORTCULLIS_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

fn cli_binary() -> String {
    std::env::var("PORTCULLIS_REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned())
}

/// A free port whose cluster-bus port (+10000) is free too, and neither
/// handed out before in this process (two clusters start side by side).
fn free_pair() -> u16 {
    static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    for _ in 0..200 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        if port >= 55_000 {
            continue;
        }
        let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
        let clash = [port, port + 10_000]
            .iter()
            .any(|p| taken.iter().any(|t| *t == *p || *t + 10_000 == *p));
        if !clash && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            taken.push(port);
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

/// One node of the cluster.
pub struct Node {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl Node {
    fn spawn(&mut self) {
        let port = self.port.to_string();
        let child = Command::new(server_binary())
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", "nodes.conf"])
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{}` ({e}): these tests need a real Redis Cluster and never \
                     skip. Install it (Debian/Ubuntu: `apt-get install -y redis-server`).",
                    server_binary()
                )
            });
        self.child = Some(child);
    }

    /// Spawn and wait until it answers `PING`. `false` when the server
    /// exited first: its port or bus port (+10000) was taken between
    /// `free_pair` and the bind, e.g. by an outgoing connection's
    /// ephemeral port, which overlaps the bus range.
    fn spawn_and_wait(&mut self) -> bool {
        self.spawn();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.cli(&["PING"]).contains("PONG") {
                return true;
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited {
                self.child = None;
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill it (SIGKILL, as a crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Start it again on the same port and config (it rejoins as a replica
    /// of whoever took over).
    /// Its ports must stay the same (the cluster knows it by them), so a
    /// port held for a moment by someone else is waited out.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.spawn_and_wait() {
            assert!(
                Instant::now() < deadline,
                "node {} could not bind its ports again",
                self.port
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One command through `redis-cli` (test plumbing).
    pub fn cli(&self, args: &[&str]) -> String {
        cli(self.port, args)
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new(cli_binary())
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` ({e}); install redis-server (it brings redis-cli)",
                cli_binary()
            )
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running cluster.
pub struct Cluster {
    pub nodes: Vec<Node>,
    _dir: PathBuf,
}

impl Cluster {
    /// Start 6 nodes and join them (3 primaries, 1 replica each).
    pub fn start() -> Cluster {
        let root = std::env::temp_dir().join(format!(
            "portcullis-cluster-{}-{}",
            std::process::id(),
            free_pair()
        ));
        let mut nodes: Vec<Node> = (0..6)
            .map(|i| {
                let dir = root.join(format!("n{i}"));
                std::fs::create_dir_all(&dir).expect("node dir");
                Node {
                    port: free_pair(),
                    child: None,
                    dir,
                }
            })
            .collect();
        // Before the cluster is joined a node may move: a lost port race
        // picks a new pair instead of failing the run.
        for n in &mut nodes {
            let mut attempts = 0;
            while !n.spawn_and_wait() {
                attempts += 1;
                assert!(attempts < 20, "node in {:?} never found free ports", n.dir);
                n.port = free_pair();
            }
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "1", "--cluster-yes"]);
        let out = cli(nodes[0].port, &args);
        assert!(out.contains("[OK]"), "cluster create failed: {out}");
        let cluster = Cluster { nodes, _dir: root };
        cluster.wait_ok();
        cluster.wait_replicas();
        cluster
    }

    /// One cluster per test binary, started by the first test that asks.
    pub fn shared() -> &'static Mutex<Cluster> {
        static CLUSTER: OnceLock<Mutex<Cluster>> = OnceLock::new();
        CLUSTER.get_or_init(|| Mutex::new(Cluster::start()))
    }

    /// Seed URLs (`redis://127.0.0.1:<port>`), every node.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// Every running node agrees the cluster is up and every slot served.
    pub fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self
                .nodes
                .iter()
                .filter(|n| n.is_running())
                .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"));
            if ok {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not become ok");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every running primary has a replica in sync (`WAIT` can succeed).
    pub fn wait_replicas(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for n in self.nodes.iter().filter(|n| n.is_running()) {
            loop {
                let info = n.cli(&["INFO", "replication"]);
                if !info.contains("role:master")
                    || (info.contains("connected_slaves:1") && info.contains("state=online"))
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "replicas of {} never synced",
                    n.port
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// The hash slot of `key` (the server's answer).
    pub fn slot(&self, key: &str) -> u16 {
        let n = self.nodes.iter().find(|n| n.is_running()).expect("a node");
        n.cli(&["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("slot")
    }

    /// Index (into `nodes`) of the primary that serves `slot` now, as the
    /// running nodes see it (`CLUSTER NODES`).
    pub fn primary_of(&self, slot: u16) -> Option<usize> {
        let n = self.nodes.iter().find(|n| n.is_running()).expect("a node");
        for line in n.cli(&["CLUSTER", "NODES"]).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            let serves = f[8..].iter().any(|range| {
                let mut ends = range.splitn(2, '-');
                match (ends.next().and_then(|a| a.parse::<u16>().ok()), ends.next()) {
                    (Some(a), None) => a == slot,
                    (Some(a), Some(b)) => b.parse::<u16>().is_ok_and(|b| (a..=b).contains(&slot)),
                    _ => false,
                }
            });
            if serves {
                let port: u16 = f[1]
                    .split(['@', ':'])
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                return self.nodes.iter().position(|n| n.port == port);
            }
        }
        None
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
