//! FLUX transformer against diffusers (`tests/fixtures/make_flux.py`): forward parity on two tiny
//! random configurations, packing, a load → save round trip, and bad configs.

use std::collections::HashMap;
use std::path::Path;

use burn::prelude::*;
use prefopt_models::{
    FluxConfig, FluxTransformer, ModelError, SaveDtype, pack_latents, unpack_latents,
};
use safetensors::SafeTensors;

use crate::fixtures::{RefTensor, device, dir, max_abs_diff, reference, to_vec};

const CONFIGS: &[&str] = &["flux/tiny", "flux/tiny-guidance"];
const CASES: &[&str] = &["c1", "c2", "c3"];

fn tensor<const D: usize>(r: &RefTensor) -> Tensor<D> {
    let shape: [usize; D] = r.shape.clone().try_into().unwrap();
    let data: Vec<f32> = r.values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), &device())
}

fn ids(r: &RefTensor) -> Vec<[f32; 3]> {
    r.values
        .chunks_exact(3)
        .map(|c| [c[0] as f32, c[1] as f32, c[2] as f32])
        .collect()
}

fn f32s(r: &RefTensor) -> Vec<f32> {
    r.values.iter().map(|&v| v as f32).collect()
}

fn forward_case(
    model: &FluxTransformer,
    refs: &HashMap<String, RefTensor>,
    case: &str,
) -> Vec<f32> {
    let get = |k: &str| &refs[&format!("{case}.{k}")];
    let rope = model
        .rope(&ids(get("txt_ids")), &ids(get("img_ids")), &device())
        .unwrap();
    let guidance = model
        .config()
        .guidance_embeds
        .then(|| tensor::<1>(get("guidance")));
    let out = model
        .forward(
            tensor(get("hidden_states")),
            tensor(get("encoder_hidden_states")),
            tensor(get("pooled_projections")),
            tensor(get("timestep")),
            guidance,
            &rope,
        )
        .unwrap();
    assert_eq!(out.dims().to_vec(), get("sample").shape);
    to_vec(out)
}

#[test]
fn forward_matches_diffusers_on_tiny_configs() {
    for name in CONFIGS {
        let model = FluxTransformer::load(dir(name), &device()).unwrap();
        let refs = reference(name);
        for case in CASES {
            let got = forward_case(&model, &refs, case);
            let want = f32s(&refs[&format!("{case}.sample")]);
            let diff = max_abs_diff(&got, &want);
            assert!(diff <= 1e-4, "{name} {case}: max |diff| {diff}");
            // The outputs are not trivially small: a broken model could not pass by accident.
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(scale > 0.1, "{name} {case}: reference too small ({scale})");
        }
    }
}

#[test]
fn conditioning_vector_matches_diffusers() {
    for name in CONFIGS {
        let model = FluxTransformer::load(dir(name), &device()).unwrap();
        let refs = reference(name);
        for case in CASES {
            let get = |k: &str| &refs[&format!("{case}.{k}")];
            let guidance = model
                .config()
                .guidance_embeds
                .then(|| tensor::<1>(get("guidance")));
            let temb = model
                .time_text_embed
                .forward(
                    tensor(get("timestep")),
                    guidance,
                    tensor(get("pooled_projections")),
                )
                .unwrap();
            let diff = max_abs_diff(&to_vec(temb), &f32s(get("temb")));
            assert!(diff <= 1e-4, "{name} {case}: temb max |diff| {diff}");
        }
    }
}

#[test]
fn guidance_must_match_the_config() {
    let refs = reference("flux/tiny");
    let model = FluxTransformer::load(dir("flux/tiny"), &device()).unwrap();
    let get = |k: &str| &refs[&format!("c1.{k}")];
    let rope = model
        .rope(&ids(get("txt_ids")), &ids(get("img_ids")), &device())
        .unwrap();
    let err = model
        .forward(
            tensor(get("hidden_states")),
            tensor(get("encoder_hidden_states")),
            tensor(get("pooled_projections")),
            tensor(get("timestep")),
            Some(tensor(get("guidance"))),
            &rope,
        )
        .unwrap_err();
    assert!(err.to_string().contains("guidance_embeds"), "{err}");
}

#[test]
fn packing_matches_the_pipeline_helpers() {
    let refs = reference("flux/tiny");
    for case in CASES {
        let lat = &refs[&format!("{case}.latents")];
        let packed = pack_latents(tensor::<4>(lat)).unwrap();
        let want = f32s(&refs[&format!("{case}.hidden_states")]);
        assert_eq!(to_vec(packed.clone()), want, "{case}");
        let back = unpack_latents(packed, lat.shape[2], lat.shape[3]).unwrap();
        assert_eq!(to_vec(back), f32s(lat), "{case}");
    }
    let odd = Tensor::<4>::zeros([1, 3, 5, 4], &device());
    assert!(pack_latents(odd).is_err());
}

