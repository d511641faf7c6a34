//! prefopt automation: `cargo xtask <task>`.
//!
//! - `ci`: format check, clippy with `-D warnings`, then the whole test suite, all `--locked`.
//! - `bench`: the benchmarks whose numbers go to `docs/benchmarks.md`.
//! - `fixtures`: regenerates the committed reference fixtures with the Python generators
//!   (needs a Python with numpy/torch/transformers; give it with `PREFOPT_PYTHON`).

#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool talks to its user

use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fixtures") => fixtures(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [--no-fmt] [--no-clippy]|bench [cargo bench args]|fixtures>"
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

fn fixtures() -> Result<()> {
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let scripts = [
        "crates/objectives/tests/fixtures/gen_dpo_reference.py",
        "crates/objectives/tests/fixtures/gen_lipo_reference.py",
        "crates/models/tests/fixtures/generate.py",
    ];
    for script in scripts {
        if std::path::Path::new(script).exists() {
            run(script, Command::new(&python).arg(script))?;
        } else {
            eprintln!("skipping {script}: not present");
        }
    }
    Ok(())
}
