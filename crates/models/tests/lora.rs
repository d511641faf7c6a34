//! LoRA adapters against transformers + PEFT (`tests/fixtures/make_lora.py`): a PEFT adapter
//! loaded here gives PEFT's logits, adapters off give the base's, merging gives PEFT's
//! `merge_and_unload`, and an adapter saved here is the file PEFT wrote.

use std::path::Path;

use burn::prelude::*;
use prefopt_models::{
    ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, CausalLm, LlamaConfig, LoraConfig,
};
use prefopt_testkit::{Tolerance, assert_all_close};
use safetensors::SafeTensors;

use crate::fixtures::{RefTensor, device, dir, reference, to_vec};

fn base() -> CausalLm {
    CausalLm::load_hf(dir("lora/base"), &device()).unwrap()
}

fn peft_model() -> CausalLm {
    base().load_peft_adapter(dir("lora/adapter")).unwrap()
}

/// Logits at the real (unpadded) positions only.
fn real_logits(model: &CausalLm, r: &std::collections::HashMap<String, RefTensor>) -> Vec<f64> {
    let logits = model
        .forward(
            r["input_ids"].int_tensor(),
            Some(r["attention_mask"].int_tensor()),
        )
        .unwrap();
    keep_real(
        &to_vec(logits)
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
        r,
    )
}

fn keep_real(values: &[f64], r: &std::collections::HashMap<String, RefTensor>) -> Vec<f64> {
    let mask = r["attention_mask"].ints();
    let vocab = values.len() / mask.len();
    mask.iter()
        .enumerate()
        .filter(|(_, m)| **m != 0)
        .flat_map(|(i, _)| values[i * vocab..(i + 1) * vocab].to_vec())
        .collect()
}

#[test]
fn peft_adapter_gives_peft_logits() {
    let r = reference("lora");
    let model = peft_model();
    let config = model.lora_config().unwrap();
    assert_eq!((config.r, config.lora_alpha), (4, 8.0));
    assert_eq!(config.target_modules.len(), 8);
    let want = keep_real(&r["logits_adapter"].values, &r);
    let got = real_logits(&model, &r);
    assert_all_close("PEFT adapter logits", &got, &want, Tolerance::abs(1e-4));
    // The adapter matters: the base is far from it.
    let plain = keep_real(&r["logits_base"].values, &r);
    let gap = want
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        gap > 1e-2,
        "the fixture adapter barely changes the logits ({gap})"
    );
}

