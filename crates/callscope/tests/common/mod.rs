//! Test harness shared by the integration tests: starts the real `callscope` binary on an
//! ephemeral port with a temporary data directory and talks to it over HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // each test uses a subset; tests panic on purpose

pub mod browser;
pub mod otlp;
pub mod python;
pub mod receiver;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Path of the binary under test, built by cargo for integration tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_callscope");

/// Where the seed fixture `name` is on disk, in `testdata/seeds` at the workspace root.
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/seeds")
        .join(name)
}

/// The seed fixture `name` (from `testdata/seeds` at the workspace root), parsed.
pub fn fixture(name: &str) -> Value {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `callscope serve` on `data` with `extra` arguments, which must make it refuse to
/// start; returns what it printed on stderr.
pub fn serve_refusal(data: &Path, extra: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .output()
        .expect("run callscope serve");
    assert!(!output.status.success(), "the server started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Lets webhooks reach the tests' own receivers on this machine: without it a server sends
/// webhooks to public addresses only.
pub const LOCAL_RECEIVERS: &[&str] = &["--webhook-allow-cidr", "127.0.0.0/8,::1/128"];

/// A PCM WAV file of `samples` 16-bit mono samples at `rate` Hz, each sample its index.
pub fn wav(rate: u32, samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    for n in 0..samples {
        bytes.extend_from_slice(&(n as u16).to_le_bytes());
    }
    bytes
}

/// A running server process.
pub struct Server {
    child: Child,
    pub base: String,
    /// The admin key printed on first start, if this start printed one.
    pub bootstrap_key: Option<String>,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `callscope serve` on `data_dir` with extra arguments and waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data_dir, extra, &[("CALLSCOPE_LOG", "warn")])
    }

    /// Starts the server with extra arguments and environment variables.
    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let log = std::fs::File::create(data_dir.with_extension("log")).expect("server log file");
        let mut child = Command::new(BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start callscope serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut bootstrap_key = None;
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let log =
                    std::fs::read_to_string(data_dir.with_extension("log")).unwrap_or_default();
                panic!("server exited before listening; its log:\n{log}");
            };
            if line.starts_with("cs_") {
                bootstrap_key = Some(line.trim().to_owned());
            }
            if let Some(address) = line.strip_prefix("callscope listening on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base,
            bootstrap_key,
            data_dir: data_dir.to_owned(),
        }
    }

    /// SIGTERM, as a service manager stops it, then waits for the process to exit; returns
    /// whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        self.child.wait().expect("reap the server").success()
    }

    /// Everything the server wrote to its log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }

    /// A client authenticated with `key`.
    pub fn client(&self, key: &str) -> Client {
        Client::new(&self.base, Some(key))
    }

    /// A client that presents no key.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base, None)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` and returns its stdout, panicking on failure.
