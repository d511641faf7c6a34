//! The HTTP side: [`ServeConfig`] → [`ServeConfig::start`] → a running [`ServerHandle`].
//!
//! HTTP/1.1 comes from `oxhttp` (a blocking server: one thread per connection, at most
//! `max_connections` of them, headers bounded to 8 KiB, read/write timeouts). Each connection
//! thread reads and checks its request, encodes the conversation, and `try_send`s it into the
//! bounded queue of the scheduler thread ([`crate::scheduler`]); a full queue is answered 429
//! at once, and the thread then waits for its answer.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam::channel::{Sender, TrySendError};
use oxhttp::model::{Body, Method, Request, Response};
use prefopt_core::{SplitMix64, invalid};
use serde_json::Value;

use crate::api_error::ApiError;
use crate::engine::{Engine, Prompter};
use crate::error::{Result, ServeError};
use crate::request::parse_chat_request;
use crate::scheduler::{Job, Scheduler};
use crate::stats::{Counters, ServeStats};

/// The chat-completions route.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";
/// The model-list route.
pub const MODELS_PATH: &str = "/v1/models";
/// The liveness route: `{"status": "ok", "model", "stats"}` ([`ServeStats`]).
pub const HEALTH_PATH: &str = "/health";

/// How long [`ServerHandle::shutdown`] waits for connection threads to hand their last
/// answers to the socket.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Settings of the server (the flags of `prefopt serve`).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Interface to listen on (default `127.0.0.1`: only this machine).
    pub host: String,
    /// TCP port (default 8000); 0 picks a free one (see [`ServerHandle::addr`]).
    pub port: u16,
    /// The model's name in requests and in `GET /v1/models` (vLLM's `--served-model-name`).
    pub served_model_name: String,
    /// Rows generated together at most (a greedy request is one row, a sampled one `n`); also
    /// the largest `n` accepted. Default 8.
    pub max_batch: usize,
    /// Requests waiting for the scheduler at most; one more is answered 429. Default 64.
    pub queue: usize,
    /// Largest request body, in bytes; a larger one is answered 413. Default 1 MiB.
    pub max_request_bytes: usize,
    /// `max_tokens` of a request that sends none (capped by the room left in the context).
    /// Default 256.
    pub default_max_tokens: usize,
    /// How long the scheduler waits after a round's first request for more to join it.
    /// Default 5 ms.
    pub batch_wait: Duration,
    /// Open connections at most (each has a thread); must exceed `queue + max_batch` so
    /// that a full queue can still be answered. Default 256.
    pub max_connections: usize,
    /// Read and write timeout of a connection (an idle keep-alive connection is closed after
    /// it). Default 60 s.
    pub io_timeout: Duration,
    /// Seed of the stream from which batches of unseeded sampled requests draw theirs.
    pub seed: u64,
}

