//! The FLUX text encoder and the pixel-space pipeline: padding, save/load layout, and one
//! flow-matching training run on a tiny model.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{
    FlowMatchingBatch, FluxConfig, FluxInit, FluxPipelineModel, FluxTextEncoder, FluxTransformer,
    ModelError, PixelImageSpec, SdeSamplerConfig, TextEncoderConfig, TimestepSampling,
    euler_sample, flow_matching_loss, group_initial_noise, sde_sample, seeded_normal,
    time_shifted_schedule,
};

use crate::fixtures::{device, max_abs_diff, to_vec};

fn text_config() -> TextEncoderConfig {
    TextEncoderConfig::new(20, 8, 16, 2, 2, 24, 12, 0)
}

fn flux_config() -> FluxConfig {
    FluxConfig::new(12, 1, 1, 8, 2, 24, 12, vec![2, 2, 4]).unwrap()
}

fn image() -> PixelImageSpec {
    PixelImageSpec {
        height: 8,
        width: 8,
        channels: 3,
    }
}

fn random_init(seed: u64) -> FluxInit {
    FluxInit {
        seed,
        zero_modulation: false,
    }
}

/// A tiny pipeline with random (not zero) modulation, so every path computes something.
fn tiny_pipeline(seed: u64) -> FluxPipelineModel {
    FluxPipelineModel::init(
        text_config(),
        flux_config(),
        image(),
        random_init(seed),
        &device(),
    )
    .unwrap()
}

#[test]
fn padding_does_not_change_the_real_tokens() {
    let enc = FluxTextEncoder::init(text_config(), random_init(1), &device()).unwrap();
    let padded = enc.encode(&[vec![3, 7, 5]], &device()).unwrap();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![3i64, 7, 5], [1, 3]), &device());
    let plain = enc.forward(ids, &[1, 1, 1]).unwrap();
    assert_eq!(padded.sequence.dims(), [1, 8, 24]);
    assert_eq!(padded.pooled.dims(), [1, 12]);
    let seq = to_vec(padded.sequence.clone());
    assert!(max_abs_diff(&seq[..3 * 24], &to_vec(plain.sequence)) < 1e-5);
    assert!(max_abs_diff(&to_vec(padded.pooled), &to_vec(plain.pooled)) < 1e-5);
    // Padding positions are zero, and a batch neighbour does not change a prompt.
    assert!(seq[3 * 24..].iter().all(|v| *v == 0.0));
    let batch = enc
        .encode(&[vec![3, 7, 5], vec![1, 2, 3, 4, 5, 6, 7, 8]], &device())
        .unwrap();
    let first = to_vec(batch.sequence.slice([0..1, 0..8, 0..24]));
    assert!(max_abs_diff(&first, &seq) < 1e-5);
    // The prompt matters.
    let other = to_vec(enc.encode(&[vec![3, 7, 6]], &device()).unwrap().pooled);
    let one = to_vec(enc.encode(&[vec![3, 7, 5]], &device()).unwrap().pooled);
    assert!(max_abs_diff(&other, &one) > 1e-4);
}

#[test]
fn empty_and_bad_prompts() {
    let enc = FluxTextEncoder::init(text_config(), random_init(1), &device()).unwrap();
    let empty = enc.encode(&[vec![]], &device()).unwrap();
    assert!(to_vec(empty.pooled).iter().all(|v| v.is_finite()));
    assert!(to_vec(empty.sequence).iter().all(|v| *v == 0.0));
    let long = enc.encode(&[vec![1; 9]], &device()).unwrap_err();
    assert!(
        long.to_string().contains("max_position_embeddings"),
        "{long}"
    );
    let oov = enc.encode(&[vec![25]], &device()).unwrap_err();
    assert!(oov.to_string().contains("25"), "{oov}");
}

#[test]
fn pipeline_saves_a_diffusers_like_folder_and_loads_it_back() {
    let model = tiny_pipeline(3);
    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    for f in [
        "model_index.json",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
    ] {
        assert!(tmp.path().join(f).is_file(), "{f}");
    }
    // `transformer/` is a plain diffusers transformer directory.
    FluxTransformer::load(tmp.path().join("transformer"), &device()).unwrap();
    let again = FluxPipelineModel::load(tmp.path(), &device()).unwrap();
    assert_eq!(again.image(), image());

    let prompts = vec![vec![1, 2, 3], vec![4]];
    let noise: Tensor<3> = seeded_normal([2, 16, 12], &mut SplitMix64::new(1), &device());
    let sigmas = time_shifted_schedule(3, 2.0);
    let sample = |m: &FluxPipelineModel| {
        let text = m.encode_prompts(&prompts, &device()).unwrap();
        let rope = m.rope(&device()).unwrap();
        to_vec(euler_sample(noise.clone(), &sigmas, m.velocity_fn(&text, None, &rope)).unwrap())
    };
    assert_eq!(sample(&model), sample(&again));

    // A transformer that does not fit the text encoder is refused, naming the widths.
    let bad = FluxPipelineModel::init(
        text_config(),
        FluxConfig::new(12, 1, 1, 8, 2, 32, 12, vec![2, 2, 4]).unwrap(),
        image(),
        random_init(3),
        &device(),
    )
    .unwrap_err();
    assert!(bad.to_string().contains("joint_attention_dim"), "{bad}");
    let bad = FluxPipelineModel::init(
        text_config(),
        flux_config(),
        PixelImageSpec {
            channels: 1,
            ..image()
        },
        random_init(3),
        &device(),
    )
    .unwrap_err();
    assert!(matches!(bad, ModelError::InvalidConfig { .. }), "{bad}");
}

