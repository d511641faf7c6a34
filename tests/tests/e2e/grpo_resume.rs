//! A `prefopt grpo` process killed with SIGKILL between two checkpoints and resumed with
//! `--resume` logs the same losses and ends with the same weights as a run that was never
//! interrupted.
//!
//! The killed run is a child process running the CLI entry point (`prefopt_cli::run`, what the
//! binary's `main` calls): this test binary re-executes itself on the ignored test
//! [`prefopt_child_process`] with the command line in `PREFOPT_E2E_CHILD_ARGS`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::Setup;
use crate::grpo::{PAIRWISE_TOY_REWARDS, run, run_args, toy_config, toy_world};
use crate::prefopt;

const CHILD_ARGS: &str = "PREFOPT_E2E_CHILD_ARGS";

/// Not a test of its own: the entry point of the child process of
/// [`a_grpo_run_killed_between_checkpoints_resumes_to_the_same_losses`].
#[test]
#[ignore = "run as a child process by grpo_resume's kill test"]
fn prefopt_child_process() {
    let args = std::env::var(CHILD_ARGS).expect("run only by the kill test");
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    prefopt(&args).unwrap();
}

/// `(step, line)` of every line of `dir/metrics.jsonl` (none if it does not exist yet).
fn lines(dir: &Path) -> Vec<(u64, serde_json::Value)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| (v["step"].as_u64().unwrap(), v))
        .collect()
}

#[test]
fn a_grpo_run_killed_between_checkpoints_resumes_to_the_same_losses() {
    let s = Setup::new();
    let world = s.path("world");
    toy_world(&world, 32, 11, 16, 1);
    let settings = "max_steps = 40\nsave_steps = 3";
    let straight = s.path("straight");
    let config = toy_config(
        &s,
        "a.toml",
        &world,
        &straight,
        settings,
        PAIRWISE_TOY_REWARDS,
    );
    run(&config, &[]).unwrap();

    let killed = s.path("killed");
    let config = toy_config(
        &s,
        "b.toml",
        &world,
        &killed,
        settings,
        PAIRWISE_TOY_REWARDS,
    );
    let args = serde_json::json!(["grpo", "--config", config.to_str().unwrap()]).to_string();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "grpo_resume::prefopt_child_process",
            "--ignored",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_ARGS, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has logged a step after checkpoint-3 that is not itself a
    // checkpoint step: between two checkpoints.
    let start = Instant::now();
    let last_logged = loop {
        let last = lines(&killed).last().map(|(step, _)| *step);
        if let Some(step) = last.filter(|s| *s >= 4 && s % 3 != 0) {
            child.kill().unwrap(); // SIGKILL
            break step;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before it could be killed"
        );
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    };
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was not killed: {status}");
    let logged = lines(&killed);
    let last = logged.last().unwrap().0;
    assert!(last >= last_logged && last < 40, "killed at step {last}");
    assert!(
        !killed.join("model.safetensors").exists(),
        "no final model yet"
    );
    let checkpoint = prefopt_train::latest_checkpoint(&killed).unwrap().unwrap();
    let resumed_step = prefopt_train::TrainerState::read(checkpoint.join("trainer_state.json"))
        .unwrap()
        .global_step;
    assert!(
        resumed_step < last && resumed_step.is_multiple_of(3),
        "checkpoint {resumed_step}, last logged step {last}"
    );

    let report = run_args(&config, &["--resume"]).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(report.resumed_from.as_deref(), Some(checkpoint.as_path()));
    assert_eq!(report.rewards.len() as u64, 40 - resumed_step);
    let (a, b) = (lines(&straight), lines(&killed));
    assert_eq!(a.len(), 40);
    assert_eq!(
        b.iter().map(|l| l.0).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<u64>>(),
        "the lines logged after the checkpoint by the killed run were dropped"
    );
    for ((step, x), (_, y)) in a.iter().zip(&b) {
        for key in [
            "loss",
            "grad_norm",
            "rewards/toy_h_fraction/mean",
            "rewards/more_h/ties",
        ] {
            let (x, y) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6, "step {step} {key}: {x} vs {y}");
        }
    }
    for file in ["model.safetensors", "config.json", "tokenizer.json"] {
        assert_eq!(
            std::fs::read(straight.join(file)).unwrap(),
            std::fs::read(killed.join(file)).unwrap(),
            "{file}"
        );
    }
    // Every checkpoint is a loadable model directory.
    let every = prefopt_train::list_checkpoints(&killed).unwrap();
    assert_eq!(every.len(), 13);
    for (_, dir) in every.iter().take(1) {
        prefopt(&[
            "generate",
            "--model",
            dir.to_str().unwrap(),
            "--prompts",
            world.join("prompts.jsonl").to_str().unwrap(),
            "--output",
            s.path("gen.jsonl").to_str().unwrap(),
            "--max-new-tokens",
            "2",
        ])
        .unwrap();
    }
}
