//! Test doubles for notifications: an HTTP receiver for callbacks, an SMTP sink (aiosmtpd), the
//! Standard Webhooks signature check, and the real binary for the crash test.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode as HttpStatus, Uri};
use axum::response::{IntoResponse, Response as AxumResponse};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------------
// HTTP receiver
// ---------------------------------------------------------------------------------------------

/// One request that reached the receiver.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 0-based arrival order.
    pub index: usize,
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
    /// When the receiver finished its answer (after any delay); `None` while in flight or if
    /// the client went away first.
    pub answered_at: Option<Instant>,
    /// The status the receiver chose for this hit.
    pub status: u16,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("hit {} has no header {name}: {:?}", self.index, self))
    }
    pub fn webhook_id(&self) -> &str {
        self.header("webhook-id")
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("callback body is not JSON ({e}): {}", self.body))
    }
    /// `status` of the NumberRequest in the body.
    pub fn status_name(&self) -> String {
        self.json()["status"].as_str().unwrap_or("?").to_string()
    }
}

/// What the receiver answers to one hit.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub retry_after: Option<u64>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            delay: Duration::ZERO,
            retry_after: None,
            body: String::new(),
        }
    }
    pub fn ok() -> Reply {
        Reply::status(200)
    }
    pub fn delayed(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    pub fn retry_after(mut self, secs: u64) -> Reply {
        self.retry_after = Some(secs);
        self
    }
    pub fn body(mut self, b: &str) -> Reply {
        self.body = b.to_string();
        self
    }
}

type Responder = Box<dyn FnMut(&Hit) -> Reply + Send>;

struct RecvState {
    hits: Mutex<Vec<Hit>>,
    responder: Mutex<Responder>,
}