pub fn run_cli(args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .env("CALLSCOPE_LOG", "warn")
        .output()
        .expect("run callscope");
    assert!(
        output.status.success(),
        "callscope {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// `callscope keys create` and the secret from the last line of its stdout.
pub fn create_key(data_dir: &Path, org: &str, scopes: &str) -> String {
    let dir = data_dir.to_str().expect("utf-8 path");
    let stdout = run_cli(&[
        "keys",
        "create",
        "--data-dir",
        dir,
        "--org",
        org,
        "--scopes",
        scopes,
    ]);
    stdout
        .lines()
        .last()
        .expect("a last line")
        .trim()
        .to_owned()
}

/// A temporary data directory plus a running server with an admin key for `org_a`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub key: String,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_args(&[])
    }

    /// A fixture whose server gets `extra` arguments.
    pub fn with_args(extra: &[&str]) -> Self {
        Self::with_demo(0, extra)
    }

    /// A fixture whose store holds `calls` demo calls of `org_a` (the generator's default
    /// seed) before the server starts with `extra` arguments.
    pub fn with_demo(calls: usize, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let key = create_key(&data, "org_a", "read,write,admin");
        if calls > 0 {
            let path = data.to_str().expect("utf-8 path");
            let count = calls.to_string();
            run_cli(&[
                "demo",
                "--data-dir",
                path,
                "--org",
                "org_a",
                "--calls",
                &count,
            ]);
        }
        let args: Vec<&str> = ["--durability", "normal"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        let server = Server::start(&data, &args);
        Self { dir, server, key }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn client(&self) -> Client {
        self.server.client(&self.key)
    }
}

/// A blocking HTTP client that never turns a status into an error.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    key: Option<String>,
    header: &'static str,
    /// Sent with every body; none when unset.
    content_type: Option<&'static str>,
}

/// Status and parsed JSON body (`Value::Null` when the body is empty or not JSON).
pub type Reply = (u16, Value);

/// A whole answer: status, headers (names in lower case) and the parsed JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The body's bytes as they came.
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl Client {
    fn new(base: &str, key: Option<&str>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            agent,
            base: base.to_owned(),
            key: key.map(str::to_owned),
            header: "authorization",
            content_type: None,
        }
    }

    /// A client of the dashboard: it presents the session `token` as its cookie and sends
    /// bodies as URL-encoded forms, as a browser does.
    /// Redirects are not followed: a form's answer is its `303`.
    pub fn with_session(base: &str, token: &str) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into(),
            header: "cookie",
            content_type: Some("application/x-www-form-urlencoded"),
            ..Self::new(base, Some(&format!("callscope_session={token}")))
        }
    }

    /// The same client presenting its key in seed 001's `X-Vgai-Key` header.
    pub fn with_vonage_header(mut self) -> Self {
        self.header = "x-vgai-key";
        self
    }

    fn auth_value(&self) -> Option<String> {
        let key = self.key.as_ref()?;
        Some(if self.header == "authorization" {
            format!("Bearer {key}")
        } else {
            key.clone()
        })
    }

    fn finish(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut response = response.expect("HTTP exchange");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends `body` (none for GET and DELETE) and keeps the answer's headers.
    pub fn exchange(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        self.try_exchange_bytes(method, path, body.map(|b| b.as_bytes().to_vec()))
            .expect("HTTP exchange")
    }

    /// Sends any bytes; an error is a failed exchange (a refused or dropped connection).
    pub fn try_exchange_bytes(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder().method(method).uri(url);
        let request = match self.auth_value() {
            Some(value) => request.header(self.header, value),
            None => request,
        };
        let request = match (self.content_type, &body) {
            (Some(content_type), Some(_)) => request.header("content-type", content_type),
            _ => request,
        };
        let mut response = match body {
            Some(body) => self
                .agent
                .run(request.body(body).map_err(ureq::Error::from)?),
            None => self.agent.run(request.body(()).map_err(ureq::Error::from)?),
        }?;
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(512 << 20)
            .read_to_vec()?;
        Ok(Answer {
            status: response.status().as_u16(),
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            raw: bytes,
        })
    }

    pub fn get(&self, path: &str) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(value) = self.auth_value() {
            request = request.header(self.header, value);
        }
        Self::finish(request.call())
    }

    pub fn delete(&self, path: &str) -> Reply {
        let mut request = self.agent.delete(format!("{}{path}", self.base));
        if let Some(value) = self.auth_value() {
            request = request.header(self.header, value);
        }
        Self::finish(request.call())
    }

    /// Sends `body` as is, so tests can send malformed JSON.
    pub fn send_raw(&self, method: &str, path: &str, body: &str) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            "PATCH" => self.agent.patch(url),
            other => panic!("unsupported method {other}"),
        };
        request = request.header("content-type", "application/json");
        if let Some(value) = self.auth_value() {
            request = request.header(self.header, value);
        }
        Self::finish(request.send(body))
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_raw("POST", path, &body.to_string())
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_raw("PUT", path, &body.to_string())
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send_raw("PATCH", path, &body.to_string())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (what seed 001 asks of
/// its JSON parameters, and what any query value needs).
pub fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(*byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The records of an RFC 4180 body (CRLF line ends, `"` quoting, `""` for a quote), each
/// as its fields.
pub fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut quoted = false;
    let mut characters = body.chars().peekable();
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                field.push('"');
                characters.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) if characters.peek() == Some(&'\n') => {
                characters.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (other, _) => field.push(other),
        }
    }
    rows
}

