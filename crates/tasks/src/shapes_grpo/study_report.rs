//! The Pref-GRPO study's results: the mini UniGenBench of every evaluation step scored by the
//! leaderboard code, the rollouts' proxy reward against the checker's ground truth, and the
//! within-group reward spread, aggregated over seeds; `results.md` and `results.json`.

use std::collections::BTreeMap;
use std::path::Path;

use prefopt_bench::{ScoreOptions, Suite, SuiteOptions, Verdicts, score};
use prefopt_train::{METRICS_FILE, read_metrics};
use serde::Serialize;

use super::judge_training::JudgeTrainingReport;
use super::run::EVAL_DIR;
use super::study_config::{GROUND_TRUTH_REWARD, PrefGrpoStudyConfig, StudyArmSpec};
use super::study_plots::write_study_plots;
use super::study_run::{finished_run, read_judges_report};
use crate::seed_stats::{MeanSe, PairedDifference};
use crate::{Result, TaskError};

/// The suite file of a run's evaluation folder.
const SUITE_FILE: &str = "suite.csv";

/// One evaluation of one run: the official mini-UniGenBench scores (percent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalPoint {
    /// The training step (0 = the base).
    pub step: u64,
    /// Mean of the primary-dimension percentages.
    pub overall: f64,
    /// Percent per primary dimension (leaderboard names).
    pub primary: BTreeMap<String, f64>,
}

/// One training step of one run: the rollout statistics the study looks at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutPoint {
    /// The training step.
    pub step: u64,
    /// Per reward name: the mean over the step's images.
    pub mean: BTreeMap<String, f64>,
    /// Per reward name: the mean within-group std (the paper's Fig. 1a).
    pub group_std: BTreeMap<String, f64>,
    /// The share of groups whose mixed reward has zero spread.
    pub frac_zero_std: f64,
    /// The share of trained (image, timestep) terms whose ratio was clipped.
    pub clip_fraction: f64,
}

/// One run (an arm with a seed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResults {
    /// The training seed.
    pub seed: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Every evaluation, in step order.
    pub eval: Vec<EvalPoint>,
    /// Every logged training step, in order.
    pub rollout: Vec<RolloutPoint>,
}

/// A value at the first and at the last tenth of the training steps, over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstLast {
    /// Mean over the first tenth of the steps (per run), then over seeds.
    pub first: MeanSe,
    /// Mean over the last tenth.
    pub last: MeanSe,
}

/// One arm over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResults {
    /// The arm's name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// The names of the rewards it trains on (weight ≠ 0).
    pub trained: Vec<String>,
    /// The pointwise trained rewards other than the checker's (the proxies whose level can be
    /// set against the ground truth).
    pub proxies: Vec<String>,
    /// Its runs, in seed order.
    pub runs: Vec<RunResults>,
    /// Per evaluation step: the overall score over seeds.
    pub overall_curve: Vec<(u64, MeanSe)>,
    /// Per primary dimension, per evaluation step, over seeds.
    pub primary_curve: BTreeMap<String, Vec<(u64, MeanSe)>>,
    /// The overall score of the last evaluation, over seeds.
    pub final_overall: MeanSe,
    /// The last evaluation minus step 0, paired by seed.
    pub delta_overall: Option<PairedDifference>,
    /// Per primary dimension: the last evaluation, over seeds.
    pub final_primary: BTreeMap<String, MeanSe>,
    /// The rollouts' ground truth (checker pass rate, when monitored).
    pub ground_truth: Option<FirstLast>,
    /// Per proxy: its mean on the rollouts.
    pub proxy: BTreeMap<String, FirstLast>,
    /// Per trained reward: its within-group std.
    pub group_std: BTreeMap<String, FirstLast>,
    /// The ground truth's within-group std.
    pub ground_truth_group_std: Option<FirstLast>,
    /// Groups with zero reward spread.
    pub frac_zero_std: FirstLast,
    /// Clipped ratio terms.
    pub clip_fraction: FirstLast,
}

