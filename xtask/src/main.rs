//! prefopt automation: `cargo xtask <task>`.
//!
//! - `ci`: format check, clippy with `-D warnings`, then the whole test suite, all `--locked`.
//! - `bench`: the benchmarks whose numbers go to `docs/benchmarks.md`.
//! - `bench-dpo`: the DPO training step against plain PyTorch eager on the same tiny config,
//!   both run here one after the other (`--reps N` alternating runs, default 3); prints the
//!   medians and the ratio. Needs `PREFOPT_PYTHON` (a Python with torch and transformers) and
//!   the peer scripts at `PREFOPT_PEER_DIR` (default `../shared/peer`).
//! - `fixtures [--list] [--only PATH-PART]`: regenerates the committed reference fixtures with
//!   every committed Python generator (`GENERATORS`; needs a Python with numpy, torch,
//!   transformers, trl, rouge_score and sacrebleu: give it with `PREFOPT_PYTHON`). It refuses to
//!   run while a `.py` file under `crates/` is missing from the list.

#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool talks to its user

use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fixtures") => fixtures(&args[1..]),
        Some("bench-dpo") => bench_dpo(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [--no-fmt] [--no-clippy]|bench [cargo bench args]|fixtures [--list] [--only PATH-PART]|bench-dpo [--reps N]>"
            );
            bail!("unknown or missing task")
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {what}: {cmd:?}");
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start {what}"))?;
    eprintln!("<== {what}: {status} in {:.1?}", started.elapsed());
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn ci(flags: &[String]) -> Result<()> {
    let has = |f: &str| flags.iter().any(|x| x == f);
    if !has("--no-fmt") {
        run("rustfmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    }
    if !has("--no-clippy") {
        run(
            "clippy",
            cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    run(
        "tests",
        cargo().args(["test", "--workspace", "--locked", "--no-fail-fast"]),
    )?;
    Ok(())
}

fn bench(rest: &[String]) -> Result<()> {
    run(
        "benchmarks",
        cargo()
            .args(["bench", "--workspace", "--locked"])
            .args(rest),
    )
}

/// A committed generator of reference fixtures: the script, and the file its standard output
/// goes to (`None` when the script writes its files itself).
struct Generator {
    script: &'static str,
    stdout_to: Option<&'static str>,
}

/// Every committed generator, in dependency order (the tokenizer before the references that
/// read it). `cargo xtask fixtures --list` prints them; a test checks that no `.py` generator
/// under `crates/` is missing here.
const GENERATORS: &[Generator] = &[
    Generator {
        script: "crates/data/scripts/make_tiny_tokenizer.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/data/scripts/reference_transformers.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/core/tests/fixtures/gen_text_metrics_reference.py",
        stdout_to: Some("crates/core/tests/fixtures/text_metrics_reference.json"),
    },
    Generator {
        script: "crates/models/tests/fixtures/generate.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/objectives/tests/fixtures/gen_dpo_reference.py",
        stdout_to: Some("crates/objectives/tests/fixtures/dpo_reference.json"),
    },
    Generator {
        script: "crates/objectives/tests/fixtures/gen_lipo_reference.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/objectives/tests/fixtures/gen_nextquill_reference.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/train/tests/fixtures/gen_adamw_reference.py",
        stdout_to: None,
    },
];

/// Python scripts under `crates/` that are not fixture generators (peers of benchmarks).
const NOT_GENERATORS: &[&str] = &["crates/models/benches/causal_lm_transformers.py"];

fn fixtures(flags: &[String]) -> Result<()> {
    if flags.iter().any(|f| f == "--list") {
        for g in GENERATORS {
            println!("{}", g.script);
        }
        return Ok(());
    }
    let only = match flags.iter().position(|f| f == "--only") {
        Some(i) => Some(
            flags
                .get(i + 1)
                .context("--only needs a substring of a path")?,
        ),
        None => None,
    };
    check_generator_list(std::path::Path::new("."))?;
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut failed = Vec::new();
    for g in GENERATORS {
        if only.is_some_and(|o| !g.script.contains(o.as_str())) {
            continue;
        }
        let mut cmd = Command::new(&python);
        cmd.arg(g.script);
        let result = match g.stdout_to {
            None => run(g.script, &mut cmd),
            Some(out) => run_to_file(g.script, &mut cmd, out),
        };
        if let Err(e) = result {
            eprintln!("{e:#}");
            failed.push(g.script);
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} generator(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Runs a generator that prints its JSON and writes the output atomically (a failed run leaves
/// the committed file as it was).
fn run_to_file(what: &str, cmd: &mut Command, out: &str) -> Result<()> {
    eprintln!("==> {what} > {out}");
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {what}"))?;
    if !output.status.success() {
        bail!("{what} failed ({})", output.status);
    }
    prefopt_core::write_atomic(std::path::Path::new(out), &output.stdout)?;
    eprintln!("<== {what}: wrote {out}");
    Ok(())
}

/// Fails when a `.py` file under `crates/` is neither a listed generator nor a known
/// non-generator, so a new generator cannot be forgotten.
fn check_generator_list(root: &std::path::Path) -> Result<()> {
    for g in GENERATORS {
        if !root.join(g.script).is_file() {
            bail!("listed generator {} does not exist", g.script);
        }
    }
    let mut unknown = Vec::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let p = rel.to_string_lossy().replace('\\', "/");
                if !GENERATORS.iter().any(|g| g.script == p)
                    && !NOT_GENERATORS.contains(&p.as_str())
                {
                    unknown.push(p);
                }
            }
        }
    }
    if !unknown.is_empty() {
        bail!(
            "python scripts not listed in xtask's GENERATORS (add them, or to NOT_GENERATORS): {}",
            unknown.join(", ")
        );
    }
    Ok(())
}

/// One JSON line printed by a benchmark: the value of `step_s_median`.
fn median_step(stdout: &[u8], who: &str) -> Result<f64> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("{who} printed no JSON line:\n{text}"))?;
    let key = "\"step_s_median\":";
    let start = line
        .find(key)
        .with_context(|| format!("{who}: no step_s_median in {line}"))?
        + key.len();
    let rest = line[start..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .trim()
        .parse()
        .with_context(|| format!("{who}: step_s_median is not a number in {line}"))
}

fn bench_dpo(flags: &[String]) -> Result<()> {
    let reps: usize = match flags.iter().position(|f| f == "--reps") {
        Some(i) => flags
            .get(i + 1)
            .context("--reps needs a number")?
            .parse()
            .context("--reps needs a number")?,
        None => 3,
    };
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let peer = std::env::var("PREFOPT_PEER_DIR").unwrap_or_else(|_| "../shared/peer".into());
    let script = std::path::Path::new(&peer).join("dpo_torch.py");
    if !script.exists() {
        bail!(
            "peer script {} not found (set PREFOPT_PEER_DIR)",
            script.display()
        );
    }
    run(
        "build the prefopt benchmark",
        cargo().args([
            "bench",
            "-p",
            "prefopt-train",
            "--bench",
            "dpo_step",
            "--locked",
            "--no-run",
        ]),
    )?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let mut prefopt = cargo();
        prefopt.args([
            "bench",
            "-p",
            "prefopt-train",
            "--bench",
            "dpo_step",
            "--locked",
            "--quiet",
        ]);
        ours.push(timed_run(&mut prefopt, "prefopt", rep)?);
        theirs.push(timed_run(Command::new(&python).arg(&script), "torch", rep)?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut ours), median(&mut theirs));
    println!(
        "DPO step, median of {reps} runs: prefopt {a:.4} s, torch eager {b:.4} s, \
         prefopt/torch time ratio {:.3} (speed-up {:.3}x)",
        a / b,
        b / a
    );
    Ok(())
}

/// Runs one benchmark process, echoes its JSON line and returns its median step time.
fn timed_run(cmd: &mut Command, who: &str, rep: usize) -> Result<f64> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run the {who} benchmark: {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{who} benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "rep {rep}: {who:<8} {}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    median_step(&out.stdout, who)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_python_generator_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        super::check_generator_list(&root).unwrap();
    }
}
