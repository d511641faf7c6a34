//! The configured LiPO objective.

use burn::prelude::*;

use super::list::{ListBatch, check_shape};
use super::listwise::{list_mle_loss, softmax_loss};
use super::pairwise::{PairTerm, PairWeights, pairwise_loss};
use super::pointwise::{point_mse_loss, point_sigmoid_loss};
use super::{
    LambdaDiscount, LambdaScale, LipoLossType, LipoMetrics, LipoOutput, LipoReduction,
    SoftmaxLabels,
};
use crate::Result;

/// A LiPO-family ranking objective with validated hyper-parameters and resolved convention
/// knobs. Built by [`LipoConfig::init`](super::LipoConfig::init). A pure tensor function: no
/// model calls, no I/O, no logging, no host sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Lipo {
    pub(crate) loss_type: LipoLossType,
    pub(crate) beta: f64,
    pub(crate) discount: LambdaDiscount,
    pub(crate) lambda_scale: LambdaScale,
    pub(crate) reduction: LipoReduction,
    pub(crate) softmax_labels: SoftmaxLabels,
}

impl Lipo {
    /// The loss type.
    pub fn loss_type(&self) -> LipoLossType {
        self.loss_type
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The λ discount logarithm in use.
    pub fn discount(&self) -> LambdaDiscount {
        self.discount
    }

    /// The λ weight scale in use.
    pub fn lambda_scale(&self) -> LambdaScale {
        self.lambda_scale
    }

    /// The reduction of pairwise and pointwise terms in use.
    pub fn reduction(&self) -> LipoReduction {
        self.reduction
    }

    /// The softmax targets in use.
    pub fn softmax_labels(&self) -> SoftmaxLabels {
        self.softmax_labels
    }

    /// Scores s = β·(log π_θ − log π_ref) (Eq. 2).
    ///
    /// # Shapes
    ///
    /// - `policy_logps`, `reference_logps`: `[batch, K]` summed completion log-probs
    /// - output: `[batch, K]`
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if the shapes differ.
    pub fn scores(&self, policy_logps: Tensor<2>, reference_logps: Tensor<2>) -> Result<Tensor<2>> {
        check_shape(
            "reference_logps",
            &policy_logps.dims(),
            &reference_logps.dims(),
        )?;
        Ok((policy_logps - reference_logps).mul_scalar(self.beta))
    }

    /// The loss from policy and reference log-probs of the K responses of each list.
    ///
    /// # Shapes
    ///
    /// - `policy_logps`, `reference_logps`: `[batch, K]` summed completion log-probs
    ///   (the reference is normally constant; it is used as given)
    /// - `labels`: `[batch, K]` ψ, higher is better, normally in [0, 1]
    /// - `mask`: `[batch, K]`, `true` for real responses, `false` for padding
    ///
    /// The computation runs in the dtype of `policy_logps` (f32 or f64).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) naming the first input whose
    /// shape differs from `policy_logps`.
    pub fn forward(
        &self,
        policy_logps: Tensor<2>,
        reference_logps: Tensor<2>,
        labels: Tensor<2>,
        mask: Tensor<2, Bool>,
    ) -> Result<LipoOutput> {
        let dims = policy_logps.dims();
        check_shape("reference_logps", &dims, &reference_logps.dims())?;
        check_shape("labels", &dims, &labels.dims())?;
        check_shape("mask", &dims, &mask.dims())?;
        let scores = self.scores(policy_logps, reference_logps)?;
        self.forward_scores(scores, labels, mask)
    }

    /// The loss from scores s directly (already β-scaled): the entry point for tests and for
    /// callers with their own scores.
    ///
    /// # Shapes
    ///
    /// - `scores`, `labels`: `[batch, K]`
    /// - `mask`: `[batch, K]`, `true` for valid items
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `labels` or `mask` is not
    /// shaped like `scores`.
    pub fn forward_scores(
        &self,
        scores: Tensor<2>,
        labels: Tensor<2>,
        mask: Tensor<2, Bool>,
    ) -> Result<LipoOutput> {
        let list = ListBatch::new(scores, labels, mask)?;
        let loss = match self.loss_type {
            LipoLossType::Lambda => pairwise_loss(
                &list,
                PairTerm::Logistic,
                PairWeights::Lambda {
                    discount: self.discount,
                    scale: self.lambda_scale,
                },
                self.reduction,
            ),
            LipoLossType::PairLogistic => pairwise_loss(
                &list,
                PairTerm::Logistic,
                PairWeights::Uniform,
                self.reduction,
            ),
            LipoLossType::PairHinge => {
                pairwise_loss(&list, PairTerm::Hinge, PairWeights::Uniform, self.reduction)
            }
            LipoLossType::ListMle => list_mle_loss(&list),
            LipoLossType::Softmax => softmax_loss(&list, self.softmax_labels),
            LipoLossType::PointMse => point_mse_loss(&list, self.reduction),
            LipoLossType::PointSigmoid => point_sigmoid_loss(&list, self.reduction),
        };
        let metrics = LipoMetrics::of(&list);
        Ok(LipoOutput {
            loss,
            scores: list.scores,
            metrics,
        })
    }
}
