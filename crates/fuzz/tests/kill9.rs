//! Kill -9 anywhere: `prefopt dpo`, `prefopt grpo`, `prefopt t2i train` and
//! `prefopt bench unigenbench judge`
//! SIGKILLed at random moments (1 to 3 times per round, each at a uniform moment within the
//! length of an uninterrupted run, so during checkpoint and verdict writes too), restarted
//! (with `--resume` once a checkpoint exists), and compared with an uninterrupted run: the same final weights and checkpoints
//! byte for byte, the same logged steps (none lost, none twice), the same verdicts (each image
//! once), and no temporary or half-written file left.
//!
//! Ignored by `cargo test`: `cargo xtask kill9 --runs N` builds the binary and runs them with
//! `PREFOPT_BIN` (the `prefopt` binary) and `PREFOPT_KILL9_RUNS` (rounds per command);
//! `PREFOPT_KILL9_SEED` replays a round's kill moments, `PREFOPT_KILL9_TOLERATE_LEFTOVERS`
//! counts rounds that leave temporaries instead of failing on the first.

#![allow(clippy::print_stderr)] // the kill counts are what this harness reports

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prefopt_bench::unigenbench::Verdicts;
use prefopt_core::SplitMix64;
use prefopt_testkit::{Reply, Server};

#[allow(dead_code)] // the bench fixtures: only the suite, images and mock judge are used here
#[path = "../../bench/tests/common.rs"]
mod common;

fn bin() -> PathBuf {
    PathBuf::from(
        std::env::var("PREFOPT_BIN").expect("PREFOPT_BIN: the prefopt binary (cargo xtask kill9)"),
    )
}

fn rounds() -> usize {
    std::env::var("PREFOPT_KILL9_RUNS").map_or(3, |s| s.parse().expect("PREFOPT_KILL9_RUNS"))
}

fn command(args: &[String], log: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap());
    cmd
}

/// Runs `prefopt args` to the end; how long it took.
fn finish(args: &[String], log: &Path) -> Duration {
    let start = Instant::now();
    let status = command(args, log).status().unwrap();
    assert!(
        status.success(),
        "prefopt {args:?}: {status}\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    start.elapsed()
}

/// Starts `prefopt args` and SIGKILLs it after `delay` unless it ended first (successfully:
/// a failure after an earlier kill is a finding). Whether it was killed.
fn kill_after(args: &[String], delay: Duration, log: &Path) -> bool {
    let mut child = command(args, log).spawn().unwrap();
    let deadline = Instant::now() + delay;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "prefopt {args:?} failed after a kill: {status}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every file or folder under `dir` whose name marks a temporary (`.tmp-`, `.old-`).
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains(".tmp-") || name.contains(".old-") {
            found.push(path.clone());
        }
        if path.is_dir() {
            found.extend(temporaries(&path));
        }
    }
    found
}

/// `runs` rounds on fresh output folders: kill `args(out)` 1 to 3 times at random moments
/// within `span`, resume to the end, then `check(out)`. Prints the count.
fn kill_rounds(
    name: &str,
    root: &Path,
    span: Duration,
    args: impl Fn(&Path) -> Vec<String>,
    check: impl Fn(&Path),
) {
    let seed = std::env::var("PREFOPT_KILL9_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |s| s.parse().expect("PREFOPT_KILL9_SEED"),
    );
    let mut rng = SplitMix64::new(seed);
    let (mut kills, mut finished_first, mut rounds_with_leftovers) = (0, 0, 0);
    // Count rounds that leave temporaries instead of failing on the first (to measure the
    // rest while a known leftover is being fixed).
    let tolerate_leftovers = std::env::var_os("PREFOPT_KILL9_TOLERATE_LEFTOVERS").is_some();
    for round in 0..rounds() {
        let out = root.join(format!("{name}-{round}"));
        let log = root.join(format!("{name}.log"));
        for _ in 0..=rng.below(3) {
            let delay = span.mul_f64(rng.next_f64());
            if kill_after(&args(&out), delay, &log) {
                kills += 1;
            } else {
                finished_first += 1;
            }
        }
        finish(&args(&out), &log);
        check(&out);
        let left = temporaries(&out);
        if !left.is_empty() && tolerate_leftovers {
            rounds_with_leftovers += 1;
        } else {
            assert!(
                left.is_empty(),
                "{name} round {round}: the result is right but the restarts left behind {left:?}"
            );
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
    eprintln!(
        "kill9 {name}: {} rounds (seed {seed}), {kills} SIGKILLs ({finished_first} more starts \
         ended before their kill), every result identical to the uninterrupted run; \
         {rounds_with_leftovers} rounds left temporaries",
        rounds()
    );
}

fn same_bytes(a: &Path, b: &Path) {
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "{} differs from {}",
        b.display(),
        a.display()
    );
}

/// `(step, loss)` of every line of `dir/metrics.jsonl`.
fn logged(dir: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| Some((v["step"].as_u64()?, v["loss"].as_f64()?)))
        .collect()
}

