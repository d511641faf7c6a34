//! `Dpo`: the DPO-family loss, a pure function of sequence log-probs.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};

use super::{DpoConfig, DpoInputs, DpoLossType, IpoNormalization, PairMetricValues, PairMetrics};
use crate::{Error, Result};

/// The DPO family of pairwise preference losses, built by [`DpoConfig::init`].
///
/// Pure: it reads log-probs ([`DpoInputs`]) and returns tensors; it never calls a model, reads a
/// file or logs. Works on any float dtype and device; on an autodiff device gradients flow to
/// the policy log-probs (and through the tails when LD-DPO is on).
#[derive(Debug, Clone)]
pub struct Dpo {
    config: DpoConfig,
    weights: Vec<f64>,
}

/// What [`Dpo::forward`] returns.
#[derive(Debug, Clone)]
pub struct DpoOutput {
    /// The batch loss Σ_k w_k · mean(ℓ_k).
    ///
    /// # Shapes
    /// `[1]`
    pub loss: Tensor<1>,
    /// Σ_k w_k · ℓ_k per pair (WPO-weighted if on); its mean is `loss`.
    ///
    /// # Shapes
    /// `[batch]`
    pub per_pair: Tensor<1>,
    /// Rewards and log-probs behind TRL's `rewards/*` and `logps/*` metrics.
    pub metrics: PairMetrics,
}

impl DpoOutput {
    /// Reads the metrics to the host, as `(TRL name, batch mean)` (one synchronisation).
    pub fn read_metrics(&self) -> PairMetricValues {
        self.metrics.read()
    }
}

/// Per-pair tensors shared by the loss arms.
struct Terms {
    /// Policy log-probs as the loss sees them (LD-weighted if on).
    policy_chosen: Tensor<1>,
    policy_rejected: Tensor<1>,
    reference_chosen: Tensor<1>,
    reference_rejected: Tensor<1>,
    /// Raw log-ratios r_c, r_r.
    ratio_chosen: Tensor<1>,
    ratio_rejected: Tensor<1>,
    /// f-divergence scores s_c, s_r and Δs.
    score_chosen: Tensor<1>,
    score_rejected: Tensor<1>,
    delta: Tensor<1>,
    /// Completion lengths clamped ≥ 1.
    chosen_lengths: Tensor<1>,
    rejected_lengths: Tensor<1>,
    /// Token-mean NLL of the chosen completions, `[1]` (raw log-probs, no LD weighting).
    chosen_nll: Tensor<1>,
}

impl Dpo {
    pub(crate) fn from_validated(config: DpoConfig) -> Self {
        let weights = config.weights();
        Self { config, weights }
    }

    /// The validated configuration.
    pub fn config(&self) -> &DpoConfig {
        &self.config
    }

    /// Computes the loss and the metrics of a batch of preference pairs.
    ///
    /// # Shapes
    /// - every input tensor: `[batch]` (see [`DpoInputs`])
    /// - `loss`: `[1]`; `per_pair`: `[batch]`
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when the inputs disagree on the batch size (or it is 0);
    /// [`Error::InvalidConfig`] naming `ld_alpha` / `use_weighting` when that option is on but
    /// its extra input is missing.
    pub fn forward(&self, inputs: DpoInputs) -> Result<DpoOutput> {
        let inputs = inputs.checked()?;
        let cfg = &self.config;
        let batch = inputs.policy_chosen_logps.dims()[0];

        // TRL's `sft`: cross-entropy averaged over every chosen completion token of the batch.
        let chosen_nll = inputs
            .policy_chosen_logps
            .clone()
            .sum()
            .neg()
            .div(inputs.chosen_lengths.clone().sum().clamp_min(1.0));
        let chosen_lengths = inputs.chosen_lengths.clamp_min(1.0);
        let rejected_lengths = inputs.rejected_lengths.clamp_min(1.0);

        let (policy_chosen, policy_rejected, reference_chosen, reference_rejected) =
            match cfg.ld_alpha {
                None => (
                    inputs.policy_chosen_logps,
                    inputs.policy_rejected_logps,
                    inputs.reference_chosen_logps,
                    inputs.reference_rejected_logps,
                ),
                Some(alpha) => {
                    let tails = inputs.tail_logps.ok_or_else(|| Error::InvalidConfig {
                        field: "ld_alpha",
                        reason: "is set but DpoInputs::tail_logps is missing".into(),
                    })?;
                    let k = 1.0 - alpha;
                    (
                        inputs.policy_chosen_logps - tails.policy_chosen.mul_scalar(k),
                        inputs.policy_rejected_logps - tails.policy_rejected.mul_scalar(k),
                        inputs.reference_chosen_logps - tails.reference_chosen.mul_scalar(k),
                        inputs.reference_rejected_logps - tails.reference_rejected.mul_scalar(k),
                    )
                }
            };

        let wpo = if cfg.use_weighting {
            let w = inputs.wpo_log_weights.ok_or_else(|| Error::InvalidConfig {
                field: "use_weighting",
                reason: "is on but DpoInputs::wpo_log_weights is missing".into(),
            })?;
            Some((w.chosen + w.rejected).detach().exp())
        } else {
            None
        };

        let ratio_chosen = policy_chosen.clone() - reference_chosen.clone();
        let ratio_rejected = policy_rejected.clone() - reference_rejected.clone();
        let alpha_coef = cfg.f_alpha_divergence_coef;
        let score_chosen = cfg
            .f_divergence_type
            .scores(ratio_chosen.clone(), alpha_coef);
        let score_rejected = cfg
            .f_divergence_type
            .scores(ratio_rejected.clone(), alpha_coef);
        let delta = score_chosen.clone() - score_rejected.clone();

        let terms = Terms {
            policy_chosen,
            policy_rejected,
            reference_chosen,
            reference_rejected,
            ratio_chosen,
            ratio_rejected,
            score_chosen,
            score_rejected,
            delta,
            chosen_lengths,
            rejected_lengths,
            chosen_nll,
        };

        let mut per_pair: Option<Tensor<1>> = None;
        for (&ty, &w) in cfg.loss_type.iter().zip(&self.weights) {
            let mut l = self.pair_loss(ty, &terms, batch);
            if let Some(wpo) = &wpo {
                l = l * wpo.clone();
            }
            let l = if w == 1.0 { l } else { l.mul_scalar(w) };
            per_pair = Some(match per_pair {
                None => l,
                Some(acc) => acc + l,
            });
        }
        let per_pair = per_pair.expect("init() rejects an empty loss_type");

        let beta = cfg.beta;
        let metrics = PairMetrics::new(
            terms.ratio_chosen.mul_scalar(beta),
            terms.ratio_rejected.mul_scalar(beta),
            terms.policy_chosen,
            terms.policy_rejected,
        );
        Ok(DpoOutput {
            loss: per_pair.clone().mean(),
            per_pair,
            metrics,
        })
    }

