//! Atomic checkpoints: `checkpoint-<step>/` with the model, optimizer state and trainer state.
//!
//! Layout of one checkpoint (next to whatever the model saver writes, e.g. HF's `config.json` +
//! `model.safetensors`):
//!
//! ```text
//! <output_dir>/checkpoint-<global_step>/
//!     <model files>          written by the caller's `save_model(dir)`
//!     optimizer.bpk          AdamW state (burnpack), keyed by ParamId
//!     param_ids.json         parameter path → ParamId, to re-key the state on resume
//!     trainer_state.json     step, epoch, data cursor, RNG state, best metric, config hash
//! ```
//!
//! Atomicity: everything is written into `checkpoint-<step>.tmp-<pid>/`, every file and the
//! directory are fsynced, and only then is the directory published as `checkpoint-<step>` by
//! [`prefopt_core::replace_dir`] (which parks a checkpoint it replaces as
//! `checkpoint-<step>.old-<pid>` and fsyncs the parent). A crash at any point leaves either the
//! complete checkpoint or a `.tmp-` / `.old-` directory that [`latest_checkpoint`] ignores and
//! [`remove_stale_temporaries`] deletes.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use burn::module::Module;

use crate::error::{Error, Result, io, json};
use crate::optimizer::AdamW;
use crate::param_ids::ParamIds;
use crate::trainer_state::TrainerState;

/// File name of the trainer state inside a checkpoint (written last).
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";
/// File name of the optimizer state inside a checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// File name of the parameter-id map inside a checkpoint.
pub const PARAM_IDS_FILE: &str = "param_ids.json";
/// Prefix of checkpoint directory names (HF's).
pub const CHECKPOINT_PREFIX: &str = "checkpoint-";

/// Something that writes a model's files into a checkpoint directory (the models crate saves HF
/// layout). Any `FnOnce(&Path) -> Result<(), E>` closure is one.
pub trait SaveModel {
    /// Writes the model files into `dir` (which exists and is empty of model files).
    fn save_model(
        self,
        dir: &Path,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

impl<F, E> SaveModel for F
where
    F: FnOnce(&Path) -> std::result::Result<(), E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn save_model(
        self,
        dir: &Path,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self(dir).map_err(Into::into)
    }
}

/// Writes, finds, resumes and prunes checkpoints in one output directory.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    output_dir: PathBuf,
    save_total_limit: Option<usize>,
}

/// What [`Checkpointer::resume`] gives back.
#[derive(Debug)]
pub struct Resumed<M> {
    /// The model, with the checkpoint's parameter ids (so the optimizer state applies).
    pub model: M,
    /// The optimizer with its saved state.
    pub optimizer: AdamW,
    /// The saved trainer state.
    pub state: TrainerState,
}

impl Checkpointer {
    /// Checkpoints go to `output_dir/checkpoint-<step>`; after each save only the newest
    /// `save_total_limit` are kept (plus the best one), as in HF's `save_total_limit`.
    pub fn new(output_dir: impl Into<PathBuf>, save_total_limit: Option<usize>) -> Self {
        Self {
            output_dir: output_dir.into(),
            save_total_limit,
        }
    }

    /// The output directory.
    pub fn output_dir(&self) -> &Path {
        &self.output_dir
    }

    /// The directory a checkpoint of `step` lives in.
    pub fn checkpoint_dir(&self, step: u64) -> PathBuf {
        self.output_dir.join(format!("{CHECKPOINT_PREFIX}{step}"))
    }

    /// Atomically writes `checkpoint-<state.global_step>/` and prunes old checkpoints.
    ///
    /// `save_model` writes the model files (HF layout) into the directory it is given; `model`
    /// is only read for its parameter ids. Returns the final directory. An existing checkpoint
    /// of the same step is replaced.
    pub fn save<M: Module>(
        &self,
        model: &M,
        optimizer: &AdamW,
        state: &TrainerState,
        save_model: impl SaveModel,
    ) -> Result<PathBuf> {
        fs::create_dir_all(&self.output_dir).map_err(io(&self.output_dir))?;
        let final_dir = self.checkpoint_dir(state.global_step);
        let tmp = self.output_dir.join(format!(
            "{CHECKPOINT_PREFIX}{}.tmp-{}",
            state.global_step,
            std::process::id()
        ));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io(&tmp))?;

