//! The fuzz harness: each target under bolero for `PREFOPT_FUZZ_SECONDS` seconds (default 1)
//! or `PREFOPT_FUZZ_INPUTS` inputs,
//! on inputs the engine generates (random bytes under `cargo test`, coverage-guided under
//! `cargo bolero test`), turned by `prefopt_fuzz::mutate` into raw bytes or edits of a seed.
//! Fails on a panic (bolero shrinks and prints the input) or an input slower than
//! [`HANG`]; prints `fuzz <target>: <n> inputs ...` for `cargo xtask fuzz`.

#![allow(clippy::print_stderr)] // the input counts are what `cargo xtask fuzz` reports

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prefopt_fuzz::{Target, mutate, target};

/// Longer than this for one input counts as a hang.
const HANG: Duration = Duration::from_secs(10);

fn seconds() -> Duration {
    let seconds = std::env::var("PREFOPT_FUZZ_SECONDS").ok().map_or(1.0, |s| {
        s.parse::<f64>().expect("PREFOPT_FUZZ_SECONDS: seconds")
    });
    Duration::from_secs_f64(seconds)
}

/// `PREFOPT_FUZZ_INPUTS`: run this many inputs instead of a time.
fn inputs() -> Option<usize> {
    std::env::var("PREFOPT_FUZZ_INPUTS")
        .ok()
        .map(|s| s.parse().expect("PREFOPT_FUZZ_INPUTS: a count"))
}

fn fuzz(name: &str) {
    let Target { run, seeds, .. } = target(name).expect("a fuzz target");
    let seeds = seeds();
    for seed in &seeds {
        run(seed);
    }
    let stats = Mutex::new((0u64, Duration::ZERO));
    let start = Instant::now();
    let check = bolero::check!();
    let check = match inputs() {
        Some(n) => check.with_iterations(n),
        None => check.with_test_time(seconds()),
    };
    check.for_each(|data: &[u8]| {
        let input = mutate(&seeds, data);
        let t = Instant::now();
        run(&input);
        let took = t.elapsed();
        assert!(
            took < HANG,
            "{name}: one input took {took:?} (a hang): {:?}",
            String::from_utf8_lossy(&input)
        );
        let mut stats = stats.lock().unwrap();
        stats.0 += 1;
        stats.1 = stats.1.max(took);
    });
    let (inputs, slowest) = *stats.lock().unwrap();
    assert!(inputs > 0, "{name}: the engine ran no input");
    eprintln!(
        "fuzz {name}: {inputs} inputs in {:.1} s, slowest {:.1} ms",
        start.elapsed().as_secs_f64(),
        slowest.as_secs_f64() * 1e3
    );
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { fuzz(stringify!($name)); })*

        /// Every target has a test here.
        #[test]
        fn every_target_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for t in prefopt_fuzz::TARGETS {
                assert!(tested.contains(&t.name), "no harness test for {}", t.name);
            }
        }
    };
}

targets!(
    gguf,
    safetensors,
    jsonl_preference,
    jsonl_ranked,
    jsonl_sft,
    jsonl_prompts,
    jsonl_lamp,
    jsonl_amazon,
    unigenbench_suite,
    unigenbench_verdicts,
    run_config,
    grpo_config,
    chat_template,
    bench_answer,
    llm_judge_answer,
    chat_reply,
    serve_request,
    shapes_caption,
    flux_config,
    t2i_config,
    t2i_grpo_config,
);
