//! DPO / LiPO / SFT runs of the CLI on the tiny model: step-0 loss, learning, resume,
//! accumulation, checkpoints.

use std::path::Path;

use burn::prelude::*;
use prefopt_models::CausalLm;
use prefopt_train::read_metrics;

use crate::fixture::{LISTS, PAIRS, SFT, Setup};
use crate::prefopt;

/// `(step, loss)` of the training lines of `out/metrics.jsonl`.
fn losses(out: &Path) -> Vec<(u64, f64)> {
    read_metrics(out.join("metrics.jsonl"))
        .unwrap()
        .iter()
        .filter_map(|r| r.get("loss").map(|l| (r.step, l)))
        .collect()
}

fn metric(out: &Path, name: &str) -> Vec<(u64, f64)> {
    read_metrics(out.join("metrics.jsonl"))
        .unwrap()
        .iter()
        .filter_map(|r| r.get(name).map(|v| (r.step, v)))
        .collect()
}

fn train(method: &str, config: &Path, extra: &[&str]) {
    let mut args = vec![
        method,
        "--config",
        config.to_str().unwrap(),
        "--device",
        "cpu",
    ];
    args.extend_from_slice(extra);
    args.push("--no-progress");
    if !extra.contains(&"--plots") {
        args.push("--no-plots");
    }
    args.retain(|a| *a != "--plots");
    prefopt(&args).unwrap_or_else(|e| panic!("{method} failed: {e:#}"));
}

fn logits(dir: &Path) -> Vec<f32> {
    let device = Device::flex();
    let model = CausalLm::load_hf(dir, &device).unwrap();
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(vec![1i64, 40, 50, 60, 70, 2], [1, 6]),
        &device,
    );
    model
        .forward(ids, None)
        .unwrap()
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap()
}

#[test]
fn dpo_starts_at_ln2_learns_and_saves_hf_checkpoints() {
    let s = Setup::new();
    let train_file = s.file("train.jsonl", PAIRS);
    let eval_file = s.file("eval.jsonl", PAIRS);
    let out = s.path("dpo");
    let config = s.config(
        "dpo.toml",
        &train_file,
        &out,
        "max_steps = 8\nper_device_train_batch_size = 8\nsave_steps = 2\nsave_total_limit = 2\neval_steps = 4\nwarmup_steps = 1",
        "[dpo]\nbeta = 0.1\nloss_type = \"sigmoid\"",
    );
    let eval_set = format!("data.eval={}", eval_file.display());
    train("dpo", &config, &["--set", &eval_set, "--plots"]);

    let l = losses(&out);
    assert_eq!(l.len(), 8, "{l:?}");
    // Precomputed reference = initial policy: every pair's margin is 0, loss = ln 2 (TRL's
    // invariant; research notes §1.10-B).
    assert!(
        (l[0].1 - std::f64::consts::LN_2).abs() < 1e-5,
        "step-1 loss {}",
        l[0].1
    );
    // Full-batch steps on the same 8 pairs: the loss must go down, clearly.
    assert!(l[7].1 < l[0].1 - 0.05, "no learning: {l:?}");
    for w in l.windows(2).skip(1) {
        assert!(w[1].1 <= w[0].1 + 1e-3, "loss went up: {l:?}");
    }
    let eval = metric(&out, "eval_loss");
    assert_eq!(eval.iter().map(|e| e.0).collect::<Vec<_>>(), [4, 8]);
    assert!(eval[1].1 < std::f64::consts::LN_2, "{eval:?}");
    assert_eq!(metric(&out, "rewards/accuracies").len(), 8);
    assert_eq!(metric(&out, "eval_rewards/margins").len(), 2);

    // One PNG per metric.
    for png in ["loss.png", "learning_rate.png", "eval_loss.png"] {
        assert!(out.join("plots").join(png).is_file(), "{png}");
    }

    // keep-last-2 of checkpoints 2, 4, 6, 8; each loadable as an HF model.
    let mut kept: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.starts_with("checkpoint-").then_some(name)
        })
        .collect();
    kept.sort();
    assert_eq!(kept, ["checkpoint-6", "checkpoint-8"]);
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "optimizer.bpk",
        "trainer_state.json",
    ] {
        assert!(out.join("checkpoint-8").join(f).is_file(), "{f}");
    }
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "run_config.json",
    ] {
        assert!(out.join(f).is_file(), "final {f}");
    }
    // The checkpoint and the final model hold the same weights; a save/load round trip is exact.
    let at_8 = logits(&out.join("checkpoint-8"));
    assert_eq!(at_8, logits(&out));
    let again = s.path("resaved");
    CausalLm::load_hf(out.join("checkpoint-8"), &Device::flex())
        .unwrap()
        .save_hf(&again)
        .unwrap();
    assert_eq!(at_8, logits(&again));
    assert_ne!(at_8, logits(&s.model), "training changed nothing");
}

