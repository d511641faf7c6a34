//! `prefopt convert`: a GGUF file → a Hugging Face checkpoint directory.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_data::GgufTokenizerFiles;
use prefopt_models::CausalLm;

use crate::device::DeviceChoice;

/// Arguments of `prefopt convert`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertArgs {
    /// The GGUF file (`general.architecture` = llama; any of the dequantizable tensor types).
    #[arg(long)]
    pub model: PathBuf,
    /// The checkpoint directory to write: config.json, model.safetensors (f32),
    /// tokenizer.json and tokenizer_config.json (with the chat template).
    #[arg(long)]
    pub output: PathBuf,
}

/// Runs `prefopt convert`: the model through the HF checkpoint writer, the tokenizer files
/// from the GGUF metadata (every file written atomically).
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    let device = DeviceChoice::Cpu.device()?;
    let model = CausalLm::load_gguf(&args.model, &device)
        .with_context(|| format!("cannot load `{}`", args.model.display()))?;
    let tokenizer = GgufTokenizerFiles::from_path(&args.model)
        .with_context(|| format!("cannot build the tokenizer of `{}`", args.model.display()))?;
    model.save_hf(&args.output)?;
    tokenizer.write(&args.output)?;
    let c = model.config();
    println!(
        "wrote {}: {} layers, hidden {}, {} query / {} KV heads, vocabulary {}{}",
        args.output.display(),
        c.num_hidden_layers,
        c.hidden_size,
        c.num_attention_heads,
        c.num_key_value_heads,
        c.vocab_size,
        if c.tie_word_embeddings {
            ", tied embeddings"
        } else {
            ""
        }
    );
    Ok(())
}