        if let Err(e) = write_contents(&tmp, model, optimizer, state, save_model) {
            // Best effort: a leftover `.tmp-` directory is ignored by resume anyway.
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }

        // An existing checkpoint of this step goes to `checkpoint-<step>.old-<pid>` for the swap.
        prefopt_core::replace_dir(&tmp, &final_dir)?;
        tracing::info!(dir = %final_dir.display(), "saved checkpoint");

        if let Some(limit) = self.save_total_limit {
            let protect = state.best_model_checkpoint.as_deref().map(Path::new);
            prune_checkpoints(&self.output_dir, limit, protect)?;
        }
        Ok(final_dir)
    }

    /// The newest complete checkpoint in the output directory (for `--resume`).
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        latest_checkpoint(&self.output_dir)
    }

    /// Restores the optimizer and trainer state of `checkpoint` onto a freshly built model whose
    /// weights the caller has already loaded from the same checkpoint (the models crate reads
    /// the HF files).
    ///
    /// The model's parameter ids are replaced by the saved ones (matched by path) so that the
    /// saved AdamW state applies; a parameter path missing from the checkpoint is an error.
    pub fn resume<M: Module>(checkpoint: &Path, model: M, optimizer: AdamW) -> Result<Resumed<M>> {
        let state = TrainerState::read(checkpoint.join(TRAINER_STATE_FILE))?;
        let ids_path = checkpoint.join(PARAM_IDS_FILE);
        let text = fs::read_to_string(&ids_path).map_err(io(&ids_path))?;
        let ids: ParamIds = serde_json::from_str(&text).map_err(json(&ids_path))?;
        let (model, missing) = ids.apply(model);
        if !missing.is_empty() {
            return Err(Error::Checkpoint {
                path: checkpoint.to_path_buf(),
                reason: format!("no saved parameter id for {missing:?}"),
            });
        }
        let optimizer = optimizer.load(checkpoint.join(OPTIMIZER_FILE))?;
        tracing::info!(dir = %checkpoint.display(), step = state.global_step, "resumed");
        Ok(Resumed {
            model,
            optimizer,
            state,
        })
    }
}

/// Everything a checkpoint holds, written into `dir`, then fsynced.
fn write_contents<M: Module>(
    dir: &Path,
    model: &M,
    optimizer: &AdamW,
    state: &TrainerState,
    save_model: impl SaveModel,
) -> Result<()> {
    save_model
        .save_model(dir)
        .map_err(|source| Error::SaveModel {
            path: dir.to_path_buf(),
            source,
        })?;
    optimizer.save(dir.join(OPTIMIZER_FILE))?;
    let ids_path = dir.join(PARAM_IDS_FILE);
    let ids = serde_json::to_string_pretty(&ParamIds::collect(model)).map_err(json(&ids_path))?;
    fs::write(&ids_path, ids + "\n").map_err(io(&ids_path))?;
    // Written last: its presence marks a complete checkpoint even before the rename.
    state.write(dir.join(TRAINER_STATE_FILE))?;
    sync_tree(dir)
}

