//! A real HTTP server in the test that stands for whatever a webhook or an LLM API call
//! reaches: it records every request and answers with the statuses and bodies it is given,
//! over plain HTTP or over HTTPS with the test certificate of `testdata/tls`.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A file of `testdata/tls`: `ca.pem` is the authority that signed `localhost.pem`, the
/// certificate the HTTPS receiver presents (for `localhost` and `127.0.0.1`).
pub fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/tls")
        .join(name)
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_file("localhost.pem"))
            .expect("the test certificate")
            .collect::<Result<_, _>>()
            .expect("a PEM certificate");
    let key = PrivateKeyDer::from_pem_file(tls_file("localhost-key.pem")).expect("the test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .expect("a usable certificate and key");
    Arc::new(config)
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The answers: `(status, body)` for the nth request, the last one repeating.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(answers: Vec<(u16, String)>) -> Self {
        Self::serve(answers, None, None, String::new())
    }

    /// A receiver that answers every request with `302 Found` to `location`.
    pub fn start_redirect(location: &str) -> Self {
        let header = format!("Location: {location}\r\n");
        Self::serve(vec![(302, String::new())], None, None, header)
    }

    /// A receiver that records each request as it arrives but answers nothing until
    /// `Release::release`: one that is slow to answer for as long as a test needs.
    pub fn start_held(answers: Vec<(u16, String)>) -> (Self, Release) {
        let gate = Gate::default();
        let receiver = Self::serve(answers, None, Some(Arc::clone(&gate)), String::new());
        (receiver, Release(gate))
    }

    /// The same over HTTPS, at `https://localhost:<port>`. A client that does not trust
    /// `ca.pem` fails the handshake, and nothing is recorded.
    pub fn start_tls(answers: Vec<(u16, String)>) -> Self {
        Self::serve(answers, Some(tls_config()), None, String::new())
    }

    fn serve(
        answers: Vec<(u16, String)>,
        tls: Option<Arc<rustls::ServerConfig>>,
        gate: Option<Gate>,
        headers: String,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let address = listener.local_addr().expect("address");
        let url = match tls {
            Some(_) => format!("https://localhost:{}", address.port()),
            None => format!("http://{address}"),
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                match &tls {
                    None => {
                        answer(stream, &log, &answers, gate.as_ref(), &headers);
                    }
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(Arc::clone(config))
                        else {
                            continue;
                        };
                        let mut stream = answer(
                            rustls::StreamOwned::new(connection, stream),
                            &log,
                            &answers,
                            gate.as_ref(),
                            &headers,
                        );
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                    }
                }
            }
        });
        Self { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }

    /// Waits until `done` holds for the requests received, up to 20 seconds.
    pub fn wait_until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received {} requests",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Open once released; shared by a held receiver and its `Release`.
type Gate = Arc<(Mutex<bool>, Condvar)>;

/// Lets a held receiver answer, from now on.
pub struct Release(Gate);

impl Release {
    pub fn release(&self) {
        let (open, opened) = &*self.0;
        *open.lock().expect("gate") = true;
        opened.notify_all();
    }
}

/// Reads one request from `stream`, records it, waits for `gate` to open if there is one, and
/// writes its answer with `headers` (whole `Name: value\r\n` lines) added; returns the stream.
fn answer<S: Read + Write>(
    stream: S,
    log: &Mutex<Vec<Received>>,
    answers: &[(u16, String)],
    gate: Option<&Gate>,
    headers: &str,
) -> S {
    let mut reader = BufReader::new(stream);
    if let Some(request) = read_request(&mut reader) {
        let position = {
            let mut log = log.lock().expect("log");
            log.push(request);
            log.len() - 1
        };
        if let Some(gate) = gate {
            let (open, opened) = &**gate;
            let mut open = open.lock().expect("gate");
            while !*open {
                open = opened.wait(open).expect("gate");
            }
        }
        let (status, body) = answers
            .get(position)
            .or(answers.last())
            .cloned()
            .unwrap_or((200, String::new()));
        let stream = reader.get_mut();
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{headers}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.flush();
    }
    reader.into_inner()
}

fn read_request<S: Read>(reader: &mut BufReader<S>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}
