//! Integration tests of prefopt-train on toy burn modules.

mod common;

mod accumulation;
mod adamw_reference;
mod checkpoint_resume;
mod clip_reference;
mod gguf_tokenizer;
mod lora;
mod metrics_log;
mod plot_png;
mod schedule_reference;
