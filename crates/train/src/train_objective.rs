//! The loss of one micro-batch for SFT, DPO, LiPO or NextQuill: model log-probs (or
//! target-position logits) + reference rows → the objectives crate.

use prefopt_core::invalid;
use std::sync::Arc;

use burn::prelude::*;
use prefopt_models::{CausalLm, CompletionLogits};
use prefopt_objectives::dpo::{Dpo, DpoInputs, TailLogps};
use prefopt_objectives::lipo::Lipo;
use prefopt_objectives::nextquill::{FrozenLogits, NextQuill, NextQuillInputs};

use crate::device_batch::{
    HostBatch, completion_logits, completion_logprobs, matrix, target_mask, vector,
};
use crate::error::{Error, Result};
use crate::personalization_section::PersonalMethod;
use crate::reference_logps::shared_lengths_rows;
use crate::run_config::{Method, RunConfig};

/// The configured objective of a run.
#[derive(Debug, Clone)]
pub enum TrainObjective {
    /// Token-mean NLL over completion tokens.
    Sft,
    /// The DPO family.
    Dpo(Dpo),
    /// LiPO.
    Lipo(Lipo),
    /// NextQuill, with the frozen data model θ_D when `data_effect_source = "fixed"`.
    NextQuill {
        /// The objective.
        objective: NextQuill,
        /// θ_D and the plain (non-autodiff) device it lives on; `None` for the dynamic source.
        frozen: Option<(Arc<CausalLm>, Device)>,
    },
}

/// What one micro-batch contributes to a step.
#[derive(Debug, Clone)]
pub struct MicroOutput {
    /// The micro-batch loss (mean over its pairs / lists / completion tokens), `[1]`.
    pub loss: Tensor<1>,
    /// Objective metrics (TRL names), batch means on the host.
    pub metrics: Vec<(&'static str, f64)>,
    /// What the loss averages over (pairs, lists or completion tokens): the accumulation
    /// weight of this micro-batch is proportional to it.
    pub count: usize,
}

impl TrainObjective {
    /// Builds the objective of `method` from the config sections; called once, by
    /// [`RunConfig::init`]. The personalisation baselines (`context_sft`, `sft`) are
    /// [`TrainObjective::Sft`] on their prompt view. A NextQuill objective with the fixed
    /// data-effect source needs [`Self::with_frozen`].
    pub(crate) fn new(method: Method, config: &RunConfig) -> Result<Self> {
        Ok(match method {
            Method::Sft => Self::Sft,
            Method::Dpo => Self::Dpo(config.dpo.init()?),
            Method::Lipo => Self::Lipo(config.lipo.init()?),
            Method::NextQuill => match config.personalization.method {
                PersonalMethod::NextQuill => Self::NextQuill {
                    objective: config.nextquill.init()?,
                    frozen: None,
                },
                PersonalMethod::ContextSft | PersonalMethod::Sft => Self::Sft,
            },
        })
    }

    /// Attaches the frozen data model θ_D of NextQuill's fixed data-effect source (loaded on
    /// the plain device; its logits are copied to the training device each batch).
    #[must_use]
    pub fn with_frozen(self, model: CausalLm, device: Device) -> Self {
        match self {
            Self::NextQuill { objective, .. } => Self::NextQuill {
                objective,
                frozen: Some((Arc::new(model), device)),
            },
            other => other,
        }
    }

