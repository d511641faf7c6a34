//! LoRA runs of the trainer on a tiny random Llama: only the adapters train (the base stays
//! bit for bit), the DPO reference is the base with the adapters off (step-1 loss = ln 2),
//! checkpoints hold the adapter and resume exactly, and the merged checkpoint is base + B A.
//!
//! With `PREFOPT_LORA_VERIFY_DIR=DIR`, the DPO test also writes `DIR/base`, `DIR/adapter` and
//! `DIR/prefopt_logits.safetensors` for `crates/models/tests/fixtures/make_lora.py --verify DIR`
//! (transformers + PEFT on prefopt's adapter).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use prefopt_models::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, CausalLm, LlamaConfig, LoraConfig, SAFETENSORS_FILE,
};
use prefopt_train::{
    AdamWConfig, Method, OPTIMIZER_FILE, TrainOptions, TrainReport, load_run_config, train,
};

const PAIRS: &str = r#"{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}
{"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 5"}
{"prompt": "Grass is", "chosen": " green.", "rejected": " purple and loud."}
{"prompt": "Fire is", "chosen": " hot.", "rejected": " cold."}
{"prompt": "Ice is", "chosen": " cold.", "rejected": " hot, very hot."}
{"prompt": "The sun rises in the", "chosen": " east.", "rejected": " west."}
{"prompt": "Cats say", "chosen": " meow.", "rejected": " woof."}
{"prompt": "Water is", "chosen": " wet.", "rejected": " dry."}
"#;

const LISTS: &str = r#"{"prompt": "The sky is", "responses": [" blue.", " green.", " red."], "scores": [0.9, 0.1, 0.3]}
{"prompt": "Fire is", "responses": [" hot.", " cold.", " wet."], "scores": [1.0, 0.0, 0.2]}
{"prompt": "Cats say", "responses": [" meow.", " woof."], "scores": [0.8, 0.2]}
{"prompt": "Water is", "responses": [" wet.", " dry.", " loud."], "scores": [0.7, 0.1, 0.0]}
"#;

const SFT: &str = r#"{"prompt": "The capital of Italy is", "completion": " Rome."}
{"prompt": "The sky is", "completion": " blue."}
{"prompt": "Fire is", "completion": " hot."}
{"prompt": "Cats say", "completion": " meow."}
"#;

const TARGETS: &str =
    r#"["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"]"#;

fn tokenizer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/tests/fixtures/tiny_tokenizer")
}

fn tiny_config() -> LlamaConfig {
    LlamaConfig::from_hf_str(
        r#"{"model_type":"llama","vocab_size":288,"hidden_size":32,"intermediate_size":64,
        "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
        "max_position_embeddings":256,"rms_norm_eps":1e-6,"rope_theta":10000.0,
        "bos_token_id":1,"eos_token_id":2,"tie_word_embeddings":false,"torch_dtype":"float32"}"#,
        "<tiny>",
    )
    .unwrap()
}

/// A seeded random tiny Llama with the data crate's tokenizer files, in `dir`.
fn tiny_model(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    CausalLm::init_random(tiny_config(), 7, &Device::flex())
        .unwrap()
        .save_hf(dir)
        .unwrap();
    for name in [
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        let src = tokenizer_dir().join(name);
        if src.is_file() {
            std::fs::copy(src, dir.join(name)).unwrap();
        }
    }
    dir.to_path_buf()
}

struct Run {
    _tmp: tempfile::TempDir,
    model: PathBuf,
    root: PathBuf,
}

impl Run {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let model = tiny_model(&root.join("base"));
        Self {
            _tmp: tmp,
            model,
            root,
        }
    }

    /// Trains `method` on `data` with the given `[training]` lines and extra tables.
    fn train(
        &self,
        name: &str,
        method: Method,
        data: &str,
        training: &str,
        tail: &str,
        resume: bool,
    ) -> (PathBuf, TrainReport) {
        let data_file = self.root.join(format!("{name}.jsonl"));
        std::fs::write(&data_file, data).unwrap();
        let out = self.root.join(name);
        let config_file = self.root.join(format!("{name}.toml"));
        std::fs::write(
            &config_file,
            format!(
                "[model]\npath = {:?}\n[data]\ntrain = {:?}\n[training]\noutput_dir = {:?}\nlogging_steps = 1\nweight_decay = 0.01\n{training}\n{tail}\n",
                self.model, data_file, out
            ),
        )
        .unwrap();
        let config = load_run_config(&config_file, &[]).unwrap();
        let options = TrainOptions {
            resume,
            progress: false,
            no_plots: true,
        };
        let report = train(config.init(method).unwrap(), &Device::flex(), &options).unwrap();
        (out, report)
    }
}

