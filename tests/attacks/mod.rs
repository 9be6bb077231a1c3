//! The attack suite: hostile requests against the demo contract
//! (shared/DEMO_CONTRACT.md), run over every adapter through the contract
//! suite's [`Harness`] (issue #8 item 3).
//!
//! Each framework's test file includes it next to the contract module and
//! builds the demo with [`setting`] (the suite's settings plus a fixed
//! [`JWT_SECRET`], so the suite can forge tokens):
//! ```ignore
//! #[path = "contract/mod.rs"] mod contract;
//! #[path = "attacks/mod.rs"] mod attacks;
//! mod attack {
//!     use super::*;
//!     // one #[tokio::test] per section, each on a fresh demo
//!     attacks::sections!(#[tokio::test] AxumHarness::new(demo_axum::app(attack_auth().await)));
//! }
//! ```
//!
//! Every case asserts the EXACT status (plus the challenge where it
//! matters), that a failure never hands out a session, that an error body is
//! a short `{"error": ...}`, and [`assert_no_echo`]: nothing secret that the
//! request carried (cookie values, tokens, CSRF tokens, refresh tokens,
//! passwords) comes back in the body or any header. A failing case does not
//! stop the run: every mismatch is collected and the run panics at the end
//! with the whole list, so one run shows every finding.
//!
//! The only cases that accept more than one status are the huge-header ones
//! ([`Want::or_refused`]): an in-process harness has no HTTP parser, so the
//! app sees the header and must answer the exact status given; a harness
//! over a real socket may instead be refused by the server's parser (400,
//! 413, 431, or status 0 for a closed connection). Never a 5xx either way.
#![allow(dead_code)]
#![allow(clippy::type_complexity)]

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use futures_util::future::join_all;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use super::contract::{self, Harness, Resp, Session, Tokens, HOST, SAME_ORIGIN};

mod accounts;
pub use accounts::accounts;

/// The HS256 secret the demo is built with for the attack run (the demo's
/// `JWT_SECRET` setting; at least 32 bytes). Knowing it lets the suite forge
/// tokens that differ from a valid one in exactly one respect.
pub const JWT_SECRET: &str = "portcullis-attack-suite-fixed-jwt-secret-0123456789";

/// The demo settings for the attack run, for `Settings::from_vars`: the
/// contract suite's [`contract::SUITE_SETTINGS`] plus `JWT_SECRET` =
/// [`JWT_SECRET`].
pub fn setting(name: &str) -> Option<String> {
    match name {
        "JWT_SECRET" => return Some(JWT_SECRET.to_owned()),
        // The harness's peer is the suite's reverse proxy, so
        // `password_guessing` can come from many clients.
        "TRUSTED_PROXIES" => return Some("127.0.0.1".to_owned()),
        // Small throttle limits, so guessing attacks hit them quickly.
        "LOGIN_MAX_FAILURES_PER_IP" | "LOGIN_MAX_FAILURES_PER_USER" => {
            return Some(GUESS_LIMIT.to_string())
        }
        _ => {}
    }
    contract::SUITE_SETTINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| (*v).to_owned())
}

/// `LOGIN_MAX_FAILURES_PER_IP` and `LOGIN_MAX_FAILURES_PER_USER` of the
/// attack suite's demos.
pub const GUESS_LIMIT: u32 = 12;

/// Some RSA public key (SPKI PEM): the classic algorithm-confusion key,
/// used as an HMAC secret by an attacker who hopes the server verifies
/// `HS256` with "the key" whatever its kind.
const RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAydx3W5h+LaHcwjOvyQgi
q5U3rqE402PABghJ/m5BcbwJ7e0NXA3KXtTOnmX6Nh+5MxXg7WSG/mYOnEx9xCXC
AtMv1pbMjaQ9jmD+VjdgZ8OaLJBM5LnkJgIndeglsKiUFafPuPchpv96e59nYopb
frFewaVJDDIYnS7bAyzeywYJ2rOPIGApwP/UJlRBdHJnWETPKtKaa5ypmCKwmI0q
XYuIGKMF4TBVWbJb2xrBP2lXv2z+0j6Ao8J3H1S1KQMHcqXTQYnc8V8CpVPymtJ7
9wADCAxfEWELxHTQ95QPFQE/VygsoSJPaJ7qI+3BhbVfpM02DPaGMTc/l6/4IQne
HwIDAQAB
-----END PUBLIC KEY-----
";

/// `WWW-Authenticate` of a refused token.
const INVALID_TOKEN: Option<&str> = Some(r#"Bearer error="invalid_token""#);
/// `WWW-Authenticate` of a malformed `Authorization` header.
const INVALID_REQUEST: Option<&str> = Some(r#"Bearer error="invalid_request""#);
/// `WWW-Authenticate` of a bearer route called without a token.
const BEARER: Option<&str> = Some("Bearer");
/// Session routes send no challenge.
const NO_CHALLENGE: Option<&str> = None;

/// Shortest sent value treated as a secret by [`assert_no_echo`] (shorter
/// ones would match by chance).
const MIN_SECRET_LEN: usize = 12;

// ---------------------------------------------------------------------------
// Requests, expectations, the no-echo check
// ---------------------------------------------------------------------------

/// One request, owned.
#[derive(Debug, Clone)]
pub struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    /// Secrets the request carries that [`sent_secrets`] cannot find by
    /// itself.
    secrets: Vec<String>,
}

impl Req {
    fn new(method: &'static str, path: &str) -> Self {
        Req {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            secrets: Vec::new(),
        }
    }
    fn get(path: &str) -> Self {
        Self::new("GET", path)
    }
    fn post(path: &str) -> Self {
        Self::new("POST", path)
    }
    fn h(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }
    fn cookie(self, value: impl AsRef<[u8]>) -> Self {
        self.h("cookie", value)
    }
    fn bearer(self, token: &str) -> Self {
        self.h("authorization", format!("Bearer {token}"))
    }
    fn csrf(self, token: impl AsRef<[u8]>) -> Self {
        self.h("x-csrf-token", token)
    }
    fn host(self) -> Self {
        self.h("host", HOST)
    }
    fn json(self, v: &Value) -> Self {
        let body = serde_json::to_vec(v).unwrap_or_default();
        self.raw_json(body)
    }
    fn raw_json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self = self.h("content-type", "application/json");
        self.body = body.into();
        self
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
    fn secret(mut self, s: impl Into<String>) -> Self {
        self.secrets.push(s.into());
        self
    }
    /// `Cookie` + `X-CSRF-Token` + `Host` of a session's unsafe request.
    fn session(self, s: &Session) -> Self {
        self.cookie(&s.cookie).csrf(&s.csrf).host()
    }
}

/// What a case expects.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    status: u16,
    /// `Some(c)`: the `WWW-Authenticate` must be exactly `c`.
    challenge: Option<Option<&'static str>>,
    /// For a 200 with a `{"user"}` body: who.
    user: Option<&'static str>,
    /// The request may instead be refused by a real server's HTTP parser.
    refusable: bool,
}

fn want(status: u16) -> Want {
    Want {
        status,
        challenge: None,
        user: None,
        refusable: false,
    }
}

impl Want {
    fn challenge(mut self, c: Option<&'static str>) -> Self {
        self.challenge = Some(c);
        self
    }
    fn user(mut self, u: &'static str) -> Self {
        self.user = Some(u);
        self
    }
    /// Also accept a transport-level refusal (400, 413, 431; 0 = the
    /// connection was closed) from a harness over a real socket.
    fn or_refused(mut self) -> Self {
        self.refusable = true;
        self
    }
}

/// `GET /session/me` (or another session route) refused: 401, no challenge.
fn session_401() -> Want {
    want(401).challenge(NO_CHALLENGE)
}
/// A bearer route refusing a token: 401 `invalid_token`.
fn token_401() -> Want {
    want(401).challenge(INVALID_TOKEN)
}
/// A malformed `Authorization` header: 400 `invalid_request`.
fn bearer_400() -> Want {
    want(400).challenge(INVALID_REQUEST)
}

/// Every secret a request carries: each value of our-cookie-shaped pairs
/// (every `Cookie` pair value), the parts of `Authorization`, every
/// `X-CSRF-Token`, and the `refresh_token` / `password` of a JSON body;
/// plus the request's explicit secrets. Values shorter than
/// [`MIN_SECRET_LEN`] are dropped.
fn sent_secrets(req: &Req) -> Vec<String> {
    let mut out: Vec<String> = req.secrets.clone();
    for (name, value) in &req.headers {
        let text = String::from_utf8_lossy(value).into_owned();
        match *name {
            "cookie" => {
                for pair in text.split(';') {
                    if let Some((_, v)) = pair.split_once('=') {
                        out.push(v.trim().trim_matches('"').to_owned());
                    }
                }
            }
            "authorization" => {
                // Every part after the scheme word.
                out.extend(
                    text.split([' ', '\t', ','])
                        .filter(|p| !p.is_empty())
                        .skip(1)
                        .map(|p| p.trim_end_matches('=').to_owned()),
                );
            }
            "x-csrf-token" => out.push(text.trim().to_owned()),
            _ => {}
        }
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
        for key in ["refresh_token", "password"] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                out.push(s.to_owned());
            }
        }
    }
    out.retain(|s| s.len() >= MIN_SECRET_LEN);
    out.sort();
    out.dedup();
    out
}

/// True for the `Set-Cookie` of a successful cookie login (a 200 whose body
/// carries a `csrf_token`): the one header allowed to carry a fresh ID.
fn is_fresh_login(r: &Resp) -> bool {
    r.status == 200
        && serde_json::from_slice::<Value>(&r.body)
            .ok()
            .is_some_and(|v| v.get("csrf_token").is_some())
}

/// Where `r` echoes one of `secrets`, if anywhere: the body and every
/// header, except the `Set-Cookie` of a fresh login (whose new ID is the
/// point of the response) — which must still not BE a secret the request
/// sent (that would be an adopted, fixated ID).
pub fn find_echo(r: &Resp, secrets: &[&str]) -> Option<String> {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .collect();
    let body = String::from_utf8_lossy(&r.body);
    if let Some(s) = secrets.iter().find(|s| body.contains(**s)) {
        return Some(format!("the body echoes the secret {s:?}"));
    }
    let fresh_login = is_fresh_login(r);
    for (name, value) in &r.headers {
        let value = String::from_utf8_lossy(value);
        if name == "set-cookie" && fresh_login {
            let (_, v) = contract::cookie_pair(&value);
            if secrets.contains(&v.as_str()) {
                return Some(format!("the login adopted the sent ID {v:?}"));
            }
            continue;
        }
        if let Some(s) = secrets.iter().find(|s| value.contains(**s)) {
            return Some(format!("the header {name} echoes the secret {s:?}"));
        }
    }
    None
}

