//! Property tests (proptest) of the security invariants, through the public
//! API and mostly through the full `Authenticator::authenticate` path:
//!
//! - any bytes in any authentication header yield an `AuthOutcome`, never a
//!   panic, and never a login;
//! - a valid token with any single byte changed is refused;
//! - session IDs from real logins never collide and survive any legal
//!   `Cookie` header decoration (login -> Set-Cookie -> Cookie -> identity);
//! - the rolling idle expiry never passes the absolute expiry, matches a
//!   reference model step by step, and the session is gone at the absolute
//!   expiry;
//! - the CSRF check accepts only the exact token;
//! - regression inputs from the fuzz targets (fuzz/README.md).
//!
//! Case counts are set per property (`ProptestConfig::with_cases`); raise
//! them all with `PROPTEST_CASES=N` (e.g. for a soak run).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use portcullis::__private::SessionId;
use portcullis::__private::{check_token, encode_token};
use portcullis::clock::{Clock, ManualClock};
use portcullis::jwt::{KeyRegistry, TokenService};
use portcullis::store::MemoryStore;
use portcullis::SessionHandle;
use portcullis::{__private::Single, RequestView};
use portcullis::{AuthState, Authenticator, RejectionKind, Requirement};
use portcullis::{SessionConfig, SessionLimitPolicy};
use proptest::prelude::*;
use sha2::Sha256;

const NOW: u64 = 1_700_000_000;
const SECRET: &[u8; 32] = b"properties-secret-32-bytes-long!";

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn cases(n: u32) -> ProptestConfig {
    // PROPTEST_CASES, when set, overrides every count.
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

fn token_config() -> portcullis::jwt::TokenConfig {
    portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", SECRET).expect("key"))
        .issuer("https://issuer.test")
        .audience("api")
}

fn tokens(clock: &ManualClock) -> TokenService {
    portcullis::Authenticator::builder()
        .without_sessions()
        .clock(clock.clone())
        .tokens(token_config())
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .expect("token service")
}

/// Sessions (signed cookies) and tokens on one manual clock.
struct World {
    auth: Authenticator,
    tokens: TokenService,
    clock: ManualClock,
}

fn world(config: SessionConfig) -> World {
    let clock = ManualClock::new(NOW);
    let auth = Authenticator::builder()
        .store(Arc::new(MemoryStore::with_clock(clock.clone())))
        .clock(clock.clone())
        .sessions(config)
        .tokens(token_config())
        .build()
        .expect("authenticator");
    let tokens = auth.tokens().expect("token mode").clone();
    World {
        auth,
        tokens,
        clock,
    }
}

/// Log in through the authenticator; returns (cookie value, CSRF token).
async fn login(auth: &Authenticator, user: &str) -> (String, String) {
    let o = auth.authenticate(&RequestView::new("POST")).await;
    let info = SessionHandle::new(o.clone())
        .login(user, vec!["user".into()])
        .await
        .expect("login");
    let set = portcullis::__private::set_cookie(&o).expect("Set-Cookie");
    let pair = set.split(';').next().expect("name=value");
    let value = pair.split_once('=').expect("=").1.to_owned();
    (value, info.csrf_token)
}

async fn subject(
    auth: &Authenticator,
    method: &str,
    headers: &[(&str, &[u8])],
) -> Result<String, RejectionKind> {
    let mut view = RequestView::new(method);
    for (n, v) in headers {
        view.add_header(n, v);
    }
    let o = auth.authenticate(&view).await;
    o.state
        .require(&Requirement::Authenticated)
        .map(|id| id.subject().to_owned())
        .map_err(|r| r.kind())
}

// ---------------------------------------------------------------------------
// 1. Any header bytes -> an outcome, never a panic, never a login.

/// A header a client may send, with bytes either arbitrary or built around
/// real credentials (so the strategies reach the deep paths too).
#[derive(Debug, Clone)]
enum Part {
    Raw(Vec<u8>),
    /// `Bearer ` + arbitrary bytes.
    BearerRaw(Vec<u8>),
    /// The live cookie / token with one byte replaced at a position.
    Mutated(usize, u8),
    /// The live credential itself.
    Live,
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Part::Raw),
        2 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Part::BearerRaw),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Part::Mutated(i, b)),
        1 => Just(Part::Live),
    ]
}

