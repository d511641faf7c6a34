//! Fitting the learned scorer and the learned pairwise judge on the same checker-labelled
//! samples with the same network ([`JudgeNet`]), and their held-out accuracy.
//!
//! - Scorer (pointwise): binary cross-entropy of σ(s(x, c)) against the pass rate, a batch
//!   of `batch_size` samples per update.
//! - Judge (pairwise): binary cross-entropy of σ(s(a, c) − s(b, c)) against the pair's label
//!   (1, 0, or ½ for a tie), a batch of `batch_size` within-caption pairs per update.
//!
//! Both: the same initial weights (the same seed), AdamW from `prefopt-train` at a constant
//! learning rate, the global gradient-norm clip, `steps` updates, batches in a seeded
//! per-epoch shuffle.

use std::path::PathBuf;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use prefopt_data::shuffled_epoch;
use prefopt_train::{AdamWConfig, clip_grad_norm};
use serde::{Deserialize, Serialize};

use crate::shapes::{MAX_CAPTION_WORDS, Split, WorldTokenizer};
use crate::shapes_t2i::{GenerateOptions, load_world};
use crate::{Result, TaskError};

use super::judge_config::{JudgeFitSection, JudgeTrainingConfig};
use super::judge_data::{JudgeSample, LabelledPair, labelled_pairs, sample_judge_data};
use super::judge_net::{JudgeNet, JudgeNetConfig, JudgeObjective, caption_ids, images_pixels};

/// The scorer's directory in the output directory.
pub const SCORER_DIR: &str = "scorer";
/// The pairwise judge's directory in the output directory.
pub const JUDGE_DIR: &str = "judge";
/// The report in the output directory.
pub const JUDGES_REPORT_FILE: &str = "judges_report.json";

/// Samples as host tensors' data, built once.
struct HostData {
    pixels: Vec<f32>,
    ids: Vec<i64>,
    per_image: usize,
    words: usize,
}

impl HostData {
    fn new(config: &JudgeNetConfig, samples: &[JudgeSample]) -> Result<Self> {
        let tokenizer = WorldTokenizer::new();
        let images: Vec<_> = samples.iter().map(|s| &s.image).collect();
        let captions: Vec<&str> = samples.iter().map(|s| s.caption.as_str()).collect();
        Ok(Self {
            pixels: images_pixels(config, &images)?,
            ids: caption_ids(&tokenizer, &captions, config.max_words)?,
            per_image: 3 * config.width * config.height,
            words: config.max_words,
        })
    }

    /// The rows `rows` as `[n, 3, h, w]` pixels and `[n, words]` ids.
    fn batch(
        &self,
        config: &JudgeNetConfig,
        rows: &[usize],
        device: &Device,
    ) -> (Tensor<4>, Tensor<2, Int>) {
        let mut px = Vec::with_capacity(rows.len() * self.per_image);
        let mut ids = Vec::with_capacity(rows.len() * self.words);
        for &r in rows {
            px.extend_from_slice(&self.pixels[r * self.per_image..(r + 1) * self.per_image]);
            ids.extend_from_slice(&self.ids[r * self.words..(r + 1) * self.words]);
        }
        let n = rows.len();
        (
            Tensor::from_data(
                TensorData::new(px, [n, 3, config.height, config.width]),
                device,
            ),
            Tensor::from_data(TensorData::new(ids, [n, self.words]), device),
        )
    }
}

/// Mean binary cross-entropy of σ(`logits`) against `targets` in [0, 1], in the stable form
/// max(x, 0) − x·y + log(1 + e^−|x|).
///
/// # Shapes
/// - `logits`, `targets`: `[n]` → `[1]`
pub fn bce_with_logits(logits: Tensor<1>, targets: Tensor<1>) -> Tensor<1> {
    let softplus_abs = logits.clone().abs().neg().exp().add_scalar(1.0).log();
    (logits.clone().clamp_min(0.0) - logits * targets + softplus_abs).mean()
}

/// A fitted network and its loss per update.
#[derive(Debug)]
pub struct FittedJudgeNet {
    /// The network on the inference device.
    pub net: JudgeNet,
    /// Training loss of each update.
    pub losses: Vec<f64>,
}

