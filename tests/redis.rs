//! `RedisStore` and `RedisRevocationList` against a real `redis-server`
//! (started per test on a free loopback port; the test fails if
//! `redis-server` is not installed).
//!
//! `cargo test --test redis --features "redis conformance"`
#![cfg(all(feature = "redis", feature = "conformance"))]

#[path = "support/races.rs"]
mod races;
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::__private::SessionId;
use portcullis::__private::SystemClock;
use portcullis::clock::{Clock, ManualClock};
use portcullis::jwt::{KeyRegistry, RevocationList, TokenService};
use portcullis::redis::{RedisRevocationList, RedisStore};
use portcullis::store::{conformance, RecordKind, SessionKey, SessionRecord, SessionStore};
use portcullis::{
    __private::{ClientInfo, SessionManager},
    SessionConfig,
};
use portcullis::{Authenticator, StoreError};
use redis::AsyncCommands as _;
use redis_server::RedisServer;

const PREFIX: &str = "test:";

async fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder()
        .prefix(PREFIX)
        .connect(&server.url())
        .await
        .expect("connect to the test redis")
}

async fn store_with_clock(server: &RedisServer, clock: Arc<dyn Clock>) -> RedisStore {
    RedisStore::builder()
        .prefix(PREFIX)
        .clock(clock)
        .connect(&server.url())
        .await
        .expect("connect to the test redis")
}

/// A plain connection for looking at what the store wrote.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

fn key() -> SessionKey {
    SessionId::generate().expect("rng").key()
}

fn now() -> u64 {
    SystemClock.now()
}

fn now_ms() -> u64 {
    SystemClock.now_millis()
}