/// `lora_B` of layer 0's `q_proj`, burn layout.
fn first_q_lora_b(model: &CausalLm) -> Vec<f32> {
    let adapter = model.model.layers[0].self_attn.q_proj_lora.as_ref();
    values(adapter.expect("q_proj has an adapter").lora_b.val())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Every tensor of a safetensors file, as raw bytes.
fn tensors(path: &Path) -> HashMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, v.data().to_vec()))
        .collect()
}

fn lora_table(merge: bool) -> String {
    format!("[lora]\nr = 4\nlora_alpha = 8\ntarget_modules = {TARGETS}\nmerge = {merge}")
}

#[test]
fn dpo_with_lora_trains_only_the_adapter_and_merges() {
    let run = Run::new();
    let (out, report) = run.train(
        "dpo",
        Method::Dpo,
        PAIRS,
        "max_steps = 8\nper_device_train_batch_size = 8\nlearning_rate = 0.01\nsave_steps = 4",
        &format!("[dpo]\nbeta = 0.1\n{}", lora_table(true)),
        false,
    );
    let losses: Vec<f64> = report.losses.iter().map(|l| l.1).collect();
    // The reference is the base with the adapters off and B starts at 0: margin 0, ln 2.
    assert!(
        (losses[0] - std::f64::consts::LN_2).abs() < 1e-6,
        "{losses:?}"
    );
    assert!(
        losses[7] < losses[0] - 0.05,
        "DPO with LoRA does not learn: {losses:?}"
    );

    // Checkpoints hold the adapter and the optimizer state, not the model.
    let ckpt = out.join("checkpoint-4");
    assert!(ckpt.join(ADAPTER_WEIGHTS_FILE).is_file());
    assert!(ckpt.join(ADAPTER_CONFIG_FILE).is_file());
    assert!(ckpt.join(OPTIMIZER_FILE).is_file());
    assert!(!ckpt.join(SAFETENSORS_FILE).exists());
    // merge = true: the full checkpoint in output_dir, the adapter in output_dir/adapter.
    let adapter_dir = out.join("adapter");
    assert!(adapter_dir.join(ADAPTER_WEIGHTS_FILE).is_file());
    assert!(!out.join(ADAPTER_CONFIG_FILE).exists());
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(adapter_dir.join(ADAPTER_CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["base_model_name_or_path"],
        run.model.to_str().unwrap()
    );
    assert_eq!(
        (config["r"].as_u64(), config["lora_alpha"].as_u64()),
        (Some(4), Some(8))
    );

    // Base weights unchanged bit for bit: every tensor the adapters do not touch is the base's.
    let base = tensors(&run.model.join(SAFETENSORS_FILE));
    let merged = tensors(&out.join(SAFETENSORS_FILE));
    assert_eq!(base.len(), merged.len());
    let mut untouched = 0;
    for (name, bytes) in &base {
        if !(name.ends_with("_proj.weight") || name == "lm_head.weight") {
            assert_eq!(bytes, &merged[name], "{name} changed");
            untouched += 1;
        }
    }
    assert_eq!(untouched, 6, "embeddings, final norm, 2 × 2 layer norms");
    // The merged weights are exactly the base from disk + the saved adapter, merged.
    let device = Device::flex();
    let trained = CausalLm::load_hf(&run.model, &device)
        .unwrap()
        .load_peft_adapter(&adapter_dir)
        .unwrap();
    let b = first_q_lora_b(&trained);
    assert!(b.iter().any(|v| *v != 0.0), "adapter B did not train");
    let remerged_dir = run.root.join("remerged");
    trained
        .clone()
        .merge_adapters()
        .unwrap()
        .save_hf(&remerged_dir)
        .unwrap();
    let remerged = tensors(&remerged_dir.join(SAFETENSORS_FILE));
    for (name, bytes) in &merged {
        assert_eq!(
            &remerged[name], bytes,
            "{name}: merged checkpoint is not base + adapter"
        );
    }
    for name in ["model.layers.0.self_attn.q_proj.weight", "lm_head.weight"] {
        assert_ne!(
            base[name], merged[name],
            "{name}: the adapter did not reach it"
        );
    }

    // Adapter logits equal the merged checkpoint's.
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(vec![1i64, 40, 50, 60, 70, 80, 90, 2], [1, 8]),
        &device,
    );
    let adapter_logits = values(trained.forward(ids.clone(), None).unwrap());
    let merged_model = CausalLm::load_hf(&out, &device).unwrap();
    let merged_logits = values(merged_model.forward(ids.clone(), None).unwrap());
    let diff = adapter_logits
        .iter()
        .zip(&merged_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff <= 1e-4, "adapter vs merged logits differ by {diff}");

    if let Some(dir) = std::env::var_os("PREFOPT_LORA_VERIFY_DIR") {
        let dir = PathBuf::from(dir);
        CausalLm::load_hf(&run.model, &device)
            .unwrap()
            .save_hf(dir.join("base"))
            .unwrap();
        trained
            .save_peft_adapter(dir.join("adapter"), "base")
            .unwrap();
        let ids_bytes: Vec<u8> = [1i64, 40, 50, 60, 70, 80, 90, 2]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let logit_bytes: Vec<u8> = adapter_logits
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let views = vec![
            (
                "input_ids",
                safetensors::tensor::TensorView::new(
                    safetensors::Dtype::I64,
                    vec![1, 8],
                    &ids_bytes,
                )
                .unwrap(),
            ),
            (
                "logits",
                safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    vec![1, 8, 288],
                    &logit_bytes,
                )
                .unwrap(),
            ),
        ];
        safetensors::tensor::serialize_to_file(
            views,
            None,
            &dir.join("prefopt_logits.safetensors"),
        )
        .unwrap();
    }
}

