//! `prefopt generate`: prompts JSONL → completions JSONL with a checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Context;
use prefopt_data::Tokenizer;
use prefopt_models::{
    BatchSeeds, BatchedGenerationConfig, CausalLm, GenerationConfig, LoadOptions,
};
pub use prefopt_train::Completion;
use prefopt_train::{CompletionOptions, complete_prompts, write_completions};

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
    /// HF checkpoint directory (a `checkpoint-N/` or a final `output_dir`), a PEFT adapter
    /// directory, or a `.gguf` file.
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
    /// Keep a `.gguf` model's quantized weights quantized (CPU): decoding runs llama.cpp-style
    /// integer kernels and the model holds no f32 copy of them.
    #[arg(long)]
    pub keep_quantized: bool,
    /// Sampling options.
    #[command(flatten)]
    pub generation: GenerationArgs,
}

impl GenerationArgs {
    /// The library options these arguments select.
    pub fn options(&self) -> CompletionOptions {
        let generation = GenerationConfig::new()
            .with_max_new_tokens(self.max_new_tokens)
            .with_do_sample(self.do_sample)
            .with_temperature(self.temperature)
            .with_top_k(self.top_k)
            .with_top_p(self.top_p)
            .with_seed(self.seed);
        CompletionOptions {
            // A distinct stream per batch (`--seed` + batch index), reproducible for a seed.
            generation: BatchedGenerationConfig::new(generation)
                .with_batch_size(self.batch_size)
                .with_seeds(BatchSeeds::Offset),
            max_prompt_length: self.max_prompt_length,
            skip_bad_rows: self.skip_bad_rows,
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
    Ok(complete_prompts(
        model,
        tokenizer,
        prompts,
        &args.options(),
    )?)
}

/// Runs `prefopt generate` and returns the completions it wrote.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &GenerateArgs) -> anyhow::Result<Vec<Completion>> {
    let device = args.device.device()?;
    let tokenizer = load_tokenizer(&args.model, args.tokenizer.as_deref())?;
    let options = LoadOptions {
        keep_quantized: args.keep_quantized,
    };
    let model = CausalLm::load_with(&args.model, &device, &options)
        .with_context(|| format!("cannot load the model `{}`", args.model.display()))?;
    model.check_vocab(tokenizer.vocab_size())?;
    let completions = complete(&model, &tokenizer, &args.prompts, &args.generation)?;
    write_completions(&args.output, &completions)?;
    println!(
        "wrote {} completion(s) to {}",
        completions.len(),
        args.output.display()
    );
    Ok(completions)
}