// ---------------------------------------------------------------- store

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_the_conformance_kit() {
    let server = RedisServer::start();
    let url = server.url();
    conformance::run(|| {
        let url = url.clone();
        async move {
            RedisStore::builder()
                .prefix("conformance:")
                .connect(&url)
                .await
                .expect("connect")
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_revocation_list_passes_the_revocation_kit() {
    let server = RedisServer::start();
    let store = store(&server).await;
    conformance::run_revocation_list(|| async {
        Arc::new(RedisRevocationList::from_store(&store))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_live_under_hashed_keys_with_ttls() {
    let server = RedisServer::start();
    let s = Arc::new(store(&server).await);
    let sessions = SessionManager::new(
        s.clone(),
        SessionConfig::default()
            .idle_timeout(std::time::Duration::from_secs(600))
            .absolute_timeout(std::time::Duration::from_secs(3_600)),
        Arc::new(SystemClock),
    )
    .expect("manager");
    let login = sessions
        .login(
            "alice",
            vec!["user".into()],
            &[],
            &ClientInfo::default(),
            true,
        )
        .await
        .expect("login");

    let mut c = raw(&server).await;
    let mut keys: Vec<String> = c.keys("*").await.expect("keys");
    keys.sort();
    let record_key = format!("{PREFIX}s:{{{}}}", login.key.to_hex());
    assert_eq!(
        keys,
        vec![record_key.clone(), format!("{PREFIX}u:{{alice}}")]
    );
    assert!(
        keys.iter().all(|k| !k.contains(&login.cookie_value)),
        "the raw session ID must never reach Redis"
    );
    let json: String = c.get(&record_key).await.expect("get");
    assert!(!json.contains(&login.cookie_value));
    let v: serde_json::Value = serde_json::from_str(&json).expect("records are JSON");
    assert_eq!(v["user_id"], "alice");
    assert_eq!(v["kind"], "session");

    let rec_ttl: i64 = c.pttl(&record_key).await.expect("pttl");
    assert!(
        (595_000..=600_000).contains(&rec_ttl),
        "record TTL follows the idle expiry: {rec_ttl}"
    );
    let idx_ttl: i64 = c.pttl(format!("{PREFIX}u:{{alice}}")).await.expect("pttl");
    assert!(
        idx_ttl >= rec_ttl - 50,
        "index TTL {idx_ttl} must cover the record's {rec_ttl}"
    );
    let members: Vec<String> = c
        .zrange(format!("{PREFIX}u:{{alice}}"), 0, -1)
        .await
        .expect("zrange");
    assert_eq!(members, vec![login.key.to_hex()]);

    // An update with a later idle expiry moves the TTL and the index TTL.
    let mut rec = s.load(&login.key).await.expect("load").expect("live");
    rec.idle_expires_at = now() + 1_800;
    s.update(&login.key, &rec).await.expect("update");
    let rec_ttl: i64 = c.pttl(&record_key).await.expect("pttl");
    assert!(
        (1_795_000..=1_800_000).contains(&rec_ttl),
        "update moves the TTL: {rec_ttl}"
    );
    let idx_ttl: i64 = c.pttl(format!("{PREFIX}u:{{alice}}")).await.expect("pttl");
    assert!(
        idx_ttl >= rec_ttl - 50,
        "index TTL {idx_ttl} must follow the record's {rec_ttl}"
    );

    // Logout removes both the record and its index entry.
    sessions.store().delete(&login.key).await.expect("delete");
    let keys: Vec<String> = c.keys("*").await.expect("keys");
    assert!(keys.is_empty(), "nothing left after delete: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_hides_expired_records_before_their_ttl_fires() {
    let server = RedisServer::start();
    let clock = ManualClock::new(now());
    let s = store_with_clock(&server, Arc::new(clock.clone())).await;
    let k = key();
    s.create(&k, &SessionRecord::new("bob", clock.now(), 60, 600))
        .await
        .expect("create");
    assert!(s.load(&k).await.expect("load").is_some());
    clock.advance(Duration::from_secs(60)); // idle expiry reached on the application's clock
    assert!(
        s.load(&k).await.expect("load").is_none(),
        "an expired record must not load"
    );
    assert!(
        s.list_user("bob").await.expect("list").is_empty(),
        "nor be listed"
    );
    let mut c = raw(&server).await;
    let exists: bool = c
        .exists(format!("{PREFIX}s:{{{}}}", k.to_hex()))
        .await
        .expect("exists");
    assert!(
        exists,
        "the Redis TTL (real time) has not fired yet: load itself filtered it"
    );
    // And a compare-and-set on it is refused.
    let rec = SessionRecord::new("bob", clock.now() - 60, 60, 600);
    assert_eq!(s.update(&k, &rec).await, Err(StoreError::Conflict));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_vanish_when_their_ttl_fires_and_the_index_is_pruned() {
    let server = RedisServer::start();
    let s = store(&server).await;
    let (short, long) = (key(), key());
    let t = now();
    // Expires at the next whole second + 1: TTL between 1 and 2 s.
    s.create(&short, &SessionRecord::new("carol", t, 2, 600))
        .await
        .expect("create");
    s.create(&long, &SessionRecord::new("carol", t, 600, 600))
        .await
        .expect("create");
    let mut c = raw(&server).await;
    let index = format!("{PREFIX}u:{{carol}}");
    let n: usize = c.zcard(&index).await.expect("zcard");
    assert_eq!(n, 2);
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let listed = s.list_user("carol").await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, long);
    let n: usize = c.zcard(&index).await.expect("zcard");
    assert_eq!(n, 1, "list_user prunes index entries whose record expired");
    assert_eq!(s.delete_user("carol").await.expect("delete_user"), 1);
    let exists: bool = c.exists(&index).await.expect("exists");
    assert!(!exists, "delete_user removes the index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_through_one_connection_is_seen_and_ended_through_another() {
    let server = RedisServer::start();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let a = SessionManager::new(
        Arc::new(store(&server).await),
        SessionConfig::default(),
        clock.clone(),
    )
    .expect("a");
    let b = SessionManager::new(
        Arc::new(store(&server).await),
        SessionConfig::default(),
        clock,
    )
    .expect("b");
    let login = a
        .login("dave", vec![], &[], &ClientInfo::default(), true)
        .await
        .expect("login");
    let found = b
        .find(&login.cookie_value)
        .await
        .expect("find")
        .expect("visible on b");
    assert_eq!(found.record.user_id, "dave");
    b.store().delete(&login.key).await.expect("logout on b");
    assert!(
        a.find(&login.cookie_value).await.expect("find").is_none(),
        "logged out on a at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_with_thousands_of_records_can_be_listed_and_deleted() {
    let server = RedisServer::start();
    let s = Arc::new(store(&server).await);
    let n = 12_000; // past Lua's unpack() limit, so the script must chunk
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..32 {
        let s = s.clone();
        tasks.spawn(async move {
            for _ in (w..n).step_by(32) {
                let mut r = SessionRecord::new("ivy", now(), 600, 600);
                r.kind = RecordKind::RefreshFamily;
                s.create(&key(), &r).await.expect("create");
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.expect("task");
    }
    assert_eq!(s.list_user("ivy").await.expect("list").len(), n);
    assert_eq!(s.delete_user("ivy").await.expect("delete_user"), n);
    assert!(s.list_user("ivy").await.expect("list").is_empty());
    let mut c = raw(&server).await;
    let size: usize = redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("dbsize");
    assert_eq!(size, 0, "every record and the index are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_prefixes_do_not_see_each_other() {
    let server = RedisServer::start();
    let a = RedisStore::builder()
        .prefix("app-a:")
        .connect(&server.url())
        .await
        .expect("a");
    let b = RedisStore::builder()
        .prefix("app-b:")
        .connect(&server.url())
        .await
        .expect("b");
    let k = key();
    a.create(&k, &SessionRecord::new("erin", now(), 60, 600))
        .await
        .expect("create");
    assert!(b.load(&k).await.expect("load").is_none());
    assert!(b.list_user("erin").await.expect("list").is_empty());
    assert_eq!(b.delete_user("erin").await.expect("delete_user"), 0);
    assert!(a.load(&k).await.expect("load").is_some());
    assert_eq!(a.prefix(), "app-a:");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_is_a_backend_error_not_a_panic() {
    let server = RedisServer::start();
    let s = store(&server).await;
    let k = key();
    let mut c = raw(&server).await;
    let _: () = c
        .set(format!("{PREFIX}s:{{{}}}", k.to_hex()), "{not json")
        .await
        .expect("set");
    assert!(matches!(s.load(&k).await, Err(StoreError::Backend(_))));
    // The scripts treat it as a conflict / plain delete.
    assert_eq!(
        s.update(&k, &SessionRecord::new("x", now(), 60, 60)).await,
        Err(StoreError::Conflict)
    );
    assert!(s.delete(&k).await.expect("delete"));
}

// ------------------------------------------------------------- failures

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_and_the_store_reconnects_by_itself() {
    let mut server = RedisServer::start();
    let s = store(&server).await;
    let k = key();
    s.create(&k, &SessionRecord::new("frank", now(), 600, 600))
        .await
        .expect("create");

    server.kill();
    for _ in 0..5 {
        let t = Instant::now();
        let r = s.load(&k).await;
        assert!(
            matches!(r, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
            "with Redis down a call must fail, got {r:?}"
        );
        assert!(
            t.elapsed() < Duration::from_millis(1_500),
            "and fail within the timeout: {:?}",
            t.elapsed()
        );
        if let Err(StoreError::Unavailable(m)) = &r {
            assert!(!m.contains("127.0.0.1"), "no server address in errors: {m}");
        }
    }
    assert!(s
        .create(&key(), &SessionRecord::new("frank", now(), 600, 600))
        .await
        .is_err());
    assert!(s.list_user("frank").await.is_err());

    server.restart(); // same port, empty data (no persistence)
                      // The very first read after the restart succeeds: the store retries a
                      // read once on the connection the manager re-established.
    let r = s.load(&k).await;
    assert_eq!(
        r,
        Ok(None),
        "reconnected at once; the record died with the old server"
    );
    // Scripts are gone from the new server's cache: they are reloaded.
    let k2 = key();
    s.create(&k2, &SessionRecord::new("frank", now(), 600, 600))
        .await
        .expect("create after restart");
    assert_eq!(s.list_user("frank").await.expect("list").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_right_after_an_unnoticed_restart_succeeds() {
    let mut server = RedisServer::start();
    let s = store(&server).await;
    let list = RedisRevocationList::from_store(&s);
    s.create(&key(), &SessionRecord::new("hank", now(), 600, 600))
        .await
        .expect("create");
    // Redis restarts while the store is idle: its connection is dead and
    // nothing has noticed yet.
    server.kill();
    server.restart();
    assert_eq!(
        s.load(&key()).await,
        Ok(None),
        "a read is retried once on a fresh connection"
    );
    server.kill();
    server.restart();
    assert_eq!(list.is_revoked("j", None, "hank", 0).await, Ok(false));
    server.kill();
    server.restart();
    assert_eq!(s.list_user("hank").await.map(|v| v.len()), Ok(0));
    // Writes are not blindly repeated (a script may have run before the
    // connection dropped); at worst one fails, and the next one works.
    server.kill();
    server.restart();
    let k = key();
    let rec = SessionRecord::new("hank", now(), 600, 600);
    if s.create(&k, &rec).await.is_err() {
        s.create(&k, &rec).await.expect("the next write works");
    }
    assert!(s.load(&k).await.expect("load").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_times_out() {
    let server = RedisServer::start();
    let s = RedisStore::builder()
        .prefix(PREFIX)
        .timeout(Duration::from_millis(200))
        .connect(&server.url())
        .await
        .expect("connect");
    let k = key();
    s.create(&k, &SessionRecord::new("gina", now(), 600, 600))
        .await
        .expect("create");
    assert!(server.command("CLIENT PAUSE 1500 ALL").starts_with("+OK"));
    let t = Instant::now();
    assert_eq!(s.load(&k).await, Err(StoreError::Timeout));
    assert!(
        t.elapsed() < Duration::from_millis(800),
        "timed out after {:?}",
        t.elapsed()
    );
    let rec = SessionRecord::new("gina", now(), 600, 600);
    assert_eq!(s.update(&k, &rec).await, Err(StoreError::Timeout));
    // Once Redis answers again, so does the store.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match s.load(&k).await {
            Ok(Some(_)) => break,
            other if Instant::now() > deadline => panic!("store did not recover: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let t = Instant::now();
    let r = RedisStore::builder()
        .timeout(Duration::from_millis(300))
        .connect(&format!("redis://127.0.0.1:{port}/"))
        .await;
    assert!(matches!(r, Err(StoreError::Timeout)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    hold.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_urls_never_appear_in_errors_or_debug() {
    const PW: &str = "hunter2-very-secret";
    let server = RedisServer::start_with(&["--requirepass", PW]);
    let good = format!("redis://:{PW}@127.0.0.1:{}/", server.port());
    let s = RedisStore::connect(&good)
        .await
        .expect("connect with the password");
    s.ping().await.expect("ping");
    let list = RedisRevocationList::from_store(&s);
    for text in [
        format!("{s:?}"),
        format!("{list:?}"),
        format!("{:?}", RedisStore::builder()),
    ] {
        assert!(
            !text.contains(PW) && !text.contains("127.0.0.1"),
            "Debug leaks: {text}"
        );
    }

    let wrong = format!("redis://:wrong-{PW}@127.0.0.1:{}/", server.port());
    let e = RedisStore::connect(&wrong)
        .await
        .expect_err("wrong password");
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    let (shown, debug) = (e.to_string(), format!("{e:?}"));
    assert!(
        !shown.contains(PW) && !debug.contains(PW),
        "error leaks the password: {debug}"
    );
    assert!(
        !debug.contains("127.0.0.1"),
        "error leaks the address: {debug}"
    );

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let e = RedisStore::connect(&format!("redis://:{PW}@127.0.0.1:{closed}/"))
        .await
        .expect_err("nobody there");
    assert!(
        matches!(e, StoreError::Unavailable(_) | StoreError::Timeout),
        "{e:?}"
    );
    assert!(!format!("{e:?}").contains(PW), "{e:?}");

    for bad in [
        format!("http://:{PW}@host/"),
        format!("redis://:{PW}@[::1/"),
        PW.to_owned(),
    ] {
        let e = RedisStore::connect(&bad).await.expect_err("bad url");
        assert!(!format!("{e:?}").contains(PW), "{e:?}");
    }
}

// ---------------------------------------------------------- revocations

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_jti_is_refused_through_another_connection_at_once() {
    let server = RedisServer::start();
    let a = RedisRevocationList::from_store(&store(&server).await);
    let b = RedisRevocationList::from_store(&store(&server).await);
    assert!(!b
        .is_revoked("j1", None, "alice", now_ms())
        .await
        .expect("check"));
    a.revoke_token("j1", now() + 60).await.expect("revoke");
    assert!(
        b.is_revoked("j1", None, "alice", now_ms())
            .await
            .expect("check"),
        "seen on b at once"
    );
    assert!(!b
        .is_revoked("j2", None, "alice", now_ms())
        .await
        .expect("check"));

    let mut c = raw(&server).await;
    let ttl: i64 = c.pttl(format!("{PREFIX}rj:j1")).await.expect("pttl");
    assert!(
        (58_000..=60_000).contains(&ttl),
        "jti entry lives until the token's exp: {ttl}"
    );
    // An earlier expiry never shortens an entry; a later one extends it.
    a.revoke_token("j1", now() + 10).await.expect("revoke");
    let ttl: i64 = c.pttl(format!("{PREFIX}rj:j1")).await.expect("pttl");
    assert!(ttl > 50_000, "not shortened: {ttl}");
    a.revoke_token("j1", now() + 120).await.expect("revoke");
    let ttl: i64 = c.pttl(format!("{PREFIX}rj:j1")).await.expect("pttl");
    assert!(ttl > 110_000, "extended: {ttl}");
    // A token already expired needs no entry.
    a.revoke_token("old", now() - 5).await.expect("revoke");
    let exists: bool = c.exists(format!("{PREFIX}rj:old")).await.expect("exists");
    assert!(!exists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_cutoffs_refuse_tokens_issued_up_to_the_instant_and_keep_the_latest() {
    let server = RedisServer::start();
    let a = RedisRevocationList::from_store(&store(&server).await);
    let b = RedisRevocationList::from_store(&store(&server).await);
    let t = now_ms();
    a.revoke_subject_before("bob", t).await.expect("revoke");
    assert!(b
        .is_revoked("x", None, "bob", t - 1_000)
        .await
        .expect("check"));
    assert!(
        b.is_revoked("x", None, "bob", t).await.expect("check"),
        "issued at the instant: revoked"
    );
    assert!(
        !b.is_revoked("x", None, "bob", t + 1).await.expect("check"),
        "one ms later: valid"
    );
    assert!(
        !b.is_revoked("x", None, "carol", t - 1_000)
            .await
            .expect("check"),
        "other subjects untouched"
    );
    a.revoke_subject_before("bob", t - 500)
        .await
        .expect("earlier instant");
    assert!(
        b.is_revoked("x", None, "bob", t).await.expect("check"),
        "the later instant is kept"
    );
    a.revoke_subject_before("bob", t + 500)
        .await
        .expect("later instant");
    assert!(b
        .is_revoked("x", None, "bob", t + 400)
        .await
        .expect("check"));

    let mut c = raw(&server).await;
    let ttl: i64 = c.pttl(format!("{PREFIX}rs:bob")).await.expect("pttl");
    let month = 30 * 86_400 * 1_000;
    assert!(
        ttl > month - 5_000 && ttl <= month + 1_000,
        "default retention 30 days: {ttl}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_entries_expire_by_themselves() {
    let server = RedisServer::start();
    let list = RedisRevocationList::from_store(&store(&server).await)
        .with_subject_retention(std::time::Duration::from_secs(1));
    let t = now();
    list.revoke_token("short", t + 1).await.expect("revoke");
    list.revoke_subject_before("dan", t * 1_000)
        .await
        .expect("revoke");
    let mut c = raw(&server).await;
    let ttl: i64 = c.pttl(format!("{PREFIX}rs:dan")).await.expect("pttl");
    assert!(ttl > 0 && ttl <= 2_000, "subject retention 1 s: {ttl}");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let keys: Vec<String> = c.keys("*").await.expect("keys");
    assert!(keys.is_empty(), "entries expire: {keys:?}");
    assert!(!list
        .is_revoked("short", None, "dan", t * 1_000)
        .await
        .expect("check"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_checks_fail_closed_when_redis_is_down() {
    let mut server = RedisServer::start();
    let list = RedisRevocationList::from_store(&store(&server).await);
    server.kill();
    let r = list.is_revoked("j", None, "s", 0).await;
    assert!(
        matches!(r, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
        "{r:?}"
    );
    assert!(list.revoke_token("j", now() + 60).await.is_err());
}

// ------------------------------------------------------- token rotation

async fn token_service(server: &RedisServer) -> TokenService {
    let store = store(server).await;
    let list = RedisRevocationList::from_store(&store);
    portcullis::Authenticator::builder()
        .without_sessions()
        .store(Arc::new(store))
        .revocations(Arc::new(list))
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[42u8; 32]).expect("key"),
        ))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .expect("token service")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_on_two_instances_have_exactly_one_winner() {
    let server = RedisServer::start();
    let a = Arc::new(token_service(&server).await);
    let b = Arc::new(token_service(&server).await);
    for round in 0..20 {
        let pair = a.issue("alice", &["user".into()]).await.expect("issue");
        let (ta, tb) = (a.clone(), b.clone());
        let (ra, rb) = (pair.refresh_token.clone(), pair.refresh_token.clone());
        let ha = tokio::spawn(async move { ta.refresh(&ra).await });
        let hb = tokio::spawn(async move { tb.refresh(&rb).await });
        let (x, y) = (ha.await.expect("task"), hb.await.expect("task"));
        let wins = usize::from(x.is_ok()) + usize::from(y.is_ok());
        assert_eq!(
            wins, 1,
            "round {round}: exactly one concurrent refresh may win ({x:?} / {y:?})"
        );
        for r in [&x, &y] {
            if let Err(rej) = r {
                assert_eq!(rej.status(), 401, "the loser gets 401");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_state_is_shared_between_instances() {
    let server = RedisServer::start();
    let a = token_service(&server).await;
    let b = token_service(&server).await;

    // A refresh on B spends the token for A, and reuse kills the family.
    let pair = a.issue("alice", &[]).await.expect("issue");
    let next = b.refresh(&pair.refresh_token).await.expect("refresh on b");
    assert_eq!(
        a.refresh(&pair.refresh_token)
            .await
            .expect_err("spent")
            .status(),
        401
    );
    assert_eq!(
        a.refresh(&next.refresh_token)
            .await
            .expect_err("family revoked after reuse")
            .status(),
        401
    );

    // Logout on A: the access token is refused on B.
    let pair = a.issue("alice", &[]).await.expect("issue");
    let id = b
        .authenticate(pair.access_token.as_bytes())
        .await
        .expect("valid on b");
    a.logout(&id).await.expect("logout on a");
    assert!(
        b.authenticate(pair.access_token.as_bytes()).await.is_err(),
        "revoked on b at once"
    );
    assert_eq!(
        b.refresh(&pair.refresh_token)
            .await
            .expect_err("family gone")
            .status(),
        401
    );

    // Logout-all on B: every earlier token of the subject is refused on A.
    let p1 = a.issue("bob", &[]).await.expect("issue");
    let p2 = b.issue("bob", &[]).await.expect("issue");
    b.logout_all("bob").await.expect("logout all");
    assert!(a.authenticate(p1.access_token.as_bytes()).await.is_err());
    assert!(a.authenticate(p2.access_token.as_bytes()).await.is_err());
    assert_eq!(
        a.refresh(&p1.refresh_token)
            .await
            .expect_err("gone")
            .status(),
        401
    );
    let fresh = a.issue("bob", &[]).await.expect("log in again");
    assert!(
        b.authenticate(fresh.access_token.as_bytes()).await.is_ok(),
        "a new login works"
    );

    // Refresh families are records of the user, kind RefreshFamily.
    let s = store(&server).await;
    let listed = s.list_user("bob").await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.kind, RecordKind::RefreshFamily);
}

// ----- review finding M1 (and L4, L5) on Redis --------------------------------

/// The race scenarios of tests/support/races.rs on one Redis server (each
/// scenario uses its own users, so they share it).
#[tokio::test]
async fn m1_l4_l5_family_endings_leave_no_token_alive_on_redis() {
    let server = RedisServer::start();
    let s = store(&server).await;
    let pair = || -> (Arc<dyn SessionStore>, Arc<dyn RevocationList>) {
        (
            Arc::new(s.clone()),
            Arc::new(RedisRevocationList::from_store(&s)),
        )
    };
    let (a, b) = pair();
    races::m1_refresh_between_cutoff_and_list(a, b).await;
    let (a, b) = pair();
    races::m1_refresh_between_list_and_delete(a, b).await;
    let (a, b) = pair();
    races::m1_refresh_racing_logout(a, b).await;
    let (a, b) = pair();
    races::m1_refresh_racing_reuse_detection(a, b).await;
    let (a, b) = pair();
    races::l4_logout_refuses_the_thiefs_refreshed_token(a, b).await;
    let (a, b) = pair();
    races::l5_logout_everywhere_ends_everything(a, b).await;
}

/// One shape: an `Authenticator` given only a Redis store keeps refresh
/// families *and* revocations in that Redis (the store provides its
/// revocation list), so a second instance on the same Redis sees both
/// without being told twice. A shared store that offers no revocation list
/// is refused at build instead of silently keeping revocations per process.
#[tokio::test]
async fn an_authenticator_given_only_a_redis_store_keeps_families_and_revocations_there() {
    let server = RedisServer::start();
    let mut c = raw(&server).await;
    let config =
        || portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[5u8; 32]).expect("key"));
    let instance = |s: RedisStore| {
        Authenticator::builder()
            .store(Arc::new(s))
            .tokens(config())
            .build()
            .expect("authenticator")
    };
    let a = instance(store(&server).await);
    let b = instance(store(&server).await);
    let (ta, tb) = (a.tokens().expect("tokens"), b.tokens().expect("tokens"));

    let first = ta.issue("one-ann", &[]).await.expect("issue");
    let families: Vec<String> = c
        .zrange(format!("{PREFIX}uf:{{one-ann}}"), 0, -1)
        .await
        .expect("zrange");
    assert_eq!(families.len(), 1, "the family is in Redis");
    // Instance B rotates the family instance A started.
    let second = tb
        .refresh(&first.refresh_token)
        .await
        .expect("refresh on b");
    let who = ta
        .authenticate(second.access_token.as_bytes())
        .await
        .expect("a accepts b's token");
    // A logs the token out; B refuses it at once: the revocation is in Redis.
    ta.logout(&who).await.expect("logout");
    let revoked: Vec<String> = c.keys(format!("{PREFIX}r*")).await.expect("keys");
    assert!(!revoked.is_empty(), "revocations are in Redis");
    assert!(tb
        .authenticate(second.access_token.as_bytes())
        .await
        .is_err());
    // Log-out-everywhere on B reaches a family started on A.
    let third = ta.issue("one-ann", &[]).await.expect("issue");
    b.logout_everywhere("one-ann").await.expect("everywhere");
    assert!(ta
        .authenticate(third.access_token.as_bytes())
        .await
        .is_err());
    assert!(ta.refresh(&third.refresh_token).await.is_err());

    // A shared store that offers no revocation list: refused at build,
    // accepted with an explicit shared list.
    let gate = Arc::new(races::GateStore::new(Arc::new(store(&server).await)));
    let err = Authenticator::builder()
        .store(gate.clone())
        .tokens(config())
        .build()
        .expect_err("revocations would stay in one process");
    assert!(err.to_string().contains("revocation"), "{err}");
    let s = store(&server).await;
    assert!(Authenticator::builder()
        .store(gate)
        .revocations(Arc::new(RedisRevocationList::from_store(&s)))
        .tokens(config())
        .build()
        .is_ok());
}

/// Review finding L7: a user's sessions and refresh families live in two
/// indexes (the session cap never reads families), and listing or deleting
/// a user with many records works in bounded chunks, not one long script.
#[tokio::test]
async fn l7_sessions_and_families_are_indexed_apart_and_walked_in_chunks() {
    let server = RedisServer::start();
    let s = store(&server).await;
    let mut c = raw(&server).await;
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .store(Arc::new(s.clone()))
        .revocations(Arc::new(RedisRevocationList::from_store(&s)))
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[5u8; 32]).expect("key"),
        ))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .expect("service");
    svc.issue("l7-una", &[]).await.expect("issue");
    let rec = SessionRecord::new("l7-una", now(), 600, 3_600);
    s.create(&key(), &rec).await.expect("create");
    let sessions: Vec<String> = c
        .zrange(format!("{PREFIX}u:{{l7-una}}"), 0, -1)
        .await
        .expect("zrange");
    let families: Vec<String> = c
        .zrange(format!("{PREFIX}uf:{{l7-una}}"), 0, -1)
        .await
        .expect("zrange");
    assert_eq!((sessions.len(), families.len()), (1, 1));
    assert_eq!(
        s.list_user_kind("l7-una", RecordKind::Session)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(s.list_user("l7-una").await.expect("list").len(), 2);

    // 1 500 records of one user: more than a chunk, several times over.
    for _ in 0..1_500 {
        s.create(&key(), &SessionRecord::new("l7-vic", now(), 600, 3_600))
            .await
            .expect("create");
    }
    assert_eq!(s.list_user("l7-vic").await.expect("list").len(), 1_500);
    assert_eq!(s.delete_user("l7-vic").await.expect("delete_user"), 1_500);
    assert!(s.list_user("l7-vic").await.expect("list").is_empty());
    let left: u64 = c
        .zcard(format!("{PREFIX}u:{{l7-vic}}"))
        .await
        .expect("zcard");
    assert_eq!(left, 0);
    // Deleting the family removes it from the family index.
    assert_eq!(s.delete_user("l7-una").await.expect("delete_user"), 2);
    let families: u64 = c
        .zcard(format!("{PREFIX}uf:{{l7-una}}"))
        .await
        .expect("zcard");
    assert_eq!(families, 0);
}

/// Commands the server has executed so far (`INFO commandstats`).
async fn commands_executed(server: &RedisServer) -> u64 {
    let mut c = raw(server).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut c)
        .await
        .expect("info");
    info.split("calls=")
        .skip(1)
        .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
        .sum()
}

/// The hot paths' round trips, counted on the server: a request with a
/// valid session cookie costs exactly one command (the `GET` of its
/// record: nothing is written when nothing changed), and a bearer token's
/// revocation check three single-key `GET`s sent at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_request_costs_one_round_trip() {
    let server = RedisServer::start();
    let s = Arc::new(store(&server).await);
    let list = Arc::new(RedisRevocationList::from_store(&s));
    let auth = Authenticator::builder()
        .store(s.clone())
        .revocations(list.clone())
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[5u8; 32]).expect("key"),
        ))
        .build()
        .expect("authenticator");
    let id = SessionId::generate().expect("rng");
    s.create(
        &id.key(),
        &SessionRecord::new("rt-amy", now(), 1_800, 43_200),
    )
    .await
    .expect("create");
    let cookie = format!("__Host-id={}", id.encode());
    let access = auth
        .tokens()
        .expect("tokens")
        .issue("rt-amy", &[])
        .await
        .expect("issue")
        .access_token;
    let bearer = format!("Bearer {access}");
    for (what, header, value, per_request) in [
        ("session cookie", "cookie", cookie.as_str(), 1),
        ("bearer token", "authorization", bearer.as_str(), 3),
    ] {
        let before = commands_executed(&server).await;
        for _ in 0..50 {
            let mut view = portcullis::RequestView::new("GET");
            view.add_header(header, value.as_bytes());
            let out = auth.authenticate(&view).await;
            assert!(out.state.identity().is_some(), "{what}");
        }
        // The first INFO is counted by the second.
        let spent = commands_executed(&server).await - before - 1;
        assert_eq!(spent, 50 * per_request, "{what}: commands for 50 requests");
    }
}

/// `replicas(1)` on one node: a revocation or a logout counts only once a
/// replica holds it (the `WAIT` travels with the write, so it answers for
/// that write), a write with no replica to confirm it fails closed, and a
/// removal that removed nothing waits for no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replicas_set_a_write_counts_once_a_replica_holds_it() {
    let primary = RedisServer::start();
    let store = RedisStore::builder()
        .replicas(1)
        // A replica that has just synced may take a moment to acknowledge.
        .timeout(Duration::from_secs(2))
        .connect(&primary.url())
        .await
        .expect("connect");
    let list = RedisRevocationList::from_store(&store);
    let r = list.revoke_token("j-alone", now() + 600).await;
    assert!(
        matches!(r, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
        "no replica to confirm it: {r:?}"
    );
    let gone = key();
    assert!(
        !store.delete(&gone).await.expect("nothing to remove"),
        "a removal of nothing needs no replica"
    );

    // A directory of its own: a replica writes the snapshot it receives to
    // `dump.rdb`, which every later server started in the shared temporary
    // directory would load.
    let dir = std::env::temp_dir().join(format!(
        "portcullis-replica-{}-{}",
        std::process::id(),
        primary.port()
    ));
    std::fs::create_dir_all(&dir).expect("replica dir");
    let dir_arg = dir.display().to_string();
    let replica = RedisServer::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &primary.port().to_string(),
        "--dir",
        &dir_arg,
    ]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while list
        .revoke_token("j-replicated", now() + 600)
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the replica never confirmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let k = key();
    store
        .create(&k, &SessionRecord::new("alice", now(), 600, 3_600))
        .await
        .expect("create");
    assert!(store.delete(&k).await.expect("a confirmed logout"));

    // The replica holds what was confirmed.
    let on_replica = RedisRevocationList::from_store(
        &RedisStore::connect(&replica.url())
            .await
            .expect("connect to the replica"),
    );
    assert_eq!(
        on_replica
            .is_revoked("j-replicated", None, "nobody", 0)
            .await,
        Ok(true)
    );
    drop(replica);
    let _ = std::fs::remove_dir_all(&dir);
}
