//! A tiny HTTP/1.1 server on 127.0.0.1 for every test that talks to an OpenAI-compatible
//! endpoint (chat client, UniGenBench judge, LLM judge) and for the judge throughput bench:
//! a thread per connection (bounded), keep-alive, `Content-Length` bodies only, and a handler
//! closure deciding each reply. It stops when dropped, or by itself after `die_after` replies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A received request.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0-based arrival number over the server's life.
    pub n: usize,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with an OpenAI chat-completion JSON whose message content is this text.
    Answer(String),
    /// This status with a plain-text body.
    Status(u16, String),
    /// 200 with this body as is (garbage).
    Raw(String),
    /// Wait, then reply.
    Sleep(Duration, Box<Reply>),
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

#[allow(missing_debug_implementations)]
struct Shared {
    handler: Box<Handler>,
    stop: AtomicBool,
    arrivals: AtomicUsize,
    replies: AtomicUsize,
    die_after: Option<usize>,
    record: bool,
    recorded: Mutex<Vec<Request>>,
    open_connections: AtomicUsize,
    accepted: AtomicUsize,
}

pub struct Server {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

const MAX_CONNECTIONS: usize = 64;

impl Server {
    /// Starts a server; `record` keeps every request for inspection.
    pub fn start(
        record: bool,
        die_after: Option<usize>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            stop: AtomicBool::new(false),
            arrivals: AtomicUsize::new(0),
            replies: AtomicUsize::new(0),
            die_after,
            record,
            recorded: Mutex::new(Vec::new()),
            open_connections: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        s.accepted.fetch_add(1, Ordering::SeqCst);
                        if s.open_connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                            drop(stream);
                            continue;
                        }
                        s.open_connections.fetch_add(1, Ordering::SeqCst);
                        let s2 = Arc::clone(&s);
                        std::thread::spawn(move || {
                            let _ = serve(&s2, stream);
                            s2.open_connections.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(_) => break,
                }
            }
            // The listener drops here: the port refuses connections from now on.
        });
        Self {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests that arrived.
    pub fn arrivals(&self) -> usize {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// Connections accepted.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    pub fn recorded(&self) -> Vec<Request> {
        self.shared.recorded.lock().unwrap().clone()
    }

    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(s: &Shared, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    // One write per reply and no Nagle delay, so the server adds no 40 ms ACK stalls.
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        // Request line, polling the stop flag while idle.
        let mut line = String::new();
        loop {
            if s.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            match reader.read_line(&mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        if s.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let request = Request {
            n: s.arrivals.fetch_add(1, Ordering::SeqCst),
            method,
            path,
            headers,
            body,
        };
        let mut reply = (s.handler)(&request);
        if s.record {
            s.recorded.lock().unwrap().push(request);
        }
        while let Reply::Sleep(d, next) = reply {
            std::thread::sleep(d);
            reply = *next;
        }
        let (status, ctype, text) = match reply {
            Reply::Answer(content) => (
                200,
                "application/json",
                serde_json::json!({
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}]
                })
                .to_string(),
            ),
            Reply::Status(code, text) => (code, "text/plain", text),
            Reply::Raw(text) => (200, "text/html", text),
            Reply::Sleep(..) => unreachable!(),
        };
        // Reserve a reply slot so that exactly `die_after` replies are ever written.
        let slot = s.replies.fetch_add(1, Ordering::SeqCst);
        if s.stop.load(Ordering::SeqCst) || s.die_after.is_some_and(|n| slot >= n) {
            s.stop.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        writer.write_all(reply.as_bytes())?;
        writer.flush()?;
        if s.die_after.is_some_and(|n| slot + 1 >= n) {
            s.stop.store(true, Ordering::SeqCst);
            return Ok(());
        }
    }
}
