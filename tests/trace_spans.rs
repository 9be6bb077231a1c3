//! Tracing: one span per authenticated request with its scheme, outcome
//! and `enduser.id`, refusals as events in it, and never a secret recorded
//! (a capturing subscriber sees everything the crate emits).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::{Authenticator, RequestView, SessionHandle, TokenHandle};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Every span (name and fields) and event the crate emits, as text.
#[derive(Default, Clone)]
struct Capture(Arc<Mutex<Capture0>>);

#[derive(Default)]
struct Capture0 {
    text: String,
    spans: Vec<String>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut c = self.0.lock().unwrap();
        let mut line = format!("span {}", span.metadata().name());
        span.record(&mut Fields(&mut line));
        c.text.push_str(&line);
        c.text.push('\n');
        c.spans.push(line);
        Id::from_u64(c.spans.len() as u64)
    }
    fn record(&self, id: &Id, values: &Record<'_>) {
        let mut c = self.0.lock().unwrap();
        let i = usize::try_from(id.into_u64()).unwrap() - 1;
        let mut line = String::new();
        values.record(&mut Fields(&mut line));
        c.spans[i].push_str(&line);
        c.text.push_str(&format!("record{line}\n"));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut c = self.0.lock().unwrap();
        let mut line = format!("event {}", event.metadata().level());
        event.record(&mut Fields(&mut line));
        c.text.push_str(&line);
        c.text.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn one_span_per_request_with_enduser_id_and_no_secret() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut secrets = Vec::new();
    rt.block_on(async {
        let keys = KeyRegistry::hs256("k1", &[3u8; 32]).unwrap();
        let auth = Authenticator::builder()
            .tokens(TokenConfig::new(keys))
            .build()
            .unwrap();
        let anon = auth.authenticate(&RequestView::new("POST")).await;
        let info = SessionHandle::new(anon.clone())
            .login("alice", vec![])
            .await
            .unwrap();
        let cookie = anon
            .take_response_headers()
            .find(|(n, _)| *n == "set-cookie")
            .unwrap()
            .1;
        let cookie = cookie.split(';').next().unwrap().to_owned();
        secrets.push(cookie.split('=').nth(1).unwrap().to_owned());
        secrets.push(info.csrf_token.clone());
        let pair = TokenHandle::new(anon).issue("bob", &[]).await.unwrap();
        secrets.push(pair.access_token.clone());
        secrets.push(pair.refresh_token.clone());

        let mut v = RequestView::new("GET");
        v.add_header("cookie", cookie.as_bytes());
        assert!(auth.authenticate(&v).await.state.identity().is_some());
        let bearer = format!("Bearer {}", pair.access_token);
        let mut v = RequestView::new("GET");
        v.add_header("authorization", bearer.as_bytes());
        assert!(auth.authenticate(&v).await.state.identity().is_some());
        // Refusals: a forged token, a CSRF failure.
        let forged = format!("Bearer {}x", pair.access_token);
        secrets.push(format!("{}x", pair.access_token));
        let mut v = RequestView::new("GET");
        v.add_header("authorization", forged.as_bytes());
        assert!(auth.authenticate(&v).await.state.identity().is_none());
        let mut v = RequestView::new("POST");
        v.add_header("cookie", cookie.as_bytes());
        v.add_header("x-csrf-token", b"wrong-token");
        assert!(auth.authenticate(&v).await.state.identity().is_none());
    });
    let c = capture.0.lock().unwrap();
    let spans: Vec<&String> = c
        .spans
        .iter()
        .filter(|s| s.starts_with("span portcullis.authenticate"))
        .collect();
    assert_eq!(spans.len(), 5, "one span per request: {spans:#?}");
    assert!(spans[0].contains("outcome=\"anonymous\""), "{}", spans[0]);
    assert!(
        spans[1].contains("scheme=\"session\"")
            && spans[1].contains("outcome=\"authenticated\"")
            && spans[1].contains("enduser.id=\"alice\""),
        "{}",
        spans[1]
    );
    assert!(spans[2].contains("scheme=\"bearer\"") && spans[2].contains("enduser.id=\"bob\""));
    assert!(spans[3].contains("outcome=\"anonymous\"") && !spans[3].contains("enduser.id"));
    assert!(spans[4].contains("outcome=\"failed\""), "{}", spans[4]);
    assert!(
        c.text.contains("request refused"),
        "refusals are events:\n{}",
        c.text
    );
    for secret in &secrets {
        assert!(
            !c.text.contains(secret.as_str()),
            "a secret was traced:\n{}",
            c.text
        );
    }
}