#[test]
fn lora_resume_continues_exactly() {
    let run = Run::new();
    // A constant rate: a decaying schedule would differ between a 3-step and a 6-step run.
    let training = "per_device_train_batch_size = 4\nlearning_rate = 0.01\nsave_steps = 3\nlr_scheduler_type = \"constant\"";
    let tail = format!("[dpo]\nbeta = 0.1\n{}", lora_table(false));
    let (full, straight) = run.train(
        "straight",
        Method::Dpo,
        PAIRS,
        &format!("max_steps = 6\n{training}"),
        &tail,
        false,
    );
    run.train(
        "split",
        Method::Dpo,
        PAIRS,
        &format!("max_steps = 3\n{training}"),
        &tail,
        false,
    );
    let (split, resumed) = run.train(
        "split",
        Method::Dpo,
        PAIRS,
        &format!("max_steps = 6\n{training}"),
        &tail,
        true,
    );
    assert_eq!(resumed.losses, straight.losses[3..].to_vec());
    assert_eq!(
        tensors(&full.join(ADAPTER_WEIGHTS_FILE)),
        tensors(&split.join(ADAPTER_WEIGHTS_FILE))
    );
}

#[test]
fn sft_and_lipo_train_adapters() {
    let run = Run::new();
    let tail =
        "[lora]\nr = 2\nlora_alpha = 4\ntarget_modules = [\"q_proj\", \"v_proj\", \"down_proj\"]";
    let (out, sft) = run.train(
        "sft",
        Method::Sft,
        SFT,
        "max_steps = 8\nper_device_train_batch_size = 4\nlearning_rate = 0.005",
        tail,
        false,
    );
    assert!(sft.losses[7].1 < sft.losses[0].1, "{:?}", sft.losses);
    assert!(out.join(ADAPTER_WEIGHTS_FILE).is_file());
    assert!(!out.join(SAFETENSORS_FILE).exists());
    let (out, lipo) = run.train(
        "lipo",
        Method::Lipo,
        LISTS,
        "max_steps = 8\nper_device_train_batch_size = 4\nlearning_rate = 0.02",
        &format!("[reference]\nprecompute_ref_log_probs = false\n{tail}"),
        false,
    );
    // LiPO-λ ranks the lists by the policy's scores, all tied at step 1 (policy = reference),
    // so step 1's loss is not on the curve of the later steps: compare from step 2.
    assert!(lipo.losses[7].1 < lipo.losses[1].1, "{:?}", lipo.losses);
    let back = CausalLm::load_hf(&run.model, &Device::flex())
        .unwrap()
        .load_peft_adapter(&out)
        .unwrap();
    assert_eq!(back.lora_config().unwrap().r, 2);
}

