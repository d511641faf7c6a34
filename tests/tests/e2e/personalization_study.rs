//! `prefopt personalization-study` from a pretrained checkpoint: natural-language users, full
//! fine-tuning and LoRA, the untrained rows with and without the history, and a killed study
//! continued where it stopped.

use std::path::Path;

use serde_json::Value;

use crate::prefopt;

/// The smoke world written as English sentences.
const TASK: &str = r#"
[task]
train_users = 24
eval_users = 4
test_users = 6
min_history = 2
max_history = 4
pretrain_users = 8
text = "natural"
"#;

fn results(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn personalization_study_from_a_pretrained_checkpoint_with_lora_continues_a_killed_study() {
    let dir = tempfile::tempdir().unwrap();
    // The "pretrained" checkpoint: a tiny model trained with ContextSFT on the pretraining
    // users of the natural-language world (the first study's base).
    let pretrain_config = dir.path().join("pretrain.toml");
    std::fs::write(
        &pretrain_config,
        format!(
            "seeds = [1]\nbase_steps = 4\nbase_arm = \"context_sft\"\nsteps = 2\nbatch_size = 4\n\
             max_new_tokens = 8\narms = [\"base\"]\n{TASK}"
        ),
    )
    .unwrap();
    let first = dir.path().join("first");
    prefopt(&[
        "personalization-study",
        "--config",
        pretrain_config.to_str().unwrap(),
        "--out",
        first.to_str().unwrap(),
    ])
    .unwrap();
    let base = first.join("base-1");
    assert!(base.join("model.safetensors").is_file() && base.join("tokenizer.json").is_file());
    let targets = std::fs::read_to_string(first.join("data/test.jsonl")).unwrap();
    assert!(targets.contains("\"text\":\"Great ") || targets.contains("\"text\":\"Good "));

    // The study proper, from that checkpoint: both tunings, both untrained rows.
    let config = dir.path().join("study.toml");
    std::fs::write(
        &config,
        format!(
            "seeds = [1]\nbase_steps = 0\nsteps = 3\nbatch_size = 4\nmax_new_tokens = 8\n\
             tuning = [\"full\", \"lora\"]\n\
             arms = [\"base\", \"base_null\", \"context_sft\", \"nextquill\"]\n\
             [lora]\nr = 4\nlora_alpha = 8.0\ntarget_modules = [\"q_proj\", \"v_proj\"]\n{TASK}"
        ),
    )
    .unwrap();
    let out = dir.path().join("study");
    let args = [
        "personalization-study",
        "--config",
        config.to_str().unwrap(),
        "--base-model",
        base.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    prefopt(&args).unwrap();
    let report = results(&out);
    let runs = report["runs"].as_array().unwrap();
    let names: Vec<String> = runs
        .iter()
        .map(|r| format!("{}/{}", r["arm"].as_str().unwrap(), r["tuning"]))
        .collect();
    assert_eq!(
        names,
        [
            "base/null",
            "base_null/null",
            "context_sft/\"full\"",
            "context_sft/\"lora\"",
            "nextquill/\"full\"",
            "nextquill/\"lora\"",
        ]
    );
    // No init-<seed>: every arm started from the given checkpoint.
    assert!(!out.join("init-1").exists());
    let lora = out.join("nextquill-lora-1");
    assert!(
        lora.join("adapter_config.json").is_file(),
        "a LoRA run keeps its PEFT adapter"
    );
    assert!(!lora.join("model.safetensors").exists());
    assert!(out.join("nextquill-1/model.safetensors").is_file());
    let table = std::fs::read_to_string(out.join("results.md")).unwrap();
    for row in [
        "starting checkpoint, null history",
        "ContextSFT, full fine-tuning",
        "NextQuill (full), LoRA",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    // The untrained rows generate from the two prompts of the same model.
    assert_eq!(runs[0]["eval"]["view"], "history");
    assert_eq!(runs[1]["eval"]["view"], "null");
    assert!(runs[0]["final_loss"].is_null() && runs[1]["final_loss"].is_null());
    // ... and both carry the targets' likelihood under the three prompts, overall and per
    // slot (the in-context reading of the history before any training); so do the trained
    // arms of a study from a checkpoint (what training did to it), in a second table.
    let used = &runs[0]["history_use"];
    assert_eq!(*used, runs[1]["history_use"]);
    assert_eq!(
        used["unaligned"], 0,
        "every target's tokens line up with its text: {used}"
    );
    for slot in ["all", "generic", "aspect", "adjective", "signoff"] {
        for key in ["history", "null_history", "other_history"] {
            let nll = used[slot][key].as_f64().unwrap();
            assert!(nll.is_finite() && nll > 0.0, "{slot}.{key}: {used}");
        }
        assert!(
            used[slot]["tokens"].as_u64().unwrap() >= 6,
            "{slot}: {used}"
        );
    }
    for run in &runs[2..] {
        let nll = run["history_use"]["aspect"]["other_history"]
            .as_f64()
            .unwrap();
        assert!(nll.is_finite(), "{run}");
    }
    assert!(table.contains("| own vs other: all |"), "{table}");

    // Rerunning keeps every finished run; a run that did not finish (no study_run.json) is
    // done again from the start, to the same result.
    let markers: Vec<_> = ["base_eval-1", "context_sft-1", "nextquill-1"]
        .iter()
        .map(|d| {
            (
                out.join(d).join("study_run.json"),
                modified(&out.join(d).join("study_run.json")),
            )
        })
        .collect();
    std::fs::remove_file(lora.join("study_run.json")).unwrap();
    std::fs::write(lora.join("half_written.tmp"), b"x").unwrap();
    prefopt(&args).unwrap();
    for (marker, before) in &markers {
        assert_eq!(modified(marker), *before, "{} was rerun", marker.display());
    }
    assert!(lora.join("study_run.json").is_file() && !lora.join("half_written.tmp").exists());
    let again = results(&out);
    for (a, b) in runs.iter().zip(again["runs"].as_array().unwrap()) {
        assert_eq!(a["eval"], b["eval"], "{} changed", a["arm"]);
    }

    // A second seed trains its arms again; the untrained rows, the same greedy evaluation of
    // the same checkpoint, are not redone.
    let mut two_seeds = args.to_vec();
    two_seeds.extend(["--seeds", "1,2"]);
    prefopt(&two_seeds).unwrap();
    let report = results(&out);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 12);
    assert!(out.join("context_sft-lora-2/study_run.json").is_file());
    assert!(!out.join("base_eval-2").exists() && !out.join("base_null_eval-2").exists());
    assert_eq!(runs[6]["arm"], "base");
    assert_eq!(runs[6]["seed"], 2);
    assert_eq!(runs[6]["eval"], runs[0]["eval"]);
}
