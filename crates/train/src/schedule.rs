//! Learning-rate schedules equal to Hugging Face transformers' `get_*_schedule_with_warmup`.
//!
//! A schedule is a pure function of the optimizer step: [`LrSchedule::lr_at`] gives the lr that
//! optimizer step `step` (0-based: the number of updates already applied) uses. That is the value
//! transformers' `LambdaLR` has written into the param group when `optimizer.step()` runs, so a
//! warm-up starts at exactly 0 on step 0 (burn's `LinearLrScheduler` cannot start at 0), and a
//! resumed run needs no scheduler state: the step number is enough.
//!
//! With `w` warm-up steps and `T` training steps (HF's lambdas, `transformers/optimization.py`):
//!
//! ```text
//! warm-up (step < w):    lr · step / max(1, w)          (all types except `constant`)
//! constant:              lr
//! constant_with_warmup:  lr
//! linear:                lr · max(0, (T - step) / max(1, T - w))
//! cosine:                lr · max(0, ½(1 + cos(π · 2c · p)))        p = (step - w) / max(1, T - w)
//! cosine_with_min_lr:    lr · max(0, ½(1 + cos(π · 2c · p)) · (1 - r) + r)
//! ```
//!
//! `c` is `num_cycles` (default 0.5) and `r` is `min_lr_rate` (or `min_lr / lr`). As in
//! transformers, steps past `T` are not clamped (cosine rises again); the loop stops at `T`.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use prefopt_core::invalid;

/// The schedule family, with Hugging Face's `lr_scheduler_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedulerType {
    /// Constant lr, no warm-up.
    Constant,
    /// Linear warm-up from 0, then constant.
    ConstantWithWarmup,
    /// Linear warm-up from 0, then linear decay to 0 at the last step (HF's default).
    #[default]
    Linear,
    /// Linear warm-up from 0, then cosine decay (half a cycle by default) to 0.
    Cosine,
    /// Like `cosine`, but decays to `min_lr_rate · lr` (or `min_lr`) instead of 0.
    CosineWithMinLr,
}

/// Extra schedule arguments, HF's `lr_scheduler_kwargs` (only the ones these types accept).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedulerKwargs {
    /// Number of cosine waves over the decay phase (HF default 0.5: a half cosine to 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_cycles: Option<f64>,
    /// `cosine_with_min_lr`: the final lr as a fraction of the peak lr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lr_rate: Option<f64>,
    /// `cosine_with_min_lr`: the final lr as an absolute value (exclusive with `min_lr_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
}

/// A learning-rate schedule: peak lr, type, warm-up and total steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    learning_rate: f64,
    kind: LrSchedulerType,
    warmup_steps: u64,
    total_steps: u64,
    num_cycles: f64,
    min_lr_rate: f64,
}

impl LrSchedule {
    /// Builds a schedule; `kwargs` are checked against the type as transformers does
    /// (`num_cycles` only for cosine types, exactly one of `min_lr`/`min_lr_rate` for
    /// `cosine_with_min_lr`).
    pub fn new(
        kind: LrSchedulerType,
        learning_rate: f64,
        warmup_steps: u64,
        total_steps: u64,
        kwargs: LrSchedulerKwargs,
    ) -> Result<Self> {
        let (num_cycles, min_lr_rate) = Self::resolve(kind, learning_rate, kwargs)?;
        Ok(Self {
            learning_rate,
            kind,
            warmup_steps,
            total_steps,
            num_cycles,
            min_lr_rate,
        })
    }

