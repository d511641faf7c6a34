//! `prefopt t2i study`: the judges fitted on a tiny base, two arms × two seeds of two GRPO
//! steps, the report from the leaderboard scoring of every evaluation, and a rerun that keeps
//! finished runs and continues an interrupted one.

use std::path::Path;

use crate::prefopt;
use crate::t2i::{arg, safetensors_bytes, tiny_config, tiny_judges_toml};

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn t2i_study_runs_every_arm_and_seed_and_continues_a_killed_study() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let base_config = tiny_config(dir.path(), &base);
    prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&base_config),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    // The study replaces base_model and output_dir with its own.
    write(
        &dir.path().join("judges.toml"),
        &tiny_judges_toml(Path::new("ignored"), Path::new("ignored"), 4),
    );
    write(
        &dir.path().join("grpo.toml"),
        r#"
[prompts]
train_prompts = 4
eval_prompts = 3
eval_images_per_prompt = 2
eval_sampling_steps = 2
[training]
max_steps = 2
learning_rate = 1e-3
save_steps = 1
eval_steps = 1
gradient_accumulation_steps = 2
[grpo]
group_size = 4
prompts_per_step = 1
sampling_steps = 3
"#,
    );
    let study = dir.path().join("study.toml");
    write(
        &study,
        &format!(
            r#"
base_model = "{}"
seeds = [0, 1]
judges = "judges.toml"
grpo = "grpo.toml"
grid_prompts = 2

[[arms]]
name = "scorer"
label = "GRPO, learned scorer"
[[arms.rewards]]
name = "learned_scorer"
kind = "learned_scorer"

[[arms]]
name = "checker_judge"
label = "Pref-GRPO, checker judge"
[[arms.rewards]]
name = "checker_win_rate"
kind = "checker_win_rate"
"#,
            base.display()
        ),
    );
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "t2i",
            "study",
            "--config",
            arg(&study),
            "--out",
            arg(&out),
            "--no-progress",
            "--no-plots",
        ];
        args.extend_from_slice(extra);
        prefopt(&args)
    };
    // Two runs at a time.
    run(&["--jobs", "2"]).unwrap();

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["base_identical"], true, "{results}");
    assert_eq!(results["max_steps"], 2);
    let arms = results["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 2);
    for arm in arms {
        let runs = arm["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "two seeds");
        for r in runs {
            let steps: Vec<u64> = r["eval"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["step"].as_u64().unwrap())
                .collect();
            assert_eq!(steps, vec![0, 1, 2], "{r}");
            assert_eq!(r["rollout"].as_array().unwrap().len(), 2);
            // The study's monitor: the checker's pass rate of the rollouts, not trained on.
            let gt = r["rollout"][0]["mean"]["ground_truth"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&gt), "{r}");
        }
        assert_eq!(arm["delta_overall"]["seeds"], 2, "{arm}");
        assert!(arm["ground_truth"]["last"]["mean"].is_number(), "{arm}");
    }
    // The learned scorer is a proxy set against the ground truth; win rates are not.
    assert_eq!(arms[0]["proxies"], serde_json::json!(["learned_scorer"]));
    assert_eq!(arms[1]["proxies"], serde_json::json!([]));
    // Every run starts from the same base evaluation.
    let first = |r: usize| arms[1]["runs"][r]["eval"][0]["overall"].clone();
    assert_eq!(first(0), first(1));
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    for needle in [
        "| base |",
        "GRPO, learned scorer",
        "Pref-GRPO, checker judge",
        "held-out pair accuracy",
    ] {
        assert!(md.contains(needle), "{needle}: {md}");
    }
    for png in [
        "overall.png",
        "rollout-reward.png",
        "group-std.png",
        "samples-scorer.png",
        "samples-checker_judge.png",
    ] {
        assert!(out.join("plots").join(png).is_file(), "{png}");
    }
    assert!(out.join("judges/judges_report.json").is_file());

    // Kill the last run after its first checkpoint and rerun: the finished runs are kept as
    // they are, the interrupted one resumes and ends where it ended before.
    let last_run = out.join("runs/checker_judge/seed-1");
    let before = safetensors_bytes(&last_run);
    let kept = std::fs::metadata(out.join("runs/scorer/seed-0/study_run.json"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::remove_file(last_run.join("study_run.json")).unwrap();
    std::fs::remove_dir_all(last_run.join("checkpoint-2")).unwrap();
    run(&[]).unwrap();
    assert_eq!(
        safetensors_bytes(&last_run),
        before,
        "the resumed run ends with the same weights"
    );
    assert_eq!(
        std::fs::metadata(out.join("runs/scorer/seed-0/study_run.json"))
            .unwrap()
            .modified()
            .unwrap(),
        kept,
        "a finished run is not rerun"
    );
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        again["arms"][1]["final_overall"], results["arms"][1]["final_overall"],
        "the same results after the resume"
    );

    // Bad configs are named.
    let err = run(&["--set", "seeds=[]"]).unwrap_err();
    assert!(format!("{err:#}").contains("seeds"), "{err:#}");
    let err = run(&["--set", "grid_promts=3"]).unwrap_err();
    assert!(format!("{err:#}").contains("grid_promts"), "{err:#}");
}