/// The whole study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyResults {
    /// The base pipeline's evaluation (step 0; the same suite and noise for every run).
    pub base: EvalPoint,
    /// Whether every run's step-0 evaluation gave the same scores (it should: the suite and
    /// its noise depend only on the evaluation seed).
    pub base_identical: bool,
    /// The arms, in config order.
    pub arms: Vec<ArmResults>,
    /// The learned judges' report, when the study fitted them.
    pub judges: Option<JudgeTrainingReport>,
    /// Prompts of the evaluation suite.
    pub eval_prompts: usize,
    /// Images per evaluation prompt.
    pub eval_images_per_prompt: usize,
    /// Training steps per run.
    pub max_steps: u64,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// Wall-clock seconds of all runs (the judges' fit included when it ran here).
    pub seconds: f64,
}

impl StudyResults {
    /// Reads the finished runs of `config` in `out` and aggregates them.
    ///
    /// # Errors
    /// A run without its finished marker, metrics or verdicts that do not read, verdicts that
    /// do not score against their suite.
    pub fn collect(
        config: &PrefGrpoStudyConfig,
        out: &Path,
        judges: Option<&JudgeTrainingReport>,
    ) -> Result<Self> {
        let judges = match judges {
            Some(j) => Some(j.clone()),
            None => read_judges_report(out)?,
        };
        let template = config.run_config(&config.arms[0], config.seeds[0], out)?;
        let images_per_prompt = template.prompts.eval_images_per_prompt;
        let mut arms = Vec::new();
        let mut seconds = judges.as_ref().map_or(0.0, |j| j.seconds);
        let mut bases = Vec::new();
        for arm in &config.arms {
            let mut runs = Vec::new();
            for &seed in &config.seeds {
                let (dir, finished) = finished_run(out, &arm.name, seed)?;
                seconds += finished.seconds;
                let run = read_run(&dir, seed, finished.seconds, images_per_prompt)?;
                if let Some(first) = run.eval.first().filter(|e| e.step == 0) {
                    bases.push(first.clone());
                }
                runs.push(run);
            }
            arms.push(ArmResults::aggregate(
                arm,
                runs,
                config.ground_truth_monitor,
            ));
        }
        let base = bases.first().cloned().ok_or_else(|| {
            TaskError::InvalidInput(
                "the study's runs have no step-0 evaluation: set prompts.eval_prompts > 0 and \
                 training.eval_steps in the grpo config"
                    .into(),
            )
        })?;
        let base_identical = bases.iter().all(|b| *b == base);
        Ok(Self {
            base,
            base_identical,
            arms,
            judges,
            eval_prompts: template.prompts.eval_prompts,
            eval_images_per_prompt: images_per_prompt,
            max_steps: template.training.max_steps.max(0) as u64,
            seeds: config.seeds.clone(),
            seconds,
        })
    }
}

/// Reads one finished run folder.
fn read_run(dir: &Path, seed: u64, seconds: f64, images_per_prompt: usize) -> Result<RunResults> {
    let records = read_metrics(dir.join(METRICS_FILE))?;
    let eval_dir = dir.join(EVAL_DIR);
    let suite_path = eval_dir.join(SUITE_FILE);
    let mut eval = Vec::new();
    let mut rollout = Vec::new();
    let mut suite = None;
    for record in &records {
        let get = |name: &str| {
            record
                .values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| *v)
        };
        if get("eval/pass_rate").is_some() {
            let suite = match &suite {
                Some(s) => s,
                None => suite.insert(Suite::load(&suite_path, SuiteOptions::default())?),
            };
            let verdicts_path = eval_dir
                .join(format!("step-{}", record.step))
                .join("verdicts.jsonl");
            let verdicts = Verdicts::load(&verdicts_path)?;
            let scores = score(
                suite,
                &verdicts,
                ScoreOptions {
                    images_per_prompt,
                    ..ScoreOptions::default()
                },
            )
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", verdicts_path.display())))?;
            eval.push(EvalPoint {
                step: record.step,
                overall: scores.overall,
                primary: scores
                    .primary
                    .iter()
                    .map(|p| (p.primary.name().to_owned(), p.percent))
                    .collect(),
            });
            continue;
        }
        if get("loss").is_none() {
            continue;
        }
        let mut point = RolloutPoint {
            step: record.step,
            mean: BTreeMap::new(),
            group_std: BTreeMap::new(),
            frac_zero_std: get("frac_reward_zero_std").unwrap_or(f64::NAN),
            clip_fraction: get("clip_fraction").unwrap_or(f64::NAN),
        };
        for (key, value) in &record.values {
            if let Some(rest) = key.strip_prefix("rewards/") {
                if let Some(name) = rest.strip_suffix("/group_std") {
                    point.group_std.insert(name.to_owned(), *value);
                } else if let Some(name) = rest.strip_suffix("/mean") {
                    point.mean.insert(name.to_owned(), *value);
                }
            }
        }
        rollout.push(point);
    }
    // One line per step: a resumed run's metrics file is cut back to its checkpoint
    // (`MetricsLog::resume`) before the steps after it are logged again.
    eval.sort_by_key(|e| e.step);
    Ok(RunResults {
        seed,
        seconds,
        eval,
        rollout,
    })
}