#[test]
fn flow_matching_training_lowers_the_loss_and_sde_rollouts_run_on_the_model() {
    let ad = device().autodiff();
    let mut model =
        FluxPipelineModel::init(text_config(), flux_config(), image(), FluxInit::new(5), &ad)
            .unwrap();
    let mut rng = SplitMix64::new(8);
    // Two fixed "images" with their prompts.
    let images: Tensor<4> =
        seeded_normal([2, 3, 8, 8], &mut SplitMix64::new(2), &ad).mul_scalar(0.5);
    let prompts = vec![vec![1, 2], vec![3, 4, 5]];
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for _ in 0..30 {
        let x0 = model.pack(images.clone()).unwrap();
        let batch = FlowMatchingBatch::new(x0, TimestepSampling::Uniform, 1.0, &mut rng).unwrap();
        let text = model.encode_prompts(&prompts, &ad).unwrap();
        let rope = model.rope(&ad).unwrap();
        let v = model
            .velocity(batch.noisy, batch.sigma, &text, None, &rope)
            .unwrap();
        let loss = flow_matching_loss(v, batch.target);
        losses.push(to_vec(loss.clone())[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    let early: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let late: f32 = losses[25..].iter().sum::<f32>() / 5.0;
    assert!(late < 0.8 * early, "loss did not fall: {losses:?}");

    // Grouped SDE rollout on the trained (non-autodiff) model.
    let frozen = model.valid();
    let text = frozen
        .encode_prompts(
            &[vec![1, 2], vec![1, 2], vec![3, 4, 5], vec![3, 4, 5]],
            &device(),
        )
        .unwrap();
    let rope = frozen.rope(&device()).unwrap();
    let noise =
        group_initial_noise(2, 2, [1, 16, 12], true, &mut SplitMix64::new(4), &device()).unwrap();
    let traj = sde_sample(
        noise,
        &time_shifted_schedule(4, 3.0),
        SdeSamplerConfig::default(),
        &mut SplitMix64::new(6),
        frozen.velocity_fn(&text, None, &rope),
    )
    .unwrap();
    assert_eq!(traj.log_probs.dims(), [4, 4]);
    assert!(to_vec(traj.log_probs).iter().all(|v| v.is_finite()));
    let img = frozen.unpack(traj.final_x0).unwrap();
    assert_eq!(img.dims(), [4, 3, 8, 8]);
}

#[test]
fn classifier_free_guidance_combines_the_two_branches() {
    let model = tiny_pipeline(4);
    let text = model
        .encode_prompts(&[vec![1, 2], vec![5]], &device())
        .unwrap();
    let empty = model.encode_prompts(&[vec![], vec![]], &device()).unwrap();
    let rope = model.rope(&device()).unwrap();
    let x: Tensor<3> = seeded_normal([2, 16, 12], &mut SplitMix64::new(1), &device());
    let v_c = to_vec(model.velocity_fn(&text, None, &rope)(x.clone(), 0.6).unwrap());
    let v_u = to_vec(model.velocity_fn(&empty, None, &rope)(x.clone(), 0.6).unwrap());
    let v = to_vec(model.cfg_velocity_fn(&text, &empty, 3.0, &rope)(x.clone(), 0.6).unwrap());
    let want: Vec<f32> = v_c
        .iter()
        .zip(&v_u)
        .map(|(c, u)| u + 3.0 * (c - u))
        .collect();
    assert!(max_abs_diff(&v, &want) < 1e-4);
    let one = to_vec(model.cfg_velocity_fn(&text, &empty, 1.0, &rope)(x, 0.6).unwrap());
    assert!(max_abs_diff(&one, &v_c) < 1e-5);
}

#[test]
fn bad_pipeline_folders_are_named() {
    let model = tiny_pipeline(3);
    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    let index = tmp.path().join("model_index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace("\"height\": 8", "\"height\": 7")).unwrap();
    let err = FluxPipelineModel::load(tmp.path(), &device()).unwrap_err();
    assert!(err.to_string().contains("model_index.json"), "{err}");
    assert!(err.to_string().contains("image"), "{err}");
    std::fs::write(&index, "{}").unwrap();
    let err = FluxPipelineModel::load(tmp.path(), &device()).unwrap_err();
    assert!(err.to_string().contains("_class_name"), "{err}");
    // A text encoder config with a bad field names it.
    std::fs::write(&index, text).unwrap();
    let cfg = tmp.path().join("text_encoder/config.json");
    let raw = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        raw.replace("\"num_attention_heads\": 2", "\"num_attention_heads\": 3"),
    )
    .unwrap();
    let err = FluxPipelineModel::load(tmp.path(), &device()).unwrap_err();
    assert!(err.to_string().contains("num_attention_heads"), "{err}");
    std::fs::write(&cfg, raw.replace("\"vocab_size\"", "\"vocab\"")).unwrap();
    let err = FluxPipelineModel::load(tmp.path(), &device()).unwrap_err();
    assert!(
        err.to_string().contains("text_encoder/config.json"),
        "{err}"
    );
}
