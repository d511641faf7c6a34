//! `trainer_state.json`: where a run stands, written into every checkpoint.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, io, json};

/// The loop's position and bookkeeping, saved as `trainer_state.json` in each checkpoint.
///
/// Field names follow Hugging Face's `trainer_state.json` where it has one (`global_step`,
/// `epoch`, `best_metric`, `best_model_checkpoint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerState {
    /// Optimizer steps completed (the `<step>` of `checkpoint-<step>`).
    pub global_step: u64,
    /// Fractional epochs completed (`global_step / steps_per_epoch`).
    pub epoch: f64,
    /// Position of the data loader: index of the next example in the current epoch's order.
    pub data_cursor: u64,
    /// The run's seed (`TrainerConfig::seed`).
    pub seed: u64,
    /// Opaque state of the caller's random generators (data shuffling, sampling), if any.
    /// Burn's device RNG cannot be read back, so loops re-seed it from `seed` and
    /// `global_step` on resume instead.
    #[serde(default)]
    pub rng_state: serde_json::Value,
    /// Best evaluation metric so far, if evaluation ran.
    #[serde(default)]
    pub best_metric: Option<f64>,
    /// Directory of the checkpoint that had `best_metric` (protected from pruning).
    #[serde(default)]
    pub best_model_checkpoint: Option<String>,
    /// [`config_hash`] of the config the run was started with.
    pub config_hash: String,
}

impl TrainerState {
    /// The state at the start of a run.
    pub fn new(seed: u64, config_hash: impl Into<String>) -> Self {
        Self {
            global_step: 0,
            epoch: 0.0,
            data_cursor: 0,
            seed,
            rng_state: serde_json::Value::Null,
            best_metric: None,
            best_model_checkpoint: None,
            config_hash: config_hash.into(),
        }
    }

    /// Writes pretty JSON to `path` (not atomic by itself; checkpoints are made atomic by
    /// writing into a temporary directory).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = serde_json::to_string_pretty(self).map_err(json(path))?;
        std::fs::write(path, text + "\n").map_err(io(path))
    }

    /// Reads a `trainer_state.json`.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        serde_json::from_str(&text).map_err(json(path))
    }

    /// Errors with [`Error::ConfigMismatch`] if the run's config changed since the checkpoint.
    pub fn check_config_hash(&self, current: &str) -> Result<()> {
        if self.config_hash == current {
            Ok(())
        } else {
            Err(Error::ConfigMismatch {
                saved: self.config_hash.clone(),
                current: current.to_string(),
            })
        }
    }
}

/// `sha256:<hex>` of the config's JSON serialization (field order is the struct's, so the hash
/// is stable across runs and machines).
pub fn config_hash<T: Serialize>(config: &T) -> Result<String> {
    let bytes = serde_json::to_vec(config).map_err(json("<config>"))?;
    let digest = Sha256::digest(&bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_json() {
        // sha256("{\"a\":1}") = 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862
        #[derive(Serialize)]
        struct A {
            a: u32,
        }
        assert_eq!(
            config_hash(&A { a: 1 }).unwrap(),
            "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }

    #[test]
    fn mismatch_is_an_error() {
        let s = TrainerState::new(1, "sha256:aa");
        assert!(s.check_config_hash("sha256:aa").is_ok());
        assert!(matches!(
            s.check_config_hash("sha256:bb"),
            Err(Error::ConfigMismatch { .. })
        ));
    }
}
