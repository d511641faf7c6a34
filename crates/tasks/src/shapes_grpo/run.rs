//! `prefopt t2i grpo`: Flow-GRPO / Pref-GRPO of a base pipeline of the shapes world.

use burn::prelude::Device;
use prefopt_rl::{FlowGrpoReport, train_flow_grpo};
use prefopt_train::TrainOptions;

use crate::Result;
use crate::shapes_t2i::{WORLD_FILE, load_world};

use super::config::ShapesGrpoConfig;
use super::env::ShapesGrpoEnv;

/// The evaluation folder in the output directory.
pub const EVAL_DIR: &str = "eval";

/// Runs `config` (see [`prefopt_rl::train_flow_grpo`]): the output directory gets the
/// pipeline, checkpoints, `metrics.jsonl`, plots, `grpo_config.json`, [`WORLD_FILE`] and
/// `eval/` (the suite, and per evaluation step the images and checker verdicts).
pub fn run_shapes_grpo(
    config: &ShapesGrpoConfig,
    device: &Device,
    options: &TrainOptions,
) -> Result<FlowGrpoReport> {
    config.validate()?;
    let world = load_world(&config.base_model)?;
    let out = &config.training.output_dir;
    std::fs::create_dir_all(out).map_err(|e| crate::TaskError::io(out, e))?;
    let world_json = serde_json::to_vec_pretty(&world.config)?;
    prefopt_core::write_atomic(&out.join(WORLD_FILE), &world_json)?;
    let config_json = serde_json::to_vec_pretty(config)?;
    prefopt_core::write_atomic(&out.join("grpo_config.json"), &config_json)?;
    // What decides the trajectory: not where it is written, nor how often it is
    // saved/logged/evaluated.
    let trajectory = prefopt_train::TrainerConfig {
        output_dir: Default::default(),
        save_steps: 0,
        save_total_limit: None,
        logging_steps: 0,
        eval_steps: None,
        ..config.training.clone()
    };
    let hash = prefopt_train::config_hash(&(
        &config.prompts.train_prompts,
        &config.prompts.train_seed,
        &config.grpo,
        &config.rewards,
        &trajectory,
    ))?;
    let env = ShapesGrpoEnv::new(config, world, out.join(EVAL_DIR), device)?;
    Ok(train_flow_grpo(
        &config.base_model,
        &env,
        &config.training,
        &config.grpo,
        &hash,
        device,
        options,
    )?)
}