/// Fits a fresh [`JudgeNet`] of `config` for `objective` on `samples` (see the module docs).
///
/// # Errors
/// No samples, no pairs for the pairwise objective, a non-finite loss, a failed read-back.
pub fn fit_judge_net(
    objective: JudgeObjective,
    config: &JudgeNetConfig,
    samples: &[JudgeSample],
    fit: &JudgeFitSection,
    device: &Device,
) -> Result<FittedJudgeNet> {
    let pairs = labelled_pairs(samples, fit.tie_band);
    let rows = match objective {
        JudgeObjective::Pointwise => samples.len(),
        JudgeObjective::Pairwise => pairs.len(),
    };
    if rows == 0 {
        return Err(TaskError::InvalidInput(format!(
            "no {} training rows ({} samples)",
            match objective {
                JudgeObjective::Pointwise => "sample",
                JudgeObjective::Pairwise => "pair",
            },
            samples.len()
        )));
    }
    let host = HostData::new(config, samples)?;
    let autodiff = device.clone().autodiff();
    let mut net = config.init_seeded(fit.seed, &autodiff)?;
    let mut optim = AdamWConfig::new()
        .with_weight_decay(fit.weight_decay)
        .init()?;
    let batch = fit.batch_size.min(rows);
    let per_epoch = rows / batch;
    let mut losses = Vec::with_capacity(fit.steps);
    let mut order = Vec::new();
    for step in 0..fit.steps {
        let epoch = (step / per_epoch) as u64;
        if step % per_epoch == 0 {
            order = shuffled_epoch(rows, fit.seed, epoch);
        }
        let start = (step % per_epoch) * batch;
        let chosen = &order[start..start + batch];
        let loss = match objective {
            JudgeObjective::Pointwise => {
                let (px, ids) = host.batch(config, chosen, &autodiff);
                let targets: Vec<f32> = chosen
                    .iter()
                    .map(|&i| samples[i].pass_rate as f32)
                    .collect();
                let targets = Tensor::from_data(TensorData::new(targets, [batch]), &autodiff);
                bce_with_logits(net.forward(px, ids), targets)
            }
            JudgeObjective::Pairwise => {
                let picked: Vec<&LabelledPair> = chosen.iter().map(|&i| &pairs[i]).collect();
                let images: Vec<usize> = picked
                    .iter()
                    .map(|p| p.first)
                    .chain(picked.iter().map(|p| p.second))
                    .collect();
                let (px, ids) = host.batch(config, &images, &autodiff);
                let scores = net.forward(px, ids);
                let margin = scores.clone().narrow(0, 0, batch) - scores.narrow(0, batch, batch);
                let targets: Vec<f32> = picked.iter().map(|p| p.target).collect();
                let targets = Tensor::from_data(TensorData::new(targets, [batch]), &autodiff);
                bce_with_logits(margin, targets)
            }
        };
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(TaskError::InvalidInput(format!(
                "the {objective:?} judge's loss is {value} at update {step}; lower \
                 training.learning_rate"
            )));
        }
        losses.push(value);
        let mut grads = GradientsParams::from_grads(loss.backward(), &net);
        if fit.max_grad_norm > 0.0 {
            clip_grad_norm(&net, &mut grads, fit.max_grad_norm);
        }
        net = optim.step(fit.learning_rate, net, grads);
        if step % 100 == 0 || step + 1 == fit.steps {
            tracing::debug!(?objective, step, loss = value, "judge fit");
        }
    }
    Ok(FittedJudgeNet {
        net: net.valid(),
        losses,
    })
}

