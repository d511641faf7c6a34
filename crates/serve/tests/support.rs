//! A tiny random Llama with the data crate's fixture tokenizer, and HTTP helpers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::prelude::Device;
use prefopt_core::{ChatClient, ChatClientConfig};
use prefopt_data::Tokenizer;
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_serve::{Engine, ServeConfig, ServerHandle};
use serde_json::{Value, json};

/// The data crate's tiny BPE tokenizer (with a ChatML-like chat template).
pub fn tokenizer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures/tiny_tokenizer")
}

/// The tiny model's config (`max_position_embeddings` 256).
pub const CONFIG: &str = r#"{"model_type":"llama","vocab_size":288,"hidden_size":32,
    "intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
    "max_position_embeddings":256,"rms_norm_eps":1e-6,"rope_theta":10000.0,
    "bos_token_id":1,"eos_token_id":2,"tie_word_embeddings":false}"#;

/// A seeded random tiny model with the fixture tokenizer.
pub fn engine(seed: u64) -> Engine {
    engine_with(CONFIG, seed)
}

/// The tiny model with a 4096-token context, for requests that run long.
pub fn long_context_engine() -> Engine {
    engine_with(
        &CONFIG.replace(
            "\"max_position_embeddings\":256",
            "\"max_position_embeddings\":4096",
        ),
        7,
    )
}

fn engine_with(config: &str, seed: u64) -> Engine {
    let config = LlamaConfig::from_hf_str(config, "<tiny>").unwrap();
    let model = CausalLm::init_random(config, seed, &Device::flex()).unwrap();
    let tokenizer = Tokenizer::from_dir(&tokenizer_dir()).unwrap();
    Engine::new(model, tokenizer).unwrap()
}

/// Starts a server for the tiny model on a free loopback port, after `adjust` on its config.
pub fn start(adjust: impl FnOnce(&mut ServeConfig)) -> ServerHandle {
    start_with(engine(7), adjust)
}

/// Starts a server for `engine` on a free loopback port, after `adjust` on its config.
pub fn start_with(engine: Engine, adjust: impl FnOnce(&mut ServeConfig)) -> ServerHandle {
    let mut config = ServeConfig::new("tiny");
    config.port = 0;
    adjust(&mut config);
    config.start(engine).unwrap()
}

/// A chat client for the server that does not retry.
pub fn client(server: &ServerHandle) -> ChatClient {
    let mut config = ChatClientConfig::new(server.base_url());
    config.max_attempts = 1;
    config.timeout = Duration::from_secs(120);
    config.init().unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// `POST path` with a raw body; the status and the JSON answer.
pub fn post_raw(server: &ServerHandle, path: &str, body: &[u8]) -> (u16, Value) {
    post_to(server.addr(), path, body)
}

/// `POST path` to `addr` with a raw body; the status and the JSON answer.
pub fn post_to(addr: SocketAddr, path: &str, body: &[u8]) -> (u16, Value) {
    let url = format!("http://{addr}{path}");
    let mut response = agent()
        .post(&url)
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `POST /v1/chat/completions` with a JSON body.
pub fn chat(server: &ServerHandle, body: &Value) -> (u16, Value) {
    post_raw(server, "/v1/chat/completions", body.to_string().as_bytes())
}

/// `method path` without a body.
pub fn call(server: &ServerHandle, method: &str, path: &str) -> (u16, Value) {
    let url = format!("http://{}{path}", server.addr());
    let agent = agent();
    let mut response = match method {
        "GET" => agent.get(&url).call(),
        "DELETE" => agent.delete(&url).call(),
        other => panic!("no helper for {other}"),
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A one-message conversation.
pub fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}
