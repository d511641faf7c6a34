//! `cargo xtask fuzz --seconds N [--target T] [--inputs N]`: every fuzz target of
//! `prefopt-fuzz` (or one) for N seconds each (or N inputs each), one after the other, then a
//! table of the inputs each ran. A panic, a hang or an allocation past 4 GiB of address space
//! fails the run with the input (bolero prints it, shrunk).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::cargo;

/// The address space a fuzz run may use (`prlimit --as`, where available).
const MAX_ADDRESS_SPACE: u64 = 4 << 30;

/// The value after `flag` in `flags`, if present.
pub fn flag_value<'a>(flags: &'a [String], flag: &str) -> Result<Option<&'a str>> {
    match flags.iter().position(|f| f == flag) {
        None => Ok(None),
        Some(i) => flags
            .get(i + 1)
            .map(|v| Some(v.as_str()))
            .with_context(|| format!("{flag} needs a value")),
    }
}

pub fn fuzz(flags: &[String]) -> Result<()> {
    let seconds: f64 = flag_value(flags, "--seconds")?
        .unwrap_or("10")
        .parse()
        .context("--seconds: a number")?;
    let inputs = flag_value(flags, "--inputs")?;
    let target = flag_value(flags, "--target")?;
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "prefopt-fuzz",
        "--test",
        "fuzz",
        "--locked",
        "--",
    ])
    .args(["--test-threads=1", "--nocapture"])
    .env("PREFOPT_FUZZ_SECONDS", seconds.to_string())
    .stderr(Stdio::piped());
    // An allocation driven by an untrusted length fails the run: inputs are at most 1 MiB,
    // so no parser needs anything near 4 GiB of address space.
    if cfg!(all(target_os = "linux", target_arch = "x86_64"))
        && Command::new("prlimit").arg("--version").output().is_ok()
    {
        cmd.env(
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER",
            format!("prlimit --as={MAX_ADDRESS_SPACE}"),
        );
    }
    if let Some(n) = inputs {
        cmd.env("PREFOPT_FUZZ_INPUTS", n);
    }
    if let Some(t) = target {
        cmd.args(["--exact", t]);
    }
    eprintln!("==> fuzz: {cmd:?}");
    let mut child = cmd.spawn().context("could not start cargo test")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut table = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        eprintln!("{line}");
        if let Some(rest) = line.strip_prefix("fuzz ") {
            table.push(rest.to_string());
        }
    }
    let status = child.wait()?;
    println!("| target | inputs |\n|---|---|");
    for row in &table {
        let (name, rest) = row.split_once(": ").unwrap_or((row, ""));
        println!("| `{name}` | {rest} |");
    }
    if !status.success() {
        bail!("fuzzing failed ({status}): see the input above");
    }
    if table.is_empty() {
        bail!("no fuzz target ran (unknown --target?)");
    }
    Ok(())
}