fn tensors_by_name(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(k, t)| {
            assert_eq!(t.dtype(), safetensors::tensor::Dtype::F32, "{k}");
            (k, t.shape().to_vec(), t.data().to_vec())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Load → save writes the diffusers layout back: the same tensors, bit for bit, and the same
/// config. With `PREFOPT_FLUX_SAVE_DIR` set, the saved directories are also kept there, for
/// `make_flux.py --verify DIR NAME` (diffusers reads them back).
#[test]
fn load_then_save_reproduces_the_diffusers_files() {
    let tmp = tempfile::tempdir().unwrap();
    for name in CONFIGS {
        let model = FluxTransformer::load(dir(name), &device()).unwrap();
        let out = tmp.path().join(name);
        model.save(&out).unwrap();
        let file = "diffusion_pytorch_model.safetensors";
        let want = tensors_by_name(&dir(name).join(file));
        let got = tensors_by_name(&out.join(file));
        assert_eq!(want.len(), got.len(), "{name}: tensor count");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w.0, g.0, "{name}: names");
            assert_eq!(w.1, g.1, "{name}: shape of {}", w.0);
            assert!(w.2 == g.2, "{name}: data of {}", w.0);
        }
        let read = |p: &Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(p.join("config.json")).unwrap()).unwrap()
        };
        assert_eq!(read(&dir(name)), read(&out), "{name}: config.json");
        // And the saved directory loads and computes the same outputs.
        let again = FluxTransformer::load(&out, &device()).unwrap();
        let refs = reference(name);
        assert_eq!(
            forward_case(&again, &refs, "c1"),
            forward_case(&model, &refs, "c1")
        );
        if let Ok(keep) = std::env::var("PREFOPT_FLUX_SAVE_DIR") {
            model.save(Path::new(&keep).join(name)).unwrap();
        }
    }
}

fn config_error(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let text = std::fs::read_to_string(dir("flux/tiny").join("config.json")).unwrap();
    let mut raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut raw);
    match FluxConfig::from_value(raw, Path::new("bad/config.json")) {
        Err(e @ ModelError::InvalidConfig { .. }) => e.to_string(),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn unsupported_configs_name_the_field() {
    use serde_json::json;
    // (field expected in the message, key to set, value)
    let cases = [
        ("axes_dims_rope", "axes_dims_rope", json!([4, 6])),
        ("axes_dims_rope", "axes_dims_rope", json!([4, 6, 8])),
        ("axes_dims_rope", "axes_dims_rope", json!([3, 7, 6])),
        ("attention_head_dim", "attention_head_dim", json!(0)),
        ("num_layers", "num_layers", json!(-1)),
        ("num_layers", "num_layers", json!(100000)),
        ("guidance_embeds", "guidance_embeds", json!("yes")),
        ("_class_name", "_class_name", json!("SD3Transformer2DModel")),
        ("in_channels", "in_channels", json!(1.5)),
    ];
    for (field, key, value) in cases {
        let msg = config_error(|v| v[key] = value);
        assert!(msg.contains(field), "`{field}` not named in: {msg}");
        assert!(msg.contains("bad/config.json"), "path not named in: {msg}");
    }
}

#[test]
fn missing_or_mismatched_weights_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir("flux/tiny").join("config.json"),
        tmp.path().join("config.json"),
    )
    .unwrap();
    let err = FluxTransformer::load(tmp.path(), &device()).unwrap_err();
    assert!(
        err.to_string()
            .contains("diffusion_pytorch_model.safetensors"),
        "{err}"
    );
    // The weights of the guidance config do not fit the other config.
    std::fs::copy(
        dir("flux/tiny-guidance").join("diffusion_pytorch_model.safetensors"),
        tmp.path().join("diffusion_pytorch_model.safetensors"),
    )
    .unwrap();
    let err = FluxTransformer::load(tmp.path(), &device()).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::ShapeMismatch { .. } | ModelError::MissingTensor { .. }
        ),
        "{err}"
    );
}

#[test]
fn sharded_and_half_precision_saves_load_back() {
    let tmp = tempfile::tempdir().unwrap();
    let model = FluxTransformer::load(dir("flux/tiny"), &device()).unwrap();
    let refs = reference("flux/tiny");
    let want = forward_case(&model, &refs, "c1");
    // Shards of at most 100 kB: diffusers' sharded names and index.
    model
        .save_with(tmp.path(), SaveDtype::F32, Some(100_000))
        .unwrap();
    assert!(
        tmp.path()
            .join("diffusion_pytorch_model.safetensors.index.json")
            .is_file()
    );
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            tmp.path()
                .join("diffusion_pytorch_model.safetensors.index.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let files: std::collections::BTreeSet<&str> = index["weight_map"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(files.len() > 1, "{files:?}");
    for f in &files {
        assert!(f.starts_with("diffusion_pytorch_model-000"), "{f}");
        assert!(tmp.path().join(f).is_file(), "{f}");
    }
    assert!(
        !tmp.path()
            .join("diffusion_pytorch_model.safetensors")
            .exists()
    );
    let sharded = FluxTransformer::load(tmp.path(), &device()).unwrap();
    assert_eq!(forward_case(&sharded, &refs, "c1"), want);
    // bf16 on disk: close, not equal.
    let half = tmp.path().join("bf16");
    model.save_with(&half, SaveDtype::Bf16, None).unwrap();
    let got = forward_case(
        &FluxTransformer::load(&half, &device()).unwrap(),
        &refs,
        "c1",
    );
    let diff = max_abs_diff(&got, &want);
    assert!(diff > 0.0 && diff < 0.1, "bf16 diff {diff}");
}