/// Assert that `r` echoes none of `secrets` (see [`find_echo`]).
#[track_caller]
pub fn assert_no_echo(r: &Resp, secrets: &[&str]) {
    if let Some(e) = find_echo(r, secrets) {
        panic!("{e}: {}", describe(r));
    }
}

fn describe(r: &Resp) -> String {
    let mut body = String::from_utf8_lossy(&r.body).into_owned();
    if body.len() > 300 {
        body.truncate(300);
        body.push_str("...");
    }
    format!(
        "status {} headers {:?} body {body:?}",
        r.status,
        r.headers
            .iter()
            .map(|(n, v)| {
                let mut v = String::from_utf8_lossy(v).into_owned();
                v.truncate(200);
                (n.as_str(), v)
            })
            .collect::<Vec<_>>(),
    )
}

fn short(req: &Req) -> String {
    let headers: Vec<String> = req
        .headers
        .iter()
        .map(|(n, v)| {
            let mut v = String::from_utf8_lossy(v).into_owned();
            if v.len() > 80 {
                v.truncate(80);
                v.push_str("...");
            }
            format!("{n}: {v}")
        })
        .collect();
    format!(
        "{} {} {headers:?} body {} bytes",
        req.method,
        req.path,
        req.body.len()
    )
}

// ---------------------------------------------------------------------------
// JWT forging
// ---------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

fn hmac_sig(alg: &str, input: &[u8], key: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| panic!("hmac key"));
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
    match alg {
        "HS384" => run::<Hmac<sha2::Sha384>>(key, input),
        "HS512" => run::<Hmac<sha2::Sha512>>(key, input),
        _ => run::<Hmac<sha2::Sha256>>(key, input),
    }
}

/// `header.payload.signature` with the raw JSON texts given (so member
/// order, duplicates and odd types are the attacker's), signed with
/// `key` by HMAC-`alg`.
fn forge_raw(header: &str, payload: &str, alg: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = hmac_sig(alg, input.as_bytes(), key);
    format!("{input}.{}", b64(&sig))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

thread_local! {
    static JTI: Cell<u64> = const { Cell::new(0) };
}

/// A fresh `jti` (unique within the process).
fn jti() -> String {
    let n = JTI.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("attack-{n}-{nanos}")
}

/// What the suite knows of the demo's access tokens (read from a real one).
struct TokenShape {
    kid: String,
    iss: Option<String>,
    aud: Option<String>,
}

impl TokenShape {
    fn of(access: &str) -> TokenShape {
        let mut parts = access.split('.');
        let header: Value =
            serde_json::from_slice(&unb64(parts.next().unwrap_or_default())).unwrap_or_default();
        let payload: Value =
            serde_json::from_slice(&unb64(parts.next().unwrap_or_default())).unwrap_or_default();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        TokenShape {
            kid: text(&header, "kid").unwrap_or_else(|| "demo".into()),
            iss: text(&payload, "iss"),
            aud: text(&payload, "aud"),
        }
    }

    /// The demo's own header: `{"alg":"HS256","kid":..,"typ":"JWT"}`.
    fn header(&self) -> Value {
        json!({ "alg": "HS256", "kid": self.kid, "typ": "JWT" })
    }

    /// Valid claims for `sub` with `roles`, issued now, expiring in 10 min,
    /// a fresh `jti`, and the demo's `iss`/`aud` if it sets them.
    fn claims(&self, sub: &str, roles: &[&str]) -> Value {
        let t = now();
        let mut c = json!({
            "sub": sub,
            "iat": t,
            "exp": t + 600,
            "jti": jti(),
            "roles": roles,
        });
        if let Some(iss) = &self.iss {
            c["iss"] = json!(iss);
        }
        if let Some(aud) = &self.aud {
            c["aud"] = json!(aud);
        }
        c
    }

    /// Sign `claims` under `header` with the demo's secret (HS256).
    fn sign(&self, header: &Value, claims: &Value) -> String {
        forge_raw(
            &header.to_string(),
            &claims.to_string(),
            "HS256",
            JWT_SECRET.as_bytes(),
        )
    }

    /// A token valid in every respect.
    fn valid(&self, sub: &str, roles: &[&str]) -> String {
        self.sign(&self.header(), &self.claims(sub, roles))
    }
}

/// Change one base64url character at `at` to another one (flipping its
/// lowest bit changes the decoded bytes unless it is a trailing bit).
fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    if let Some(c) = b.get_mut(at) {
        *c = if *c == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(b).unwrap_or_default()
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same bytes spelled non-canonically: set a trailing bit of the last
/// character (only possible when the length is not a multiple of 4). A
/// lenient decoder yields the same bytes; a strict one refuses.
fn non_canonical(seg: &str) -> Option<String> {
    if seg.len().is_multiple_of(4) || seg.is_empty() {
        return None;
    }
    let mut b = seg.as_bytes().to_vec();
    let last = b.len() - 1;
    let idx = ALPHABET.iter().position(|&c| c == b[last])?;
    b[last] = ALPHABET[idx ^ 1];
    String::from_utf8(b).ok()
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/// One attack run over a harness: counts cases, collects failures.
pub struct Attack<'h, H: Harness> {
    h: &'h H,
    cases: usize,
    failures: Vec<String>,
}

impl<'h, H: Harness> Attack<'h, H> {
    pub fn new(h: &'h H) -> Self {
        Attack {
            h,
            cases: 0,
            failures: Vec::new(),
        }
    }

    async fn send(&self, req: &Req) -> Resp {
        let headers: Vec<(&str, &[u8])> = req
            .headers
            .iter()
            .map(|(n, v)| (*n, v.as_slice()))
            .collect();
        self.h
            .send(req.method, &req.path, &headers, &req.body)
            .await
    }

    fn fail(&mut self, row: &str, msg: String) {
        self.failures.push(format!("[{row}] {msg}"));
    }

    /// Check one answer against `want` and the generic rules; counts the case.
    fn judge(&mut self, row: &str, req: &Req, r: &Resp, want: Want) {
        self.cases += 1;
        let refused =
            want.refusable && r.status != want.status && matches!(r.status, 0 | 400 | 413 | 431);
        if r.status != want.status && !refused {
            self.fail(
                row,
                format!(
                    "expected {}{}, got {}\n      request: {}",
                    want.status,
                    if want.refusable {
                        " (or a transport refusal)"
                    } else {
                        ""
                    },
                    describe(r),
                    short(req)
                ),
            );
            return;
        }
        if refused {
            return;
        }
        if let Some(c) = want.challenge {
            let got = r.header("www-authenticate");
            if got.as_deref() != c {
                self.fail(
                    row,
                    format!("WWW-Authenticate: expected {c:?}, got {}", describe(r)),
                );
            }
        }
        if let Some(user) = want.user {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            if v.get("user").and_then(Value::as_str) != Some(user) {
                self.fail(row, format!("expected user {user:?}, got {}", describe(r)));
            }
        }
        if r.status >= 400 {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let ok = v.as_object().is_some_and(|o| o.len() == 1)
                && v.get("error")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty() && m.len() <= 100);
            if !ok {
                self.fail(
                    row,
                    format!("error body is not {{\"error\":\"...\"}}: {}", describe(r)),
                );
            }
            if r.headers_all("set-cookie")
                .iter()
                .any(|c| !contract::is_removal(c))
            {
                self.fail(
                    row,
                    format!("a failure set a session cookie: {}", describe(r)),
                );
            }
        }
        let secrets = sent_secrets(req);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        if let Some(e) = find_echo(r, &secrets) {
            self.fail(row, format!("{e}: {}", describe(r)));
        }
    }

    /// Send `req`, judge the answer, return it.
    async fn case(&mut self, row: &str, req: Req, want: Want) -> Resp {
        let r = self.send(&req).await;
        self.judge(row, &req, &r, want);
        r
    }

    /// An extra property of an answer (not counted as a case).
    fn ensure(&mut self, ok: bool, row: &str, msg: impl FnOnce() -> String) {
        if !ok {
            let m = msg();
            self.fail(row, m);
        }
    }

    /// `GET /session/me` as `s`: `want`.
    async fn me(&mut self, row: &str, s: &Session, want: Want) -> Resp {
        self.case(row, Req::get("/session/me").cookie(&s.cookie), want)
            .await
    }

    async fn login(&self, user: &str, headers: &[(&str, &[u8])]) -> Session {
        contract::login_session(self.h, user, headers).await
    }

    async fn tokens(&self, user: &str) -> Tokens {
        contract::login_tokens(self.h, user).await
    }

    /// The number of cases run; panics with every failure if any.
    /// The number of cases run; panics listing every failed one.
    pub fn finish(self) -> usize {
        if !self.failures.is_empty() {
            panic!(
                "{} of {} attack cases failed:\n  {}",
                self.failures.len(),
                self.cases,
                self.failures.join("\n  ")
            );
        }
        self.cases
    }
}

/// Run every attack against the demo behind `h` (built with [`setting`]);
/// returns the number of cases executed. Panics at the end listing every
/// failed case.
/// One test per attack section for an adapter, each on a fresh demo (with
/// the attack settings), so a failure names its section
/// (`attack::jwt_forgery`) and lists every failed case of it.
/// `sections!(#[test_attribute] harness_expression)`; the list of sections
/// lives here only.
macro_rules! sections {
    (#[$test:meta] $make:expr) => {
        $crate::attacks::sections!(@each #[$test] $make;
            cookies, cookie_tossing, session_fixation, stolen_after_logout, csrf, jwt_forgery,
            jwt_claims, jwt_encoding, authorization_header, refresh, huge, logout_races,
            review_findings, password_guessing, accounts);
    };
    (@each #[$test:meta] $make:expr; $($section:ident),* $(,)?) => {
        $(
            #[$test]
            async fn $section() {
                let h = $make;
                let mut a = $crate::attacks::Attack::new(&h);
                $crate::attacks::$section(&mut a).await;
                println!("{} cases", a.finish());
            }
        )*
    };
}
pub(crate) use sections;

// ---------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------

/// Malformed, duplicate, oversized and non-UTF-8 cookies on
/// `GET /session/me`: a usable session cookie among them still works, and
/// nothing else does.
pub async fn cookies<H: Harness>(a: &mut Attack<'_, H>) {
    let s = a.login("alice", &[]).await;
    let (n, v) = (s.name.as_str(), s.value.as_str());
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("bad characters", format!("{n}=!!!$$$").into_bytes()),
        ("no equals sign", n.as_bytes().to_vec()),
        ("empty value", format!("{n}=").into_bytes()),
        ("only separators", b";;; ; ;".to_vec()),
        (
            "space inside the value",
            format!("{n}={} {}", &v[..20], &v[20..]).into_bytes(),
        ),
        (
            "truncated ID",
            format!("{n}={}", &v[..v.len() - 1]).into_bytes(),
        ),
        ("ID plus one character", format!("{n}={v}A").into_bytes()),
        (
            "standard-alphabet character",
            format!("{n}=+{}", &v[1..]).into_bytes(),
        ),
        ("padded ID", format!("{n}={v}=").into_bytes()),
        ("half-quoted ID", format!("{n}=\"{v}").into_bytes()),
        (
            "lower-cased name",
            format!("{}={v}", n.to_ascii_lowercase()).into_bytes(),
        ),
        (
            "name with a trailing space",
            format!("{n} ={v}").into_bytes(),
        ),
        (
            "percent-encoded name",
            format!("{}={v}", n.replace('_', "%5F")).into_bytes(),
        ),
        ("ID as the name", format!("{v}={n}").into_bytes()),
        (
            "300-character value",
            format!("{n}={v}{}", "A".repeat(300)).into_bytes(),
        ),
        (
            "non-UTF-8 value",
            [format!("{n}=").as_bytes(), b"\xff\xfe\x80abc"].concat(),
        ),
        (
            "non-UTF-8 name",
            [b"\xc3\x28".as_slice(), format!("={v}").as_bytes()].concat(),
        ),
    ];
    let mut refused = refused;
    if let Some(nc) = non_canonical(v) {
        refused.push(("non-canonical base64 ID", format!("{n}={nc}").into_bytes()));
    }
    for (what, value) in refused {
        let row = format!("GET /session/me (cookie: {what})");
        a.case(
            &row,
            Req::get("/session/me").cookie(value).secret(v),
            session_401(),
        )
        .await;
    }

    let ok = want(200).user("alice");
    let accepted: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "DQUOTE-wrapped ID (RFC 6265)",
            vec![format!("{n}=\"{v}\"").into_bytes()],
        ),
        (
            "our cookie twice",
            vec![format!("{n}={v}; {n}={v}").into_bytes()],
        ),
        (
            "our cookie on two lines",
            vec![s.cookie.clone().into_bytes(), s.cookie.clone().into_bytes()],
        ),
        (
            "oversized duplicate before it",
            vec![format!("{n}={}; {n}={v}", "A".repeat(300)).into_bytes()],
        ),
        (
            "4 KiB foreign cookie before it",
            vec![format!("big={}; {n}={v}", "x".repeat(4096)).into_bytes()],
        ),
        (
            "non-UTF-8 pair before it, same line",
            vec![[b"junk=\xff\xfe; ".as_slice(), s.cookie.as_bytes()].concat()],
        ),
        (
            "non-UTF-8 line before it",
            vec![b"junk=\xff\xfe".to_vec(), s.cookie.clone().into_bytes()],
        ),
        (
            "junk pairs around it",
            vec![format!("a=1;;b;=c; {n}={v} ;d=\"\"; e=%ZZ").into_bytes()],
        ),
        (
            "our cookie first, then 20 junk lines",
            std::iter::once(s.cookie.clone().into_bytes())
                .chain((0..20).map(|i| format!("j{i}=x").into_bytes()))
                .collect(),
        ),
    ];
    for (what, lines) in accepted {
        let row = format!("GET /session/me (cookie: {what})");
        let mut req = Req::get("/session/me");
        let non_utf8_line = lines
            .iter()
            .any(|l| std::str::from_utf8(l).is_err() && l.ends_with(s.cookie.as_bytes()));
        for l in lines {
            req = req.cookie(l);
        }
        if non_utf8_line && a.h.drops_non_utf8_header_lines() {
            // The framework never shows us that line (documented limitation):
            // the session on it is lost, nobody is let in.
            a.case(&row, req, session_401()).await;
            continue;
        }
        let r = a.case(&row, req, ok).await;
        a.ensure(r.header("set-cookie").is_none(), &row, || {
            format!("a working session must not be cleared: {}", describe(&r))
        });
    }
    // H1: browsers over HTTP/2 and HTTP/3 send every cookie as its own
    // line ("cookie crumbling"); our cookie behind any number of older ones
    // is found (the work is bounded by bytes, not lines).
    for before in [1usize, 8, 9, 20, 64] {
        let mut req = Req::get("/session/me");
        for i in 0..before {
            req = req.cookie(format!("j{i}=x"));
        }
        a.case(
            &format!("GET /session/me (cookie: h1, {before} crumbled lines, then ours)"),
            req.cookie(&s.cookie),
            ok,
        )
        .await;
    }
    let mut req = Req::get("/session/me");
    for i in 0..16 {
        req = req.cookie(format!("big{i}={}", "x".repeat(1020)));
    }
    a.case(
        "GET /session/me (cookie: h1, 16 KiB of other cookies on 16 lines, then ours)",
        req.cookie(&s.cookie),
        ok,
    )
    .await;
    a.me("GET /session/me (the session survived the garbage)", &s, ok)
        .await;
}