/// Held-out quality of a network's reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutMetrics {
    /// Held-out images.
    pub samples: usize,
    /// Held-out within-caption pairs whose pass rates differ by more than the tie band.
    pub decided_pairs: usize,
    /// Share of those the reward orders as the checker does (½ for a reward that cannot tell).
    pub pair_accuracy: f64,
    /// Pearson correlation of the reward with the pass rate over the held-out images (the
    /// scorer's σ(s), the judge's s).
    pub pearson: f64,
    /// Mean over held-out captions of the reward's within-caption std (population).
    pub within_caption_std: f64,
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Scores `samples` with `net` and measures the reward against the checker (see
/// [`HeldOutMetrics`]); pairs whose two scores are equal count as half right.
///
/// # Errors
/// As [`JudgeNet::score_host`].
pub fn evaluate_judge_net(
    net: &JudgeNet,
    objective: JudgeObjective,
    config: &JudgeNetConfig,
    samples: &[JudgeSample],
    tie_band: f64,
    device: &Device,
) -> Result<HeldOutMetrics> {
    let tokenizer = WorldTokenizer::new();
    let mut logits = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(256) {
        let captions: Vec<&str> = chunk.iter().map(|s| s.caption.as_str()).collect();
        let images: Vec<_> = chunk.iter().map(|s| &s.image).collect();
        logits.extend(net.score_host(config, &tokenizer, &captions, &images, device)?);
    }
    let reward: Vec<f64> = match objective {
        JudgeObjective::Pointwise => logits.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect(),
        JudgeObjective::Pairwise => logits.clone(),
    };
    let (mut decided, mut right) = (0usize, 0.0);
    for p in labelled_pairs(samples, tie_band) {
        if p.target == 0.5 {
            continue;
        }
        decided += 1;
        let d = logits[p.first] - logits[p.second];
        right += if d == 0.0 {
            0.5
        } else if (d > 0.0) == (p.target == 1.0) {
            1.0
        } else {
            0.0
        };
    }
    let truth: Vec<f64> = samples.iter().map(|s| s.pass_rate).collect();
    let mut groups: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for (s, r) in samples.iter().zip(&reward) {
        groups.entry(s.prompt).or_default().push(*r);
    }
    let stds: Vec<f64> = groups
        .values()
        .map(|g| {
            let m = g.iter().sum::<f64>() / g.len() as f64;
            (g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / g.len() as f64).sqrt()
        })
        .collect();
    Ok(HeldOutMetrics {
        samples: samples.len(),
        decided_pairs: decided,
        pair_accuracy: if decided == 0 {
            0.5
        } else {
            right / decided as f64
        },
        pearson: pearson(&reward, &truth),
        within_caption_std: stds.iter().sum::<f64>() / stds.len().max(1) as f64,
    })
}

/// One network's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeNetReport {
    /// What it was trained for.
    pub objective: JudgeObjective,
    /// Where it is.
    pub path: PathBuf,
    /// Its parameters (equal for both networks).
    pub num_parameters: usize,
    /// Mean loss of the first and of the last tenth of the updates.
    pub loss_first: f64,
    /// See `loss_first`.
    pub loss_last: f64,
    /// Held-out quality.
    pub held_out: HeldOutMetrics,
    /// Quality on the fitting data (for the gap).
    pub train: HeldOutMetrics,
}

/// What `prefopt t2i train-judges` wrote (`judges_report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeTrainingReport {
    /// The base pipeline sampled.
    pub base_model: PathBuf,
    /// Fitting images.
    pub train_samples: usize,
    /// Held-out images.
    pub held_out_samples: usize,
    /// Mean checker pass rate of all sampled images.
    pub mean_pass_rate: f64,
    /// Share of within-caption fitting pairs that tie.
    pub tie_fraction: f64,
    /// The pointwise scorer.
    pub scorer: JudgeNetReport,
    /// The pairwise judge.
    pub judge: JudgeNetReport,
    /// Wall-clock seconds (sampling, labelling and both fits).
    pub seconds: f64,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Fits both networks on `train`, measures them on `held_out` and writes them to