    /// ℓ_k per pair for one loss type.
    fn pair_loss(&self, ty: DpoLossType, t: &Terms, batch: usize) -> Tensor<1> {
        let beta = self.config.beta;
        let eps = self.config.label_smoothing;
        let z = || t.delta.clone().mul_scalar(beta);
        match ty {
            DpoLossType::Sigmoid => smoothed_logistic(z(), eps),
            DpoLossType::Hinge => z().neg().add_scalar(1.0).clamp_min(0.0),
            DpoLossType::Ipo => {
                let margin = match self.config.ipo_normalization {
                    IpoNormalization::LengthNormalized => {
                        t.score_chosen.clone() / t.chosen_lengths.clone()
                            - t.score_rejected.clone() / t.rejected_lengths.clone()
                    }
                    IpoNormalization::Summed => t.delta.clone(),
                };
                margin.sub_scalar(0.5 / beta).square()
            }
            DpoLossType::Robust => {
                let z = z();
                (log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps))
                    + log_sigmoid(z.neg()).mul_scalar(eps))
                .div_scalar(1.0 - 2.0 * eps)
            }
            DpoLossType::ExoPair => {
                let z = z();
                let chosen = sigmoid(z.clone()) * log_sigmoid(z.clone()).sub_scalar((-eps).ln_1p());
                let rejected = sigmoid(z.clone().neg()) * log_sigmoid(z.neg()).sub_scalar(eps.ln());
                chosen + rejected
            }
            DpoLossType::NcaPair => {
                let c = t.score_chosen.clone().mul_scalar(beta);
                let r = t.score_rejected.clone().mul_scalar(beta);
                log_sigmoid(c.clone()).neg()
                    - log_sigmoid(c.neg()).mul_scalar(0.5)
                    - log_sigmoid(r.neg()).mul_scalar(0.5)
            }
            DpoLossType::BcoPair => {
                let c = t.score_chosen.clone().mul_scalar(beta);
                let r = t.score_rejected.clone().mul_scalar(beta);
                log_sigmoid(c).neg() - log_sigmoid(r.neg())
            }
            DpoLossType::SppoHard => {
                let half = 0.5 / beta;
                t.score_chosen.clone().sub_scalar(half).square()
                    + t.score_rejected.clone().add_scalar(half).square()
            }
            DpoLossType::Aot => {
                let policy = t.policy_chosen.clone() - t.policy_rejected.clone();
                let reference = t.reference_chosen.clone() - t.reference_rejected.clone();
                let d = policy.sort(0) - reference.sort(0);
                smoothed_logistic(d.mul_scalar(beta), eps)
            }
            DpoLossType::AotUnpaired => {
                let d = t.ratio_chosen.clone().sort(0) - t.ratio_rejected.clone().sort(0);
                smoothed_logistic(d.mul_scalar(beta), eps)
            }
            DpoLossType::ApoZero => {
                // 1 − σ(x) written as σ(−x).
                sigmoid(t.ratio_chosen.clone().mul_scalar(-beta))
                    + sigmoid(t.ratio_rejected.clone().mul_scalar(beta))
            }
            DpoLossType::ApoDown => {
                sigmoid(t.ratio_chosen.clone().mul_scalar(beta)) + sigmoid(z().neg())
            }
            DpoLossType::Discopop => {
                let tau = self.config.discopop_tau;
                let z = z();
                let scaled = z.clone().div_scalar(tau);
                // (1 − m)·(−log σ(z)) with 1 − m = σ(−z/τ), and m·e^(−z) = exp(log σ(z/τ) − z):
                // finite where TRL's e^(−z) alone overflows.
                let logistic = sigmoid(scaled.clone().neg()) * log_sigmoid(z.clone()).neg();
                let exponential = (log_sigmoid(scaled) - z).exp();
                logistic + exponential
            }
            DpoLossType::SigmoidNorm => {
                let margin = t.score_chosen.clone() / t.chosen_lengths.clone()
                    - t.score_rejected.clone() / t.rejected_lengths.clone();
                log_sigmoid(margin.mul_scalar(beta)).neg()
            }
            DpoLossType::Sft => t.chosen_nll.clone().expand([batch]),
        }
    }
}

/// −(1−ε) log σ(z) − ε log σ(−z); plain −log σ(z) when ε = 0.
fn smoothed_logistic(z: Tensor<1>, eps: f64) -> Tensor<1> {
    if eps == 0.0 {
        log_sigmoid(z).neg()
    } else {
        log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) - log_sigmoid(z.neg()).mul_scalar(eps)
    }
}