const HEADER_NAMES: &[&str] = &[
    "cookie",
    "authorization",
    "x-csrf-token",
    "origin",
    "sec-fetch-site",
    "host",
    "user-agent",
    "COOKIE",
];

fn mutate(live: &[u8], i: usize, b: u8) -> Vec<u8> {
    let mut v = live.to_vec();
    if !v.is_empty() {
        let i = i % v.len();
        v[i] = b;
    }
    v
}

proptest! {
    #![proptest_config(cases(512))]

    /// Arbitrary bytes in any mix of Cookie, Authorization and the CSRF /
    /// origin headers: `authenticate` returns, the rejection is a 4xx with
    /// a fixed body, any Set-Cookie is the removal cookie with no-store, and
    /// only the live credentials (unmodified) can authenticate.
    #[test]
    fn any_header_bytes_yield_an_outcome(
        method in prop_oneof![Just("GET".to_owned()), Just("POST".to_owned()), Just("DELETE".to_owned()), "[A-Z]{0,8}"],
        headers in proptest::collection::vec((0..HEADER_NAMES.len(), part()), 0..12),
    ) {
        let w = shared_world();
        let live_cookie = format!("__Host-id={}", w.cookie);
        let live_bearer = format!("Bearer {}", w.token);
        let mut owned: Vec<(&str, Vec<u8>)> = Vec::new();
        for (n, p) in &headers {
            let name = HEADER_NAMES[*n];
            let live: &[u8] = match name {
                "authorization" => live_bearer.as_bytes(),
                "x-csrf-token" => w.csrf.as_bytes(),
                _ => live_cookie.as_bytes(),
            };
            let bytes = match p {
                Part::Raw(b) => b.clone(),
                Part::BearerRaw(b) => [&b"Bearer "[..], b].concat(),
                Part::Mutated(i, b) => mutate(live, *i, *b),
                Part::Live => live.to_vec(),
            };
            owned.push((name, bytes));
        }
        let mut view = RequestView::new(&method);
        for (n, v) in &owned {
            view.add_header(n, v);
        }
        let outcome = rt().block_on(w.world.auth.authenticate(&view));
        match outcome.state.require(&Requirement::Authenticated) {
            Ok(id) => {
                // Only the untouched live credentials get in.
                let sent_live = owned.iter().any(|(n, v)| {
                    (n.eq_ignore_ascii_case("cookie") && contains(v, w.cookie.as_bytes()))
                        || (*n == "authorization" && contains(v, w.token.as_bytes()))
                });
                prop_assert!(sent_live, "authenticated without the live credential");
                prop_assert_eq!(id.subject(), "alice");
            }
            Err(r) => {
                prop_assert!(matches!(r.status(), 400 | 401 | 403), "status {}", r.status());
                prop_assert!(r.body().starts_with(r#"{"error":""#), "body {}", r.body());
            }
        }
        let pending: Vec<_> = outcome.take_response_headers().collect();
        if let Some((_, set)) = pending.iter().find(|(n, _)| *n == "set-cookie") {
            prop_assert!(pending.contains(&("cache-control", "no-store".to_owned())));
            prop_assert!(set.contains("Max-Age=0"), "authenticate only ever clears the cookie");
        }
    }

    /// One or several Authorization lines of arbitrary bytes beside a live
    /// session cookie: an outcome, never a login by the header, two or
    /// more lines are a 400, and whenever the header is a bearer attempt
    /// (well-formed or not) the cookie is ignored. A header of another
    /// scheme (`Basic ...`) is not ours and leaves the cookie in charge.
    #[test]
    fn any_authorization_lines_yield_an_outcome(
        lines in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| [&b"Bearer "[..], &b].concat()),
            ],
            1..11,
        ),
    ) {
        let w = shared_world();
        let cookie = format!("__Host-id={}", w.cookie);
        let mut view = RequestView::new("GET");
        view.add_header("cookie", cookie.as_bytes());
        for l in &lines {
            view.add_header("authorization", l);
        }
        let mut authorization = portcullis::__private::HeaderLines::default();
        for l in &lines {
            authorization.push(l);
        }
        let bearer = portcullis::__private::parse_bearer(&authorization);
        let outcome = rt().block_on(w.world.auth.authenticate(&view));
        if lines.len() > 1 {
            prop_assert!(matches!(&outcome.state, AuthState::Failed(r) if r.kind() == RejectionKind::MalformedRequest));
        }
        match bearer {
            Ok(None) => {
                // Not a bearer request: the live cookie authenticates.
                prop_assert_eq!(outcome.state.require(&Requirement::Authenticated).map(|id| id.subject().to_owned()).ok(), Some("alice".to_owned()));
            }
            Ok(Some(_)) | Err(_) => {
                prop_assert!(portcullis::__private::session(&outcome).is_none(), "a bearer Authorization header must win over the cookie");
                prop_assert!(outcome.state.require(&Requirement::Authenticated).is_err());
            }
        }
        // The authenticator checks the token's characters after its cache,
        // not while reading the header: the verdict must be the same.
        if let Err(kind) = bearer {
            prop_assert!(matches!(&outcome.state, AuthState::Failed(r) if r.kind() == kind), "{:?}", outcome.state);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// One live session and token, shared by the header properties.
struct Shared {
    world: World,
    cookie: String,
    csrf: String,
    token: String,
}

fn shared_world() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let world = world(SessionConfig::default().signing_key(&[0x42; 32]));
        let (cookie, csrf) = rt().block_on(login(&world.auth, "alice"));
        let token = rt()
            .block_on(world.tokens.issue("alice", &["user".into()]))
            .expect("issue")
            .access_token;
        Shared {
            world,
            cookie,
            csrf,
            token,
        }
    })
}

