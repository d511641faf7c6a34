//! `cargo xtask bench-dpo`: the DPO training step of prefopt against the same step in PyTorch
//! eager (`shared/peer/dpo_torch.py`), on the same configurations, in one session.
//!
//! Per configuration it runs the two alternately `--reps` times (default 3) and prints each
//! run's JSON line, the medians of the median step times, their ratio, and each side's peak
//! resident memory: prefopt's benchmark reports its own `VmHWM`, the peer's is read by a
//! wrapper around the unchanged script (`resource.getrusage` after it returns).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::fuzz::flag_value;
use crate::{cargo, run};

/// The configurations: issue 4's tiny model, and SmolLM2-135M's shape (30 layers, hidden 576,
/// 9 query / 3 key-value heads, vocabulary 49,152) on 4 pairs of 128 + 128 tokens.
const CONFIGS: &[(&str, &[&str])] = &[
    ("tiny", &[]),
    (
        "smollm2-135m",
        &[
            "--vocab",
            "49152",
            "--hidden",
            "576",
            "--intermediate",
            "1536",
            "--layers",
            "30",
            "--heads",
            "9",
            "--kv-heads",
            "3",
            "--batch",
            "4",
            "--prompt-len",
            "128",
            "--completion-len",
            "128",
            "--warmup",
            "1",
            "--steps",
            "3",
        ],
    ),
];

/// Runs the peer script (argv[1..]) and then prints its peak RSS as one JSON line.
const PEER_WRAPPER: &str = "import json, resource, runpy, sys\n\
sys.argv = sys.argv[1:]\n\
runpy.run_path(sys.argv[0], run_name='__main__')\n\
print(json.dumps({'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n";

/// One side's runs of one configuration.
#[derive(Default)]
struct Side {
    steps: Vec<f64>,
    peak_rss_mib: Vec<f64>,
}

impl Side {
    fn record(&mut self, stdout: &str, who: &str) -> Result<()> {
        self.steps.push(
            json_number(stdout, "step_s_median")
                .with_context(|| format!("{who} printed no step_s_median:\n{stdout}"))?,
        );
        if let Some(m) = json_number(stdout, "peak_rss_mib") {
            self.peak_rss_mib.push(m);
        }
        Ok(())
    }
}

pub(crate) fn bench_dpo(flags: &[String]) -> Result<()> {
    let reps: usize = match flag_value(flags, "--reps")? {
        Some(v) => v.parse().context("--reps needs a number")?,
        None => 3,
    };
    let which = flag_value(flags, "--config")?.unwrap_or("all");
    let configs: Vec<_> = CONFIGS
        .iter()
        .filter(|(name, _)| which == "all" || which == *name)
        .collect();
    if configs.is_empty() {
        bail!("--config: `{which}` is not one of tiny, smollm2-135m, all");
    }
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
        bench_command().arg("--no-run"),
    )?;
    let mut summary = Vec::new();
    for (name, args) in configs {
        let (mut ours, mut theirs) = (Side::default(), Side::default());
        for rep in 0..reps {
            let mut prefopt = bench_command();
            prefopt.args(["--quiet", "--"]).args(*args);
            ours.record(&output(&mut prefopt, name, "prefopt", rep)?, "prefopt")?;
            let mut torch = Command::new(&python);
            torch.args(["-c", PEER_WRAPPER]).arg(&script).args(*args);
            theirs.record(&output(&mut torch, name, "torch", rep)?, "torch")?;
        }
        let (a, b) = (median(&mut ours.steps), median(&mut theirs.steps));
        summary.push(format!(
            "{name}: DPO step, median of {reps} runs: prefopt {a:.4} s, torch eager {b:.4} s, \
             prefopt/torch time ratio {:.3} (speed {:.3}x torch); peak RSS prefopt {} MiB, \
             torch {} MiB",
            a / b,
            b / a,
            max_text(&ours.peak_rss_mib),
            max_text(&theirs.peak_rss_mib),
        ));
    }
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// `cargo bench` of prefopt's DPO step benchmark.
fn bench_command() -> Command {
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "-p",
        "prefopt-train",
        "--bench",
        "dpo_step",
        "--locked",
    ]);
    cmd
}

/// Runs one benchmark process and echoes its JSON lines.
fn output(cmd: &mut Command, config: &str, who: &str, rep: usize) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run the {who} benchmark: {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{who} benchmark ({config}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
        println!("{config} rep {rep}: {who:<8} {}", line.trim());
    }
    Ok(text)
}

/// The number after `"key":` on the last JSON line that has it.
fn json_number(text: &str, key: &str) -> Option<f64> {
    let key = format!("\"{key}\":");
    text.lines().rev().find_map(|line| {
        let start = line.find(&key)? + key.len();
        let rest = line[start..].trim_start();
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max_text(v: &[f64]) -> String {
    v.iter()
        .copied()
        .reduce(f64::max)
        .map_or_else(|| "?".into(), |m| format!("{m:.0}"))
}

#[cfg(test)]
mod tests {
    use super::json_number;

    #[test]
    fn reads_a_number_from_the_last_line_that_has_it() {
        let text = "noise\n{\"step_s_median\": 0.25, \"x\": 1}\n{\"peak_rss_mib\": 812.5}\n";
        assert_eq!(json_number(text, "step_s_median"), Some(0.25));
        assert_eq!(json_number(text, "peak_rss_mib"), Some(812.5));
        assert_eq!(json_number(text, "missing"), None);
        assert_eq!(
            json_number("{\"peak_rss_mib\": null}", "peak_rss_mib"),
            None
        );
    }
}
