//! The Redis stores over TLS (`rediss://`, feature `redis-tls`) against a
//! real `redis-server` with a TLS port, its certificate signed by a test CA
//! made here with Debian's `openssl`: the store and revocation kits pass;
//! a server whose certificate the client cannot verify (unknown CA, wrong
//! name) is refused, never connected to.
#![cfg(feature = "redis-tls")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::redis::{RedisRevocationList, RedisStore};
use portcullis::store::conformance;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} ({e}): install openssl (Debian: `apt-get install -y openssl`)")
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for `san` (e.g. `IP:127.0.0.1`) in `dir`.
fn certificates(dir: &Path, san: &str) {
    let at = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "1", "-subj", "/CN=portcullis test CA"])
        .arg("-keyout")
        .arg(at("ca.key"))
        .arg("-out")
        .arg(at("ca.crt")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=redis"])
        .arg("-keyout")
        .arg(at("server.key"))
        .arg("-out")
        .arg(at("server.csr")));
    std::fs::write(at("ext.cnf"), format!("subjectAltName={san}\n")).expect("ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-CAcreateserial"])
        .arg("-in")
        .arg(at("server.csr"))
        .arg("-CA")
        .arg(at("ca.crt"))
        .arg("-CAkey")
        .arg(at("ca.key"))
        .arg("-out")
        .arg(at("server.crt"))
        .arg("-extfile")
        .arg(at("ext.cnf")));
}

/// `redis-server` with only a TLS port; killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TlsRedis {
    fn start(san: &str) -> TlsRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("portcullis-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        certificates(&dir, san);
        let file = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-cert-file", &file("server.crt"), "--tls-key-file", &file("server.key")])
            .args(["--tls-ca-cert-file", &file("ca.crt"), "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (Debian: `apt-get install -y redis-server`)")
            });
        let ca = file("ca.crt");
        let server = TlsRedis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("redis-cli")
                .args(["--tls", "--cacert", &ca, "-p", &port.to_string(), "PING"])
                .output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG")) {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the TLS redis-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ca(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.crt")).expect("ca")
    }

    fn url(&self, host: &str) -> String {
        format!("rediss://{host}:{}/", self.port)
    }
}

/// The test is the application: it chooses rustls's crypto provider.
fn provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_and_revocation_kits_pass_over_tls() {
    provider();
    let server = TlsRedis::start("IP:127.0.0.1");
    let (url, ca) = (server.url("127.0.0.1"), server.ca());
    conformance::run(|| {
        let (url, ca) = (url.clone(), ca.clone());
        async move {
            RedisStore::builder()
                .prefix("tls:")
                .tls_root_certificates(ca)
                .connect(&url)
                .await
                .expect("connect over TLS")
        }
    })
    .await;
    let store = RedisStore::builder()
        .prefix("tls-rev:")
        .tls_root_certificates(server.ca())
        .connect(&url)
        .await
        .expect("connect over TLS");
    conformance::run_revocation_list(|| async {
        Arc::new(RedisRevocationList::from_store(&store))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_is_refused() {
    provider();
    let server = TlsRedis::start("IP:127.0.0.1");
    // The test CA is not in the OS trust store.
    let unknown_ca = RedisStore::builder()
        .connect(&server.url("127.0.0.1"))
        .await;
    assert!(
        unknown_ca.is_err(),
        "a server signed by an unknown CA must be refused"
    );
    // The right CA, the wrong name (the certificate names 127.0.0.1 only).
    let wrong_name = RedisStore::builder()
        .tls_root_certificates(server.ca())
        .connect(&server.url("localhost"))
        .await;
    assert!(
        wrong_name.is_err(),
        "a certificate for another name must be refused"
    );
    // Plain text to a TLS-only port does not get through either.
    let plain = RedisStore::builder()
        .timeout(Duration::from_millis(300))
        .connect(&format!("redis://127.0.0.1:{}/", server.port))
        .await;
    assert!(plain.is_err());
    // And the errors name no URL.
    let e = unknown_ca.unwrap_err().to_string();
    assert!(!e.contains("127.0.0.1"), "{e}");
}
