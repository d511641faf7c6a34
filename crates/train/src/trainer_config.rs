//! The shared loop knobs, with Hugging Face `TrainingArguments` names and defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::optimizer::{AdamW, AdamWConfig};
use crate::schedule::{LrSchedule, LrSchedulerKwargs, LrSchedulerType};
use prefopt_core::invalid;

/// Knobs every training method shares. Keys and defaults are HF `TrainingArguments`' (5.x), so a
/// TRL config's values mean the same thing here; unknown keys are rejected.
///
/// Note `weight_decay` defaults to 0.0 as in HF (torch's AdamW default is 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// Where checkpoints, `metrics.jsonl` and plots go (HF default `trainer_output`).
    pub output_dir: PathBuf,
    /// Peak learning rate (HF default 5e-5).
    pub learning_rate: f64,
    /// `constant`, `constant_with_warmup`, `linear` (default), `cosine`, `cosine_with_min_lr`.
    pub lr_scheduler_type: LrSchedulerType,
    /// HF's `lr_scheduler_kwargs`: `num_cycles`, `min_lr_rate`, `min_lr`.
    pub lr_scheduler_kwargs: LrSchedulerKwargs,
    /// Warm-up steps; as in HF 5, a value in (0, 1) is a fraction of the total steps
    /// (`ceil(total · warmup_steps)`), a value >= 1 a step count (truncated).
    pub warmup_steps: f64,
    /// HF 4's `warmup_ratio` (fraction of total steps, rounded up); exclusive with `warmup_steps`.
    pub warmup_ratio: f64,
    /// Total optimizer steps; -1 (default) means "from `num_train_epochs`".
    pub max_steps: i64,
    /// Epochs to train when `max_steps` is -1 (HF default 3.0).
    pub num_train_epochs: f64,
    /// Examples per micro-batch (HF default 8).
    pub per_device_train_batch_size: usize,
    /// Micro-batches per optimizer step (HF default 1).
    pub gradient_accumulation_steps: usize,
    /// Global gradient-norm clip; 0 disables clipping (HF default 1.0).
    pub max_grad_norm: f64,
    /// AdamW decoupled weight decay (HF default 0.0).
    pub weight_decay: f64,
    /// AdamW β1 (0.9).
    pub adam_beta1: f64,
    /// AdamW β2 (0.999).
    pub adam_beta2: f64,
    /// AdamW ε (1e-8).
    pub adam_epsilon: f64,
    /// Seed for initialisation, shuffling and sampling (HF default 42).
    pub seed: u64,
    /// Log every this many optimizer steps (HF default 500; TRL configs often use 10).
    pub logging_steps: u64,
    /// Evaluate every this many steps; unset means `logging_steps`, as in HF.
    pub eval_steps: Option<u64>,
    /// Save a checkpoint every this many steps (HF default 500).
    pub save_steps: u64,
    /// Keep at most this many checkpoints (the best one is never deleted); unset keeps all.
    pub save_total_limit: Option<usize>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            output_dir: PathBuf::from("trainer_output"),
            learning_rate: 5e-5,
            lr_scheduler_type: LrSchedulerType::Linear,
            lr_scheduler_kwargs: LrSchedulerKwargs::default(),
            warmup_steps: 0.0,
            warmup_ratio: 0.0,
            max_steps: -1,
            num_train_epochs: 3.0,
            per_device_train_batch_size: 8,
            gradient_accumulation_steps: 1,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            seed: 42,
            logging_steps: 500,
            eval_steps: None,
            save_steps: 500,
            save_total_limit: None,
        }
    }
}