/// The step of a directory named exactly `checkpoint-<digits>`.
fn checkpoint_step(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(CHECKPOINT_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Complete checkpoints (`checkpoint-<step>/` holding a `trainer_state.json`) sorted by step.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let Some(step) = entry.file_name().to_str().and_then(checkpoint_step) else {
            continue;
        };
        if path.is_dir() && path.join(TRAINER_STATE_FILE).is_file() {
            out.push((step, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The complete checkpoint with the highest step in `dir`, if any (temporaries are ignored).
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    Ok(list_checkpoints(dir.as_ref())?.pop().map(|(_, p)| p))
}

/// Deletes all but the newest `keep` checkpoints, never deleting `protect` (the best one).
/// Returns the deleted directories.
pub fn prune_checkpoints(
    dir: impl AsRef<Path>,
    keep: usize,
    protect: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    let all = list_checkpoints(dir.as_ref())?;
    let cut = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for (_, path) in all.into_iter().take(cut) {
        let protected = protect.is_some_and(|p| same_dir(p, &path));
        if !protected {
            fs::remove_dir_all(&path).map_err(io(&path))?;
            tracing::debug!(dir = %path.display(), "pruned checkpoint");
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Deletes what a crash can leave in an output directory: `checkpoint-*.tmp-*` /
/// `checkpoint-*.old-*` directories (a checkpoint being written or replaced) and the hidden
/// `.<name>.tmp-<pid>` siblings of [`prefopt_core::write_atomic`] (a file being written), in
/// the directory and its subdirectories (a pipeline's `transformer/`, the default `cache/`;
/// symbolic links are not followed, at most 4 levels deep). Neither is ever a finished file,
/// so nothing a run reads is touched. Returns how many.
pub fn remove_stale_temporaries(dir: impl AsRef<Path>) -> Result<usize> {
    remove_stale_below(dir.as_ref(), 4)
}

fn remove_stale_below(dir: &Path, depth: usize) -> Result<usize> {
    let mut n = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let file_type = entry.file_type().map_err(io(&path))?;
        let stale_checkpoint = name.starts_with(CHECKPOINT_PREFIX)
            && (name.contains(".tmp-") || name.contains(".old-"));
        let stale_file = name.starts_with('.') && name.contains(".tmp-");
        if stale_checkpoint || stale_file {
            if file_type.is_dir() {
                fs::remove_dir_all(&path).map_err(io(&path))?;
            } else {
                fs::remove_file(&path).map_err(io(&path))?;
            }
            n += 1;
        } else if file_type.is_dir() && depth > 1 {
            n += remove_stale_below(&path, depth - 1)?;
        }
    }
    Ok(n)
}

/// The start of every training run in `output_dir` (offline, flow matching, GRPO, Flow-GRPO):
/// deletes what a killed run left half-written ([`remove_stale_temporaries`]), then
///
/// - without `resume`: refuses a directory that already holds `checkpoint-<step>/` (naming
///   `key`, the config key of the output directory) and returns `None`;
/// - with `resume`: returns the newest finished checkpoint, or an error when there is none.
pub fn start_in_output_dir(
    output_dir: &Path,
    key: &'static str,
    resume: bool,
) -> Result<Option<PathBuf>> {
    let removed = remove_stale_temporaries(output_dir)?;
    if removed > 0 {
        tracing::info!(
            removed,
            dir = %output_dir.display(),
            "removed files and checkpoints a killed run left unfinished"
        );
    }
    if !resume {
        if !list_checkpoints(output_dir)?.is_empty() {
            return Err(prefopt_core::invalid(
                key,
                format!(
                    "`{}` already holds checkpoints: pass --resume to continue, or choose \
                     another directory",
                    output_dir.display()
                ),
            ));
        }
        return Ok(None);
    }
    latest_checkpoint(output_dir)?
        .map(Some)
        .ok_or_else(|| Error::Checkpoint {
            path: output_dir.to_path_buf(),
            reason: "--resume was given but there is no checkpoint-<step>/ to resume from".into(),
        })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// fsyncs every file under `dir`, then the directories themselves.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io(&path))?;
        }
    }
    Ok(prefopt_core::sync_dir(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_parsing() {
        assert_eq!(checkpoint_step("checkpoint-12"), Some(12));
        assert_eq!(checkpoint_step("checkpoint-12.tmp-99"), None);
        assert_eq!(checkpoint_step("checkpoint-12.old-99"), None);
        assert_eq!(checkpoint_step("checkpoint-"), None);
        assert_eq!(checkpoint_step("checkpoint--1"), None);
        assert_eq!(checkpoint_step("ckpt-1"), None);
    }
}