#[test]
fn adapters_off_give_the_base_logits() {
    let r = reference("lora");
    let want = keep_real(&r["logits_base"].values, &r);
    let off = peft_model().without_adapters();
    assert!(off.lora_config().is_none());
    assert_all_close(
        "adapters off",
        &real_logits(&off, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    assert_all_close(
        "base",
        &real_logits(&base(), &r),
        &want,
        Tolerance::abs(1e-4),
    );
}

#[test]
fn merged_checkpoint_gives_merge_and_unload_logits() {
    let r = reference("lora");
    let want = keep_real(&r["logits_merged"].values, &r);
    let merged = peft_model().merge_adapters().unwrap();
    assert!(merged.lora_config().is_none());
    assert_all_close(
        "merged",
        &real_logits(&merged, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    let tmp = tempfile::tempdir().unwrap();
    merged.save_hf(tmp.path()).unwrap();
    let reloaded = CausalLm::load_hf(tmp.path(), &device()).unwrap();
    assert_all_close(
        "merged, saved and reloaded",
        &real_logits(&reloaded, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    // Merged logits equal the adapter's (PEFT's own fixture says the same).
    let adapter = keep_real(&r["logits_adapter"].values, &r);
    assert_all_close("merged vs adapter", &want, &adapter, Tolerance::abs(1e-4));
}

fn json(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn saved_adapter_is_the_file_peft_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    peft_model()
        .save_peft_adapter(tmp.path(), "some/base")
        .unwrap();
    let ours = std::fs::read(tmp.path().join(ADAPTER_WEIGHTS_FILE)).unwrap();
    let theirs = std::fs::read(dir("lora/adapter").join(ADAPTER_WEIGHTS_FILE)).unwrap();
    let (a, b) = (
        SafeTensors::deserialize(&ours).unwrap(),
        SafeTensors::deserialize(&theirs).unwrap(),
    );
    let mut names_a = a.names();
    let mut names_b = b.names();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b);
    assert!(names_a.contains(&"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    for name in names_b {
        let (x, y) = (a.tensor(name).unwrap(), b.tensor(name).unwrap());
        assert_eq!(x.shape(), y.shape(), "{name}");
        assert_eq!(x.dtype(), y.dtype(), "{name}");
        assert_eq!(x.data(), y.data(), "{name}: bytes differ");
    }
    assert_eq!(ours, theirs, "the whole file, header included, is PEFT's");

    let (mut mine, mut peft) = (
        json(&tmp.path().join(ADAPTER_CONFIG_FILE)),
        json(&dir("lora/adapter").join(ADAPTER_CONFIG_FILE)),
    );
    assert_eq!(mine["base_model_name_or_path"], "some/base");
    let sorted = |v: serde_json::Value| {
        let mut m: Vec<String> = serde_json::from_value(v).unwrap();
        m.sort();
        m
    };
    assert_eq!(
        sorted(mine.remove("target_modules").unwrap()),
        sorted(peft.remove("target_modules").unwrap())
    );
    mine.remove("base_model_name_or_path");
    peft.remove("base_model_name_or_path");
    assert_eq!(
        mine, peft,
        "every other adapter_config.json field equals PEFT's"
    );

    // And it loads back to the same model.
    let r = reference("lora");
    let back = base().load_peft_adapter(tmp.path()).unwrap();
    let want = keep_real(&r["logits_adapter"].values, &r);
    assert_all_close(
        "reloaded adapter",
        &real_logits(&back, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    // On its own: the base named by `base_model_name_or_path`.
    let e = CausalLm::load_peft(tmp.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(e.contains("base_model_name_or_path"), "{e}");
    let named = tempfile::tempdir().unwrap();
    let base_dir = dir("lora/base");
    peft_model()
        .save_peft_adapter(named.path(), base_dir.to_str().unwrap())
        .unwrap();
    let alone = CausalLm::load_peft(named.path(), &device()).unwrap();
    assert_all_close(
        "load_peft",
        &real_logits(&alone, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    // `CausalLm::load` (what every command calls) takes an adapter directory too.
    let any = CausalLm::load(named.path(), &device()).unwrap();
    assert_all_close(
        "load of an adapter directory",
        &real_logits(&any, &r),
        &want,
        Tolerance::abs(1e-4),
    );
}

fn small_config() -> LoraConfig {
    LoraConfig {
        r: 2,
        lora_alpha: 4.0,
        target_modules: vec!["q_proj".into(), "down_proj".into(), "lm_head".into()],
        ..LoraConfig::default()
    }
}

#[test]
fn fresh_adapters_start_at_the_base_and_only_they_get_gradients() {
    let r = reference("lora");
    let device = device().autodiff();
    let model = CausalLm::load_hf(dir("lora/base"), &device)
        .unwrap()
        .with_lora(&small_config(), 3)
        .unwrap();
    let valid = model.valid();
    let want = keep_real(&r["logits_base"].values, &r);
    assert_all_close(
        "B = 0 start",
        &real_logits(&valid, &r),
        &want,
        Tolerance::abs(1e-4),
    );
    let attn = &model.model.layers[0].self_attn;
    let a = to_vec(attn.q_proj_lora.as_ref().unwrap().lora_a.val());
    let bound = 1.0 / (32f32).sqrt();
    assert!(a.iter().all(|v| v.abs() <= bound) && a.iter().any(|v| *v != 0.0));
    assert!(attn.k_proj_lora.is_none());

    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![5i64, 6, 7, 8], [1, 4]), &device);
    let loss = model.forward(ids, None).unwrap().sum();
    let grads = loss.backward();
    let adapter = attn.q_proj_lora.as_ref().unwrap();
    assert!(
        adapter.lora_b.val().grad(&grads).is_some(),
        "adapter B gets a gradient"
    );
    assert!(
        attn.q_proj
            .dense()
            .unwrap()
            .weight
            .val()
            .grad(&grads)
            .is_none(),
        "base q_proj is frozen"
    );
    assert!(
        model
            .model
            .embed_tokens
            .dense()
            .unwrap()
            .weight
            .val()
            .grad(&grads)
            .is_none()
    );
    assert!(
        model
            .lm_head
            .as_ref()
            .and_then(|h| h.dense())
            .unwrap()
            .weight
            .val()
            .grad(&grads)
            .is_none()
    );
}

fn patched_adapter(
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = json(&dir("lora/adapter").join(ADAPTER_CONFIG_FILE));
    edit(&mut config);
    std::fs::write(
        tmp.path().join(ADAPTER_CONFIG_FILE),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        dir("lora/adapter").join(ADAPTER_WEIGHTS_FILE),
        tmp.path().join(ADAPTER_WEIGHTS_FILE),
    )
    .unwrap();
    tmp
}

#[test]
fn bad_adapters_are_named() {
    let err = |tmp: &tempfile::TempDir| {
        base()
            .load_peft_adapter(tmp.path())
            .unwrap_err()
            .to_string()
    };
    let e = err(&patched_adapter(|c| {
        c.insert("use_dora".into(), true.into());
    }));
    assert!(
        e.contains("use_dora") && e.contains(ADAPTER_CONFIG_FILE),
        "{e}"
    );
    let e = err(&patched_adapter(|c| {
        c.insert("r".into(), 0.into());
    }));
    assert!(e.contains("lora.r"), "{e}");
    let e = err(&patched_adapter(|c| {
        c.insert(
            "target_modules".into(),
            serde_json::json!(["q_proj", "qkv_proj"]),
        );
    }));
    assert!(e.contains("qkv_proj"), "{e}");
    // Fewer targets than the file holds: the extra tensors are named.
    let e = err(&patched_adapter(|c| {
        c.insert("target_modules".into(), serde_json::json!(["q_proj"]));
    }));
    assert!(
        e.contains("lora_A.weight") || e.contains("lora_B.weight"),
        "{e}"
    );
    // A rank the tensors do not have.
    let e = err(&patched_adapter(|c| {
        c.insert("r".into(), 8.into());
    }));
    assert!(e.contains("lora_A.weight") && e.contains("shape"), "{e}");
    // lm_head on a model with tied embeddings.
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir("lora/base/config.json")).unwrap())
            .unwrap();
    raw["tie_word_embeddings"] = true.into();
    let tied = LlamaConfig::from_hf_str(&raw.to_string(), "<tied>").unwrap();
    let e = CausalLm::init_random(tied, 1, &device())
        .unwrap()
        .with_lora(&small_config(), 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("lm_head") && e.contains("tie"), "{e}");
}