// ---------------------------------------------------------------------------
// 2. A valid token with any single byte changed is refused.

/// Exhaustive over positions: every byte of a real token replaced by a
/// handful of values, including the neighbours in the base64url alphabet
/// (which flip only trailing bits of the last character).
#[test]
fn every_single_byte_change_of_a_token_is_refused() {
    let clock = ManualClock::new(NOW);
    let svc = tokens(&clock);
    let token = rt()
        .block_on(svc.issue("alice", &["admin".into()]))
        .expect("issue")
        .access_token;
    assert!(svc.verify(token.as_bytes()).is_ok());
    let mut tried = 0usize;
    for i in 0..token.len() {
        let orig = token.as_bytes()[i];
        for b in [
            orig ^ 0x01,
            orig ^ 0x02,
            orig ^ 0x20,
            orig.wrapping_add(1),
            orig.wrapping_sub(1),
            b'A',
            b'_',
            b'-',
            b'.',
            b'=',
            0,
            0xff,
        ] {
            if b == orig {
                continue;
            }
            let mut t = token.clone().into_bytes();
            t[i] = b;
            tried += 1;
            assert!(
                svc.verify(&t).is_err(),
                "byte {i} changed to {b:#04x} still verifies"
            );
            assert_eq!(
                rt().block_on(svc.authenticate(&t)).err(),
                Some(RejectionKind::InvalidToken),
                "byte {i} changed to {b:#04x} still authenticates"
            );
        }
    }
    assert!(tried > token.len() * 10);
}

