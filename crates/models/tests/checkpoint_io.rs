//! Save/load round trips and bad checkpoints.

use std::path::Path;

use prefopt_models::{CausalLm, ModelError, SaveDtype};
use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

use crate::fixtures::{device, dir, reference, to_vec};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// (name, dtype, shape, bytes) of every tensor of a safetensors file, sorted by name.
fn tensors(path: &Path) -> Vec<(String, String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(k, t)| {
            (
                k,
                format!("{:?}", t.dtype()),
                t.shape().to_vec(),
                t.data().to_vec(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn save_reproduces_the_transformers_files_bit_for_bit() {
    // Same names, shapes, dtypes and bytes as save_pretrained wrote (f32, bf16, tied, untied).
    for name in ["qwen2", "qwen2-bf16", "smollm", "llama3"] {
        let model = CausalLm::load_hf(dir(name), &device()).unwrap();
        let out = tempfile::tempdir().unwrap();
        model.save_hf(out.path()).unwrap();
        let original = tensors(&dir(name).join("model.safetensors"));
        let saved = tensors(&out.path().join("model.safetensors"));
        assert_eq!(original.len(), saved.len(), "{name}");
        for (a, b) in original.iter().zip(&saved) {
            assert_eq!((&a.0, &a.1, &a.2), (&b.0, &b.1, &b.2), "{name}");
            assert!(a.3 == b.3, "{name}: bytes of {} differ", a.0);
        }
        let cfg_a: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir(name).join("config.json")).unwrap())
                .unwrap();
        let cfg_b: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(cfg_a, cfg_b, "{name}: config.json");
        // No temporary files left behind.
        let leftovers: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }
}

#[test]
fn sharded_checkpoint_loads_to_the_same_logits() {
    let model = CausalLm::load_hf(dir("llama3"), &device()).unwrap();
    let out = tempfile::tempdir().unwrap();
    model
        .save_hf_with(out.path(), SaveDtype::F32, Some(40_000))
        .unwrap();
    assert!(out.path().join("model.safetensors.index.json").is_file());
    assert!(!out.path().join("model.safetensors").exists());
    let shards = std::fs::read_dir(out.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("model-")
        })
        .count();
    assert!(shards >= 3, "{shards} shards");
    let reloaded = CausalLm::load_hf(out.path(), &device()).unwrap();
    let ids = reference("llama3")["input_ids"].int_tensor();
    let a = to_vec(model.forward(ids.clone(), None).unwrap());
    let b = to_vec(reloaded.forward(ids, None).unwrap());
    assert_eq!(a, b);
}

#[test]
fn f16_save_reloads_close() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let out = tempfile::tempdir().unwrap();
    model
        .save_hf_with(out.path(), SaveDtype::F16, None)
        .unwrap();
    let saved = tensors(&out.path().join("model.safetensors"));
    assert!(saved.iter().all(|t| t.1 == "F16"));
    let reloaded = CausalLm::load_hf(out.path(), &device()).unwrap();
    let ids = reference("qwen2")["input_ids"].int_tensor();
    let a = to_vec(model.forward(ids.clone(), None).unwrap());
    let b = to_vec(reloaded.forward(ids, None).unwrap());
    let diff = crate::fixtures::max_abs_diff(&a, &b);
    assert!(
        diff > 0.0 && diff < 5e-3,
        "f16 rounding should move logits a little: {diff}"
    );
}

fn load_err(path: &Path) -> String {
    let err: ModelError = CausalLm::load_hf(path, &device()).unwrap_err();
    err.to_string()
}

/// Rewrites `model.safetensors` of a copied fixture with `edit` applied to its tensor list.
fn rewrite(
    dir_path: &Path,
    edit: impl FnOnce(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>),
) {
    let file = dir_path.join("model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut list: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(k, t)| (k, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    edit(&mut list);
    let views: Vec<_> = list
        .iter()
        .map(|(k, d, s, b)| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(&file, safetensors::tensor::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn bad_checkpoints_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();

    // No weights at all.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::copy(dir("qwen2").join("config.json"), empty.join("config.json")).unwrap();
    let err = load_err(&empty);
    assert!(
        err.contains("no weights found") && err.contains("empty"),
        "{err}"
    );

    // Missing config.
    let err = load_err(&tmp.path().join("nowhere"));
    assert!(err.contains("config.json"), "{err}");

    // Truncated file.
    let truncated = tmp.path().join("truncated");
    copy_dir(&dir("qwen2"), &truncated);
    let file = truncated.join("model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(&truncated);
    assert!(
        err.contains("truncated") && err.contains("truncated/model.safetensors"),
        "{err}"
    );

    // Wrong shape: config says a wider MLP than the file holds.
    let shape = tmp.path().join("shape");
    copy_dir(&dir("qwen2"), &shape);
    let cfg = std::fs::read_to_string(shape.join("config.json")).unwrap();
    std::fs::write(
        shape.join("config.json"),
        cfg.replace("\"intermediate_size\": 64", "\"intermediate_size\": 72"),
    )
    .unwrap();
    let err = load_err(&shape);
    assert!(
        err.contains("model.layers.0.mlp.gate_proj.weight")
            && err.contains("[72, 32]")
            && err.contains("[64, 32]")
            && err.contains("shape/model.safetensors"),
        "{err}"
    );

    // Unsupported dtype: the final norm stored as I32.
    let dtype = tmp.path().join("dtype");
    copy_dir(&dir("qwen2"), &dtype);
    rewrite(&dtype, |list| {
        for t in list.iter_mut().filter(|t| t.0 == "model.norm.weight") {
            t.1 = safetensors::Dtype::I32;
        }
    });
    let err = load_err(&dtype);
    assert!(
        err.contains("model.norm.weight")
            && err.contains("I32")
            && err.contains("dtype/model.safetensors"),
        "{err}"
    );

    // Missing tensor.
    let missing = tmp.path().join("missing");
    copy_dir(&dir("qwen2"), &missing);
    rewrite(&missing, |list| {
        list.retain(|t| t.0 != "model.layers.1.self_attn.k_proj.bias")
    });
    let err = load_err(&missing);
    assert!(
        err.contains("model.layers.1.self_attn.k_proj.bias")
            && err.contains("missing/model.safetensors"),
        "{err}"
    );

    // Unsupported architecture.
    let arch = tmp.path().join("arch");
    copy_dir(&dir("qwen2"), &arch);
    let cfg = std::fs::read_to_string(arch.join("config.json")).unwrap();
    std::fs::write(
        arch.join("config.json"),
        cfg.replace("\"qwen2\"", "\"gpt_neox\""),
    )
    .unwrap();
    let err = load_err(&arch);
    assert!(
        err.contains("gpt_neox") && err.contains("llama, mistral, qwen2"),
        "{err}"
    );
}

#[test]
fn tokenizer_larger_than_vocab_is_rejected() {
    let model = CausalLm::load_hf(dir("smollm"), &device()).unwrap();
    assert!(model.check_vocab(128).is_ok());
    let err = model.check_vocab(32_000).unwrap_err().to_string();
    assert!(
        err.contains("32000") && err.contains("128") && err.contains("smollm/config.json"),
        "{err}"
    );
}
