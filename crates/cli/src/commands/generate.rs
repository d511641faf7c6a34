//! `prefopt generate`: prompts JSONL → completions JSONL with a checkpoint.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use prefopt_data::{
    Content, Encoder, ReadOptions, TokenizeReport, Tokenizer, Truncation, read_prompt_jsonl,
};
use prefopt_models::{CausalLm, GenerationConfig};

use crate::device::DeviceChoice;

/// Sampling options shared by `generate` and `eval` (transformers' names).
#[derive(Debug, Clone, clap::Args)]
pub struct GenerationArgs {
    /// New tokens per prompt at most.
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: usize,
    /// Sample instead of greedy decoding.
    #[arg(long)]
    pub do_sample: bool,
    /// Softmax temperature when sampling.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Keep the k most likely tokens (0 = off).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus mass (1.0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Prompts per generation batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Keep only the last `N` prompt tokens (none = no limit).
    #[arg(long)]
    pub max_prompt_length: Option<usize>,
    /// Skip malformed prompt rows (reported) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

/// Arguments of `prefopt generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// HF checkpoint directory (a `checkpoint-N/` or a final `output_dir`).
    #[arg(long)]
    pub model: PathBuf,
    /// Tokenizer directory (default: the model directory).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Prompts JSONL (`{"prompt": "..."}` or `{"prompt": [messages]}`).
    #[arg(long)]
    pub prompts: PathBuf,
    /// Output JSONL: one `{"prompt", "completion", "num_tokens", "finished"}` per prompt.
    #[arg(long)]
    pub output: PathBuf,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Sampling options.
    #[command(flatten)]
    pub generation: GenerationArgs,
}

/// One generated completion.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The prompt as read (JSON: a string or a message list).
    pub prompt: serde_json::Value,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// Generated token ids (up to and including the stop token).
    pub tokens: Vec<u32>,
    /// Decoded completion (special tokens skipped).
    pub text: String,
    /// Whether generation stopped on an EOS token.
    pub finished: bool,
}

pub(crate) fn content_json(content: &Content) -> serde_json::Value {
    match content {
        Content::Text(text) => serde_json::Value::String(text.clone()),
        Content::Conversation(messages) => {
            serde_json::to_value(messages).unwrap_or(serde_json::Value::Null)
        }
    }
}

pub(crate) fn load_tokenizer(model: &Path, tokenizer: Option<&Path>) -> anyhow::Result<Tokenizer> {
    let dir = tokenizer.unwrap_or(model);
    Ok(prefopt_train::load_tokenizer(dir, None)?)
}

/// Generates a completion for every prompt of `prompts` with `model`.
pub(crate) fn complete(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    prompts: &Path,
    args: &GenerationArgs,
) -> anyhow::Result<Vec<Completion>> {
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be >= 1");
    let rows = read_prompt_jsonl(
        prompts,
        ReadOptions {
            skip_bad_rows: args.skip_bad_rows,
        },
    )?;
    if !rows.report.skipped.is_empty() {
        tracing::warn!(
            file = %prompts.display(),
            skipped = rows.report.skipped.len(),
            "skipped bad prompt rows"
        );
    }
    let truncation = Truncation {
        max_length: args.max_prompt_length,
        mode: prefopt_data::TruncationMode::KeepEnd,
    };
    let encoder = Encoder::new(tokenizer, truncation);
    let mut report = TokenizeReport::default();
    let mut encoded = Vec::new();
    for (record, line) in rows.records.iter().zip(&rows.lines) {
        let prompt = encoder
            .prompt(record, &mut report)
            .with_context(|| format!("{}:{line}", prompts.display()))?;
        if let Some(p) = prompt {
            encoded.push((content_json(&record.prompt), p.prompt_ids));
        }
    }
    anyhow::ensure!(
        !encoded.is_empty(),
        "{}: no prompt to complete",
        prompts.display()
    );
    let mut config = GenerationConfig::new()
        .with_max_new_tokens(args.max_new_tokens)
        .with_do_sample(args.do_sample)
        .with_temperature(args.temperature)
        .with_top_k(args.top_k)
        .with_top_p(args.top_p)
        .with_seed(args.seed);
    if model.config().eos_token_ids.is_empty() {
        config = config.with_eos_token_ids(Some(tokenizer.stop_token_ids().to_vec()));
    }
    if let Some(pad) = tokenizer.pad().or_else(|| tokenizer.eos()) {
        config = config.with_pad_token_id(Some(pad.id));
    }
    let mut out = Vec::with_capacity(encoded.len());
    for (i, chunk) in encoded.chunks(args.batch_size).enumerate() {
        let ids: Vec<Vec<u32>> = chunk.iter().map(|(_, ids)| ids.clone()).collect();
        // A distinct stream per batch, reproducible for a given --seed.
        let batch_config = config.clone().with_seed(args.seed.wrapping_add(i as u64));
        let generated = model.generate(&ids, &batch_config)?;
        for (((prompt, prompt_ids), tokens), finished) in
            chunk.iter().zip(generated.tokens).zip(generated.finished)
        {
            let text = tokenizer.decode(&tokens, true)?;
            out.push(Completion {
                prompt: prompt.clone(),
                prompt_ids: prompt_ids.clone(),
                tokens,
                text,
                finished,
            });
        }
    }
    Ok(out)
}

/// Writes `text` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write `{}`", path.display()))
}

/// Runs `prefopt generate` and returns the completions it wrote.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &GenerateArgs) -> anyhow::Result<Vec<Completion>> {
    let device = args.device.device()?;
    let tokenizer = load_tokenizer(&args.model, args.tokenizer.as_deref())?;
    let model = CausalLm::load_hf(&args.model, &device)
        .with_context(|| format!("cannot load the model `{}`", args.model.display()))?;
    model.check_vocab(tokenizer.vocab_size())?;
    let completions = complete(&model, &tokenizer, &args.prompts, &args.generation)?;
    let mut text = String::new();
    for c in &completions {
        let line = serde_json::json!({
            "prompt": c.prompt,
            "completion": c.text,
            "num_tokens": c.tokens.len(),
            "finished": c.finished,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    write_atomic(&args.output, &text)?;
    println!(
        "wrote {} completion(s) to {}",
        completions.len(),
        args.output.display()
    );
    Ok(completions)
}