impl ServeConfig {
    /// The defaults, serving the model under `served_model_name`.
    pub fn new(served_model_name: impl Into<String>) -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            served_model_name: served_model_name.into(),
            max_batch: 8,
            queue: 64,
            max_request_bytes: 1 << 20,
            default_max_tokens: 256,
            batch_wait: Duration::from_millis(5),
            max_connections: 256,
            io_timeout: Duration::from_secs(60),
            seed: 0,
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`ServeError::InvalidConfig`] naming the setting: a zero `max_batch`, `queue`,
    /// `max_request_bytes`, `default_max_tokens` or `io_timeout`, an empty
    /// `served_model_name`, or `max_connections ≤ queue + max_batch`.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("max_batch", self.max_batch),
            ("queue", self.queue),
            ("max_request_bytes", self.max_request_bytes),
            ("default_max_tokens", self.default_max_tokens),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be ≥ 1"));
            }
        }
        if self.served_model_name.trim().is_empty() {
            return Err(invalid("served_model_name", "must not be empty"));
        }
        if self.io_timeout.is_zero() {
            return Err(invalid("io_timeout", "must be > 0"));
        }
        if self.max_connections <= self.queue + self.max_batch {
            return Err(invalid(
                "max_connections",
                format!(
                    "must exceed queue + max_batch = {} so that a full queue can still be \
                     answered 429, got {}",
                    self.queue + self.max_batch,
                    self.max_connections
                ),
            ));
        }
        Ok(())
    }

    /// The address to bind: `host:port`, with port 0 replaced by a free port.
    fn socket_addr(&self) -> Result<SocketAddr> {
        let bind_error = |source| ServeError::Bind {
            addr: format!("{}:{}", self.host, self.port),
            source,
        };
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(bind_error)?
            .next()
            .ok_or_else(|| {
                invalid::<ServeError>("host", format!("`{}` has no address", self.host))
            })?;
        if addr.port() != 0 {
            return Ok(addr);
        }
        // oxhttp binds inside `spawn` and does not report the port: reserve one here first.
        let probe = TcpListener::bind(addr).map_err(bind_error)?;
        probe.local_addr().map_err(bind_error)
    }

    /// Starts the scheduler thread and the HTTP listener; returns once the port is open.
    ///
    /// # Errors
    /// [`ServeConfig::validate`]'s errors, and [`ServeError::Bind`] when the port cannot be
    /// opened.
    pub fn start(self, engine: Engine) -> Result<ServerHandle> {
        self.validate()?;
        let addr = self.socket_addr()?;
        let (jobs_tx, jobs_rx) = crossbeam::channel::bounded(self.queue);
        let stopping = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            prompter: engine.prompter(&self.served_model_name, self.default_max_tokens),
            served_model_name: self.served_model_name.clone(),
            max_batch: self.max_batch,
            queue: self.queue,
            max_request_bytes: self.max_request_bytes,
            jobs: RwLock::new(Some(jobs_tx)),
            stopping: Arc::clone(&stopping),
            counters: Arc::clone(&counters),
            active: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            id_prefix: SplitMix64::new(unix_time_nanos()).next_u64() as u32,
            created: unix_time_secs(),
        });
        let scheduler = Scheduler {
            engine,
            jobs: jobs_rx,
            max_batch: self.max_batch,
            batch_wait: self.batch_wait,
            stopping: Arc::clone(&stopping),
            counters,
            seeds: SplitMix64::new(self.seed),
        };
        let scheduler = std::thread::Builder::new()
            .name("prefopt-serve-scheduler".into())
            .spawn(move || scheduler.run())
            .map_err(|e| ServeError::Thread {
                thread: "scheduler",
                message: e.to_string(),
            })?;
        let mut handle = ServerHandle {
            addr,
            shared: Arc::clone(&shared),
            scheduler: Some(scheduler),
            listener: None,
        };
        let http = oxhttp::Server::new(move |request| handle_request(&shared, request))
            .bind(addr)
            .with_global_timeout(self.io_timeout)
            .with_max_concurrent_connections(self.max_connections);
        match http.spawn() {
            Ok(listener) => handle.listener = Some(listener),
            Err(source) => {
                let _ = handle.stop();
                return Err(ServeError::Bind {
                    addr: addr.to_string(),
                    source,
                });
            }
        }
        tracing::info!(%addr, model = %self.served_model_name, max_batch = self.max_batch,
            queue = self.queue, "serving");
        Ok(handle)
    }
}

/// What the connection threads share.
#[derive(Debug)]
struct Shared {
    prompter: Prompter,
    served_model_name: String,
    max_batch: usize,
    queue: usize,
    max_request_bytes: usize,
    /// The queue's sending side; `None` once shutting down.
    jobs: RwLock<Option<Sender<Job>>>,
    stopping: Arc<AtomicBool>,
    counters: Arc<Counters>,
    /// Requests being handled right now.
    active: AtomicUsize,
    next_id: AtomicU64,
    id_prefix: u32,
    created: u64,
}