proptest! {
    #![proptest_config(cases(256))]

    /// Random subject and roles, random position, random replacement byte,
    /// through `verify`, `authenticate` and the full request path.
    #[test]
    fn a_token_with_any_byte_changed_is_refused(
        sub in "[a-zA-Z0-9@._-]{1,40}",
        roles in proptest::collection::vec("[a-z]{1,10}", 0..4),
        pos in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let w = shared_world();
        let svc = &w.world.tokens;
        let token = rt().block_on(svc.issue(&sub, &roles)).expect("issue").access_token;
        let mut t = token.clone().into_bytes();
        let i = pos % t.len();
        prop_assume!(t[i] != byte);
        t[i] = byte;
        prop_assert!(svc.verify(&t).is_err());
        prop_assert!(rt().block_on(svc.authenticate(&t)).is_err());
        let header = [&b"Bearer "[..], &t].concat();
        let got = rt().block_on(subject(&w.world.auth, "GET", &[("authorization", &header)]));
        prop_assert!(got.is_err());
        // The unmodified token still works (the refusal is the change's doing).
        prop_assert!(svc.verify(token.as_bytes()).is_ok());
    }
}

// ---------------------------------------------------------------------------
// 3. Session IDs: unique over many real logins, and they survive any legal
//    Cookie header around them.

#[test]
fn login_ids_never_collide_and_each_authenticates_its_own_user() {
    let w = world(
        SessionConfig::default().max_sessions_per_user(None, SessionLimitPolicy::EvictOldest),
    );
    rt().block_on(async {
        let mut cookies = HashSet::new();
        let mut keys = HashSet::new();
        let mut all = Vec::new();
        for i in 0..5_000 {
            let user = format!("user{}", i % 97);
            let (cookie, csrf) = login(&w.auth, &user).await;
            assert!(cookies.insert(cookie.clone()), "duplicate session cookie");
            assert!(keys.insert(SessionId::decode(&cookie).expect("43 chars").key()));
            assert!(cookies.len() == keys.len());
            all.push((cookie, csrf, user));
        }
        for (cookie, _, user) in all.iter().step_by(7) {
            let header = format!("__Host-id={cookie}");
            assert_eq!(
                subject(&w.auth, "GET", &[("cookie", header.as_bytes())])
                    .await
                    .as_deref(),
                Ok(user.as_str())
            );
        }
        let csrfs: HashSet<_> = all.iter().map(|(_, c, _)| c).collect();
        assert_eq!(csrfs.len(), all.len(), "CSRF tokens collide");
    });
}

/// How the live pair is written into the header.
#[derive(Debug, Clone)]
struct Decoration {
    /// Other cookies (names never equal ours).
    others: Vec<(String, String)>,
    /// Well-formed values of our name that name no live session (at most 3,
    /// so ours stays within the candidate limit).
    dead_ours: usize,
    /// Where ours goes among the others.
    position: usize,
    quoted: bool,
    pad: (String, String),
    /// Into how many header lines the pairs are split (1..=8).
    lines: usize,
}

fn decoration() -> impl Strategy<Value = Decoration> {
    (
        proptest::collection::vec(("[a-z][a-z0-9_-]{0,8}", "[ -~&&[^;\"]]{0,20}"), 0..12),
        0usize..=3,
        any::<usize>(),
        any::<bool>(),
        ("[ \t]{0,3}", "[ \t]{0,3}"),
        1usize..=8,
    )
        .prop_map(
            |(others, dead_ours, position, quoted, pad, lines)| Decoration {
                others,
                dead_ours,
                position,
                quoted,
                pad,
                lines,
            },
        )
}

fn decorate(d: &Decoration, name: &str, ours: &str) -> Vec<String> {
    let mut pairs: Vec<String> = d.others.iter().map(|(n, v)| format!("{n}={v}")).collect();
    for k in 0..d.dead_ours {
        // Canonical but dead IDs, or junk that is skipped outright.
        let dead = if k % 2 == 0 {
            SessionId::from_bytes([k as u8 + 1; 32]).encode()
        } else {
            "!!junk!!".to_owned()
        };
        pairs.insert(0, format!("{name}={dead}"));
    }
    let value = if d.quoted {
        format!("\"{ours}\"")
    } else {
        ours.to_owned()
    };
    let at = d.position % (pairs.len() + 1);
    pairs.insert(at, format!("{}{name}={value}{}", d.pad.0, d.pad.1));
    let per_line = pairs.len().div_ceil(d.lines).max(1);
    pairs.chunks(per_line).map(|c| c.join("; ")).collect()
}