impl TrainerConfig {
    /// Checks every field; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        self.check_loop()?;
        self.optimizer().validate()?;
        self.check_schedule()
    }

    /// Checks every field and builds the optimizer they describe (with no state yet): what a
    /// run needs before it has data. The lr schedule needs the total step count, which depends
    /// on the data set, so [`TrainerConfig::schedule`] builds it later from the checked fields.
    pub fn init(&self) -> Result<AdamW> {
        self.check_loop()?;
        let optimizer = self.optimizer().init()?;
        self.check_schedule()?;
        Ok(optimizer)
    }

    /// The loop knobs (lr, warm-up, step counts, batch sizes, clipping).
    fn check_loop(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate >= 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be finite and >= 0, got {}", self.learning_rate),
            ));
        }
        if !(self.warmup_steps.is_finite() && self.warmup_steps >= 0.0) {
            return Err(invalid(
                "warmup_steps",
                format!("must be finite and >= 0, got {}", self.warmup_steps),
            ));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(invalid(
                "warmup_ratio",
                format!("must be in [0, 1], got {}", self.warmup_ratio),
            ));
        }
        if self.warmup_ratio > 0.0 && self.warmup_steps > 0.0 {
            return Err(invalid(
                "warmup_ratio",
                "set either `warmup_steps` or `warmup_ratio`, not both",
            ));
        }
        if self.max_steps == 0 || self.max_steps < -1 {
            return Err(invalid(
                "max_steps",
                format!(
                    "must be -1 (use num_train_epochs) or > 0, got {}",
                    self.max_steps
                ),
            ));
        }
        if self.max_steps == -1
            && !(self.num_train_epochs.is_finite() && self.num_train_epochs > 0.0)
        {
            return Err(invalid(
                "num_train_epochs",
                format!(
                    "must be finite and > 0 when max_steps is -1, got {}",
                    self.num_train_epochs
                ),
            ));
        }
        if self.per_device_train_batch_size == 0 {
            return Err(invalid(
                "per_device_train_batch_size",
                "must be >= 1, got 0",
            ));
        }
        if self.gradient_accumulation_steps == 0 {
            return Err(invalid(
                "gradient_accumulation_steps",
                "must be >= 1, got 0",
            ));
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return Err(invalid(
                "max_grad_norm",
                format!(
                    "must be finite and >= 0 (0 disables clipping), got {}",
                    self.max_grad_norm
                ),
            ));
        }
        Ok(())
    }

    /// The logging / evaluation / saving intervals and the schedule type with its kwargs.
    fn check_schedule(&self) -> Result<()> {
        for (field, value) in [
            ("logging_steps", self.logging_steps),
            ("save_steps", self.save_steps),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be >= 1, got 0"));
            }
        }
        if self.eval_steps == Some(0) {
            return Err(invalid("eval_steps", "must be >= 1, got 0"));
        }
        if self.save_total_limit == Some(0) {
            return Err(invalid(
                "save_total_limit",
                "must be >= 1 (or unset to keep all), got 0",
            ));
        }
        // Type/kwargs combination, checked the way the schedule will be built.
        LrSchedule::resolve(
            self.lr_scheduler_type,
            self.learning_rate,
            self.lr_scheduler_kwargs,
        )?;
        Ok(())
    }

    /// Parses JSON (TOML callers deserialize the struct themselves) and validates.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let config: Self = serde_json::from_str(text).map_err(crate::error::json("<config>"))?;
        config.validate()?;
        Ok(config)
    }

    /// Optimizer steps per epoch for `micro_batches_per_epoch` micro-batches, as HF computes it:
    /// `max(ceil(micro_batches / gradient_accumulation_steps), 1)`.
    pub fn steps_per_epoch(&self, micro_batches_per_epoch: u64) -> u64 {
        micro_batches_per_epoch
            .div_ceil(self.gradient_accumulation_steps.max(1) as u64)
            .max(1)
    }

    /// Total optimizer steps: `max_steps` if set, else `ceil(num_train_epochs · steps_per_epoch)`.
    /// `micro_batches_per_epoch` is needed only in the second case.
    pub fn total_steps(&self, micro_batches_per_epoch: Option<u64>) -> Result<u64> {
        if self.max_steps > 0 {
            return Ok(self.max_steps as u64);
        }
        let batches = micro_batches_per_epoch.ok_or_else(|| {
            invalid::<crate::Error>(
                "max_steps",
                "must be set when the data set's length is unknown",
            )
        })?;
        Ok((self.num_train_epochs * self.steps_per_epoch(batches) as f64).ceil() as u64)
    }

    /// Warm-up steps for `total_steps` (HF 5's `get_warmup_steps`, plus HF 4's `warmup_ratio`).
    pub fn warmup_steps_for(&self, total_steps: u64) -> u64 {
        if self.warmup_steps >= 1.0 {
            self.warmup_steps as u64
        } else if self.warmup_steps > 0.0 {
            (total_steps as f64 * self.warmup_steps).ceil() as u64
        } else {
            (total_steps as f64 * self.warmup_ratio).ceil() as u64
        }
    }

    /// The lr schedule for a run of `total_steps`.
    pub fn schedule(&self, total_steps: u64) -> Result<LrSchedule> {
        LrSchedule::new(
            self.lr_scheduler_type,
            self.learning_rate,
            self.warmup_steps_for(total_steps),
            total_steps,
            self.lr_scheduler_kwargs,
        )
    }

    /// The AdamW hyper-parameters (`adam_beta1/2`, `adam_epsilon`, `weight_decay`).
    pub fn optimizer(&self) -> AdamWConfig {
        AdamWConfig::from_trainer(self)
    }

    /// The clipping threshold, or `None` when `max_grad_norm` is 0.
    pub fn clip_norm(&self) -> Option<f64> {
        (self.max_grad_norm > 0.0).then_some(self.max_grad_norm)
    }

    /// Whether to log after `step` optimizer steps (1-based), HF's `step % logging_steps == 0`.
    pub fn should_log(&self, step: u64) -> bool {
        step > 0 && step.is_multiple_of(self.logging_steps.max(1))
    }

    /// Whether to evaluate after `step` optimizer steps.
    pub fn should_eval(&self, step: u64) -> bool {
        step > 0 && step.is_multiple_of(self.eval_steps.unwrap_or(self.logging_steps).max(1))
    }

    /// Whether to save a checkpoint after `step` optimizer steps.
    pub fn should_save(&self, step: u64) -> bool {
        step > 0 && step.is_multiple_of(self.save_steps.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(text: &str) -> String {
        match TrainerConfig::from_json_str(text).unwrap_err() {
            crate::Error::InvalidConfig(prefopt_core::InvalidConfig { field, .. }) => {
                field.to_string()
            }
            e => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn hf_defaults() {
        let c = TrainerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.learning_rate, 5e-5);
        assert_eq!(c.lr_scheduler_type, LrSchedulerType::Linear);
        assert_eq!(
            (c.weight_decay, c.adam_epsilon, c.max_grad_norm),
            (0.0, 1e-8, 1.0)
        );
        assert_eq!(c.clip_norm(), Some(1.0));
    }

    #[test]
    fn parses_hf_names_and_rejects_unknown_keys() {
        let c = TrainerConfig::from_json_str(
            r#"{"learning_rate": 1e-6, "lr_scheduler_type": "cosine_with_min_lr",
                "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "warmup_steps": 0.1,
                "max_steps": 100, "gradient_accumulation_steps": 4, "save_total_limit": 2}"#,
        )
        .unwrap();
        assert_eq!(c.warmup_steps_for(100), 10);
        assert_eq!(c.total_steps(None).unwrap(), 100);
        let e = serde_json::from_str::<TrainerConfig>(r#"{"learning_rat": 1e-6}"#).unwrap_err();
        assert!(e.to_string().contains("learning_rat"), "{e}");
        assert!(
            serde_json::from_str::<TrainerConfig>(r#"{"lr_scheduler_type": "polynomial"}"#)
                .is_err()
        );
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(field_of(r#"{"learning_rate": -1}"#), "learning_rate");
        assert_eq!(
            field_of(r#"{"warmup_steps": 3, "warmup_ratio": 0.1}"#),
            "warmup_ratio"
        );
        assert_eq!(field_of(r#"{"max_steps": 0}"#), "max_steps");
        assert_eq!(field_of(r#"{"num_train_epochs": 0}"#), "num_train_epochs");
        assert_eq!(
            field_of(r#"{"per_device_train_batch_size": 0}"#),
            "per_device_train_batch_size"
        );
        assert_eq!(
            field_of(r#"{"gradient_accumulation_steps": 0}"#),
            "gradient_accumulation_steps"
        );
        assert_eq!(field_of(r#"{"max_grad_norm": -1}"#), "max_grad_norm");
        assert_eq!(field_of(r#"{"adam_beta1": 1.5}"#), "adam_beta1");
        assert_eq!(field_of(r#"{"adam_epsilon": -1e-8}"#), "adam_epsilon");
        assert_eq!(field_of(r#"{"weight_decay": -0.1}"#), "weight_decay");
        assert_eq!(field_of(r#"{"logging_steps": 0}"#), "logging_steps");
        assert_eq!(field_of(r#"{"save_steps": 0}"#), "save_steps");
        assert_eq!(field_of(r#"{"eval_steps": 0}"#), "eval_steps");
        assert_eq!(field_of(r#"{"save_total_limit": 0}"#), "save_total_limit");
        assert_eq!(
            field_of(r#"{"lr_scheduler_type": "cosine_with_min_lr"}"#),
            "lr_scheduler_kwargs"
        );
    }

    #[test]
    fn init_checks_the_same_fields_and_builds_the_optimizer() {
        let c = TrainerConfig {
            weight_decay: 0.1,
            adam_beta2: 0.95,
            ..TrainerConfig::default()
        };
        let optimizer = c.init().unwrap();
        assert_eq!(optimizer.config(), &c.optimizer());
        for bad in [
            r#"{"adam_beta1": 1.5}"#,
            r#"{"save_steps": 0}"#,
            r#"{"lr_scheduler_type": "cosine_with_min_lr"}"#,
        ] {
            let c: TrainerConfig = serde_json::from_str(bad).unwrap();
            let field = |e: crate::Error| match e {
                crate::Error::InvalidConfig(prefopt_core::InvalidConfig { field, .. }) => field,
                e => panic!("unexpected error {e}"),
            };
            assert_eq!(
                field(c.init().unwrap_err()),
                field(c.validate().unwrap_err())
            );
        }
    }

    #[test]
    fn step_counts_follow_hf() {
        let c = TrainerConfig {
            gradient_accumulation_steps: 4,
            num_train_epochs: 1.5,
            warmup_ratio: 0.1,
            ..TrainerConfig::default()
        };
        // 10 micro-batches / 4 → 3 steps per epoch (HF rounds up); 1.5 epochs → ceil(4.5) = 5.
        assert_eq!(c.steps_per_epoch(10), 3);
        assert_eq!(c.total_steps(Some(10)).unwrap(), 5);
        assert_eq!(c.warmup_steps_for(25), 3);
        assert!(c.total_steps(None).is_err());
        let c = TrainerConfig {
            logging_steps: 10,
            save_steps: 50,
            ..TrainerConfig::default()
        };
        assert!(!c.should_log(0) && c.should_log(10) && !c.should_log(15));
        assert!(c.should_eval(20) && c.should_save(50) && !c.should_save(10));
    }
}