/// A running server. [`ServerHandle::shutdown`] (or dropping it) stops it.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    scheduler: Option<JoinHandle<()>>,
    listener: Option<oxhttp::ListeningServer>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("model", &self.shared.served_model_name)
            .field("running", &self.scheduler.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`: the base URL OpenAI clients (and `prefopt grpo`'s LLM judge) take.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> ServeStats {
        self.shared.counters.snapshot()
    }

    /// Stops serving: new requests are answered 503, the batch being generated finishes and
    /// is answered, requests still queued are answered 503, and this returns once the
    /// scheduler has stopped and the connection threads have handed their answers over (at
    /// most a few seconds after the last batch). The listening socket closes when the
    /// process exits (`prefopt serve` exits right after this).
    ///
    /// # Errors
    /// [`ServeError::Thread`] if the scheduler thread panicked.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // No new job can be queued once the sender is gone.
        drop(
            self.shared
                .jobs
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        let Some(scheduler) = self.scheduler.take() else {
            return Ok(());
        };
        let joined = scheduler.join();
        let deadline = Instant::now() + DRAIN_GRACE;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // The connection threads write an answer right after building it.
        std::thread::sleep(Duration::from_millis(50));
        tracing::info!(addr = %self.addr, "stopped serving");
        joined.map_err(|_| ServeError::Thread {
            thread: "scheduler",
            message: "panicked".into(),
        })
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn unix_time_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn unix_time_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Counts a request as active while it lives.
struct Active<'a>(&'a AtomicUsize);

impl<'a> Active<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if status == 429 || status == 503 {
        builder = builder.header("retry-after", "1");
    }
    builder
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::from("internal error")))
}

fn handle_request(shared: &Shared, request: &mut Request<Body>) -> Response<Body> {
    let _active = Active::enter(&shared.active);
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let answer = route(shared, &method, &path, request);
    match answer {
        Ok(body) => json_response(200, &body),
        Err(e) => {
            if e.status >= 500 {
                tracing::warn!(%method, %path, "{e}");
            } else {
                tracing::debug!(%method, %path, "{e}");
            }
            json_response(e.status, &e.to_json())
        }
    }
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    request: &mut Request<Body>,
) -> std::result::Result<Value, ApiError> {
    let name = &shared.served_model_name;
    match (method, path) {
        (&Method::POST, CHAT_COMPLETIONS_PATH) => chat(shared, request),
        (&Method::GET, MODELS_PATH) => Ok(crate::response::models_json(name, shared.created)),
        (&Method::GET, HEALTH_PATH) => Ok(serde_json::json!({
            "status": "ok",
            "model": name,
            "stats": shared.counters.snapshot(),
        })),
        (&Method::GET, p) if p.strip_prefix("/v1/models/") == Some(name.as_str()) => {
            Ok(crate::response::model_json(name, shared.created))
        }
        (&Method::GET, p) if p.starts_with("/v1/models/") => Err(ApiError::unknown_model(
            p.trim_start_matches("/v1/models/"),
            name,
        )),
        (_, CHAT_COMPLETIONS_PATH | MODELS_PATH | HEALTH_PATH) => {
            Err(ApiError::method_not_allowed(method.as_str(), path))
        }
        _ => Err(ApiError::no_route(method.as_str(), path)),
    }
}

fn chat(shared: &Shared, request: &mut Request<Body>) -> std::result::Result<Value, ApiError> {
    if shared.stopping.load(Ordering::SeqCst) {
        return Err(ApiError::shutting_down());
    }
    let limit = shared.max_request_bytes;
    if request.body().len().is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    let mut body = Vec::new();
    request
        .body_mut()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::bad_body(format!("cannot read the body: {e}")))?;
    if body.len() > limit {
        return Err(ApiError::too_large(limit));
    }
    let parsed = parse_chat_request(&body, shared.max_batch)?;
    let prepared = shared.prompter.prepare(parsed)?;
    let (reply, answer) = crossbeam::channel::bounded(1);
    {
        let jobs = shared
            .jobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(jobs) = jobs.as_ref() else {
            return Err(ApiError::shutting_down());
        };
        match jobs.try_send(Job { prepared, reply }) {
            Ok(()) => Counters::add(&shared.counters.accepted, 1),
            Err(TrySendError::Full(_)) => {
                Counters::add(&shared.counters.queue_full, 1);
                return Err(ApiError::queue_full(shared.queue));
            }
            Err(TrySendError::Disconnected(_)) => return Err(ApiError::shutting_down()),
        }
    }
    let completion = answer
        .recv()
        .map_err(|_| ApiError::internal("the scheduler stopped without answering"))??;
    let id = format!(
        "chatcmpl-{:08x}{:08x}",
        shared.id_prefix,
        shared.next_id.fetch_add(1, Ordering::Relaxed)
    );
    Ok(completion.to_json(&id, unix_time_secs(), &shared.served_model_name))
}