/// Cookie tossing: a second cookie of our name, before or after the real
/// one. Junk, unknown and dead values never log the user out (and no
/// removal cookie is sent, which would make the browser drop the real
/// one); a second *live* session of our name, before or after, makes the
/// request anonymous (401: nobody is chosen, so tossing cannot pick a
/// session), and it cannot pass the victim's CSRF token either.
pub async fn cookie_tossing<H: Harness>(a: &mut Attack<'_, H>) {
    let victim = a.login("alice", &[]).await;
    let attacker = a.login("admin", &[]).await;
    let dead = a.login("alice", &[]).await;
    a.case(
        "POST /session/logout (to make a dead cookie)",
        Req::post("/session/logout").session(&dead),
        want(204),
    )
    .await;
    let n = victim.name.as_str();
    let unknown = format!("{n}={}", "Q".repeat(43));
    let unknown2 = format!("{n}={}", "R".repeat(43));
    let unknown3 = format!("{n}={}", "S".repeat(43));
    let malformed = format!("{n}=!!junk!!");
    let cases: Vec<(&str, Vec<String>, &'static str)> = vec![
        (
            "unknown ID before",
            vec![format!("{unknown}; {}", victim.cookie)],
            "alice",
        ),
        (
            "unknown ID after",
            vec![format!("{}; {unknown}", victim.cookie)],
            "alice",
        ),
        (
            "malformed before",
            vec![format!("{malformed}; {}", victim.cookie)],
            "alice",
        ),
        (
            "malformed after",
            vec![format!("{}; {malformed}", victim.cookie)],
            "alice",
        ),
        (
            "dead session before",
            vec![format!("{}; {}", dead.cookie, victim.cookie)],
            "alice",
        ),
        (
            "dead session after",
            vec![format!("{}; {}", victim.cookie, dead.cookie)],
            "alice",
        ),
        (
            "unknown ID on an earlier line",
            vec![unknown.clone(), victim.cookie.clone()],
            "alice",
        ),
        (
            "three unknown IDs before",
            vec![format!(
                "{unknown}; {unknown2}; {unknown3}; {}",
                victim.cookie
            )],
            "alice",
        ),
    ];
    for (what, lines, user) in cases {
        let row = format!("GET /session/me (tossed cookie: {what})");
        let mut req = Req::get("/session/me");
        for l in lines {
            req = req.cookie(l);
        }
        let r = a.case(&row, req, want(200).user(user)).await;
        a.ensure(r.header("set-cookie").is_none(), &row, || {
            format!(
                "a tossed cookie must not clear the real one: {}",
                describe(&r)
            )
        });
    }
    // Two live sessions of our name: nobody is chosen, in either order,
    // on one line or two.
    let live: Vec<(&str, Vec<String>)> = vec![
        (
            "attacker's live session after",
            vec![format!("{}; {}", victim.cookie, attacker.cookie)],
        ),
        (
            "attacker's live session before",
            vec![format!("{}; {}", attacker.cookie, victim.cookie)],
        ),
        (
            "attacker's live session on an earlier line",
            vec![attacker.cookie.clone(), victim.cookie.clone()],
        ),
    ];
    for (what, lines) in live {
        let row = format!("GET /session/me (tossed cookie: {what})");
        let mut req = Req::get("/session/me");
        for l in lines {
            req = req.cookie(l);
        }
        let r = a.case(&row, req, session_401()).await;
        a.ensure(r.header("set-cookie").is_none(), &row, || {
            format!(
                "a tossed cookie must not clear the real one: {}",
                describe(&r)
            )
        });
    }
    // Nor can either session be driven while both are presented.
    a.case(
        "POST /session/logout (attacker's session tossed before, victim's token)",
        Req::post("/session/logout")
            .cookie(format!("{}; {}", attacker.cookie, victim.cookie))
            .csrf(&victim.csrf)
            .host(),
        session_401(),
    )
    .await;
    a.me(
        "GET /session/me (victim after the tossing)",
        &victim,
        want(200).user("alice"),
    )
    .await;
    a.me(
        "GET /session/me (attacker after the tossing)",
        &attacker,
        want(200).user("admin"),
    )
    .await;
}

/// Session fixation: an attacker-chosen cookie at login is never adopted,
/// and every session a cookie sent at login named ends.
pub async fn session_fixation<H: Harness>(a: &mut Attack<'_, H>) {
    let row = "session fixation";
    let name = a.login("alice", &[]).await.name;

    // A planted, well-formed ID the server never issued.
    let planted_value = "P".repeat(43);
    let planted = format!("{name}={planted_value}");
    let req = Req::post("/session/login")
        .json(&json!({"username": "alice", "password": "alice-password"}))
        .cookie(&planted);
    let r = a
        .case("POST /session/login (planted ID)", req, want(200))
        .await;
    let fresh = r
        .header("set-cookie")
        .map(|c| contract::cookie_pair(&c).1)
        .unwrap_or_default();
    a.ensure(!fresh.is_empty() && fresh != planted_value, row, || {
        format!("the planted ID was adopted: {}", describe(&r))
    });
    a.case(
        "GET /session/me (planted ID after the login)",
        Req::get("/session/me").cookie(&planted),
        session_401(),
    )
    .await;

    // The attacker's own live session planted in the victim's browser.
    let attacker = a.login("admin", &[]).await;
    let victim = a
        .login("alice", &[("cookie", attacker.cookie.as_bytes())])
        .await;
    a.ensure(victim.value != attacker.value, row, || {
        "the login reused the attacker's session ID".into()
    });
    a.me(
        "GET /session/me (attacker's session planted at login)",
        &attacker,
        session_401(),
    )
    .await;
    a.me(
        "GET /session/me (victim's new session)",
        &victim,
        want(200).user("alice"),
    )
    .await;

    // Several cookies at login, quoted or not: every session named ends.
    let s1 = a.login("alice", &[]).await;
    let s2 = a.login("admin", &[]).await;
    let both = format!("{}; {}=\"{}\"", s1.cookie, s2.name, s2.value);
    let s3 = a.login("alice", &[("cookie", both.as_bytes())]).await;
    a.me(
        "GET /session/me (first cookie sent at login)",
        &s1,
        session_401(),
    )
    .await;
    a.me(
        "GET /session/me (quoted second cookie sent at login)",
        &s2,
        session_401(),
    )
    .await;
    a.me(
        "GET /session/me (the login's own session)",
        &s3,
        want(200).user("alice"),
    )
    .await;

    // A failed login with a cookie neither adopts nor hands out anything.
    let s4 = a.login("alice", &[]).await;
    a.case(
        "POST /session/login (wrong password, with a cookie)",
        Req::post("/session/login")
            .json(&json!({"username": "alice", "password": "wrong-password-1"}))
            .cookie(&s4.cookie),
        want(401).challenge(NO_CHALLENGE),
    )
    .await;
}