#[test]
fn resume_reproduces_the_uninterrupted_losses() {
    let s = Setup::new();
    let train_file = s.file("train.jsonl", PAIRS);
    let settings = "per_device_train_batch_size = 2\ngradient_accumulation_steps = 2\nsave_steps = 4\nlr_scheduler_type = \"constant\"";
    let straight = s.path("straight");
    let config = s.config(
        "a.toml",
        &train_file,
        &straight,
        &format!("max_steps = 8\n{settings}"),
        "",
    );
    train("dpo", &config, &[]);

    let interrupted = s.path("interrupted");
    let config = s.config(
        "b.toml",
        &train_file,
        &interrupted,
        &format!("max_steps = 4\n{settings}"),
        "",
    );
    train("dpo", &config, &[]);
    assert_eq!(losses(&interrupted).len(), 4);
    train(
        "dpo",
        &config,
        &["--resume", "--set", "training.max_steps=8"],
    );

    let a = losses(&straight);
    let b = losses(&interrupted);
    assert_eq!(a.len(), 8);
    assert_eq!(b.len(), 8, "{b:?}");
    for ((sa, la), (sb, lb)) in a.iter().zip(&b) {
        assert_eq!(sa, sb);
        assert!((la - lb).abs() <= 1e-6, "step {sa}: {la} vs {lb}");
    }
    // Data order: 8 pairs, micro-batches of 2, steps of 4 pairs: steps 5-8 saw epochs 2-3.
    assert_eq!(logits(&straight), logits(&interrupted));
}

#[test]
fn eight_micro_batches_equal_one_batch_of_eight() {
    let s = Setup::new();
    let train_file = s.file("train.jsonl", PAIRS);
    let one = s.path("one");
    let config = s.config(
        "one.toml",
        &train_file,
        &one,
        "max_steps = 3\nper_device_train_batch_size = 8",
        "",
    );
    train("dpo", &config, &[]);
    let eight = s.path("eight");
    let config = s.config(
        "eight.toml",
        &train_file,
        &eight,
        "max_steps = 3\nper_device_train_batch_size = 1\ngradient_accumulation_steps = 8",
        "",
    );
    train("dpo", &config, &[]);
    let (a, b) = (losses(&one), losses(&eight));
    assert_eq!(a.len(), 3);
    for ((_, la), (_, lb)) in a.iter().zip(&b) {
        assert!((la - lb).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn lipo_learns_on_ranked_lists_with_a_live_reference() {
    let s = Setup::new();
    let train_file = s.file("lists.jsonl", LISTS);
    let out = s.path("lipo");
    let config = s.config(
        "lipo.toml",
        &train_file,
        &out,
        "max_steps = 6\nper_device_train_batch_size = 4",
        "[lipo]\nloss_type = \"lambda\"\nbeta = 0.5\n\n[reference]\nprecompute_ref_log_probs = false",
    );
    train("lipo", &config, &[]);
    let l = losses(&out);
    assert_eq!(l.len(), 6);
    assert!(l[5].1 < l[0].1 - 0.01, "no learning: {l:?}");
    let acc = metric(&out, "rewards/accuracies");
    // Policy = reference at step 1: every score is 0, no pair is strictly ordered.
    assert_eq!(acc[0].1, 0.0);
    assert!(acc[5].1 > 0.5, "{acc:?}");
}

#[test]
fn sft_lowers_the_completion_nll() {
    let s = Setup::new();
    let train_file = s.file("sft.jsonl", SFT);
    let out = s.path("sft");
    let config = s.config(
        "sft.toml",
        &train_file,
        &out,
        "max_steps = 4\nper_device_train_batch_size = 4",
        "",
    );
    train("sft", &config, &[]);
    let l = losses(&out);
    // A random model over 288 tokens starts near ln 288 = 5.66.
    assert!((l[0].1 - 288f64.ln()).abs() < 0.5, "{l:?}");
    assert!(l[3].1 < l[0].1 - 0.1, "{l:?}");
}

#[test]
fn a_diverging_run_stops_naming_the_step_and_keeps_the_last_checkpoint() {
    let s = Setup::new();
    let train_file = s.file("train.jsonl", PAIRS);
    let out = s.path("nan");
    // lr 1e30: the first update throws every weight to ~1e30, the second loss is not finite.
    let config = s.config(
        "nan.toml",
        &train_file,
        &out,
        "max_steps = 4\nper_device_train_batch_size = 8\nsave_steps = 1\nlr_scheduler_type = \"constant\"",
        "",
    );
    let args = [
        "dpo",
        "--config",
        config.to_str().unwrap(),
        "--set",
        "training.learning_rate=1e30",
        "--set",
        "training.max_grad_norm=0.0",
        "--no-progress",
        "--no-plots",
    ];
    let err = prefopt(&args).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("non-finite") && text.contains("at step 2"),
        "{text}"
    );
    assert!(text.contains("checkpoint-1"), "{text}");
    assert!(out.join("checkpoint-1/model.safetensors").is_file());
    assert!(!out.join("checkpoint-2").exists());
    assert_eq!(losses(&out).len(), 1);
}