/// A value a test's own record sorts by.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub enum SortValue {
    Number(i64),
    Text(String),
}

/// The ids of `records` in the order the server promises for `keys` (`true` = descending):
/// missing values last in either direction, remaining ties broken by id in the direction of
/// the last key (`crates/store/src/index/collect.rs`, `tie_break_descending`).
pub fn server_order<R, K: Copy>(
    mut records: Vec<&R>,
    keys: &[(K, bool)],
    value: impl Fn(&R, K) -> Option<SortValue>,
    id: impl Fn(&R) -> &str,
) -> Vec<String> {
    use std::cmp::Ordering;
    let directed = |ordering: Ordering, descending: bool| {
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    let tie_descending = keys.last().is_some_and(|(_, descending)| *descending);
    records.sort_by(|a, b| {
        for (key, descending) in keys {
            let ordering = match (value(a, *key), value(b, *key)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => directed(x.partial_cmp(&y).unwrap(), *descending),
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        directed(id(a).cmp(id(b)), tie_descending)
    });
    records
        .into_iter()
        .map(|record| id(record).to_owned())
        .collect()
}

/// Words as tantivy's default analyzer makes them: split on anything not alphanumeric,
/// lowercased. The tests' own model of what `match` sees.
pub fn words(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|text| {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `texts` contain `word` (already lowercase).
pub fn says(texts: &[String], word: &str) -> bool {
    words(texts).iter().any(|w| w == word)
}

/// Whether one of `texts` holds the words of `phrase` one after the other.
pub fn says_phrase(texts: &[String], phrase: &str) -> bool {
    let phrase = words(&[phrase.to_owned()]);
    texts.iter().any(|text| {
        words(std::slice::from_ref(text))
            .windows(phrase.len())
            .any(|window| window == phrase.as_slice())
    })
}

/// The `(key, doc_count)` pairs of a bucket aggregation's answer, in the order given.
pub fn bucket_counts(aggregation: &Value) -> Vec<(String, u64)> {
    aggregation["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {aggregation}"))
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_owned(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The `id` of each object in `answer[list]` (`calls` on `/v1`, `hits` on `/insights`).
pub fn call_ids(answer: &Value, list: &str) -> Vec<String> {
    answer[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {answer}"))
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 400 `INVALID_PARAMETER` whose message holds every one of `words`.
pub fn assert_invalid((status, body): (u16, Value), words: &[&str], what: &str) {
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["code"], "INVALID_PARAMETER", "{what}: {body}");
    let message = body["error"].as_str().unwrap_or_default();
    for word in words {
        assert!(
            message.contains(word),
            "{what}: `{word}` not in {message:?}"
        );
    }
}

/// The session token a `Set-Cookie: callscope_session=…` header carries.
pub fn session_token(set_cookie: &str) -> String {
    set_cookie
        .strip_prefix("callscope_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("a callscope_session cookie")
        .to_owned()
}

/// The CSRF token of the first form of a dashboard page.
pub fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned()
}

/// Waits until the server's index holds `count` calls of the client's organization.
pub fn wait_for_calls(client: &Client, count: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = client.post(
            "/v1/calls/query",
            &serde_json::json!({"size": 0, "track_total_hits": true}),
        );
        assert_eq!(status, 200, "{body}");
        if body["total"] == count || body["hits"]["total"]["value"] == count {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never indexed {count}: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
