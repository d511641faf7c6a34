//! The online GRPO loop: prompts → rollouts → rewards → advantages → clipped-surrogate loss →
//! backward → global-norm clip → AdamW, `num_iterations` passes per rollout batch (TRL's μ).
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`GrpoRunConfig`] (`[grpo]`, TRL names) |
//! | `reward_spec.rs` | [`RewardSpec`] (`[[grpo.rewards]]`: pointwise or `win_rate` with a [`JudgeSpec`]) |
//! | `registry.rs` | [`RewardRegistry`]: rewards and comparators by name; builds a run's rewards |
//! | `batch.rs` | the token tensors of a rollout batch, completion log-probs on them |
//! | `trainer.rs` | [`GrpoTrainer`]: one step = rollouts, rewards, advantages, μ optimizer steps |
//! | `prompt_order.rs` | the seeded prompt order, a pure function of (seed, prompts consumed) |
//! | `run.rs` | [`run_grpo`]: `max_steps` steps over a prompt set, `metrics.jsonl`, checkpoints, resume |
//! | `detokenize.rs` | [`tokenizer_detokenizer`]: token ids → the text rewards see |
//! | `grpo_file.rs` | [`GrpoFile`]: the `grpo.toml` schema (`[model]`, `[data]`, `[grpo]`) |
//! | `run_grpo_file.rs` | [`run_grpo_file`]: load what a `grpo.toml` names, train, save |

mod batch;
mod config;
mod detokenize;
mod grpo_file;
pub(crate) mod prompt_order;
mod registry;
mod reward_spec;
mod run;
mod run_grpo_file;
mod trainer;

pub use config::{GrpoRunConfig, ValidGrpoConfig};
pub use detokenize::tokenizer_detokenizer;
pub use grpo_file::{GrpoDataTable, GrpoFile, GrpoModelTable};
pub use registry::RewardRegistry;
pub use reward_spec::{
    BradleyTerryJudgeSpec, JudgeSpec, ProgrammaticJudgeSpec, RewardKind, RewardModelJudgeSpec,
    RewardSpec,
};
pub use run::{GrpoRunOptions, GrpoRunOutput, run_grpo, run_valid_grpo};
pub use run_grpo_file::{GrpoFileReport, run_grpo_file};
pub use trainer::{GrpoStepOutput, GrpoTrainer};