/// The checks shared by the trainers: final files and every checkpoint's weights byte
/// for byte, the logged steps once each with the same losses.
fn same_training(straight: &Path, out: &Path, files: &[&str]) {
    same_training_with(straight, out, files, &["model.safetensors"]);
}

/// [`same_training`] with the weight files a checkpoint holds (`weights`, relative to it).
fn same_training_with(straight: &Path, out: &Path, files: &[&str], weights: &[&str]) {
    for file in files {
        same_bytes(&straight.join(file), &out.join(file));
    }
    let mut checkpoints = 0;
    for entry in std::fs::read_dir(straight).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name.to_string_lossy().starts_with("checkpoint-") {
            for weight in weights {
                same_bytes(&path.join(weight), &out.join(&name).join(weight));
            }
            checkpoints += 1;
        }
    }
    assert!(checkpoints > 0, "the straight run saved no checkpoint");
    let (a, b) = (logged(straight), logged(out));
    assert_eq!(
        a.iter().map(|x| x.0).collect::<Vec<_>>(),
        b.iter().map(|x| x.0).collect::<Vec<_>>(),
        "logged steps of {}",
        out.display()
    );
    for ((step, x), (_, y)) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6, "step {step}: loss {x} vs {y}");
    }
}

/// `--resume` when `out` holds a finished `checkpoint-<step>/` (the trainers refuse
/// `--resume` without one, and a fresh start over one): what a restart script does.
fn resume_flag(out: &Path) -> Vec<String> {
    let has_checkpoint = std::fs::read_dir(out).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("checkpoint-")
                .is_some_and(|step| step.chars().all(|c| c.is_ascii_digit()))
        })
    });
    if has_checkpoint {
        vec!["--resume".into()]
    } else {
        Vec::new()
    }
}

/// The GRPO toy world (a tiny random policy and its prompts) in `root/world`.
fn toy_world(root: &Path) -> PathBuf {
    let world = root.join("world");
    let args: Vec<String> = [
        "toy-world",
        "--out",
        world.to_str().unwrap(),
        "--hidden",
        "32",
        "--seed",
        "11",
        "--prompts",
        "16",
        "--prompt-seed",
        "1",
    ]
    .map(String::from)
    .to_vec();
    finish(&args, &root.join("world.log"));
    world
}

/// Runs `args(straight)` once uninterrupted, then the kill rounds against it.
fn against_straight(
    name: &str,
    root: &Path,
    args: impl Fn(&Path) -> Vec<String>,
    check: impl Fn(&Path, &Path),
) {
    let straight = root.join(format!("{name}-straight"));
    let log = root.join(format!("{name}.log"));
    let mut span = finish(&args(&straight), &log);
    // Two more uninterrupted runs: the result is deterministic, and the shortest run (warm
    // caches) is the window the kills are drawn from.
    for again in 0..2 {
        let out = root.join(format!("{name}-again-{again}"));
        span = span.min(finish(&args(&out), &log));
        check(&straight, &out);
        std::fs::remove_dir_all(&out).unwrap();
    }
    eprintln!("kill9 {name}: an uninterrupted run takes {span:.2?}");
    kill_rounds(name, root, span, args, |out| check(&straight, out));
}

#[test]
#[ignore = "run by cargo xtask kill9 (needs PREFOPT_BIN)"]
fn dpo_killed_anywhere_resumes_to_the_same_weights() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let world = toy_world(root);
    // Pairs over the toy tokenizer's characters.
    let pairs: String = (0..8)
        .map(|i| {
            format!(
                "{{\"prompt\": \"{}\", \"chosen\": \"hhh\", \"rejected\": \"{}\"}}\n",
                "ab".repeat(i + 1),
                "ba".repeat(i % 3 + 1)
            )
        })
        .collect();
    std::fs::write(root.join("pairs.jsonl"), pairs).unwrap();
    let config = root.join("dpo.toml");
    std::fs::write(
        &config,
        format!(
            r#"[model]
path = "{model}"

[data]
train = "{train}"
max_length = 32

[training]
output_dir = "unused"
learning_rate = 1e-2
logging_steps = 1
seed = 3
max_steps = 12
per_device_train_batch_size = 2
save_steps = 3
lr_scheduler_type = "constant"

[dpo]
beta = 0.1
"#,
            model = world.join("model").display(),
            train = root.join("pairs.jsonl").display(),
        ),
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        vec![
            "dpo".into(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--no-progress".into(),
            "--no-plots".into(),
            "--set".into(),
            format!("training.output_dir={:?}", out.to_str().unwrap()),
        ]
        .into_iter()
        .chain(resume_flag(out))
        .collect()
    };
    against_straight("dpo", root, args, |straight, out| {
        same_training(straight, out, &["model.safetensors", "config.json"]);
    });
}

