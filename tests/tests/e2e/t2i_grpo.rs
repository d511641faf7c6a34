//! `prefopt t2i grpo`: Flow-GRPO / Pref-GRPO of a tiny base pipeline, with evaluation,
//! checkpoints and an exact `--resume`.

use std::path::{Path, PathBuf};

use prefopt_testkit::{Reply, Server};

use crate::prefopt;
use crate::t2i::{arg, safetensors_bytes, tiny_config, tiny_judges_toml};

/// The first training record of `out/metrics.jsonl`.
fn first_step(out: &Path) -> serde_json::Value {
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r.get("loss").is_some())
        .unwrap()
}

/// A tiny base pipeline (1+1 blocks, width 32, 4 flow-matching steps) in `dir/base`.
fn tiny_base(dir: &Path) -> PathBuf {
    let out = dir.join("base");
    let config = tiny_config(dir, &out);
    prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    out
}

/// 4 GRPO steps (G = 4, 1 prompt, 4 SDE steps), checkpoints and evaluation every 2, both
/// rewards, KL to the base on.
fn grpo_config(dir: &Path, base: &Path) -> PathBuf {
    let path = dir.join("grpo.toml");
    let text = format!(
        r#"
base_model = "{}"

[prompts]
train_prompts = 8
eval_prompts = 2
eval_images_per_prompt = 2
eval_sampling_steps = 4

[training]
output_dir = "unused"
max_steps = 4
learning_rate = 1e-3
logging_steps = 1
save_steps = 2
eval_steps = 2
gradient_accumulation_steps = 2

[grpo]
group_size = 4
prompts_per_step = 1
sampling_steps = 4
kl_beta = 0.1

[[rewards]]
name = "pref"
kind = "checker_win_rate"

[[rewards]]
name = "pass"
kind = "checker_pass_rate"
weight = 0.5
"#,
        base.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn grpo(config: &Path, out: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let set = format!("training.output_dir=\"{}\"", out.display());
    let mut args = vec![
        "t2i",
        "grpo",
        "--config",
        arg(config),
        "--set",
        &set,
        "--no-progress",
        "--no-plots",
    ];
    args.extend_from_slice(extra);
    prefopt(&args)
}

#[test]
fn t2i_grpo_runs_evaluates_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_base(dir.path());
    let config = grpo_config(dir.path(), &base);

    let full = dir.path().join("full");
    grpo(&config, &full, &[]).unwrap();
    let metrics = std::fs::read_to_string(full.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let train: Vec<&serde_json::Value> =
        records.iter().filter(|r| r.get("loss").is_some()).collect();
    assert_eq!(train.len(), 4, "{metrics}");
    for key in [
        "loss",
        "learning_rate",
        "reward",
        "rewards/pref/mean",
        "rewards/pref/std",
        "rewards/pref/group_std",
        "rewards/pass/mean",
        "rewards/pass/group_std",
        "group_reward_std",
        "advantage_abs_mean",
        "clip_fraction",
        "ratio/mean",
        "ratio/max_abs_dev",
        "kl",
        "optimizer_updates",
    ] {
        assert!(
            train.iter().all(|r| r.get(key).is_some()),
            "{key}: {metrics}"
        );
    }
    // Win rates average one half in every group.
    assert!(
        train
            .iter()
            .all(|r| (r["rewards/pref/mean"].as_f64().unwrap() - 0.5).abs() < 1e-9)
    );
    // 4 images, 2 per update.
    assert!(train.iter().all(|r| r["optimizer_updates"] == 2.0));
    // The first pass of every step is on-policy.
    let dev = train[0]["ratio/max_abs_dev"].as_f64().unwrap();
    assert!(dev < 1e-3, "{dev}");
    let evals: Vec<u64> = records
        .iter()
        .filter(|r| r.get("eval/pass_rate").is_some())
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(evals, vec![0, 2, 4], "{metrics}");
    for step in [0, 2, 4] {
        let eval = full.join(format!("eval/step-{step}"));
        let pngs = std::fs::read_dir(eval.join("images"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "png")
            })
            .count();
        assert!(pngs >= 4, "4 images and a contact sheet: {pngs}");
        let verdicts = std::fs::read_to_string(eval.join("verdicts.jsonl")).unwrap();
        assert_eq!(verdicts.lines().count(), 4, "2 prompts x 2 images");
        assert!(
            !eval.join("model").exists(),
            "the temporary pipeline is removed"
        );
    }
    assert!(full.join("eval/suite.csv").is_file());
    assert!(full.join("world.json").is_file() && full.join("checkpoint-2").is_dir());
    assert_ne!(
        safetensors_bytes(&full),
        safetensors_bytes(&base),
        "training changed the weights"
    );

    // The same run killed after checkpoint-2, then resumed.
    let split = dir.path().join("split");
    grpo(&config, &split, &[]).unwrap();
    std::fs::remove_dir_all(split.join("checkpoint-4")).unwrap();
    for sub in ["transformer", "text_encoder"] {
        std::fs::remove_dir_all(split.join(sub)).unwrap();
    }
    std::fs::remove_file(split.join("model_index.json")).unwrap();
    let err = grpo(&config, &split, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("--resume"), "{err:#}");
    grpo(&config, &split, &["--resume"]).unwrap();
    assert_eq!(
        safetensors_bytes(&full),
        safetensors_bytes(&split),
        "a resumed run must give the uninterrupted run's weights bit for bit"
    );
    assert_eq!(
        std::fs::read_to_string(split.join("metrics.jsonl")).unwrap(),
        metrics
    );

    // A resume with another trajectory is refused; a misspelt key is named.
    let err = grpo(&config, &split, &["--resume", "--set", "grpo.eta=0.5"]).unwrap_err();
    assert!(
        format!("{err:#}").to_lowercase().contains("config"),
        "{err:#}"
    );
    let err = grpo(&config, &dir.path().join("x"), &["--set", "grpo.etta=0.5"]).unwrap_err();
    assert!(format!("{err:#}").contains("etta"), "{err:#}");
}

/// `prefopt t2i train-judges` on a tiny base (4 + 2 captions, 3 images each, a tiny network,
/// 6 updates), then one GRPO step with the learned scorer and the learned pairwise judge, and
/// the MLLM judge against a dead endpoint (an error after its retries, not a dropped score)
/// and against a live loopback judge (request shape, answers parsed, an unparsable answer a
/// tie, a refused request retried, every pair scored).
#[test]
fn t2i_train_judges_then_grpo_with_the_new_rewards() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_base(dir.path());
    let judges = dir.path().join("judges");
    let judges_toml = dir.path().join("judges.toml");
    std::fs::write(&judges_toml, tiny_judges_toml(&base, &judges, 6)).unwrap();
    prefopt(&["t2i", "train-judges", "--config", arg(&judges_toml)]).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(judges.join("judges_report.json")).unwrap())
            .unwrap();
    assert_eq!(report["train_samples"], 12, "{report}");
    assert_eq!(report["held_out_samples"], 6, "{report}");
    assert_eq!(
        report["scorer"]["num_parameters"], report["judge"]["num_parameters"],
        "the same capacity"
    );
    for net in ["scorer", "judge"] {
        let acc = report[net]["held_out"]["pair_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{report}");
        assert!(judges.join(net).join("model.safetensors").is_file());
        assert!(judges.join(net).join("config.json").is_file());
    }
    let labels = std::fs::read_to_string(judges.join("samples/labels.jsonl")).unwrap();
    assert_eq!(labels.lines().count(), 18);

    let grpo_toml = |rewards: &str| {
        let path = dir.path().join("grpo_new.toml");
        std::fs::write(
            &path,
            format!(
                r#"
base_model = "{}"

[prompts]
train_prompts = 4
eval_prompts = 0

[training]
output_dir = "unused"
max_steps = 1
learning_rate = 1e-3
gradient_accumulation_steps = 2

[grpo]
group_size = 4
prompts_per_step = 1
sampling_steps = 3
{rewards}"#,
                base.display()
            ),
        )
        .unwrap();
        path
    };
    let learned = grpo_toml(&format!(
        r#"
[[rewards]]
name = "pref"
kind = "learned_judge_win_rate"
path = "{}"

[[rewards]]
name = "score"
kind = "learned_scorer"
path = "{}"
weight = 0.5
"#,
        judges.join("judge").display(),
        judges.join("scorer").display()
    ));
    let out = dir.path().join("learned");
    grpo(&learned, &out, &[]).unwrap();
    let step = first_step(&out);
    assert!(
        (step["rewards/pref/mean"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{step}"
    );
    let score = step["rewards/score/mean"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score), "{step}");

    // The MLLM judge: nothing listens on the discard port, so the step fails after retries.
    let mllm = grpo_toml(
        r#"
[[rewards]]
name = "mllm"
kind = "mllm_judge_win_rate"

[rewards.judge]
base_url = "http://127.0.0.1:9/v1"
model = "UnifiedReward"
max_retries = 1
initial_backoff_ms = 1
max_backoff_ms = 2
timeout_ms = 2000
"#,
    );
    let err = grpo(&mllm, &dir.path().join("mllm"), &[]).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("127.0.0.1:9") && text.contains("2 attempt"),
        "{text}"
    );

    // A live OpenAI-compatible judge on the loopback: it prefers image 1, except that every
    // third answer is unparsable (a tie) and the first request is refused once (retried).
    let server = Server::start(true, None, |r| match r.n {
        0 => Reply::Status(503, "warming up".into()),
        n if n % 3 == 0 => Reply::Answer("I cannot decide.".into()),
        _ => Reply::Answer("<think>…</think><answer>Image 1 is better</answer>".into()),
    });
    let live = grpo_toml(&format!(
        r#"
[[rewards]]
name = "mllm"
kind = "mllm_judge_win_rate"

[rewards.judge]
base_url = "http://{}/v1"
model = "UnifiedReward"
max_retries = 2
initial_backoff_ms = 1
max_backoff_ms = 2
"#,
        server.addr
    ));
    let out = dir.path().join("mllm_live");
    grpo(&live, &out, &[]).unwrap();
    let step = first_step(&out);
    // One group of 4 images: all C(4, 2) = 6 pairs judged, none dropped; win rates average ½.
    assert_eq!(step["rewards/mllm/comparisons"], 6.0, "{step}");
    assert_eq!(step["rewards/mllm/unscored"], 0.0, "{step}");
    assert!(
        (step["rewards/mllm/mean"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{step}"
    );
    let ties = step["rewards/mllm/ties"].as_f64().unwrap();
    assert!(ties >= 1.0, "the unparsable answers count as ties: {step}");
    // Every request is the UnifiedReward pairwise prompt with two JPEG data URIs.
    let requests = server.recorded();
    assert_eq!(requests.len(), 7, "6 comparisons + 1 retry");
    for request in &requests {
        let body = request.json();
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(body["model"], "UnifiedReward");
        let content = body["messages"][0]["content"].as_array().unwrap();
        let uris: Vec<&str> = content[..2]
            .iter()
            .map(|c| c["image_url"]["url"].as_str().unwrap())
            .collect();
        assert!(
            uris.iter()
                .all(|u| u.starts_with("data:image/jpeg;base64,")),
            "{body}"
        );
        assert!(content[2]["text"].as_str().unwrap().contains("<answer>"));
    }
}
