//! `prefopt t2i train`: the base text-to-image model of the shapes world, from scratch.

use burn::prelude::Device;
use prefopt_train::{FlowTrainReport, TrainOptions, train_flow};

use crate::Result;
use crate::shapes::World;
use crate::shapes_t2i::config::{T2iConfig, WORLD_FILE};
use crate::shapes_t2i::data::WorldFlowData;

/// Trains the pipeline `config` describes on the world's renders (see
/// [`prefopt_train::train_flow`]); the output directory gets the pipeline, checkpoints,
/// `metrics.jsonl`, plots, `t2i_config.json` and [`WORLD_FILE`].
pub fn train_base(
    config: &T2iConfig,
    device: &Device,
    options: &TrainOptions,
) -> Result<FlowTrainReport> {
    config.validate()?;
    let world = World::new(config.world)?;
    let data = WorldFlowData::new(world, config.training.seed);
    // What decides the trajectory: not where it is written, nor how often it is saved/logged.
    let trajectory = prefopt_train::TrainerConfig {
        output_dir: Default::default(),
        save_steps: 0,
        save_total_limit: None,
        logging_steps: 0,
        ..config.training.clone()
    };
    let hash =
        prefopt_train::config_hash(&(&config.world, &config.model, &config.flow, &trajectory))?;
    let out = &config.training.output_dir;
    // The world first: checkpoints are usable by `generate` / `check` while the run goes on.
    std::fs::create_dir_all(out).map_err(|e| crate::TaskError::io(out, e))?;
    let world_json = serde_json::to_vec_pretty(&config.world)?;
    prefopt_core::write_atomic(&out.join(WORLD_FILE), &world_json)?;
    let config_json = serde_json::to_vec_pretty(config)?;
    prefopt_core::write_atomic(&out.join("t2i_config.json"), &config_json)?;
    let report = train_flow(
        |d: &Device| config.init_pipeline_models(d),
        &config.training,
        &config.flow,
        &data,
        &hash,
        device,
        options,
    )?;
    Ok(report)
}
