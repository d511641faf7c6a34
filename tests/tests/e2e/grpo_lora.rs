//! `prefopt grpo` with `[lora]`: adapters train on the frozen tiny model (checkpoints hold the
//! PEFT adapter, the output is the adapter and, with `merge`, the merged model), `--resume`
//! under LoRA repeats an uninterrupted run, QLoRA on the quantized GGUF fixture
//! (`model.keep_quantized`), and the refusal of `keep_quantized` without `[lora]`.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_models::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, BaseLinear, CONFIG_FILE, CausalLm, LoadOptions,
    SAFETENSORS_FILE,
};

use crate::fixture::Setup;
use crate::grpo::{grpo_config, run, run_args};
use crate::prefopt;
use crate::qlora::{gguf, logits, word_tokenizer};

/// A reward that varies within every group of the random models' completions.
const REWARD: &str = "[[grpo.rewards]]\nname = \"toy_h_fraction\"\n";

fn lora_table(targets: &str, merge: bool) -> String {
    format!("[lora]\nr = 4\nlora_alpha = 8\ntarget_modules = {targets}\nmerge = {merge}\n")
}

/// [`grpo_config`] with a `[lora]` table on `q_proj` and `v_proj`.
fn lora_config(s: &Setup, extra_model: &str, merge: bool) -> PathBuf {
    let lora = lora_table(r#"["q_proj", "v_proj"]"#, merge);
    grpo_config(s, extra_model, &format!("{REWARD}\n{lora}"))
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Every weight of an f32 model by its HF name.
fn weights(m: &CausalLm) -> Vec<(String, Vec<f32>)> {
    let dense = |l: &BaseLinear| values(l.dense().expect("an f32 layer").weight.val());
    let mut out = vec![
        (
            "embed_tokens".to_owned(),
            values(m.model.embed_tokens.dense().unwrap().weight.val()),
        ),
        ("norm".to_owned(), values(m.model.norm.gamma.val())),
    ];
    if let Some(head) = &m.lm_head {
        out.push(("lm_head".to_owned(), dense(head)));
    }
    for (i, layer) in m.model.layers.iter().enumerate() {
        let names = [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ];
        for (name, l) in names.into_iter().zip(layer.projections()) {
            out.push((format!("layers.{i}.{name}"), dense(l)));
        }
        out.push((
            format!("layers.{i}.input_layernorm"),
            values(layer.input_layernorm.gamma.val()),
        ));
        out.push((
            format!("layers.{i}.post_attention_layernorm"),
            values(layer.post_attention_layernorm.gamma.val()),
        ));
    }
    out
}

fn base_model_name(adapter_dir: &Path) -> String {
    let text = std::fs::read_to_string(adapter_dir.join(ADAPTER_CONFIG_FILE)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["base_model_name_or_path"].as_str().unwrap().to_owned()
}

/// The checkpoint holds the adapter, the optimizer and trainer state and the tokenizer: no
/// model weights.
fn assert_adapter_checkpoint(dir: &Path) {
    for file in [
        ADAPTER_CONFIG_FILE,
        ADAPTER_WEIGHTS_FILE,
        prefopt_train::OPTIMIZER_FILE,
        prefopt_train::TRAINER_STATE_FILE,
        "tokenizer.json",
    ] {
        assert!(
            dir.join(file).is_file(),
            "{file} missing in {}",
            dir.display()
        );
    }
    assert!(!dir.join(SAFETENSORS_FILE).exists(), "{}", dir.display());
    assert!(!dir.join(CONFIG_FILE).exists(), "{}", dir.display());
}

fn generate(s: &Setup, model: &Path, extra: &[&str]) {
    let output = s.path("generated.jsonl");
    let mut args = vec![
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--max-new-tokens",
        "3",
    ];
    args.extend_from_slice(extra);
    prefopt(&args).unwrap_or_else(|e| panic!("generate from {}: {e:#}", model.display()));
    let n = std::fs::read_to_string(&output).unwrap().lines().count();
    assert!(n > 0, "no completion from {}", model.display());
}

#[test]
fn grpo_with_lora_trains_only_the_adapters_and_merges() {
    let s = Setup::new();
    let config = lora_config(&s, "", true);
    let report = run(&config, &["grpo.loss.beta=0.1", "grpo.save_steps=2"])
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(report.rewards.len(), 3);
    let out = report.output_dir;
    let metrics = prefopt_train::read_metrics(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.len(), 3);
    assert!(
        metrics
            .iter()
            .all(|r| r.get("kl").is_some_and(f64::is_finite))
    );

    assert_adapter_checkpoint(&out.join("checkpoint-2"));
    // merge = true: the merged model in output_dir, the adapter (PEFT layout) in adapter/.
    let adapter_dir = out.join("adapter");
    for file in [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, "tokenizer.json"] {
        assert!(adapter_dir.join(file).is_file(), "adapter/{file}");
    }
    for file in [CONFIG_FILE, SAFETENSORS_FILE, "tokenizer.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(!out.join(ADAPTER_CONFIG_FILE).exists());
    assert_eq!(base_model_name(&adapter_dir), s.model.to_str().unwrap());

    let device = Device::flex();
    let base = CausalLm::load(&s.model, &device).unwrap();
    // The adapter directory loads on its own: the base it names, then the adapter.
    let trained = CausalLm::load(&adapter_dir, &device).unwrap();
    assert_eq!(trained.lora_config().map(|c| c.r), Some(4));
    let b = values(
        trained.model.layers[0]
            .self_attn
            .q_proj_lora
            .as_ref()
            .unwrap()
            .lora_b
            .val(),
    );
    assert!(b.iter().any(|v| *v != 0.0), "the adapters did not train");
    // The merged model was built from the trained policy's base: every weight without an
    // adapter is the base's bit for bit (the optimizer never touched one), the adapted ones
    // moved.
    let merged = CausalLm::load(&out, &device).unwrap();
    let (base_w, merged_w) = (weights(&base), weights(&merged));
    assert_eq!(base_w.len(), merged_w.len());
    for ((name, a), (_, b)) in base_w.iter().zip(&merged_w) {
        if name.ends_with("q_proj") || name.ends_with("v_proj") {
            assert_ne!(a, b, "{name}: the adapter did not reach it");
        } else {
            assert_eq!(a, b, "{name} changed");
        }
    }
    // The adapter on its base and the merged model are the same model.
    let (a, m) = (logits(&trained), logits(&merged));
    let worst = a
        .iter()
        .zip(&m)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "adapter vs merged logits: {worst}");

    let prompts = s.path("prompts.jsonl");
    let prompts = ["--prompts", prompts.to_str().unwrap()];
    generate(&s, &adapter_dir, &prompts);
    generate(&s, &out.join("checkpoint-2"), &prompts);
}

/// `(step, line)` of every line of `dir/metrics.jsonl`.
fn lines(dir: &Path) -> Vec<(u64, serde_json::Value)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["step"].as_u64().unwrap(), v))
        .collect()
}

