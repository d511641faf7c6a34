//! `prefopt serve`: an OpenAI-compatible chat-completions endpoint for a checkpoint.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use prefopt_serve::{Engine, ServeConfig, ServerHandle, ShutdownSignal};

use crate::device::DeviceChoice;

/// Arguments of `prefopt serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// HF checkpoint directory (config.json, model.safetensors, tokenizer files) or a `.gguf`
    /// file (tokenizer and chat template from its metadata).
    #[arg(long)]
    pub model: PathBuf,
    /// Tokenizer directory (default: the model directory).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// A named chat template of tokenizer_config.json (default: its `default` one).
    #[arg(long)]
    pub chat_template: Option<String>,
    /// Interface to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// TCP port (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Keep a `.gguf` model's quantized weights quantized (CPU): decoding runs llama.cpp-style
    /// integer kernels and the model holds no f32 copy of them.
    #[arg(long)]
    pub keep_quantized: bool,

    /// Rows generated together at most (a sampled request counts its `n`); also the largest
    /// `n` accepted.
    #[arg(long, default_value_t = 8)]
    pub max_batch: usize,
    /// Requests waiting at most; one more is answered 429 at once.
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// Largest request body in bytes; a larger one is answered 413.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_request_bytes: usize,
    /// The model's name in requests and in GET /v1/models (default: the model directory's
    /// name).
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// `max_tokens` of a request that sends none (capped by the room left in the context).
    #[arg(long, default_value_t = 256)]
    pub default_max_tokens: usize,
    /// Milliseconds the scheduler waits after a request for more to batch with it.
    #[arg(long, default_value_t = 5)]
    pub batch_wait_ms: u64,
    /// Open connections at most (must exceed --queue + --max-batch).
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
}

impl ServeArgs {
    /// The served model's name: `--served-model-name`, else the model directory's name.
    pub fn served_model_name(&self) -> String {
        self.served_model_name.clone().unwrap_or_else(|| {
            self.model
                .file_name()
                .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned())
        })
    }

    /// The server settings these arguments select.
    pub fn config(&self) -> ServeConfig {
        let mut config = ServeConfig::new(self.served_model_name());
        config.host = self.host.clone();
        config.port = self.port;
        config.max_batch = self.max_batch;
        config.queue = self.queue;
        config.max_request_bytes = self.max_request_bytes;
        config.default_max_tokens = self.default_max_tokens;
        config.batch_wait = Duration::from_millis(self.batch_wait_ms);
        config.max_connections = self.max_connections;
        config
    }
}

/// Loads the model and starts serving; returns once the port is open.
pub fn start(args: &ServeArgs) -> anyhow::Result<ServerHandle> {
    let config = args.config();
    config.validate()?;
    let device = args.device.device()?;
    let engine = Engine::load(
        &args.model,
        args.tokenizer.as_deref(),
        args.chat_template.as_deref(),
        &device,
        &prefopt_models::LoadOptions {
            keep_quantized: args.keep_quantized,
        },
    )
    .with_context(|| format!("cannot load the model `{}`", args.model.display()))?;
    Ok(config.start(engine)?)
}

/// Runs `prefopt serve`: serves until SIGINT or SIGTERM, then finishes the running batch,
/// refuses what is queued, and returns.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let signal = ShutdownSignal::install()?;
    let server = start(args)?;
    println!(
        "serving `{}` at {} (POST /chat/completions, GET /models); Ctrl-C or SIGTERM stops",
        args.served_model_name(),
        server.base_url()
    );
    signal.wait();
    println!("stopping: finishing the running batch");
    server.shutdown()?;
    println!("stopped");
    Ok(())
}