/// A stolen cookie or token used after its owner logged out: refused
/// everywhere.
pub async fn stolen_after_logout<H: Harness>(a: &mut Attack<'_, H>) {
    let s = a.login("alice", &[]).await;
    let stolen = s.clone();
    a.case(
        "POST /session/logout (victim)",
        Req::post("/session/logout").session(&s),
        want(204),
    )
    .await;
    for (what, req, want_) in [
        (
            "GET /session/me",
            Req::get("/session/me").cookie(&stolen.cookie),
            session_401(),
        ),
        (
            "GET /session/list",
            Req::get("/session/list").cookie(&stolen.cookie),
            session_401(),
        ),
        (
            "GET /session/admin",
            Req::get("/session/admin").cookie(&stolen.cookie),
            session_401(),
        ),
        (
            "POST /session/logout",
            Req::post("/session/logout").session(&stolen),
            session_401(),
        ),
        (
            "POST /session/logout-all",
            Req::post("/session/logout-all").session(&stolen),
            session_401(),
        ),
    ] {
        a.case(&format!("{what} (stolen cookie, after logout)"), req, want_)
            .await;
    }

    // logout-all from one device ends the stolen copy of another.
    let phone = a.login("admin", &[]).await;
    let laptop = a.login("admin", &[]).await;
    a.case(
        "POST /session/logout-all (victim)",
        Req::post("/session/logout-all").session(&laptop),
        want(204),
    )
    .await;
    a.me(
        "GET /session/me (stolen cookie, after logout-all)",
        &phone,
        session_401(),
    )
    .await;

    // Tokens.
    let t = a.tokens("admin").await;
    a.case(
        "POST /jwt/logout (victim)",
        Req::post("/jwt/logout").bearer(&t.access),
        want(204),
    )
    .await;
    for (what, req) in [
        ("GET /jwt/me", Req::get("/jwt/me").bearer(&t.access)),
        ("GET /jwt/admin", Req::get("/jwt/admin").bearer(&t.access)),
        (
            "POST /jwt/logout",
            Req::post("/jwt/logout").bearer(&t.access),
        ),
        (
            "POST /jwt/logout-all",
            Req::post("/jwt/logout-all").bearer(&t.access),
        ),
    ] {
        a.case(
            &format!("{what} (stolen token, after logout)"),
            req,
            token_401(),
        )
        .await;
    }
    a.case(
        "POST /jwt/refresh (stolen refresh token, after logout)",
        Req::post("/jwt/refresh").json(&json!({ "refresh_token": t.refresh })),
        token_401(),
    )
    .await;
}

// ---------------------------------------------------------------------------
// CSRF
// ---------------------------------------------------------------------------