/// A LoRA run stopped after step 3 (its last checkpoint at step 2) and resumed to step 5 logs
/// what an uninterrupted 5-step run logs and ends with the same adapter bytes.
#[test]
fn grpo_with_lora_resumes_exactly() {
    let s = Setup::new();
    let config = lora_config(&s, "", false);
    let (straight, split) = (s.path("straight"), s.path("split"));
    let sets = |out: &Path, steps: u64| {
        vec![
            "grpo.loss.beta=0.1".to_owned(),
            "grpo.save_steps=2".to_owned(),
            // a decaying schedule would differ between a 3-step and a 5-step run
            "grpo.lr_scheduler_type=\"constant\"".to_owned(),
            format!("grpo.max_steps={steps}"),
            format!("model.output_dir={}", out.display()),
        ]
    };
    let with_sets = |sets: &[String], resume: bool| {
        let mut args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s.as_str()]).collect();
        if resume {
            args.push("--resume");
        }
        run_args(&config, &args).unwrap_or_else(|e| panic!("{e:#}"))
    };
    with_sets(&sets(&straight, 5), false);
    with_sets(&sets(&split, 3), false);
    assert_eq!(lines(&split).len(), 3);
    let report = with_sets(&sets(&split, 5), true);
    assert_eq!(
        report.resumed_from.as_deref(),
        Some(split.join("checkpoint-2").as_path())
    );
    assert_eq!(report.rewards.len(), 3, "steps 3 to 5 again");

    let (a, b) = (lines(&straight), lines(&split));
    assert_eq!(
        b.iter().map(|l| l.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "the line of step 3 logged after the checkpoint was dropped"
    );
    for ((step, x), (_, y)) in a.iter().zip(&b) {
        for key in ["loss", "grad_norm", "reward", "kl"] {
            let (x, y) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6, "step {step} {key}: {x} vs {y}");
        }
    }
    // merge = false: output_dir is the adapter (no model weights), byte for byte the same.
    for file in [ADAPTER_WEIGHTS_FILE, ADAPTER_CONFIG_FILE] {
        assert_eq!(
            std::fs::read(straight.join(file)).unwrap(),
            std::fs::read(split.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(!split.join(SAFETENSORS_FILE).exists());
    assert_adapter_checkpoint(&split.join("checkpoint-4"));
}

/// Prompts in the word tokenizer's vocabulary.
const GGUF_PROMPTS: &str = r#"{"prompt": "SKY IS"}
{"prompt": "FIRE IS"}
{"prompt": "CATS SAY"}
{"prompt": "ICE IS"}
"#;

/// QLoRA GRPO: adapters on every projection of the quantized GGUF fixture kept in its block
/// format; the adapter names the `.gguf` file as its base and decodes on it kept quantized; a
/// resume that would change `keep_quantized` is refused.
#[test]
fn grpo_with_lora_on_a_base_kept_quantized() {
    let s = Setup::new();
    // The prompts' words and forty words with one `h` each, so the reward varies.
    let words: Vec<String> = (0..40).map(|i| format!("h{i}")).collect();
    let tokenizer = word_tokenizer(
        &s.path("tokenizer"),
        &format!("{GGUF_PROMPTS} {}", words.join(" ")),
    );
    let prompts = s.file("gguf_prompts.jsonl", GGUF_PROMPTS);
    let lora = lora_table(
        r#"["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]"#,
        false,
    );
    let config = grpo_config(
        &s,
        &format!(
            "tokenizer = \"{}\"\nkeep_quantized = true",
            tokenizer.display()
        ),
        &format!("{REWARD}\n{lora}"),
    );
    let sets = |more: &[&str]| {
        let mut sets = vec![
            format!("model.path={}", gguf().display()),
            format!("data.prompts={}", prompts.display()),
            "grpo.save_steps=1".to_owned(),
            "grpo.loss.beta=0.1".to_owned(),
        ];
        sets.extend(more.iter().map(|s| s.to_string()));
        sets
    };
    let first = sets(&["grpo.max_steps=2"]);
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let report = run(&config, &first).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(report.rewards.len(), 2);
    let out = report.output_dir;
    assert_adapter_checkpoint(&out.join("checkpoint-1"));
    assert_eq!(base_model_name(&out), gguf().to_str().unwrap());
    assert!(!out.join(SAFETENSORS_FILE).exists());

    // The adapter on the base kept quantized: trained (its logits left the base's).
    let device = Device::flex();
    let trained = CausalLm::load_with(&out, &device, &LoadOptions::quantized()).unwrap();
    let base = CausalLm::load_with(gguf(), &device, &LoadOptions::quantized()).unwrap();
    assert!(trained.is_quantized() && trained.lora_config().is_some());
    assert_ne!(logits(&trained), logits(&base), "training changed nothing");
    generate(
        &s,
        &out,
        &[
            "--prompts",
            prompts.to_str().unwrap(),
            "--tokenizer",
            tokenizer.to_str().unwrap(),
            "--keep-quantized",
        ],
    );

    // The quantized base shapes the trajectory: resuming it dequantized is refused.
    let resume = sets(&["grpo.max_steps=3", "model.keep_quantized=false"]);
    let mut args: Vec<&str> = resume.iter().flat_map(|s| ["--set", s.as_str()]).collect();
    args.push("--resume");
    let err = format!("{:#}", run_args(&config, &args).unwrap_err());
    assert!(err.contains("config hash mismatch"), "{err}");
}

/// `model.keep_quantized` without `[lora]` is refused before anything is loaded (here the
/// model does not even exist) or written; with `[lora]` the same file passes that check.
#[test]
fn grpo_keep_quantized_without_lora_is_refused() {
    let s = Setup::new();
    let missing = s.path("no-such-model.gguf");
    let path = format!("model.path={}", missing.display());
    let config = grpo_config(&s, "keep_quantized = true", REWARD);
    let err = format!("{:#}", run(&config, &[&path]).unwrap_err());
    assert!(
        err.contains("model.keep_quantized") && err.contains("[lora]"),
        "{err}"
    );
    assert!(!s.path("grpo-out").exists(), "nothing is written");

    let config = lora_config(&s, "keep_quantized = true", false);
    let err = format!("{:#}", run(&config, &[&path]).unwrap_err());
    assert!(
        !err.contains("keep_quantized") && err.contains("no-such-model.gguf"),
        "{err}"
    );
}