#[test]
fn the_optimizer_holds_only_adapter_parameters() {
    let device = Device::flex().autodiff();
    let config = LoraConfig {
        r: 2,
        lora_alpha: 4.0,
        target_modules: vec!["q_proj".into(), "v_proj".into(), "lm_head".into()],
        ..LoraConfig::default()
    };
    let model = CausalLm::init_random(tiny_config(), 3, &device)
        .unwrap()
        .with_lora(&config, 5)
        .unwrap();
    let base_q = values(
        model.model.layers[0]
            .self_attn
            .q_proj
            .dense()
            .unwrap()
            .weight
            .val(),
    );
    let base_emb = values(model.model.embed_tokens.dense().unwrap().weight.val());
    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 9, 27, 81], [1, 4]), &device);
    // B = 0 gives A no gradient on the first step; a loss on the logits still reaches B.
    let loss = model.forward(ids, None).unwrap().powf_scalar(2.0).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    // 2 layers × (q, v) + lm_head, each with A and B.
    assert!(
        !grads.is_empty() && grads.len() <= 10,
        "{} gradients",
        grads.len()
    );
    let mut optimizer = AdamWConfig::new().with_weight_decay(0.1).init().unwrap();
    let model = optimizer.step(1e-2, model, grads);
    let record = format!("{:?}", optimizer.inner().to_record());
    // AdamW keeps two moments per parameter: 10 adapter tensors (the base has 21 more).
    let n: usize = record
        .split("num_tensors: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected record debug: {record}"));
    assert!(
        n > 0 && n <= 20,
        "optimizer state has {n} tensors: {record}"
    );
    // Weight decay would have moved any base tensor the optimizer saw.
    assert_eq!(
        values(
            model.model.layers[0]
                .self_attn
                .q_proj
                .dense()
                .unwrap()
                .weight
                .val()
        ),
        base_q
    );
    assert_eq!(
        values(model.model.embed_tokens.dense().unwrap().weight.val()),
        base_emb
    );
    let b = first_q_lora_b(&model);
    assert!(b.iter().any(|v| *v != 0.0), "adapter B did not move");
    let _ = model.valid();
}

/// Item metadata of the Amazon layout.
const META: &str = r#"{"asin": "A1", "title": "red kettle", "description": "a red kettle"}
{"asin": "A2", "title": "blue lamp", "description": "a blue lamp"}
{"asin": "A3", "title": "green bag", "description": "a green bag"}
"#;

/// Six users who each write "the X is nice" in their history and their target.
fn users() -> String {
    ["kettle", "lamp", "bag", "book", "cat", "sky"]
        .iter()
        .enumerate()
        .map(|(u, w)| {
            format!(
                r#"{{"user_id": "u{u}", "profile": [{{"asin": "A1", "rating": 5, "title": "good", "text": "the {w} is nice", "timestamp": 10}}, {{"asin": "A2", "rating": 4.0, "title": "fine", "text": "my {w} is fine", "timestamp": 20}}], "data": {{"asin": "A3", "rating": 5, "title": "great", "text": "the {w} is nice and fine"}}}}
"#
            )
        })
        .collect()
}

#[test]
fn nextquill_trains_adapters_and_evaluates_with_them() {
    let run = Run::new();
    let meta = run.root.join("meta.jsonl");
    std::fs::write(&meta, META).unwrap();
    let test = run.root.join("test.jsonl");
    std::fs::write(&test, users()).unwrap();
    let (out, report) = run.train(
        "nextquill",
        Method::NextQuill,
        &users(),
        "max_steps = 6\nper_device_train_batch_size = 3\nlearning_rate = 0.01",
        &format!(
            "[personalization]\nlayout = \"amazon\"\nmeta = {meta:?}\ntest = {test:?}\nmax_new_tokens = 4\n{}",
            lora_table(false)
        ),
        false,
    );
    assert_eq!(report.losses.len(), 6);
    assert!(report.losses.iter().all(|l| l.1.is_finite()));
    assert!(report.personal_eval.is_some());
    assert!(out.join(ADAPTER_WEIGHTS_FILE).is_file());
    assert!(!out.join(SAFETENSORS_FILE).exists());
}

#[test]
fn lora_table_errors_name_the_key() {
    let run = Run::new();
    let data = run.root.join("pairs.jsonl");
    std::fs::write(&data, PAIRS).unwrap();
    let check = |tail: &str, key: &str| {
        let file = run.root.join("bad.toml");
        std::fs::write(&file, format!("[data]\ntrain = {data:?}\n{tail}\n",)).unwrap();
        let set = format!("model.path={}", run.model.display());
        let e = match load_run_config(&file, &[set]) {
            Err(e) => e.to_string(),
            Ok(c) => c.init(Method::Dpo).unwrap_err().to_string(),
        };
        assert!(e.contains(key), "{tail}: {e}");
    };
    check("[lora]\nr = 0", "lora.r");
    check("[lora]\ntarget_modules = [\"qkv\"]", "lora.target_modules");
    check("[lora]\nbias = \"all\"", "lora.bias");
    check("[lora]\nlora_dropout = 1.5", "lora.lora_dropout");
    check("[lora]\nrank = 4", "rank");
    check(
        "[lora]\nr = 4\n[model]\nref_path = \"other\"",
        "model.ref_path",
    );
}