    /// The loss and metrics of one micro-batch. `reference` holds one row per example (see
    /// [`Reference`](crate::Reference)); unused for SFT.
    pub fn forward(
        &self,
        model: &CausalLm,
        batch: &HostBatch,
        reference: &[Vec<f32>],
        device: &Device,
    ) -> Result<MicroOutput> {
        match (self, batch) {
            (Self::Sft, HostBatch::Sft(tokens)) => {
                let out = completion_logprobs(model, tokens, device)?;
                let count: usize = out.num_tokens.iter().sum();
                let loss = out.summed.sum().neg().div_scalar(count.max(1) as f64);
                Ok(MicroOutput {
                    loss,
                    metrics: Vec::new(),
                    count,
                })
            }
            (Self::Dpo(dpo), HostBatch::Pairs(tokens)) => {
                let out = completion_logprobs(model, tokens, device)?;
                let b = out.num_tokens.len() / 2;
                check_rows(reference, b, 4)?;
                let col = |j: usize| vector(reference.iter().map(|r| r[j]).collect(), device);
                let lengths: Vec<f32> = out.num_tokens.iter().map(|&n| n as f32).collect();
                let (chosen, rejected) = out.split_chosen_rejected();
                let mut inputs = DpoInputs::new(
                    chosen,
                    rejected,
                    col(0),
                    col(1),
                    vector(lengths[..b].to_vec(), device),
                    vector(lengths[b..].to_vec(), device),
                );
                if dpo.config().ld_alpha.is_some() {
                    let tails = prefopt_objectives::dpo::tail_logps(
                        out.per_token.clone(),
                        target_mask(tokens, device),
                        vector(shared_lengths_rows(&out.num_tokens), device),
                    );
                    inputs = inputs.with_tail_logps(TailLogps {
                        policy_chosen: tails.clone().narrow(0, 0, b),
                        policy_rejected: tails.narrow(0, b, b),
                        reference_chosen: col(2),
                        reference_rejected: col(3),
                    });
                }
                let result = dpo.forward(inputs)?;
                let metrics = result.read_metrics().named().to_vec();
                Ok(MicroOutput {
                    loss: result.loss,
                    metrics,
                    count: b,
                })
            }
            (Self::Lipo(lipo), HostBatch::Lists(lists)) => {
                let out = completion_logprobs(model, &lists.tokens, device)?;
                let k = lists.list_size;
                let b = lists.list_mask.len() / k.max(1);
                if reference.len() != b {
                    return Err(mismatch(format!(
                        "{} reference rows for {b} lists",
                        reference.len()
                    )));
                }
                let mut reference_values = vec![0.0f32; b * k];
                for (i, row) in reference.iter().enumerate() {
                    let valid = lists.list_mask[i * k..(i + 1) * k]
                        .iter()
                        .filter(|&&m| m)
                        .count();
                    if row.len() != valid {
                        return Err(mismatch(format!(
                            "list {i} has {valid} responses but {} reference values",
                            row.len()
                        )));
                    }
                    reference_values[i * k..i * k + valid].copy_from_slice(row);
                }
                let policy = out.per_prompt(k)?;
                let mask = Tensor::<2, Bool>::from_data(
                    TensorData::new(lists.list_mask.clone(), [b, k]),
                    device,
                );
                let result = lipo.forward(
                    policy,
                    matrix(reference_values, [b, k], device),
                    matrix(lists.scores.clone(), [b, k], device),
                    mask,
                )?;
                let m = &result.metrics;
                let read = |t: &Tensor<1>| f64::from(t.clone().into_scalar::<f32>());
                let (best, worst) = (read(&m.best_score), read(&m.worst_score));
                let metrics = vec![
                    ("rewards/accuracies", read(&m.pair_accuracy)),
                    ("rewards/best", best),
                    ("rewards/worst", worst),
                    ("rewards/margins", best - worst),
                    ("rewards/mean", read(&m.mean_score)),
                ];
                Ok(MicroOutput {
                    loss: result.loss,
                    metrics,
                    count: b,
                })
            }
            (
                Self::NextQuill { objective, frozen },
                HostBatch::Counterfactual {
                    with_history,
                    null_history,
                },
            ) => {
                let passes = |model: &CausalLm, device: &Device| -> Result<_> {
                    let h = completion_logits(model, with_history, device)?;
                    let n = completion_logits(model, null_history, device)?;
                    check_same_completions(&h, &n)?;
                    Ok((h, n))
                };
                let (h, n) = passes(model, device)?;
                let count: usize = h.num_tokens.iter().sum();
                let mut inputs = NextQuillInputs::new(h.logits, n.logits, h.targets, h.mask);
                if let Some((theta_d, plain)) = frozen {
                    let (fh, fn_) = passes(theta_d, plain)?;
                    let to_here = |t: Tensor<3>| Tensor::<3>::from_data(t.into_data(), device);
                    inputs = inputs.with_frozen(FrozenLogits {
                        logits_with_history: to_here(fh.logits),
                        logits_null_history: to_here(fn_.logits),
                    });
                }
                let result = objective.forward(inputs)?;
                let read = |t: &Tensor<1>| f64::from(t.clone().into_scalar::<f32>());
                let mut metrics = vec![("l_n", read(&result.l_n)), ("l_p", read(&result.l_p))];
                metrics.extend(result.metrics.read().named());
                Ok(MicroOutput {
                    loss: result.loss,
                    metrics,
                    count,
                })
            }
            _ => Err(mismatch(
                "the batch layout does not match the objective".into(),
            )),
        }
    }
}

/// A counterfactual batch's two passes must score the same completions, row for row.
fn check_same_completions(
    with_history: &CompletionLogits,
    null_history: &CompletionLogits,
) -> Result<()> {
    if with_history.num_tokens != null_history.num_tokens {
        return Err(mismatch(format!(
            "a counterfactual batch needs identical completions in both halves, got target lengths {:?} and {:?}",
            with_history.num_tokens, null_history.num_tokens
        )));
    }
    Ok(())
}

fn check_rows(reference: &[Vec<f32>], b: usize, width: usize) -> Result<()> {
    if reference.len() != b || reference.iter().any(|r| r.len() != width) {
        return Err(mismatch(format!(
            "expected {b} reference rows of {width} values, got {}",
            reference.len()
        )));
    }
    Ok(())
}

fn mismatch(reason: String) -> Error {
    invalid("reference log-probs", reason)
}