#[test]
#[ignore = "run by cargo xtask kill9 (needs PREFOPT_BIN)"]
fn grpo_killed_anywhere_resumes_to_the_same_weights() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let world = toy_world(root);
    let config = root.join("grpo.toml");
    std::fs::write(
        &config,
        format!(
            r#"[model]
path = "{model}"
output_dir = "unused"

[data]
prompts = "{prompts}"

[grpo]
learning_rate = 1e-2
lr_scheduler_type = "constant"
prompts_per_step = 4
seed = 7
max_steps = 12
save_steps = 3

[grpo.loss]
num_generations = 8
max_completion_length = 8

[[grpo.rewards]]
name = "more_h"
kind = "win_rate"
judge = {{ kind = "programmatic", comparator = "toy_h_fraction" }}

[[grpo.rewards]]
name = "toy_h_fraction"
weight = 0.0
"#,
            model = world.join("model").display(),
            prompts = world.join("prompts.jsonl").display(),
        ),
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        vec![
            "grpo".into(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--set".into(),
            format!("model.output_dir={:?}", out.to_str().unwrap()),
        ]
        .into_iter()
        .chain(resume_flag(out))
        .collect()
    };
    against_straight("grpo", root, args, |straight, out| {
        same_training(
            straight,
            out,
            &["model.safetensors", "config.json", "tokenizer.json"],
        );
    });
}

#[test]
#[ignore = "run by cargo xtask kill9 (needs PREFOPT_BIN)"]
fn t2i_train_killed_anywhere_resumes_to_the_same_weights() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // A tiny pipeline of the shapes world (1+1 blocks), 8 steps, a checkpoint every 2.
    let config = root.join("t2i.toml");
    std::fs::write(
        &config,
        r#"[world]
width = 32
height = 32
big = 11
small = 7
max_objects = 4
gap = 2

[model]
num_layers = 1
num_single_layers = 1
num_attention_heads = 2
attention_head_dim = 16
axes_dims_rope = [4, 6, 6]
text_hidden_size = 32
text_layers = 1
text_heads = 2
joint_attention_dim = 32
pooled_projection_dim = 32

[training]
output_dir = "unused"
max_steps = 8
per_device_train_batch_size = 4
learning_rate = 1e-3
warmup_steps = 1
lr_scheduler_type = "cosine"
logging_steps = 1
save_steps = 2
seed = 3
"#,
    )
    .unwrap();
    let args = |out: &Path| -> Vec<String> {
        vec![
            "t2i".into(),
            "train".into(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--no-progress".into(),
            "--no-plots".into(),
            "--set".into(),
            format!("training.output_dir={:?}", out.to_str().unwrap()),
        ]
        .into_iter()
        .chain(resume_flag(out))
        .collect()
    };
    let weights = [
        "transformer/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
    ];
    against_straight("t2i", root, args, |straight, out| {
        let files = [weights[0], weights[1], "transformer/config.json"];
        same_training_with(straight, out, &files, &weights);
    });
}

#[test]
#[ignore = "run by cargo xtask kill9 (needs PREFOPT_BIN)"]
fn a_judge_run_killed_anywhere_resumes_to_the_same_verdicts() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let suite = common::write_suite(root);
    let images = root.join("images");
    common::write_images(&images, common::PROMPTS.len(), 16);
    // A judge that takes a moment per answer, so kills land mid-run.
    let server = Server::start(false, None, |req| {
        Reply::Sleep(
            Duration::from_millis(20),
            Box::new(common::good_answer(req)),
        )
    });
    let args = |out: &Path| -> Vec<String> {
        [
            "bench",
            "unigenbench",
            "judge",
            "--suite",
            suite.to_str().unwrap(),
            "--images",
            images.to_str().unwrap(),
            "--endpoint",
            &server.url(),
            "--model",
            "QwenVL",
            "--api-key-env",
            "PREFOPT_KILL9_UNSET_KEY",
            "--workers",
            "2",
            "--resume",
            "--verdicts",
            out.join("verdicts.jsonl").to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let images_judged = common::PROMPTS.len() * 4;
    against_straight("judge", root, args, |straight, out| {
        let a = Verdicts::load(&straight.join("verdicts.jsonl")).unwrap();
        let b = Verdicts::load(&out.join("verdicts.jsonl")).unwrap();
        assert_eq!(a.by_key.len(), images_judged);
        assert_eq!(
            (b.by_key.len(), b.lines, b.truncated_tail),
            (images_judged, images_judged, false),
            "every image judged once: {}",
            out.display()
        );
        for (key, verdict) in &a.by_key {
            let other = serde_json::to_value(&b.by_key[key]).unwrap();
            assert_eq!(serde_json::to_value(verdict).unwrap(), other, "{key:?}");
        }
    });
}