/// Unsafe cookie requests without the right token, or from another site:
/// 403, and the session stays.
pub async fn csrf<H: Harness>(a: &mut Attack<'_, H>) {
    let s = a.login("alice", &[]).await;
    let same_user = a.login("alice", &[]).await;
    let other = a.login("admin", &[]).await;
    let ended = a.login("alice", &[]).await;
    a.case(
        "POST /session/logout (to end a session)",
        Req::post("/session/logout").session(&ended),
        want(204),
    )
    .await;
    let t = s.csrf.as_str();
    let swapped: String = t
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut tokens: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("no token", vec![]),
        ("empty token", vec![Vec::new()]),
        ("random token", vec!["Z".repeat(43).into_bytes()]),
        (
            "token of another user's session",
            vec![other.csrf.clone().into_bytes()],
        ),
        (
            "token of another session of the user",
            vec![same_user.csrf.clone().into_bytes()],
        ),
        (
            "token of an ended session",
            vec![ended.csrf.clone().into_bytes()],
        ),
        ("case-swapped token", vec![swapped.into_bytes()]),
        ("padded token", vec![format!("{t}=").into_bytes()]),
        (
            "token twice in one header",
            vec![format!("{t}, {t}").into_bytes()],
        ),
        (
            "two X-CSRF-Token headers, both right",
            vec![t.into(), t.into()],
        ),
        (
            "two X-CSRF-Token headers, wrong then right",
            vec![b"wrong".to_vec(), t.into()],
        ),
        (
            "two X-CSRF-Token headers, right then wrong",
            vec![t.into(), b"wrong".to_vec()],
        ),
        (
            "the session ID as the token",
            vec![s.value.clone().into_bytes()],
        ),
        ("non-UTF-8 token", vec![b"\xff\xfe\xfd".to_vec()]),
    ];
    if let Some(nc) = non_canonical(t) {
        tokens.push(("non-canonical token", vec![nc.into_bytes()]));
    }
    for path in ["/session/logout", "/session/logout-all"] {
        for (what, values) in &tokens {
            let mut req = Req::post(path).cookie(&s.cookie).host().secret(t);
            for v in values {
                req = req.csrf(v);
            }
            a.case(
                &format!("POST {path} ({what})"),
                req,
                want(403).challenge(NO_CHALLENGE),
            )
            .await;
        }
    }

    let cross: Vec<(&str, Vec<(&'static str, &str)>)> = vec![
        (
            "Sec-Fetch-Site: cross-site",
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "Sec-Fetch-Site: same-site",
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "Sec-Fetch-Site: cross-site, matching Origin",
            vec![("sec-fetch-site", "cross-site"), ("origin", SAME_ORIGIN)],
        ),
        (
            "two Sec-Fetch-Site headers",
            vec![
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        (
            "Origin of another site",
            vec![("origin", "http://evil.example")],
        ),
        ("Origin: null", vec![("origin", "null")]),
        (
            "Origin with our host as a prefix",
            vec![("origin", "http://portcullis.test.evil.example")],
        ),
        (
            "Origin with userinfo",
            vec![("origin", "http://portcullis.test@evil.example")],
        ),
        (
            "Origin with a path",
            vec![("origin", "http://evil.example/http://portcullis.test")],
        ),
        (
            "Origin with another port",
            vec![("origin", "http://portcullis.test:8443")],
        ),
        (
            "Origin without a scheme",
            vec![("origin", "portcullis.test")],
        ),
        (
            "Origin with another scheme",
            vec![("origin", "ftp://portcullis.test")],
        ),
        (
            "two Origin headers",
            vec![("origin", SAME_ORIGIN), ("origin", "http://evil.example")],
        ),
    ];
    for path in ["/session/logout", "/session/logout-all"] {
        for (what, extra) in &cross {
            let mut req = Req::post(path).session(&s);
            for (n, v) in extra {
                req = req.h(n, v);
            }
            a.case(
                &format!("POST {path} ({what}, valid token)"),
                req,
                want(403).challenge(NO_CHALLENGE),
            )
            .await;
        }
    }

    // Other credentials do not stand in for the token.
    a.case(
        "POST /session/logout (cookie + Basic credentials, no token)",
        Req::post("/session/logout")
            .cookie(&s.cookie)
            .host()
            .h("authorization", "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ="),
        want(403).challenge(NO_CHALLENGE),
    )
    .await;
    let bearer = a.tokens("alice").await;
    a.case(
        "POST /session/logout (cookie + valid bearer token, no CSRF token)",
        Req::post("/session/logout")
            .cookie(&s.cookie)
            .host()
            .bearer(&bearer.access),
        session_401(),
    )
    .await;
    a.case(
        "GET /session/logout (state change by GET)",
        Req::get("/session/logout").session(&s),
        want(405),
    )
    .await;
    a.me(
        "GET /session/me (the session survived every refused request)",
        &s,
        want(200).user("alice"),
    )
    .await;
    a.me(
        "GET /session/me (the other session too)",
        &other,
        want(200).user("admin"),
    )
    .await;
    // The right token from our own origin does log out.
    a.case(
        "POST /session/logout (valid token, Sec-Fetch-Site: same-origin)",
        Req::post("/session/logout")
            .session(&s)
            .h("sec-fetch-site", "same-origin")
            .h("origin", SAME_ORIGIN),
        want(204),
    )
    .await;
    a.me("GET /session/me (after the real logout)", &s, session_401())
        .await;
}

// ---------------------------------------------------------------------------
// JWT
// ---------------------------------------------------------------------------

async fn jwt_me<H: Harness>(a: &mut Attack<'_, H>, what: &str, token: &str, want_: Want) -> Resp {
    a.case(
        &format!("GET /jwt/me ({what})"),
        Req::get("/jwt/me").bearer(token).secret(token),
        want_,
    )
    .await
}

/// Header attacks: `alg: none`, algorithm confusion, foreign and embedded
/// keys, `kid` tricks, `typ`, `crit`, `cty`, `b64`, and tampering.
pub async fn jwt_forgery<H: Harness>(a: &mut Attack<'_, H>) {
    let real = a.tokens("alice").await;
    let shape = TokenShape::of(&real.access);
    let claims = shape.claims("alice", &["user"]);
    let payload = claims.to_string();
    let secret = JWT_SECRET.as_bytes();

    // Control: a token forged with the demo's secret is valid, so every
    // refusal below is for the one thing each case changes.
    let r = jwt_me(
        a,
        "control: forged with the demo's secret",
        &shape.sign(&shape.header(), &claims),
        want(200).user("alice"),
    )
    .await;
    if r.status != 200 {
        a.fail(
            "setup",
            "the demo does not accept tokens signed with attacks::JWT_SECRET: build it with \
                 Settings::from_vars(&attacks::setting)"
                .to_owned(),
        );
        return;
    }

    let kid = shape.kid.as_str();
    let real_sig = real
        .access
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    for alg in ["none", "None", "NONE", "nOnE", "noNe"] {
        let with_kid = format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#);
        let input = format!("{}.{}", b64(with_kid.as_bytes()), b64(payload.as_bytes()));
        jwt_me(
            a,
            &format!("alg {alg}, empty signature"),
            &format!("{input}."),
            token_401(),
        )
        .await;
        jwt_me(
            a,
            &format!("alg {alg}, real signature"),
            &format!("{input}.{real_sig}"),
            token_401(),
        )
        .await;
        let hmac = b64(&hmac_sig("HS256", input.as_bytes(), secret));
        jwt_me(
            a,
            &format!("alg {alg}, signed with the secret"),
            &format!("{input}.{hmac}"),
            token_401(),
        )
        .await;
        let no_kid = format!(r#"{{"alg":"{alg}"}}"#);
        let input = format!("{}.{}", b64(no_kid.as_bytes()), b64(payload.as_bytes()));
        jwt_me(
            a,
            &format!("alg {alg}, no kid, signature \"x\""),
            &format!("{input}.eA"),
            token_401(),
        )
        .await;
    }

    let hs = |h: &str, key: &[u8]| forge_raw(h, &payload, "HS256", key);
    let confusion: Vec<(&str, String)> = vec![
        (
            "HS256 keyed with an RSA public key (PEM)",
            hs(
                &format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"JWT"}}"#),
                RSA_PUBLIC_PEM.as_bytes(),
            ),
        ),
        (
            "HS256 keyed with an RSA public key, no kid",
            hs(r#"{"alg":"HS256","typ":"JWT"}"#, RSA_PUBLIC_PEM.as_bytes()),
        ),
        (
            "HS256 keyed with the PEM's base64 body",
            hs(
                &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
                &STANDARD
                    .decode(
                        RSA_PUBLIC_PEM
                            .lines()
                            .filter(|l| !l.starts_with("-----"))
                            .collect::<String>(),
                    )
                    .unwrap_or_default(),
            ),
        ),
        (
            "HS256 with an empty key",
            hs(&format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), b""),
        ),
        (
            "HS256 keyed with the kid",
            hs(
                &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
                kid.as_bytes(),
            ),
        ),
        (
            "HS384 with the demo's secret",
            forge_raw(
                &format!(r#"{{"alg":"HS384","kid":"{kid}","typ":"JWT"}}"#),
                &payload,
                "HS384",
                secret,
            ),
        ),
        (
            "HS512 with the demo's secret",
            forge_raw(
                &format!(r#"{{"alg":"HS512","kid":"{kid}","typ":"JWT"}}"#),
                &payload,
                "HS512",
                secret,
            ),
        ),
        (
            "RS256 header, HMAC signature",
            hs(
                &format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT"}}"#),
                secret,
            ),
        ),
        (
            "ES256 header, HMAC signature",
            hs(
                &format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"JWT"}}"#),
                secret,
            ),
        ),
        (
            "PS256 header, HMAC signature",
            hs(
                &format!(r#"{{"alg":"PS256","kid":"{kid}","typ":"JWT"}}"#),
                secret,
            ),
        ),
        (
            "EdDSA header, HMAC signature",
            hs(
                &format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"JWT"}}"#),
                secret,
            ),
        ),
        (
            "lower-case hs256",
            hs(
                &format!(r#"{{"alg":"hs256","kid":"{kid}","typ":"JWT"}}"#),
                secret,
            ),
        ),
        (
            "embedded jwk (attacker's oct key)",
            hs(
                &format!(
                    r#"{{"alg":"HS256","typ":"JWT","jwk":{{"kty":"oct","k":"{}"}}}}"#,
                    b64(b"attacker-key-attacker-key-attacker-key")
                ),
                b"attacker-key-attacker-key-attacker-key",
            ),
        ),
        (
            "jku to the attacker's key set",
            hs(
                r#"{"alg":"HS256","typ":"JWT","kid":"evil","jku":"http://evil.example/jwks.json"}"#,
                b"attacker-key",
            ),
        ),
        (
            "x5u to the attacker's certificate",
            hs(
                r#"{"alg":"HS256","typ":"JWT","x5u":"http://evil.example/cert.pem"}"#,
                b"attacker-key",
            ),
        ),
        (
            "unknown kid",
            hs(r#"{"alg":"HS256","kid":"other","typ":"JWT"}"#, secret),
        ),
        (
            "kid path traversal",
            hs(
                r#"{"alg":"HS256","kid":"../../../../../../dev/null","typ":"JWT"}"#,
                b"",
            ),
        ),
        (
            "kid injection",
            hs(
                r#"{"alg":"HS256","kid":"x' UNION SELECT 'k' --","typ":"JWT"}"#,
                b"k",
            ),
        ),
        (
            "kid as a number",
            hs(r#"{"alg":"HS256","kid":1,"typ":"JWT"}"#, secret),
        ),
        (
            "kid null",
            hs(r#"{"alg":"HS256","kid":null,"typ":"JWT"}"#, secret),
        ),
        (
            "300-byte kid",
            hs(
                &format!(
                    r#"{{"alg":"HS256","kid":"{}","typ":"JWT"}}"#,
                    "k".repeat(300)
                ),
                secret,
            ),
        ),
        (
            "alg twice",
            hs(
                &format!(r#"{{"alg":"none","alg":"HS256","kid":"{kid}"}}"#),
                secret,
            ),
        ),
        (
            "kid twice",
            hs(
                &format!(r#"{{"alg":"HS256","kid":"other","kid":"{kid}"}}"#),
                secret,
            ),
        ),
        (
            "no alg",
            hs(&format!(r#"{{"kid":"{kid}","typ":"JWT"}}"#), secret),
        ),
        (
            "alg null",
            hs(&format!(r#"{{"alg":null,"kid":"{kid}"}}"#), secret),
        ),
        ("header is an array", hs(r#"["HS256"]"#, secret)),
        ("header is not JSON", hs("HS256", secret)),
    ];
    for (what, token) in &confusion {
        jwt_me(a, what, token, token_401()).await;
    }

    let with = |extra: &str| format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"JWT"{extra}}}"#);
    let header_policy: Vec<(&str, String)> = vec![
        (
            "typ JWS",
            format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"JWS"}}"#),
        ),
        (
            "typ refresh",
            format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"refresh+jwt"}}"#),
        ),
        (
            "typ empty",
            format!(r#"{{"alg":"HS256","kid":"{kid}","typ":""}}"#),
        ),
        (
            "typ as a number",
            format!(r#"{{"alg":"HS256","kid":"{kid}","typ":1}}"#),
        ),
        (
            "crit [exp] with exp in the header",
            with(r#","crit":["exp"],"exp":1"#),
        ),
        ("crit [b64]", with(r#","crit":["b64"],"b64":true"#)),
        ("crit []", with(r#","crit":[]"#)),
        (
            "crit of an unknown extension",
            with(r#","crit":["x-ext"],"x-ext":1"#),
        ),
        ("crit naming an absent member", with(r#","crit":["x-ext"]"#)),
        ("crit as a string", with(r#","crit":"exp""#)),
        ("cty JWT (nested token)", with(r#","cty":"JWT""#)),
        ("b64 false", with(r#","b64":false"#)),
    ];
    for (what, header) in &header_policy {
        let token = forge_raw(header, &payload, "HS256", secret);
        jwt_me(a, what, &token, token_401()).await;
    }

    // Tampering with a real token.
    let parts: Vec<&str> = real.access.split('.').collect();
    let (h0, p0, s0) = (parts[0], parts[1], parts[2]);
    let mut p_json: Value = serde_json::from_slice(&unb64(p0)).unwrap_or_default();
    p_json["sub"] = json!("admin");
    p_json["roles"] = json!(["user", "admin"]);
    let escalated = b64(p_json.to_string().as_bytes());
    let mut h_json: Value = serde_json::from_slice(&unb64(h0)).unwrap_or_default();
    h_json["typ"] = json!("at+jwt");
    let other = a.tokens("admin").await;
    let other_sig = other
        .access
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned();
    let tampered: Vec<(&str, String)> = vec![
        (
            "header character changed",
            format!("{}.{p0}.{s0}", flip(h0, h0.len() / 2)),
        ),
        (
            "header re-encoded with another typ",
            format!("{}.{p0}.{s0}", b64(h_json.to_string().as_bytes())),
        ),
        (
            "payload character changed",
            format!("{h0}.{}.{s0}", flip(p0, p0.len() / 2)),
        ),
        (
            "payload escalated to admin",
            format!("{h0}.{escalated}.{s0}"),
        ),
        (
            "signature character changed",
            format!("{h0}.{p0}.{}", flip(s0, 3)),
        ),
        (
            "signature truncated",
            format!("{h0}.{p0}.{}", &s0[..s0.len() - 2]),
        ),
        ("signature extended", format!("{h0}.{p0}.{s0}AA")),
        (
            "signature of another token",
            format!("{h0}.{p0}.{other_sig}"),
        ),
        (
            "signature all zero",
            format!("{h0}.{p0}.{}", b64(&[0u8; 32])),
        ),
        ("no signature", format!("{h0}.{p0}.")),
        ("four segments", format!("{h0}.{p0}.{s0}.{s0}")),
        ("payload empty", format!("{h0}..{s0}")),
        ("segments swapped", format!("{p0}.{h0}.{s0}")),
    ];
    for (what, token) in &tampered {
        jwt_me(a, what, token, token_401()).await;
    }
    a.case(
        "GET /jwt/admin (payload escalated to admin)",
        Req::get("/jwt/admin").bearer(&format!("{h0}.{escalated}.{s0}")),
        token_401(),
    )
    .await;
    jwt_me(
        a,
        "the real token still works",
        &real.access,
        want(200).user("alice"),
    )
    .await;
}

/// Claim attacks: times, types, duplicates, revocation, `iss`/`aud`.
pub async fn jwt_claims<H: Harness>(a: &mut Attack<'_, H>) {
    let real = a.tokens("alice").await;
    let shape = TokenShape::of(&real.access);
    let header = shape.header();
    let t = now();
    let base = || shape.claims("alice", &["user"]);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut c = base();
        f(&mut c);
        shape.sign(&header, &c)
    };
    let mut cases: Vec<(&str, String)> = vec![
        (
            "expired an hour ago",
            edit(&|c| {
                c["iat"] = json!(t - 4000);
                c["exp"] = json!(t - 3600);
            }),
        ),
        (
            "expired past the leeway",
            edit(&|c| {
                c["iat"] = json!(t - 700);
                c["exp"] = json!(t - 90);
            }),
        ),
        (
            "not valid for an hour (nbf)",
            edit(&|c| c["nbf"] = json!(t + 3600)),
        ),
        (
            "issued an hour in the future",
            edit(&|c| {
                c["iat"] = json!(t + 3600);
                c["exp"] = json!(t + 7200);
            }),
        ),
        (
            "no exp",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("exp");
                }
            }),
        ),
        (
            "exp as a string",
            edit(&|c| c["exp"] = json!((t + 600).to_string())),
        ),
        (
            "exp as a float",
            edit(&|c| c["exp"] = json!((t + 600) as f64 + 0.5)),
        ),
        ("exp null", edit(&|c| c["exp"] = Value::Null)),
        ("exp negative", edit(&|c| c["exp"] = json!(-1))),
        (
            "exp beyond u64",
            shape.sign(&header, &{
                // Spliced in as text: 1e30 does not fit any integer type.
                let mut c = base();
                c["exp"] = json!(0);
                serde_json::from_str(
                    &c.to_string()
                        .replace("\"exp\":0", "\"exp\":1000000000000000000000000000000"),
                )
                .unwrap_or(c)
            }),
        ),
        (
            "iat as a string",
            edit(&|c| c["iat"] = json!(t.to_string())),
        ),
        (
            "nbf as a string",
            edit(&|c| c["nbf"] = json!(t.to_string())),
        ),
        (
            "no sub",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("sub");
                }
            }),
        ),
        ("empty sub", edit(&|c| c["sub"] = json!(""))),
        ("sub as a number", edit(&|c| c["sub"] = json!(1))),
        (
            "sub as an array",
            edit(&|c| c["sub"] = json!(["alice", "admin"])),
        ),
        (
            "no jti",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("jti");
                }
            }),
        ),
        (
            "no iat",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("iat");
                }
            }),
        ),
        ("roles as a string", edit(&|c| c["roles"] = json!("admin"))),
        (
            "roles with a number",
            edit(&|c| c["roles"] = json!(["user", 1])),
        ),
        ("iss as a number", edit(&|c| c["iss"] = json!(5))),
        ("aud as a number array", edit(&|c| c["aud"] = json!([1]))),
        (
            "aud as an object",
            edit(&|c| c["aud"] = json!({"aud": "x"})),
        ),
        ("payload is an array", shape.sign(&header, &json!([1, 2]))),
    ];
    // Duplicate members, spliced as text (a JSON map cannot hold them).
    let dup = |member: &str| {
        let c = base().to_string();
        let spliced = format!("{{{member},{}", &c[1..]);
        forge_raw(
            &header.to_string(),
            &spliced,
            "HS256",
            JWT_SECRET.as_bytes(),
        )
    };
    cases.push(("sub twice (admin first)", dup(r#""sub":"admin""#)));
    cases.push((
        "exp twice (far future first)",
        dup(&format!(r#""exp":{}"#, t + 10_000_000)),
    ));
    cases.push(("roles twice (admin first)", dup(r#""roles":["admin"]"#)));
    // iss/aud are required and matched when the demo configures them.
    let iss_aud_configured = shape.iss.is_some() || shape.aud.is_some();
    if let Some(iss) = &shape.iss {
        let iss = iss.clone();
        cases.push((
            "wrong iss",
            edit(&|c| c["iss"] = json!("https://evil.example")),
        ));
        cases.push((
            "iss of another case",
            edit(&|c| c["iss"] = json!(iss.to_uppercase())),
        ));
        cases.push((
            "no iss",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("iss");
                }
            }),
        ));
    }
    if shape.aud.is_some() {
        cases.push(("wrong aud", edit(&|c| c["aud"] = json!("another-api"))));
        cases.push((
            "aud list without ours",
            edit(&|c| c["aud"] = json!(["a", "b"])),
        ));
        cases.push((
            "no aud",
            edit(&|c| {
                if let Some(o) = c.as_object_mut() {
                    o.remove("aud");
                }
            }),
        ));
    }
    if !iss_aud_configured {
        println!(
            "attacks: NOTE the demo's tokens carry no iss/aud (none configured), so the \
             wrong-iss/aud cases cannot apply; only ill-typed iss/aud are tested"
        );
    }
    for (what, token) in &cases {
        jwt_me(a, what, token, token_401()).await;
    }
    // Two controls pin the boundaries: a token within the leeway and one
    // just under the 8 KiB cap are accepted.
    let near = edit(&|c| {
        c["iat"] = json!(t - 600);
        c["exp"] = json!(t - 5);
    });
    jwt_me(
        a,
        "control: expired 5 s ago, within the leeway",
        &near,
        want(200).user("alice"),
    )
    .await;

    // Revocation.
    let victim = a.tokens("alice").await;
    a.case(
        "POST /jwt/logout (revoke a token)",
        Req::post("/jwt/logout").bearer(&victim.access),
        want(204),
    )
    .await;
    let revoked_payload: Value =
        serde_json::from_slice(&unb64(victim.access.split('.').nth(1).unwrap_or_default()))
            .unwrap_or_default();
    let replay = edit(&|c| c["jti"] = revoked_payload["jti"].clone());
    jwt_me(a, "revoked token", &victim.access, token_401()).await;
    jwt_me(a, "new token re-using a revoked jti", &replay, token_401()).await;

    let admin = a.tokens("admin").await;
    let before = {
        let mut c = shape.claims("admin", &["user", "admin"]);
        c["iat"] = json!(t - 5);
        shape.sign(&header, &c)
    };
    a.case(
        "POST /jwt/logout-all (revoke a user)",
        Req::post("/jwt/logout-all").bearer(&admin.access),
        want(204),
    )
    .await;
    jwt_me(
        a,
        "token issued before logout-all",
        &admin.access,
        token_401(),
    )
    .await;
    jwt_me(
        a,
        "forged token dated before logout-all",
        &before,
        token_401(),
    )
    .await;
}

/// Encoding attacks: oversized tokens, non-canonical base64, padding,
/// the standard alphabet.
pub async fn jwt_encoding<H: Harness>(a: &mut Attack<'_, H>) {
    let real = a.tokens("alice").await;
    let shape = TokenShape::of(&real.access);
    let header = shape.header();
    let padded_claims = |target: usize| {
        // Grow a `pad` claim until the token is `target` bytes long.
        let mut c = shape.claims("alice", &["user"]);
        c["pad"] = json!("");
        let bare = shape.sign(&header, &c).len();
        let pad_b64 = target.saturating_sub(bare);
        c["pad"] = json!("p".repeat(pad_b64 * 3 / 4));
        let mut token = shape.sign(&header, &c);
        while token.len() < target {
            let p = c["pad"].as_str().unwrap_or_default().to_owned() + "p";
            c["pad"] = json!(p);
            token = shape.sign(&header, &c);
        }
        token
    };
    let big = padded_claims(8 * 1024 + 1);
    jwt_me(
        a,
        &format!("{} bytes (over the 8 KiB cap)", big.len()),
        &big,
        token_401(),
    )
    .await;
    let huge = padded_claims(64 * 1024);
    a.case(
        "GET /jwt/me (64 KiB validly signed token)",
        Req::get("/jwt/me").bearer(&huge).secret(huge.clone()),
        token_401().or_refused(),
    )
    .await;
    let under = padded_claims(8000);
    jwt_me(
        a,
        &format!("control: {} bytes (under the cap)", under.len()),
        &under,
        want(200).user("alice"),
    )
    .await;

    // Find a valid token whose signature and payload can be re-spelled.
    let mut token = shape.valid("alice", &["user"]);
    for _ in 0..200 {
        let sig = token.rsplit('.').next().unwrap_or_default();
        let payload = token.split('.').nth(1).unwrap_or_default();
        if (sig.contains('-') || sig.contains('_')) && !payload.len().is_multiple_of(4) {
            break;
        }
        token = shape.valid("alice", &["user"]);
    }
    jwt_me(
        a,
        "control: the token re-spelled below",
        &token,
        want(200).user("alice"),
    )
    .await;
    let parts: Vec<&str> = token.split('.').collect();
    let (h0, p0, s0) = (parts[0], parts[1], parts[2]);
    let std_sig = s0.replace('-', "+").replace('_', "/");
    let mut spellings: Vec<(&str, String, Want)> = vec![
        (
            "standard-alphabet signature",
            format!("{h0}.{p0}.{std_sig}"),
            token_401(),
        ),
        (
            "padded signature",
            format!("{h0}.{p0}.{}", URL_SAFE.encode(unb64(s0))),
            token_401(),
        ),
        (
            "padded payload",
            format!("{h0}.{}.{s0}", URL_SAFE.encode(unb64(p0))),
            // '=' inside the token is not RFC 6750 b64token syntax.
            if p0.len().is_multiple_of(4) {
                token_401()
            } else {
                bearer_400()
            },
        ),
        (
            "signature with a trailing dot",
            format!("{token}."),
            token_401(),
        ),
        ("leading dot", format!(".{token}"), token_401()),
    ];
    if let Some(s) = non_canonical(s0) {
        spellings.push((
            "non-canonical signature",
            format!("{h0}.{p0}.{s}"),
            token_401(),
        ));
    }
    if let Some(p) = non_canonical(p0) {
        spellings.push((
            "non-canonical payload",
            format!("{h0}.{p}.{s0}"),
            token_401(),
        ));
    }
    if let Some(h) = non_canonical(h0) {
        spellings.push((
            "non-canonical header",
            format!("{h}.{p0}.{s0}"),
            token_401(),
        ));
    }
    for (what, t, w) in spellings {
        jwt_me(a, what, &t, w).await;
    }
}

/// `Authorization` header shapes: duplicates, two tokens, other schemes,
/// the case of the scheme.
pub async fn authorization_header<H: Harness>(a: &mut Attack<'_, H>) {
    let t = a.tokens("alice").await;
    let other = a.tokens("admin").await;
    let tok = t.access.as_str();
    let session = a.login("alice", &[]).await;
    let ok = want(200).user("alice");
    let cases: Vec<(&str, Vec<String>, Want)> = vec![
        ("lower-case bearer", vec![format!("bearer {tok}")], ok),
        ("upper-case BEARER", vec![format!("BEARER {tok}")], ok),
        ("mixed-case bEaReR", vec![format!("bEaReR {tok}")], ok),
        (
            "two spaces after the scheme",
            vec![format!("Bearer  {tok}")],
            ok,
        ),
        (
            "two Authorization headers (same token)",
            vec![format!("Bearer {tok}"), format!("Bearer {tok}")],
            bearer_400(),
        ),
        (
            "two Authorization headers (two users)",
            vec![format!("Bearer {}", other.access), format!("Bearer {tok}")],
            bearer_400(),
        ),
        (
            "Basic then Bearer",
            vec![
                "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=".into(),
                format!("Bearer {tok}"),
            ],
            bearer_400(),
        ),
        (
            "Bearer with two tokens",
            vec![format!("Bearer {tok} {}", other.access)],
            bearer_400(),
        ),
        (
            "Bearer with two tokens, comma",
            vec![format!("Bearer {tok},{}", other.access)],
            bearer_400(),
        ),
        (
            "Bearer with the token twice",
            vec![format!("Bearer {tok} {tok}")],
            bearer_400(),
        ),
        (
            "Bearer without a token",
            vec!["Bearer".into()],
            bearer_400(),
        ),
        (
            "token with a quote",
            vec![format!("Bearer \"{tok}\"")],
            bearer_400(),
        ),
        (
            "scheme glued to the token",
            vec![format!("Bearer{tok}")],
            want(401).challenge(BEARER),
        ),
        (
            "another scheme (Token)",
            vec![format!("Token {tok}")],
            want(401).challenge(BEARER),
        ),
        (
            "Basic credentials",
            vec!["Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=".into()],
            want(401).challenge(BEARER),
        ),
        (
            "the refresh token as bearer",
            vec![format!("Bearer {}", t.refresh)],
            token_401(),
        ),
        (
            "the session ID as bearer",
            vec![format!("Bearer {}", session.value)],
            token_401(),
        ),
    ];
    for (what, lines, w) in cases {
        let mut req = Req::get("/jwt/me");
        for l in lines {
            req = req.h("authorization", l);
        }
        a.case(&format!("GET /jwt/me (Authorization: {what})"), req, w)
            .await;
    }
    // A malformed Authorization header fails the whole request, even with a
    // good cookie (a cookie never rescues a bad credential).
    a.case(
        "GET /session/me (valid cookie + two Authorization headers)",
        Req::get("/session/me")
            .cookie(&session.cookie)
            .h("authorization", format!("Bearer {tok}"))
            .h("authorization", format!("Bearer {tok}")),
        bearer_400(),
    )
    .await;
    a.case(
        "GET /jwt/me (valid token + a cookie)",
        Req::get("/jwt/me").bearer(tok).cookie(&session.cookie),
        ok,
    )
    .await;
    a.case(
        "GET /jwt/me (forged-looking cookie, no token)",
        Req::get("/jwt/me").cookie(format!("{}={tok}", session.name)),
        want(401).challenge(BEARER),
    )
    .await;
}

/// Refresh tokens: reuse, tampering, duplicates in the body, and
/// concurrent use (exactly one winner).
pub async fn refresh<H: Harness>(a: &mut Attack<'_, H>) {
    let refresh_req =
        |token: &str| Req::post("/jwt/refresh").json(&json!({ "refresh_token": token }));
    let pair_of = |r: &Resp| -> Option<Tokens> {
        let v: Value = serde_json::from_slice(&r.body).ok()?;
        Some(Tokens {
            access: v["access_token"].as_str()?.to_owned(),
            refresh: v["refresh_token"].as_str()?.to_owned(),
        })
    };

    // Reuse revokes the family, including its latest access token.
    let t = a.tokens("alice").await;
    let r = a
        .case(
            "POST /jwt/refresh (first use)",
            refresh_req(&t.refresh),
            want(200),
        )
        .await;
    if let Some(next) = pair_of(&r) {
        a.case(
            "POST /jwt/refresh (spent token reused)",
            refresh_req(&t.refresh),
            token_401(),
        )
        .await;
        a.case(
            "POST /jwt/refresh (the rotated token, after the reuse)",
            refresh_req(&next.refresh),
            token_401(),
        )
        .await;
        jwt_me(
            a,
            "latest access token of a family revoked by reuse",
            &next.access,
            token_401(),
        )
        .await;
    } else {
        a.fail(
            "POST /jwt/refresh (first use)",
            format!("no token pair: {}", describe(&r)),
        );
    }

    // Tampering. The family half decides the family; the secret half must
    // match, and a mismatch counts as reuse (the family is revoked).
    let t = a.tokens("alice").await;
    let rt = t.refresh.as_str();
    let mid = rt.len() / 4;
    a.case(
        "POST /jwt/refresh (family half changed)",
        refresh_req(&flip(rt, mid)),
        token_401(),
    )
    .await;
    let mut spellings = vec![
        ("padded", format!("{rt}==")),
        ("one character short", rt[..rt.len() - 1].to_owned()),
        ("one character more", format!("{rt}A")),
        ("standard alphabet", format!("+{}", &rt[1..])),
        ("surrounded by spaces", format!(" {rt} ")),
        ("as a Bearer header value", format!("Bearer {rt}")),
    ];
    if let Some(nc) = non_canonical(rt) {
        spellings.push(("non-canonical", nc));
    }
    for (what, v) in &spellings {
        a.case(
            &format!("POST /jwt/refresh ({what})"),
            refresh_req(v).secret(rt),
            token_401(),
        )
        .await;
    }
    a.case(
        "POST /jwt/refresh (refresh_token twice in the body)",
        Req::post("/jwt/refresh").raw_json(format!(
            r#"{{"refresh_token":"{rt}","refresh_token":"{}"}}"#,
            "A".repeat(86)
        )),
        want(400),
    )
    .await;
    a.case(
        "POST /jwt/refresh (refresh_token as an array)",
        Req::post("/jwt/refresh").json(&json!({ "refresh_token": [rt, rt] })),
        want(400),
    )
    .await;
    a.case(
        "POST /jwt/refresh (the access token)",
        refresh_req(&t.access),
        token_401(),
    )
    .await;
    let r = a
        .case(
            "POST /jwt/refresh (the untampered token still works)",
            refresh_req(rt),
            want(200),
        )
        .await;
    let t = pair_of(&r).unwrap_or(t);
    a.case(
        "POST /jwt/refresh (secret half changed)",
        refresh_req(&flip(&t.refresh, t.refresh.len() - 10)),
        token_401(),
    )
    .await;
    a.case(
        "POST /jwt/refresh (the real token after a wrong secret: family revoked)",
        refresh_req(&t.refresh),
        token_401(),
    )
    .await;

    // Concurrent refreshes with one token: exactly one winner.
    for n in [2usize, 8] {
        let t = a.tokens("alice").await;
        let req = refresh_req(&t.refresh);
        let results = join_all((0..n).map(|_| a.send(&req))).await;
        let winners = results.iter().filter(|r| r.status == 200).count();
        for (i, r) in results.iter().enumerate() {
            let row = format!("POST /jwt/refresh ({n} concurrent uses, #{i})");
            let w = if r.status == 200 {
                want(200)
            } else {
                token_401()
            };
            a.judge(&row, &req, r, w);
        }
        a.ensure(
            winners == 1,
            &format!("POST /jwt/refresh ({n} concurrent uses)"),
            || {
                format!(
                    "expected exactly one winner, got {winners}: {:?}",
                    results.iter().map(|r| r.status).collect::<Vec<_>>()
                )
            },
        );
    }
}

// ---------------------------------------------------------------------------
// Huge input
// ---------------------------------------------------------------------------

/// Huge headers and bodies: a 4xx (or a transport refusal over a real
/// socket), never a 5xx, and the app keeps serving.
pub async fn huge<H: Harness>(a: &mut Attack<'_, H>) {
    let s = a.login("alice", &[]).await;
    let t = a.tokens("alice").await;
    let creds = br#"{"username":"alice","password":"alice-password"}"#;
    let mib = {
        let mut b = br#"{"username":"alice","password":""#.to_vec();
        b.extend(std::iter::repeat_n(b'x', 1024 * 1024));
        b.extend_from_slice(br#""}"#);
        b
    };
    let just_over = {
        let mut b = creds.to_vec();
        b.extend(std::iter::repeat_n(b' ', 16 * 1024 + 1 - creds.len()));
        b
    };
    let at_limit = {
        let mut b = creds.to_vec();
        b.extend(std::iter::repeat_n(b' ', 16 * 1024 - creds.len()));
        b
    };
    for path in ["/session/login", "/jwt/login", "/jwt/refresh"] {
        a.case(
            &format!("POST {path} (1 MiB JSON body)"),
            Req::post(path).raw_json(mib.clone()),
            want(413),
        )
        .await;
        a.case(
            &format!("POST {path} (16 KiB + 1 JSON body)"),
            Req::post(path).raw_json(just_over.clone()),
            want(413),
        )
        .await;
    }
    a.case(
        "POST /session/login (1 MiB text/plain body)",
        Req::post("/session/login")
            .h("content-type", "text/plain")
            .body(mib.clone()),
        want(415),
    )
    .await;
    a.case(
        "POST /jwt/login (control: a body of exactly 16 KiB)",
        Req::post("/jwt/login").raw_json(at_limit),
        want(200),
    )
    .await;

    let big = |n: usize| "x".repeat(n);
    let junk_pairs: String = (0..4000).map(|i| format!("junk{i}=x; ")).collect();
    let ok = want(200).user("alice").or_refused();
    let mut many_headers = Req::get("/session/me").cookie(&s.cookie);
    for i in 0..200 {
        many_headers = many_headers.h(
            ["x-a", "x-b", "x-c", "x-d"][i % 4],
            format!("{i}-{}", big(50)),
        );
    }
    let cases: Vec<(&str, Req, Want)> = vec![
        (
            "GET /session/me (64 KiB junk header)",
            Req::get("/session/me")
                .cookie(&s.cookie)
                .h("x-junk", big(64 * 1024)),
            ok,
        ),
        ("GET /session/me (200 extra headers)", many_headers, ok),
        (
            "GET /session/me (64 KiB Cookie header, ours last)",
            Req::get("/session/me").cookie(format!("{junk_pairs}{}", s.cookie)),
            ok,
        ),
        (
            "GET /session/me (64 KiB value of our cookie)",
            Req::get("/session/me").cookie(format!("{}={}", s.name, "A".repeat(64 * 1024))),
            session_401().or_refused(),
        ),
        (
            "GET /jwt/me (64 KiB Authorization)",
            Req::get("/jwt/me").h("authorization", format!("Bearer {}", "A".repeat(64 * 1024))),
            token_401().or_refused(),
        ),
        (
            "GET /jwt/me (valid token + 64 KiB junk header)",
            Req::get("/jwt/me")
                .bearer(&t.access)
                .h("x-junk", big(64 * 1024)),
            ok,
        ),
        (
            "POST /session/logout (64 KiB X-CSRF-Token)",
            Req::post("/session/logout")
                .cookie(&s.cookie)
                .host()
                .csrf(big(64 * 1024)),
            want(403).challenge(NO_CHALLENGE).or_refused(),
        ),
        (
            "POST /session/logout (valid token, 64 KiB Origin)",
            Req::post("/session/logout")
                .session(&s)
                .h("origin", format!("http://{}", big(64 * 1024))),
            want(403).challenge(NO_CHALLENGE).or_refused(),
        ),
        (
            "GET /session/me (8 KiB query string)",
            Req::get(&format!("/session/me?q={}", big(8 * 1024))).cookie(&s.cookie),
            ok,
        ),
    ];
    for (row, req, w) in cases {
        a.case(row, req, w).await;
    }
    // A huge User-Agent at login is stored truncated, not whole.
    let ua = format!("attack-ua-{}", "u".repeat(64 * 1024));
    let r = a
        .case(
            "POST /session/login (64 KiB User-Agent)",
            Req::post("/session/login")
                .json(&json!({"username": "alice", "password": "alice-password"}))
                .h("user-agent", &ua),
            want(200).or_refused(),
        )
        .await;
    if r.status == 200 {
        let (n, v) = r
            .header("set-cookie")
            .map(|c| contract::cookie_pair(&c))
            .unwrap_or_default();
        let list = a
            .case(
                "GET /session/list (session with a 64 KiB User-Agent)",
                Req::get("/session/list").cookie(format!("{n}={v}")),
                want(200),
            )
            .await;
        a.ensure(
            list.body.len() < 64 * 1024,
            "GET /session/list (64 KiB User-Agent)",
            || {
                format!(
                    "the User-Agent was stored whole: {} bytes listed",
                    list.body.len()
                )
            },
        );
    }
    a.me(
        "GET /session/me (still serving after the huge input)",
        &s,
        want(200).user("alice"),
    )
    .await;
    a.case(
        "GET /health (still serving)",
        Req::get("/health"),
        want(200),
    )
    .await;
}

// ---------------------------------------------------------------------------
// Races
// ---------------------------------------------------------------------------

/// Many concurrent requests on one session (and one token) with a logout
/// in the middle: requests that start after the logout has completed are
/// all refused (no lost logout); the ones in flight answer 200 or 401,
/// never anything else.
pub async fn logout_races<H: Harness>(a: &mut Attack<'_, H>) {
    const CHAINS: usize = 6;
    const PER_CHAIN: usize = 12;
    const LOGOUT_AFTER: usize = 10;

    for round in 0..2 {
        let s = a.login("alice", &[]).await;
        let me = Req::get("/session/me").cookie(&s.cookie);
        let logout = Req::post("/session/logout").session(&s);
        let (chains, logout_resp) = race(a, &me, &logout, CHAINS, PER_CHAIN, LOGOUT_AFTER).await;
        judge_race(
            a,
            &format!("session round {round}"),
            &me,
            chains,
            &logout,
            &logout_resp,
            session_401(),
        );
        for i in 0..4 {
            a.me(
                &format!("GET /session/me (session round {round}, after the race #{i})"),
                &s,
                session_401(),
            )
            .await;
        }
    }
    for round in 0..2 {
        let t = a.tokens("alice").await;
        let me = Req::get("/jwt/me").bearer(&t.access);
        let logout = Req::post("/jwt/logout").bearer(&t.access);
        let (chains, logout_resp) = race(a, &me, &logout, CHAINS, PER_CHAIN, LOGOUT_AFTER).await;
        judge_race(
            a,
            &format!("token round {round}"),
            &me,
            chains,
            &logout,
            &logout_resp,
            token_401(),
        );
        for i in 0..4 {
            jwt_me(
                a,
                &format!("token round {round}, after the race #{i}"),
                &t.access,
                token_401(),
            )
            .await;
        }
    }
}

/// `chains` sequential loops of `me`, concurrently with one `logout` that
/// starts once `logout_after` requests have completed. Each answer is
/// tagged with whether the logout had completed before it was sent.
async fn race<H: Harness>(
    a: &Attack<'_, H>,
    me: &Req,
    logout: &Req,
    chains: usize,
    per_chain: usize,
    logout_after: usize,
) -> (Vec<(bool, Resp)>, Resp) {
    let completed = &Cell::new(0usize);
    let logged_out = &Cell::new(false);
    let chain = || async move {
        let mut out = Vec::with_capacity(per_chain);
        for _ in 0..per_chain {
            // In-process requests may complete without ever yielding: let
            // the other chains and the logout run between requests.
            tokio::task::yield_now().await;
            let after = logged_out.get();
            let r = a.send(me).await;
            completed.set(completed.get() + 1);
            out.push((after, r));
        }
        out
    };
    let logout_fut = async {
        while completed.get() < logout_after {
            tokio::task::yield_now().await;
        }
        let r = a.send(logout).await;
        logged_out.set(true);
        r
    };
    let (all, logout_resp) =
        futures_util::future::join(join_all((0..chains).map(|_| chain())), logout_fut).await;
    (all.into_iter().flatten().collect(), logout_resp)
}

fn judge_race<H: Harness>(
    a: &mut Attack<'_, H>,
    what: &str,
    me: &Req,
    answers: Vec<(bool, Resp)>,
    logout: &Req,
    logout_resp: &Resp,
    refused: Want,
) {
    a.judge(
        &format!("logout in the middle ({what})"),
        logout,
        logout_resp,
        want(204),
    );
    let mut after = 0;
    for (i, (started_after_logout, r)) in answers.iter().enumerate() {
        let row = format!("concurrent request #{i} ({what})");
        if *started_after_logout {
            after += 1;
            a.judge(
                &format!("{row}, sent after the logout completed"),
                me,
                r,
                refused,
            );
        } else {
            // In flight during the logout: either answer, nothing else.
            let w = if r.status == 200 {
                want(200).user("alice")
            } else {
                refused
            };
            a.judge(&row, me, r, w);
        }
    }
    a.ensure(after > 0, &format!("race ({what})"), || {
        "no request was sent after the logout completed: the race did not overlap".into()
    });
}

// ---------------------------------------------------------------------------
// The HTTP-visible findings of the security review (issue #12)
// ---------------------------------------------------------------------------

/// M3 cross-site login, L3 overlong token, L4 the thief's refreshed token,
/// L5 log out everywhere from both routes, L9 the refresh retry grace.
pub async fn review_findings<H: Harness>(a: &mut Attack<'_, H>) {
    let creds = |user: &str| json!({ "username": user, "password": contract::password(user) });

    // M3: a cross-site form (or fetch) cannot log the victim in.
    for (what, name, value) in [
        ("Sec-Fetch-Site: cross-site", "sec-fetch-site", "cross-site"),
        ("Origin of another site", "origin", "https://evil.example"),
    ] {
        a.case(
            &format!("POST /session/login (m3 {what})"),
            Req::post("/session/login")
                .host()
                .h(name, value)
                .json(&creds("alice")),
            want(403).challenge(NO_CHALLENGE),
        )
        .await;
    }

    // L3: signed with the right key, but living 30 days.
    let real = a.tokens("alice").await;
    let shape = TokenShape::of(&real.access);
    let mut long = shape.claims("alice", &["user"]);
    long["exp"] = json!(now() + 30 * 86_400);
    let long = shape.sign(&shape.header(), &long);
    jwt_me(
        a,
        "l3 correctly signed, 30-day lifetime",
        &long,
        token_401(),
    )
    .await;

    // L4: the thief refreshed the victim's family; the victim logs out.
    let refresh_req =
        |token: &str| Req::post("/jwt/refresh").json(&json!({ "refresh_token": token }));
    let victim = a.tokens("alice").await;
    let r = a
        .case(
            "POST /jwt/refresh (l4 thief)",
            refresh_req(&victim.refresh),
            want(200),
        )
        .await;
    let thief = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| Some(v["access_token"].as_str()?.to_owned()))
        .unwrap_or_default();
    a.case(
        "POST /jwt/logout (l4 victim)",
        Req::post("/jwt/logout").bearer(&victim.access),
        want(204),
    )
    .await;
    jwt_me(
        a,
        "l4 thief's refreshed token after the victim's logout",
        &thief,
        token_401(),
    )
    .await;

    // L5: both logout-all routes end every credential kind.
    for via_tokens in [false, true] {
        let what = if via_tokens {
            "/jwt/logout-all"
        } else {
            "/session/logout-all"
        };
        let s = a.login("bob", &[]).await;
        let t = a.tokens("bob").await;
        let req = if via_tokens {
            Req::post("/jwt/logout-all").bearer(&t.access)
        } else {
            Req::post("/session/logout-all").session(&s)
        };
        a.case(&format!("POST {what} (l5)"), req, want(204)).await;
        a.me(
            &format!("GET /session/me (l5 after {what})"),
            &s,
            session_401(),
        )
        .await;
        jwt_me(
            a,
            &format!("l5 access token after {what}"),
            &t.access,
            token_401(),
        )
        .await;
        a.case(
            &format!("POST /jwt/refresh (l5 after {what})"),
            refresh_req(&t.refresh),
            token_401(),
        )
        .await;
    }

    // L9: the same client retrying a spent token within 10 s gets the same
    // successor; another User-Agent ends the family.
    let ua = "AttackSuite/1.0 (same client)";
    let t = a.tokens("alice").await;
    let first = a
        .case(
            "POST /jwt/refresh (l9 rotation)",
            refresh_req(&t.refresh).h("user-agent", ua),
            want(200),
        )
        .await;
    let again = a
        .case(
            "POST /jwt/refresh (l9 same client retries the spent token)",
            refresh_req(&t.refresh).h("user-agent", ua),
            want(200),
        )
        .await;
    let rt = |r: &Resp| {
        serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| Some(v["refresh_token"].as_str()?.to_owned()))
    };
    let (first_rt, again_rt) = (rt(&first), rt(&again));
    a.ensure(
        first_rt.is_some() && first_rt == again_rt,
        "POST /jwt/refresh (l9 same client retries the spent token)",
        || "the retry must return the same refresh token".to_owned(),
    );
    a.case(
        "POST /jwt/refresh (l9 the spent token from another User-Agent)",
        refresh_req(&t.refresh).h("user-agent", "Thief/6.6"),
        token_401(),
    )
    .await;
    a.case(
        "POST /jwt/refresh (l9 the successor after the reuse: family ended)",
        refresh_req(&first_rt.unwrap_or_default()).h("user-agent", ua),
        token_401(),
    )
    .await;
}

// ---------------------------------------------------------------------------
// Password guessing (login throttling)
// ---------------------------------------------------------------------------

/// Password spraying (one client, many usernames) hits the per-client
/// limit; guessing one username from many clients (through the suite's
/// trusted proxy) hits the per-username limit; a spoofed left-most
/// `X-Forwarded-For` does not make a new client.
pub async fn password_guessing<H: Harness>(a: &mut Attack<'_, H>) {
    let login = |user: String, xff: Option<String>| {
        let mut req =
            Req::post("/session/login").json(&json!({"username": user, "password": "guess"}));
        if let Some(xff) = xff {
            req = req.h("x-forwarded-for", xff);
        }
        req
    };
    // Spraying from 198.51.100.7: every username is new, the client is not.
    for i in 0..GUESS_LIMIT {
        a.case(
            "POST /session/login (spraying)",
            login(
                format!("spray{i}"),
                Some(format!("192.0.2.{i}, 198.51.100.7")),
            ),
            want(401),
        )
        .await;
    }
    a.case(
        "POST /session/login (spraying past the per-client limit)",
        login("alice".into(), Some("198.51.100.7".into())),
        want(429),
    )
    .await;
    a.case(
        "POST /jwt/login (the sprayer, right password)",
        Req::post("/jwt/login")
            .json(&json!({"username": "alice", "password": "alice-password"}))
            .h("x-forwarded-for", "198.51.100.7"),
        want(429),
    )
    .await;
    // Another client is not affected.
    a.case(
        "POST /session/login (another client)",
        Req::post("/session/login")
            .json(&json!({"username": "alice", "password": "alice-password"}))
            .h("x-forwarded-for", "203.0.113.50"),
        want(200),
    )
    .await;

    // One username from many clients.
    for i in 0..GUESS_LIMIT {
        a.case(
            "POST /session/login (bob from many clients)",
            login("bob".into(), Some(format!("203.0.113.{}", 100 + i))),
            want(401),
        )
        .await;
    }
    a.case(
        "POST /session/login (bob past the per-username limit, right password)",
        Req::post("/session/login")
            .json(&json!({"username": "bob", "password": "bob-password"}))
            .h("x-forwarded-for", "203.0.113.250"),
        want(429),
    )
    .await;
    a.case(
        "POST /session/login (admin from a fresh client)",
        Req::post("/session/login")
            .json(&json!({"username": "admin", "password": "admin-password"}))
            .h("x-forwarded-for", "203.0.113.251"),
        want(200),
    )
    .await;
}
