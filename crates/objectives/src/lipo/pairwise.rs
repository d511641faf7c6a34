//! Pairwise ranking losses: LiPO-λ (Eq. 8), pair-logistic (Eq. 5) and pair-hinge (Eq. 6).

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu};

use super::lambda::lambda_weights_of;
use super::list::ListBatch;
use super::reduction::reduce;
use super::{LambdaDiscount, LambdaScale, LipoReduction};

/// The per-pair term of a pairwise loss, as a function of Δs = s_i − s_j.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PairTerm {
    /// log(1 + e^(−Δs)) = −log σ(Δs), computed with the stable fused `log_sigmoid` (exact
    /// gradient σ(−Δs), also at Δs = 0, and no overflow for large |Δs|).
    Logistic,
    /// max(0, 1 − Δs).
    Hinge,
}

/// How the pair terms are weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PairWeights {
    /// Every label-ordered pair counts once (pair-logistic, pair-hinge).
    Uniform,
    /// LiPO-λ's DCG weights.
    Lambda {
        discount: LambdaDiscount,
        scale: LambdaScale,
    },
}

/// Σ over label-ordered pairs (ψ_i > ψ_j, both valid) of weight × term(s_i − s_j), reduced over
/// the batch by `reduction` (pairs are the units).
pub(crate) fn pairwise_loss(
    list: &ListBatch,
    term: PairTerm,
    weights: PairWeights,
    reduction: LipoReduction,
) -> Tensor<1> {
    let diff = list.score_differences();
    let mut terms = match term {
        PairTerm::Logistic => log_sigmoid(diff).neg(),
        PairTerm::Hinge => relu(diff.neg().add_scalar(1.0)),
    };
    if let PairWeights::Lambda { discount, scale } = weights {
        terms = terms * lambda_weights_of(list, discount, scale);
    }
    let flat = [list.batch, list.k * list.k];
    reduce(
        terms.reshape(flat),
        list.pairs.clone().reshape(flat),
        list,
        reduction,
    )
}
