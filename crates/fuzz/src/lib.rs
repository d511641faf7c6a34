#![doc = include_str!("../README.md")]

mod chat_reply;
mod chat_template;
mod gguf;
mod jsonl;
mod judge_answer;
mod mutate;
mod run_config;
mod safetensors;
mod scratch;
mod serve_request;
mod target;
mod text_to_image;
mod unigenbench;

pub use chat_reply::chat_reply;
pub use chat_template::chat_template;
pub use gguf::{gguf, gguf_seed};
pub use jsonl::{
    jsonl_amazon, jsonl_lamp, jsonl_preference, jsonl_prompts, jsonl_ranked, jsonl_sft,
};
pub use judge_answer::{bench_answer, llm_judge_answer};
pub use mutate::mutate;
pub use run_config::{grpo_config, run_config};
pub use safetensors::{TINY_LLAMA_CONFIG, safetensors};
pub use serve_request::serve_request;
pub use target::{TARGETS, Target, target};
pub use text_to_image::{flux_config, shapes_caption, t2i_config, t2i_grpo_config};
pub use unigenbench::{unigenbench_suite, unigenbench_verdicts};