/// The mean of `value` over the first and last tenth of each run's steps, then over runs.
fn first_last(
    runs: &[RunResults],
    value: impl Fn(&RolloutPoint) -> Option<f64>,
) -> Option<FirstLast> {
    let mut firsts = Vec::new();
    let mut lasts = Vec::new();
    for run in runs {
        let values: Vec<f64> = run.rollout.iter().filter_map(&value).collect();
        if values.is_empty() {
            continue;
        }
        let w = (values.len() / 10).max(1);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        firsts.push(mean(&values[..w]));
        lasts.push(mean(&values[values.len() - w..]));
    }
    (!firsts.is_empty()).then(|| FirstLast {
        first: MeanSe::of(&firsts),
        last: MeanSe::of(&lasts),
    })
}

/// Per evaluation step present in every run: `value` over runs.
fn curve(runs: &[RunResults], value: impl Fn(&EvalPoint) -> Option<f64>) -> Vec<(u64, MeanSe)> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .eval
        .iter()
        .filter_map(|e| {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.eval.iter().find(|x| x.step == e.step))
                .filter_map(&value)
                .collect();
            (values.len() == runs.len()).then(|| (e.step, MeanSe::of(&values)))
        })
        .collect()
}

impl ArmResults {
    fn aggregate(arm: &StudyArmSpec, runs: Vec<RunResults>, monitored: bool) -> Self {
        let trained: Vec<String> = arm
            .rewards
            .iter()
            .filter(|r| r.weight != 0.0)
            .map(|r| r.name.clone())
            .collect();
        let proxies: Vec<String> = arm
            .rewards
            .iter()
            .filter(|r| r.weight != 0.0 && matches!(r.kind, super::ShapesRewardKind::LearnedScorer))
            .map(|r| r.name.clone())
            .collect();
        let overall_curve = curve(&runs, |e| Some(e.overall));
        let mut names: Vec<String> = runs
            .iter()
            .flat_map(|r| r.eval.iter().flat_map(|e| e.primary.keys().cloned()))
            .collect();
        names.sort();
        names.dedup();
        let primary_curve: BTreeMap<String, Vec<(u64, MeanSe)>> = names
            .iter()
            .map(|n| (n.clone(), curve(&runs, |e| e.primary.get(n).copied())))
            .collect();
        let final_primary = primary_curve
            .iter()
            .filter_map(|(n, c)| c.last().map(|(_, m)| (n.clone(), *m)))
            .collect();
        let final_overall = overall_curve
            .last()
            .map_or_else(|| MeanSe::of(&[]), |(_, m)| *m);
        let pairs: Vec<(f64, f64)> = runs
            .iter()
            .filter_map(|r| {
                let first = r.eval.first().filter(|e| e.step == 0)?;
                let last = r.eval.last().filter(|e| e.step > 0)?;
                Some((last.overall, first.overall))
            })
            .collect();
        let delta_overall = PairedDifference::of(&pairs);
        let gt = GROUND_TRUTH_REWARD;
        let ground_truth = monitored
            .then(|| first_last(&runs, |p| p.mean.get(gt).copied()))
            .flatten();
        let ground_truth_group_std = monitored
            .then(|| first_last(&runs, |p| p.group_std.get(gt).copied()))
            .flatten();
        let proxy = proxies
            .iter()
            .filter_map(|n| Some((n.clone(), first_last(&runs, |p| p.mean.get(n).copied())?)))
            .collect();
        let group_std = trained
            .iter()
            .filter_map(|n| {
                Some((
                    n.clone(),
                    first_last(&runs, |p| p.group_std.get(n).copied())?,
                ))
            })
            .collect();
        let nan_first_last = || FirstLast {
            first: MeanSe::of(&[]),
            last: MeanSe::of(&[]),
        };
        let frac_zero_std = first_last(&runs, |p| Some(p.frac_zero_std).filter(|v| v.is_finite()))
            .unwrap_or_else(nan_first_last);
        let clip_fraction = first_last(&runs, |p| Some(p.clip_fraction).filter(|v| v.is_finite()))
            .unwrap_or_else(nan_first_last);
        Self {
            name: arm.name.clone(),
            label: arm.label.clone(),
            trained,
            proxies,
            runs,
            overall_curve,
            primary_curve,
            final_overall,
            delta_overall,
            final_primary,
            ground_truth,
            proxy,
            group_std,
            ground_truth_group_std,
            frac_zero_std,
            clip_fraction,
        }
    }
}