/// An HTTP server on 127.0.0.1:0 that records every request and answers as programmed
/// (200 by default). Stops when dropped.
pub struct Receiver {
    pub base: String,
    state: Arc<RecvState>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(st): State<Arc<RecvState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    let at = Instant::now();
    let (index, reply) = {
        let mut hits = st.hits.lock().unwrap();
        let mut hit = Hit {
            index: hits.len(),
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at,
            answered_at: None,
            status: 0,
        };
        let reply = (st.responder.lock().unwrap())(&hit);
        hit.status = reply.status;
        let index = hit.index;
        hits.push(hit);
        (index, reply)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    st.hits.lock().unwrap()[index].answered_at = Some(Instant::now());
    let mut res = (
        HttpStatus::from_u16(reply.status).unwrap(),
        reply.body.clone(),
    )
        .into_response();
    if let Some(secs) = reply.retry_after {
        res.headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    res
}

impl Receiver {
    /// Answers 200 to everything until told otherwise.
    pub async fn start() -> Receiver {
        let state = Arc::new(RecvState {
            hits: Mutex::new(Vec::new()),
            responder: Mutex::new(Box::new(|_| Reply::ok())),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            base: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Answers the given statuses in turn, then `then` for every later hit.
    pub async fn with_script(script: &[u16], then: u16) -> Receiver {
        let r = Receiver::start().await;
        r.script(
            script.iter().map(|s| Reply::status(*s)).collect(),
            Reply::status(then),
        );
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Any answer logic.
    pub fn respond_with(&self, f: impl FnMut(&Hit) -> Reply + Send + 'static) {
        *self.state.responder.lock().unwrap() = Box::new(f);
    }

    /// Answers `first` in turn, then `then`.
    pub fn script(&self, first: Vec<Reply>, then: Reply) {
        let mut queue: std::collections::VecDeque<Reply> = first.into();
        self.respond_with(move |_| queue.pop_front().unwrap_or_else(|| then.clone()));
    }

    /// Every hit so far, in arrival order.
    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.state.hits.lock().unwrap().len()
    }

    /// Waits until at least `n` hits arrived; panics (listing them) after `secs`.
    pub async fn wait_hits(&self, n: usize, secs: u64) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            if Instant::now() > deadline {
                panic!(
                    "receiver got {} of {n} expected callbacks within {secs} s: {:#?}",
                    hits.len(),
                    summary(&hits)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Asserts that no more than `n` hits arrive within `secs` (nothing else is sent).
    pub async fn assert_stays_at(&self, n: usize, secs: f64) {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let hits = self.hits();
        assert_eq!(
            hits.len(),
            n,
            "expected exactly {n} callbacks, got {}: {:#?}",
            hits.len(),
            summary(&hits)
        );
    }
}

/// A short description of hits for failure messages.
pub fn summary(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            let status = serde_json::from_str::<Value>(&h.body)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_default();
            format!(
                "#{} {} {} webhook-id={} body.status={} answered={} (+{:?})",
                h.index,
                h.method,
                h.path,
                h.headers.get("webhook-id").cloned().unwrap_or_default(),
                status,
                h.status,
                h.at.duration_since(hits[0].at)
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks signatures
// ---------------------------------------------------------------------------------------------

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{ts}.{body}")), key = base64 after `whsec_`.
pub fn expected_signature(secret: &str, id: &str, ts: &str, body: &str) -> String {
    let b64 = secret
        .strip_prefix("whsec_")
        .unwrap_or_else(|| panic!("webhook secret {secret:?} does not start with whsec_"));
    let key = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("webhook secret {secret:?} is not whsec_+base64: {e}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// The space-separated signatures of the `webhook-signature` header.
pub fn signatures(hit: &Hit) -> Vec<String> {
    hit.header("webhook-signature")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// True when one of the hit's signatures was made with `secret` over its id, timestamp, body.
pub fn signed_by(hit: &Hit, secret: &str) -> bool {
    let want = expected_signature(
        secret,
        hit.header("webhook-id"),
        hit.header("webhook-timestamp"),
        &hit.body,
    );
    signatures(hit).contains(&want)
}

/// Asserts the Standard Webhooks headers of a hit and its signature with `secret`.
pub fn assert_signed(hit: &Hit, secret: &str) {
    assert_eq!(hit.method, "POST", "callback method");
    assert!(
        hit.header("content-type").starts_with("application/json"),
        "callback content-type {:?}",
        hit.header("content-type")
    );
    let ts: i64 = hit
        .header("webhook-timestamp")
        .parse()
        .unwrap_or_else(|_| panic!("webhook-timestamp is not whole seconds: {hit:?}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - ts).abs() <= 10,
        "webhook-timestamp {ts} is not the time of the attempt (now {now})"
    );
    assert!(
        signed_by(hit, secret),
        "webhook-signature {:?} does not verify with the account secret (id {}, ts {})",
        hit.header("webhook-signature"),
        hit.header("webhook-id"),
        ts
    );
}

// ---------------------------------------------------------------------------------------------
// SMTP sink (aiosmtpd)
// ---------------------------------------------------------------------------------------------

const SINK_PY: &str = r#"
import email, json, os, sys, time, itertools
from email import policy
from aiosmtpd.controller import Controller

port = int(sys.argv[1])
out = sys.argv[2]
seq = itertools.count()

class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        texts, htmls = [], []
        for part in msg.walk():
            if part.get_content_maintype() == "multipart":
                continue
            if part.get_content_type() == "text/plain":
                texts.append(part.get_content())
            elif part.get_content_type() == "text/html":
                htmls.append(part.get_content())
        rec = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "from": str(msg.get("from", "")),
            "to": str(msg.get("to", "")),
            "subject": str(msg.get("subject", "")),
            "text": "\n".join(texts),
            "html": "\n".join(htmls),
        }
        name = "%020d-%06d" % (time.time_ns(), next(seq))
        tmp = os.path.join(out, "." + name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(out, name + ".json"))
        return "250 Message accepted for delivery"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
"#;

/// Makes sure `aiosmtpd` can be imported, installing it with pip once if needed.
fn ensure_aiosmtpd() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let importable = || {
        Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let r = READY.get_or_init(|| {
        if importable() {
            return Ok(());
        }
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
            .output()
            .map_err(|e| format!("running python3 -m pip: {e}"))?;
        if importable() {
            Ok(())
        } else {
            Err(format!(
                "aiosmtpd is not importable and `python3 -m pip install --quiet aiosmtpd` did not help: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(e) = r {
        panic!("{e}");
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server (aiosmtpd in a child process) that writes every message it accepts as
/// JSON (`rcptTos`, `from`, `to`, `subject`, `text`, `html`) into a folder. Killed on drop.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("sink.py");
        std::fs::write(&script, SINK_PY).unwrap();
        let out = dir.path().join("messages");
        std::fs::create_dir_all(&out).unwrap();
        let log = std::fs::File::create(dir.path().join("sink.log")).unwrap();
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start python3 (aiosmtpd sink)");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if let Ok(Some(st)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("sink.log")).unwrap_or_default();
                panic!("the aiosmtpd sink exited ({st}): {log}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the aiosmtpd sink did not accept connections on port {port} within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        SmtpSink { port, dir, child }
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("messages"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    pub async fn wait_messages(&self, n: usize, secs: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            if Instant::now() > deadline {
                panic!(
                    "the SMTP sink got {} of {n} expected messages within {secs} s: {m:#?}",
                    m.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// .eml files
// ---------------------------------------------------------------------------------------------

/// A message written by the file transport: unfolded headers and the (soft-break-joined) raw text.
#[derive(Debug, Clone)]
pub struct Eml {
    pub path: PathBuf,
    pub headers: Vec<(String, String)>,
    pub raw: String,
}

impl Eml {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{} has no {name} header", self.path.display()))
    }
}

/// Every `.eml` file in `dir`.
pub fn eml_files(dir: &Path) -> Vec<Eml> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
        if p.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap().replace("\r\n", "\n");
        let (head, _) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
        let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
        let headers = unfolded
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        // quoted-printable soft line breaks
        let raw = text.replace("=\n", "");
        out.push(Eml {
            path: p,
            headers,
            raw,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------------------------

pub const BIN: &str = env!("CARGO_BIN_EXE_numberdesk");

/// A running `numberdesk serve`; killed on drop.
pub struct Served {
    pub child: Child,
    pub address: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// Starts `numberdesk serve` in `dir` with only the given `NUMBERDESK_*` settings (plus
    /// listen on 127.0.0.1:0) and waits for its `listening on http://ADDR` line.
    pub fn start(dir: &Path, env: &[(&str, String)]) -> Served {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("NUMBERDESK_") {
                c.env_remove(k);
            }
        }
        c.current_dir(dir)
            .env("NUMBERDESK_LISTEN", "127.0.0.1:0")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn numberdesk serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut sent = false;
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if !sent && line.contains("listening on http://") {
                        let _ = tx.send(line.clone());
                        sent = true;
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "no 'listening on http://' line on stderr; got: {:#?}",
                    log.lock().unwrap()
                );
            }
        };
        let i = line.find("listening on http://").unwrap() + "listening on http://".len();
        let addr: String = line[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect();
        Served {
            child,
            address: format!("http://{addr}"),
            log,
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL numberdesk");
        self.child.wait().unwrap();
    }

    pub fn log_tail(&self, n: usize) -> Vec<String> {
        let l = self.log.lock().unwrap();
        l[l.len().saturating_sub(n)..].to_vec()
    }
}