/// `output_dir/{scorer,judge}`.
///
/// # Errors
/// As [`fit_judge_net`], [`evaluate_judge_net`], I/O.
pub fn fit_both(
    config: &JudgeNetConfig,
    train: &[JudgeSample],
    held_out: &[JudgeSample],
    fit: &JudgeFitSection,
    output_dir: &std::path::Path,
    device: &Device,
) -> Result<(JudgeNetReport, JudgeNetReport)> {
    let mut out = Vec::with_capacity(2);
    for (objective, dir) in [
        (JudgeObjective::Pointwise, SCORER_DIR),
        (JudgeObjective::Pairwise, JUDGE_DIR),
    ] {
        let fitted = fit_judge_net(objective, config, train, fit, device)?;
        let path = output_dir.join(dir);
        fitted.net.save(&path, objective, config)?;
        let tenth = (fitted.losses.len() / 10).max(1);
        let report = JudgeNetReport {
            objective,
            path,
            num_parameters: fitted.net.num_params(),
            loss_first: mean(&fitted.losses[..tenth]),
            loss_last: mean(&fitted.losses[fitted.losses.len() - tenth..]),
            held_out: evaluate_judge_net(
                &fitted.net,
                objective,
                config,
                held_out,
                fit.tie_band,
                device,
            )?,
            train: evaluate_judge_net(&fitted.net, objective, config, train, fit.tie_band, device)?,
        };
        tracing::info!(
            ?objective,
            loss_first = report.loss_first,
            loss_last = report.loss_last,
            held_out_pair_accuracy = report.held_out.pair_accuracy,
            held_out_pearson = report.held_out.pearson,
            "judge fitted"
        );
        out.push(report);
    }
    let judge = out.pop().expect("two reports");
    let scorer = out.pop().expect("two reports");
    Ok((scorer, judge))
}

/// `prefopt t2i train-judges`: samples the base pipeline on distinct training-split captions
/// (the first `train_prompts` for fitting, the next `held_out_prompts` held out), labels every
/// image with the checker, fits the scorer and the judge, and writes them with
/// [`JUDGES_REPORT_FILE`] to `output_dir`.
///
/// # Errors
/// An invalid config, a missing base pipeline, as [`fit_both`].
pub fn train_judges(config: &JudgeTrainingConfig, device: &Device) -> Result<JudgeTrainingReport> {
    config.validate()?;
    let started = Instant::now();
    let world = load_world(&config.base_model)?;
    let d = &config.data;
    let captions = world.captions(
        d.seed,
        d.train_prompts + d.held_out_prompts,
        Split::Train,
        true,
    )?;
    let options = GenerateOptions {
        images_per_prompt: d.images_per_prompt,
        seed: d.seed,
        steps: d.sampling_steps,
        shift: d.shift,
        guidance_scale: 1.0,
        batch_size: d.batch_size,
    };
    let out = &config.output_dir;
    let samples = sample_judge_data(
        &config.base_model,
        world.config,
        &captions,
        0,
        &out.join("samples"),
        &options,
        device,
    )?;
    let labels: Vec<serde_json::Value> = samples
        .iter()
        .map(|s| serde_json::json!({"prompt": s.prompt, "caption": s.caption, "pass_rate": s.pass_rate}))
        .collect();
    crate::write_jsonl(&out.join("samples").join("labels.jsonl"), &labels)?;
    let split = d.train_prompts * d.images_per_prompt;
    let (train, held_out) = samples.split_at(split);
    let net = JudgeNetConfig::new(
        world.config.width,
        world.config.height,
        WorldTokenizer::new().vocab_size(),
        MAX_CAPTION_WORDS,
    )
    .with_patch(config.net.patch)
    .with_channels(config.net.channels)
    .with_text_dim(config.net.text_dim)
    .with_hidden(config.net.hidden);
    let (scorer, judge) = fit_both(&net, train, held_out, &config.training, out, device)?;
    let pairs = labelled_pairs(train, config.training.tie_band);
    let ties = pairs.iter().filter(|p| p.target == 0.5).count();
    let report = JudgeTrainingReport {
        base_model: config.base_model.clone(),
        train_samples: train.len(),
        held_out_samples: held_out.len(),
        mean_pass_rate: mean(&samples.iter().map(|s| s.pass_rate).collect::<Vec<_>>()),
        tie_fraction: ties as f64 / pairs.len().max(1) as f64,
        scorer,
        judge,
        seconds: started.elapsed().as_secs_f64(),
    };
    crate::write_json(&out.join(JUDGES_REPORT_FILE), &report)?;
    Ok(report)
}
