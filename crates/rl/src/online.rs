//! The online GRPO loop: prompts → rollouts → rewards → advantages → clipped-surrogate loss →
//! backward → global-norm clip → AdamW, `num_iterations` passes per rollout batch (TRL's μ).
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`GrpoRunConfig`] (`[grpo]`, TRL names) and [`RewardSpec`] (`[[grpo.rewards]]`) |
//! | `registry.rs` | [`RewardRegistry`]: reward functions by name |
//! | `batch.rs` | the token tensors of a rollout batch, completion log-probs on them |
//! | `trainer.rs` | [`GrpoTrainer`]: one step = rollouts, rewards, advantages, μ optimizer steps |
//! | `run.rs` | [`run_grpo`]: `max_steps` steps over a prompt set, `metrics.jsonl` |
//! | `detokenize.rs` | [`tokenizer_detokenizer`]: token ids → the text rewards see |
//! | `grpo_file.rs` | [`GrpoFile`]: the `grpo.toml` schema (`[model]`, `[data]`, `[grpo]`) |
//! | `run_grpo_file.rs` | [`run_grpo_file`]: load what a `grpo.toml` names, train, save |

mod batch;
mod config;
mod detokenize;
mod grpo_file;
mod registry;
mod run;
mod run_grpo_file;
mod trainer;

pub use config::{GrpoRunConfig, RewardSpec, ValidGrpoConfig};
pub use detokenize::tokenizer_detokenizer;
pub use grpo_file::{GrpoDataTable, GrpoFile, GrpoModelTable};
pub use registry::RewardRegistry;
pub use run::{GrpoRunOutput, run_grpo, run_valid_grpo};
pub use run_grpo_file::{GrpoFileReport, run_grpo_file};
pub use trainer::{GrpoStepOutput, GrpoTrainer};
