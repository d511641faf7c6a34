//! The real-model alignment run: a pretrained checkpoint (SmolLM2-135M-Instruct as GGUF)
//! aligned on the CPU toward a preference a program checks — a correct, concise, direct
//! answer to short factual questions — with DPO and the LiPO family, LoRA and full
//! fine-tuning, evaluated on held-out questions by reward, win rate and KL to the base.
//! See `docs/real-models.md`.

pub mod config;
pub mod pipeline;
pub mod questions;
pub mod report;
pub mod reward;