fn pm(m: &MeanSe, digits: usize) -> String {
    if !m.mean.is_finite() {
        return "—".into();
    }
    if m.n < 2 {
        return format!("{:.digits$}", m.mean);
    }
    format!("{:.digits$} ± {:.digits$}", m.mean, m.se)
}

fn arrow(fl: Option<&FirstLast>, digits: usize) -> String {
    fl.map_or_else(
        || "—".into(),
        |fl| format!("{} → {}", pm(&fl.first, digits), pm(&fl.last, digits)),
    )
}

/// `results.md`: the tables of the study.
pub fn study_markdown(config: &PrefGrpoStudyConfig, results: &StudyResults) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let primaries: Vec<&String> = results.base.primary.keys().collect();
    let _ = writeln!(md, "# Pref-GRPO study of the shapes world\n");
    let _ = writeln!(
        md,
        "Base pipeline `{}`; {} arm(s) × {} seed(s) ({}), {} GRPO steps per run; total run time \
         {:.1} min. Evaluation: the held-out mini UniGenBench suite of {} prompts × {} images \
         (Euler sampler, the same noise at every evaluation), checker verdicts scored by the \
         leaderboard code (overall = mean of the primary dimensions, percent). Mean ± standard \
         error over seeds.\n",
        config.base_model.display(),
        results.arms.len(),
        results.seeds.len(),
        results
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        results.max_steps,
        results.seconds / 60.0,
        results.eval_prompts,
        results.eval_images_per_prompt,
    );
    if !results.base_identical {
        let _ = writeln!(
            md,
            "**Warning:** the runs' step-0 evaluations differ; the base row is the first run's.\n"
        );
    }
    let _ = writeln!(md, "## Mini UniGenBench at the last evaluation\n");
    let mut header = "| arm | overall | Δ vs base (paired) | seeds up |".to_owned();
    let mut rule = "|---|---|---|---|".to_owned();
    for p in &primaries {
        header.push_str(&format!(" {p} |"));
        rule.push_str("---|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    let mut base_row = format!("| base | {:.2} | — | — |", results.base.overall);
    for p in &primaries {
        base_row.push_str(&format!(" {:.2} |", results.base.primary[*p]));
    }
    let _ = writeln!(md, "{base_row}");
    for arm in &results.arms {
        let (delta, up) = arm.delta_overall.as_ref().map_or_else(
            || ("—".to_owned(), "—".to_owned()),
            |d| {
                (
                    format!("{:+.2} ± {:.2}", d.mean, d.se),
                    format!("{}/{}", d.ahead, d.seeds),
                )
            },
        );
        let mut row = format!(
            "| {} | {} | {delta} | {up} |",
            arm.label,
            pm(&arm.final_overall, 2)
        );
        for p in &primaries {
            row.push_str(&format!(
                " {} |",
                arm.final_primary.get(*p).map_or("—".into(), |m| pm(m, 2))
            ));
        }
        let _ = writeln!(md, "{row}");
    }
    let _ = writeln!(
        md,
        "\n## Rollouts: the trained reward against the checker's ground truth\n\n\
         First → last tenth of the training steps (per run, then over seeds). The ground truth \
         is the checker's pass rate of the same rollout images (a weight-0 reward); a proxy is a \
         pointwise learned reward that is trained on. Within-group std is the mean std of a \
         reward over the G images of one prompt (the paper's Fig. 1a).\n"
    );
    let _ = writeln!(
        md,
        "| arm | ground truth | proxy | within-group std, trained reward | within-group std, ground truth | zero-spread groups | clip fraction |\n|---|---|---|---|---|---|---|"
    );
    for arm in &results.arms {
        let proxy = if arm.proxy.is_empty() {
            "—".to_owned()
        } else {
            arm.proxy
                .iter()
                .map(|(n, fl)| format!("{n}: {}", arrow(Some(fl), 3)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let group = arm
            .group_std
            .iter()
            .map(|(n, fl)| format!("{n}: {}", arrow(Some(fl), 3)))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            md,
            "| {} | {} | {proxy} | {group} | {} | {} | {} |",
            arm.label,
            arrow(arm.ground_truth.as_ref(), 3),
            arrow(arm.ground_truth_group_std.as_ref(), 3),
            arrow(Some(&arm.frac_zero_std), 2),
            arrow(Some(&arm.clip_fraction), 3),
        );
    }
    if let Some(j) = &results.judges {
        let _ = writeln!(
            md,
            "\n## The learned rewards\n\nFitted on {} checker-labelled samples of the base \
             ({} held out); mean pass rate {:.3}, tied fitting pairs {:.3}; {:.0} s.\n\n\
             | network | parameters | held-out pair accuracy | held-out Pearson | held-out within-caption std |\n\
             |---|---|---|---|---|",
            j.train_samples, j.held_out_samples, j.mean_pass_rate, j.tie_fraction, j.seconds
        );
        for (name, n) in [
            ("scorer (pointwise)", &j.scorer),
            ("judge (pairwise)", &j.judge),
        ] {
            let _ = writeln!(
                md,
                "| {name} | {} | {:.3} | {:.3} | {:.3} |",
                n.num_parameters,
                n.held_out.pair_accuracy,
                n.held_out.pearson,
                n.held_out.within_caption_std
            );
        }
    }
    let _ = writeln!(
        md,
        "\n## Per run\n\n| arm | seed | overall step 0 → last | minutes |\n|---|---|---|---|"
    );
    for arm in &results.arms {
        for run in &arm.runs {
            let (a, b) = (run.eval.first(), run.eval.last());
            let _ = writeln!(
                md,
                "| {} | {} | {} → {} | {:.1} |",
                arm.label,
                run.seed,
                a.map_or("—".into(), |e| format!("{:.2}", e.overall)),
                b.map_or("—".into(), |e| format!("{:.2}", e.overall)),
                run.seconds / 60.0
            );
        }
    }
    md
}

/// Writes `results.md`, `results.json` and the plots and sample grids into `out`.
///
/// # Errors
/// A file that cannot be written, a plot that cannot be drawn, an evaluation image that does
/// not read.
pub fn write_study_report(
    config: &PrefGrpoStudyConfig,
    results: &StudyResults,
    out: &Path,
) -> Result<()> {
    crate::write_json(&out.join("results.json"), results)?;
    let md = study_markdown(config, results);
    prefopt_core::write_atomic(&out.join("results.md"), md.as_bytes())?;
    write_study_plots(config, results, out)?;
    Ok(())
}
