//! `PairMetrics`: the per-batch numbers TRL logs for preference losses, under TRL's names.

use burn::tensor::{FloatDType, Tensor};

/// Per-pair values behind TRL's preference metrics, kept on the device (all detached).
///
/// Reading them costs one host synchronisation, so the trainer decides when: call
/// [`summary`](Self::summary) to keep the means on the device (e.g. to average over
/// accumulation steps), or [`read`](Self::read) to get host values under TRL's names.
///
/// # Shapes
/// - every field: `[batch]`
#[derive(Debug, Clone)]
pub struct PairMetrics {
    /// β·r_c: implicit reward of the chosen answers.
    pub rewards_chosen: Tensor<1>,
    /// β·r_r: implicit reward of the rejected answers.
    pub rewards_rejected: Tensor<1>,
    /// Policy log-probs of the chosen answers, as the loss saw them (LD-weighted if on).
    pub logps_chosen: Tensor<1>,
    /// Policy log-probs of the rejected answers.
    pub logps_rejected: Tensor<1>,
}

/// Host values of [`PairMetrics`], each a batch mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairMetricValues {
    /// `rewards/chosen`
    pub rewards_chosen: f64,
    /// `rewards/rejected`
    pub rewards_rejected: f64,
    /// `rewards/margins`
    pub rewards_margins: f64,
    /// `rewards/accuracies`: fraction of pairs with reward_c > reward_r (strict; ties count 0).
    pub rewards_accuracies: f64,
    /// `logps/chosen`
    pub logps_chosen: f64,
    /// `logps/rejected`
    pub logps_rejected: f64,
}

impl PairMetrics {
    /// TRL's metric names, in the order of [`summary`](Self::summary).
    pub const NAMES: [&'static str; 6] = [
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "rewards/accuracies",
        "logps/chosen",
        "logps/rejected",
    ];

    pub(crate) fn new(
        rewards_chosen: Tensor<1>,
        rewards_rejected: Tensor<1>,
        logps_chosen: Tensor<1>,
        logps_rejected: Tensor<1>,
    ) -> Self {
        Self {
            rewards_chosen: rewards_chosen.detach(),
            rewards_rejected: rewards_rejected.detach(),
            logps_chosen: logps_chosen.detach(),
            logps_rejected: logps_rejected.detach(),
        }
    }

    /// reward_c − reward_r per pair.
    ///
    /// # Shapes
    /// - output: `[batch]`
    pub fn margins(&self) -> Tensor<1> {
        self.rewards_chosen.clone() - self.rewards_rejected.clone()
    }

    /// 1 where reward_c > reward_r (strictly), else 0.
    ///
    /// # Shapes
    /// - output: `[batch]`
    pub fn accuracies(&self) -> Tensor<1> {
        let dtype = FloatDType::from(self.rewards_chosen.dtype());
        self.rewards_chosen
            .clone()
            .greater(self.rewards_rejected.clone())
            .cast(dtype)
    }

    /// The six batch means in [`NAMES`](Self::NAMES) order, still on the device.
    ///
    /// # Shapes
    /// - output: `[6]`
    pub fn summary(&self) -> Tensor<1> {
        Tensor::cat(
            vec![
                self.rewards_chosen.clone().mean(),
                self.rewards_rejected.clone().mean(),
                self.margins().mean(),
                self.accuracies().mean(),
                self.logps_chosen.clone().mean(),
                self.logps_rejected.clone().mean(),
            ],
            0,
        )
    }

    /// Reads the batch means to the host (one synchronisation).
    pub fn read(&self) -> PairMetricValues {
        let v = read_f64(self.summary());
        PairMetricValues {
            rewards_chosen: v[0],
            rewards_rejected: v[1],
            rewards_margins: v[2],
            rewards_accuracies: v[3],
            logps_chosen: v[4],
            logps_rejected: v[5],
        }
    }
}

impl PairMetricValues {
    /// `(TRL name, value)` pairs, ready for a metrics logger.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        let n = PairMetrics::NAMES;
        [
            (n[0], self.rewards_chosen),
            (n[1], self.rewards_rejected),
            (n[2], self.rewards_margins),
            (n[3], self.rewards_accuracies),
            (n[4], self.logps_chosen),
            (n[5], self.logps_rejected),
        ]
    }
}

/// Host copy of a float tensor as f64, whatever its dtype.
pub(crate) fn read_f64(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_into_vec_as::<f64>()
        .expect("float tensor data converts to f64")
}