proptest! {
    #![proptest_config(cases(256))]

    /// login -> Set-Cookie -> any legal Cookie header around the value ->
    /// the same user, with plain and with signed IDs.
    #[test]
    fn session_cookie_round_trips_through_any_cookie_header(d in decoration(), signed in any::<bool>()) {
        let config = if signed {
            SessionConfig::default().signing_key(&[0x42; 32])
        } else {
            SessionConfig::default()
        };
        let w = world(config);
        rt().block_on(async {
            let (cookie, _) = login(&w.auth, "alice").await;
            let lines = decorate(&d, "__Host-id", &cookie);
            let headers: Vec<(&str, &[u8])> = lines.iter().map(|l| ("cookie", l.as_bytes())).collect();
            prop_assert_eq!(subject(&w.auth, "GET", &headers).await, Ok("alice".to_owned()), "{:?}", lines);
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// 4. Rolling expiry never passes the absolute expiry.

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Authenticate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u64..1_500).prop_map(Op::Advance),
        3 => Just(Op::Authenticate),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    /// Drive a session with a manual clock through random advances and
    /// requests. After every step the stored record keeps
    /// `idle_expires_at <= absolute_expires_at`; each request succeeds
    /// exactly when a reference model of idle + absolute expiry with the
    /// rolling write interval says so; and at the absolute expiry the
    /// session is gone, however busy it was.
    #[test]
    fn rolling_expiry_never_passes_the_absolute_expiry(
        idle in 1u64..2_000,
        absolute in 1u64..6_000,
        rolling in 0u64..300,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let config = SessionConfig::default().idle_timeout(std::time::Duration::from_secs(idle)).absolute_timeout(std::time::Duration::from_secs(absolute)).rolling_interval(std::time::Duration::from_secs(rolling));
        let w = world(config);
        rt().block_on(async {
            let (cookie, _) = login(&w.auth, "alice").await;
            let key = SessionId::decode(&cookie).expect("id").key();
            let store = portcullis::__private::sessions(&w.auth).expect("sessions").store().clone();
            let header = format!("__Host-id={cookie}");
            let t0 = w.clock.now();
            let abs = t0 + absolute;
            // The interval in effect is at most a quarter of the idle
            // timeout (review finding L6: a larger one logged active users
            // out at the idle deadline).
            let rolling = rolling.min(idle / 4);
            // The model.
            let mut last_seen = t0;
            let mut idle_exp = (t0 + idle).min(abs);
            let mut alive = true;
            for op in &ops {
                match op {
                    Op::Advance(s) => w.clock.advance(Duration::from_secs(*s)),
                    Op::Authenticate => {
                        let now = w.clock.now();
                        if now >= idle_exp.min(abs) {
                            alive = false;
                        }
                        let got = subject(&w.auth, "GET", &[("cookie", header.as_bytes())]).await;
                        if alive {
                            prop_assert_eq!(got, Ok("alice".to_owned()), "t+{}", now - t0);
                            if now - last_seen >= rolling {
                                last_seen = now;
                                idle_exp = (now + idle).min(abs);
                            }
                        } else {
                            prop_assert_eq!(got, Err(RejectionKind::InvalidSession), "t+{}", now - t0);
                        }
                    }
                }
                if let Some(r) = store.load(&key).await.expect("memory store") {
                    prop_assert!(r.idle_expires_at <= r.absolute_expires_at);
                    prop_assert_eq!(r.absolute_expires_at, abs, "the absolute expiry never moves");
                    prop_assert_eq!(r.idle_expires_at, idle_exp);
                }
            }
            // At the absolute expiry the session is gone, whatever happened.
            if w.clock.now() < abs {
                w.clock.set(abs);
            }
            prop_assert_eq!(
                subject(&w.auth, "GET", &[("cookie", header.as_bytes())]).await,
                Err(RejectionKind::InvalidSession)
            );
            prop_assert!(store.load(&key).await.expect("memory store").is_none());
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// 5. The CSRF check accepts only the exact token.

/// Near-misses of a token: the kinds of change a sloppy comparison accepts.
fn near_miss(token: &str, kind: u8, i: usize, b: u8) -> Vec<u8> {
    let t = token.as_bytes();
    let i = i % t.len();
    match kind % 9 {
        0 => [t, b"="].concat(),                                     // padding
        1 => [t, b" "].concat(),                                     // trailing space
        2 => [b" ", t].concat(),                                     // leading space
        3 => t[..t.len() - 1].to_vec(),                              // truncated
        4 => [t, &[b][..]].concat(),                                 // extended
        5 => t.to_ascii_uppercase(),                                 // case folded
        6 => URL_SAFE_NO_PAD.decode(t).unwrap_or_default(),          // raw secret bytes
        7 => token.replace('-', "+").replace('_', "/").into_bytes(), // standard alphabet
        _ => {
            let mut v = t.to_vec();
            v[i] = b;
            v
        }
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn csrf_check_accepts_only_the_exact_token(
        secret in any::<[u8; 32]>(),
        kind in any::<u8>(),
        i in any::<usize>(),
        b in any::<u8>(),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let token = encode_token(&secret);
        prop_assert!(check_token(Single::One(token.as_bytes()), &secret).is_ok());
        prop_assert!(check_token(Single::Many, &secret).is_err(), "a duplicated header never passes");
        prop_assert!(check_token(Single::Absent, &secret).is_err());
        for presented in [near_miss(&token, kind, i, b), raw] {
            let ok = check_token(Single::One(&presented), &secret).is_ok();
            prop_assert_eq!(ok, presented == token.as_bytes(), "{:?}", String::from_utf8_lossy(&presented));
        }
    }
}

proptest! {
    #![proptest_config(cases(128))]

    /// The same through the full path: a POST with the session cookie is
    /// authenticated exactly when X-CSRF-Token is the session's own token.
    #[test]
    fn csrf_through_authenticate(kind in any::<u8>(), i in any::<usize>(), b in any::<u8>(), exact in any::<bool>()) {
        let w = world(SessionConfig::default());
        rt().block_on(async {
            let (cookie, csrf) = login(&w.auth, "alice").await;
            let (_, other_csrf) = login(&w.auth, "mallory").await;
            let header = format!("__Host-id={cookie}");
            let presented = if exact { csrf.clone().into_bytes() } else { near_miss(&csrf, kind, i, b) };
            let got = subject(&w.auth, "POST", &[("cookie", header.as_bytes()), ("x-csrf-token", &presented)]).await;
            if presented == csrf.as_bytes() {
                prop_assert_eq!(got, Ok("alice".to_owned()));
            } else {
                prop_assert_eq!(got, Err(RejectionKind::CsrfTokenInvalid));
            }
            // Another session's valid token never works.
            let got = subject(&w.auth, "POST", &[("cookie", header.as_bytes()), ("x-csrf-token", other_csrf.as_bytes())]).await;
            prop_assert_eq!(got, Err(RejectionKind::CsrfTokenInvalid));
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------
// 6. Regressions found by fuzzing (see fuzz/README.md).

/// A compact JWS of raw header and payload bytes under `SECRET`.
fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    let mut t = URL_SAFE_NO_PAD.encode(header);
    t.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut t);
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET).expect("key");
    m.update(t.as_bytes());
    t.push('.');
    URL_SAFE_NO_PAD.encode_string(m.finalize().into_bytes(), &mut t);
    t
}

/// Finding F1 (fuzz target `claims_decode`): invalid UTF-8 inside an
/// *unknown* member of a signed payload or header was skipped unchecked by
/// the strict parsers, so `authenticate` accepted a token that `verify`
/// (and any JSON parser) refuses. JSON text must be UTF-8 (RFC 8259 §8.1):
/// both entry points must refuse it.
#[test]
fn fuzz_f1_non_utf8_in_an_unknown_member_is_refused_everywhere() {
    let clock = ManualClock::new(NOW);
    let svc = tokens(&clock);
    let claims = |extra: &[u8]| {
        [
            format!(
                r#"{{"sub":"alice","iat":{NOW},"exp":{},"iss":"https://issuer.test","aud":"api","jti":"j1","#,
                NOW + 60
            )
            .as_bytes(),
            extra,
            b"}",
        ]
        .concat()
    };
    let good = sign_raw(br#"{"alg":"HS256","kid":"k1"}"#, &claims(br#""x":"ok""#));
    assert!(
        svc.verify(good.as_bytes()).is_ok(),
        "the control token must verify"
    );
    let cases = [
        // Minimised from the fuzzer's input: `"adroles":["us\xa9er"]`.
        (
            "payload",
            sign_raw(
                br#"{"alg":"HS256","kid":"k1"}"#,
                &claims(b"\"x\":\"us\xa9er\""),
            ),
        ),
        (
            "payload key",
            sign_raw(br#"{"alg":"HS256","kid":"k1"}"#, &claims(b"\"\xff\":1")),
        ),
        (
            "header",
            sign_raw(
                b"{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":\"\xc3\x28\"}",
                &claims(br#""x":"ok""#),
            ),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, token) in &cases {
        let verified = svc.verify(token.as_bytes()).is_ok();
        let authenticated = rt().block_on(svc.authenticate(token.as_bytes())).is_ok();
        if verified || authenticated {
            wrong.push(format!(
                "non-UTF-8 {what}: verify accepted = {verified}, authenticate accepted = {authenticated}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Finding F2 (fuzz target `claims_decode`): the same skip of unknown
/// members is laxer than the full JSON parse `verify` does, for valid JSON
/// that `serde_json::Value` cannot hold: a number outside the `f64` range
/// (`1e400`) or nesting deeper than serde_json's recursion limit (128) in an
/// application claim. `authenticate` accepted such tokens while `verify`
/// and `verify_claims::<Map<..>>` refused them. Both entry points must
/// give the same answer for the same token.
#[test]
fn fuzz_f2_verify_and_authenticate_agree_on_unrepresentable_claims() {
    let clock = ManualClock::new(NOW);
    let svc = tokens(&clock);
    let claims = |extra: &str| {
        format!(
            r#"{{"sub":"alice","iat":{NOW},"exp":{},"iss":"https://issuer.test","aud":"api","jti":"j1",{extra}}}"#,
            NOW + 60
        )
    };
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let mut cases: Vec<(String, String)> = (120..=130)
        .map(|d| {
            let nested = format!("{}{}", "[".repeat(d), "]".repeat(d));
            (
                format!("nesting depth {d}"),
                claims(&format!(r#""n":{nested}"#)),
            )
        })
        .collect();
    cases.extend([
        // Minimised from the fuzzer's input: `"tenan":{"exp":1700e000900}`.
        (
            "number out of range".to_owned(),
            claims(r#""tenant":{"n":1700e000900}"#),
        ),
        ("negative out of range".to_owned(), claims(r#""n":-1e400"#)),
        ("deep nesting".to_owned(), claims(&format!(r#""n":{deep}"#))),
    ]);
    let mut wrong = Vec::new();
    for (what, payload) in &cases {
        let token = sign_raw(br#"{"alg":"HS256","kid":"k1"}"#, payload.as_bytes());
        let verified = svc.verify(token.as_bytes()).is_ok();
        let authenticated = rt().block_on(svc.authenticate(token.as_bytes())).is_ok();
        if verified != authenticated {
            wrong.push(format!(
                "{what}: verify accepted = {verified}, authenticate accepted = {authenticated}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