    /// Checks `learning_rate` and `kwargs` against `kind` (what [`LrSchedule::new`] checks,
    /// without the step counts a schedule needs) and returns `(num_cycles, min_lr_rate)`.
    pub(crate) fn resolve(
        kind: LrSchedulerType,
        learning_rate: f64,
        kwargs: LrSchedulerKwargs,
    ) -> Result<(f64, f64)> {
        if !(learning_rate.is_finite() && learning_rate >= 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be finite and >= 0, got {learning_rate}"),
            ));
        }
        let cosine = matches!(
            kind,
            LrSchedulerType::Cosine | LrSchedulerType::CosineWithMinLr
        );
        if kwargs.num_cycles.is_some() && !cosine {
            return Err(invalid(
                "lr_scheduler_kwargs",
                format!("`num_cycles` is only accepted by cosine schedules, not {kind:?}"),
            ));
        }
        let num_cycles = kwargs.num_cycles.unwrap_or(0.5);
        if !(num_cycles.is_finite() && num_cycles > 0.0) {
            return Err(invalid(
                "lr_scheduler_kwargs",
                format!("`num_cycles` must be finite and > 0, got {num_cycles}"),
            ));
        }
        let min_lr_rate = match (kind, kwargs.min_lr, kwargs.min_lr_rate) {
            (LrSchedulerType::CosineWithMinLr, Some(_), Some(_)) => {
                return Err(invalid(
                    "lr_scheduler_kwargs",
                    "only one of `min_lr` or `min_lr_rate` may be set",
                ));
            }
            (LrSchedulerType::CosineWithMinLr, Some(min_lr), None) if learning_rate > 0.0 => {
                min_lr / learning_rate
            }
            (LrSchedulerType::CosineWithMinLr, Some(_), None) => 0.0,
            (LrSchedulerType::CosineWithMinLr, None, Some(rate)) => rate,
            (LrSchedulerType::CosineWithMinLr, None, None) => {
                return Err(invalid(
                    "lr_scheduler_kwargs",
                    "cosine_with_min_lr needs `min_lr` or `min_lr_rate`",
                ));
            }
            (_, None, None) => 0.0,
            (_, _, _) => {
                return Err(invalid(
                    "lr_scheduler_kwargs",
                    format!(
                        "`min_lr`/`min_lr_rate` are only accepted by cosine_with_min_lr, not {kind:?}"
                    ),
                ));
            }
        };
        if !(0.0..=1.0).contains(&min_lr_rate) {
            return Err(invalid(
                "lr_scheduler_kwargs",
                format!("the minimum lr must be between 0 and the peak lr (rate {min_lr_rate})"),
            ));
        }
        Ok((num_cycles, min_lr_rate))
    }

    /// The lr used by optimizer step `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        self.learning_rate * self.factor_at(step)
    }

    /// The multiplier of the peak lr at `step` (HF's `lr_lambda(step)`).
    pub fn factor_at(&self, step: u64) -> f64 {
        let (w, t) = (self.warmup_steps, self.total_steps);
        if self.kind != LrSchedulerType::Constant && step < w {
            return step as f64 / w.max(1) as f64;
        }
        // i128: steps past the end make `T - step` negative, as in Python.
        let decay_len = (i128::from(t) - i128::from(w)).max(1) as f64;
        let progress = (i128::from(step) - i128::from(w)) as f64 / decay_len;
        match self.kind {
            LrSchedulerType::Constant | LrSchedulerType::ConstantWithWarmup => 1.0,
            LrSchedulerType::Linear => {
                ((i128::from(t) - i128::from(step)) as f64 / decay_len).max(0.0)
            }
            LrSchedulerType::Cosine | LrSchedulerType::CosineWithMinLr => {
                let cos =
                    0.5 * (1.0 + (std::f64::consts::PI * self.num_cycles * 2.0 * progress).cos());
                (cos * (1.0 - self.min_lr_rate) + self.min_lr_rate).max(0.0)
            }
        }
    }

    /// The peak learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The schedule type.
    pub fn kind(&self) -> LrSchedulerType {
        self.kind
    }

    /// Warm-up steps.
    pub fn warmup_steps(&self) -> u64 {
        self.warmup_steps
    }

    /// Total optimizer steps.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kw() -> LrSchedulerKwargs {
        LrSchedulerKwargs::default()
    }

    #[test]
    fn hand_values() {
        // linear, w = 2, T = 6, lr = 1: 0, .5, 1, .75, .5, .25, 0, 0
        let s = LrSchedule::new(LrSchedulerType::Linear, 1.0, 2, 6, kw()).unwrap();
        let got: Vec<f64> = (0..8).map(|i| s.lr_at(i)).collect();
        assert_eq!(got, vec![0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]);
        // cosine, w = 0, T = 4: 1, (1+cos(π/4))/2, .5, (1+cos(3π/4))/2, 0
        let s = LrSchedule::new(LrSchedulerType::Cosine, 1.0, 0, 4, kw()).unwrap();
        let c = std::f64::consts::FRAC_1_SQRT_2;
        let want = [1.0, (1.0 + c) / 2.0, 0.5, (1.0 - c) / 2.0, 0.0];
        for (i, w) in want.iter().enumerate() {
            assert!((s.lr_at(i as u64) - w).abs() < 1e-15, "step {i}");
        }
    }

    #[test]
    fn kwargs_are_checked_like_transformers() {
        let e = LrSchedule::new(
            LrSchedulerType::Linear,
            1e-3,
            0,
            10,
            LrSchedulerKwargs {
                num_cycles: Some(1.0),
                ..kw()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("lr_scheduler_kwargs"), "{e}");
        assert!(LrSchedule::new(LrSchedulerType::CosineWithMinLr, 1e-3, 0, 10, kw()).is_err());
        let both = LrSchedulerKwargs {
            min_lr: Some(1e-4),
            min_lr_rate: Some(0.1),
            ..kw()
        };
        assert!(LrSchedule::new(LrSchedulerType::CosineWithMinLr, 1e-3, 0, 10, both).is_err());
        let e = LrSchedule::new(LrSchedulerType::Constant, f64::NAN, 0, 10, kw()).unwrap_err();
        assert!(e.to_string().contains("learning_rate"), "{e}");
    }

    proptest! {
        #[test]
        fn warmup_starts_at_zero_and_reaches_peak(w in 1u64..50, extra in 1u64..100, lr in 1e-7f64..1.0) {
            for kind in [LrSchedulerType::ConstantWithWarmup, LrSchedulerType::Linear, LrSchedulerType::Cosine] {
                let s = LrSchedule::new(kind, lr, w, w + extra, kw()).unwrap();
                prop_assert_eq!(s.lr_at(0), 0.0);
                prop_assert!((s.lr_at(w) - lr).abs() <= 1e-12 * lr);
                for i in 1..=w {
                    prop_assert!(s.lr_at(i) >= s.lr_at(i - 1));
                }
            }
        }

        #[test]
        fn decay_is_monotone_and_bounded(w in 0u64..20, extra in 1u64..200, rate in 0.0f64..1.0) {
            let t = w + extra;
            let kinds = [
                (LrSchedulerType::Linear, kw()),
                (LrSchedulerType::Cosine, kw()),
                (LrSchedulerType::CosineWithMinLr, LrSchedulerKwargs { min_lr_rate: Some(rate), ..kw() }),
            ];
            for (kind, kwargs) in kinds {
                let s = LrSchedule::new(kind, 1.0, w, t, kwargs).unwrap();
                for i in w..t {
                    prop_assert!(s.lr_at(i + 1) <= s.lr_at(i) + 1e-12);
                    prop_assert!(s.lr_at(i) <= 1.0 && s.lr_at(i) >= 0.0);
                }
                let floor = if kind == LrSchedulerType::CosineWithMinLr { rate } else { 0.0 };
                prop_assert!((s.lr_at(t) - floor).abs() < 1e-12);
            }
        }
    }
}
