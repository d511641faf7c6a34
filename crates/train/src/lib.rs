#![doc = include_str!("../README.md")]

mod accumulate;
mod checkpoint;
mod clip;
mod device_batch;
mod error;
mod examples;
mod flow_loop;
mod flow_section;
mod lora_section;
mod metrics;
mod optimizer;
mod param_ids;
mod personal_eval;
mod personalization_section;
mod plot;
mod progress;
mod prompt_completions;
mod reference_logps;
mod run_config;
pub mod run_config_file;
mod schedule;
mod train_loop;
mod train_objective;
mod trainer_config;
mod trainer_state;

pub use accumulate::{AccumulatedStep, GradientAccumulator, proportional_weights, uniform_weights};
pub use checkpoint::{
    CHECKPOINT_PREFIX, Checkpointer, OPTIMIZER_FILE, PARAM_IDS_FILE, Resumed, SaveModel,
    TRAINER_STATE_FILE, latest_checkpoint, list_checkpoints, prune_checkpoints,
    remove_stale_temporaries, start_in_output_dir,
};
pub use clip::{clip_grad_norm, global_grad_norm};
pub use device_batch::{HostBatch, completion_logprobs, target_mask, token_tensors};
pub use error::{Error, Result};
pub use examples::{Examples, LoadedSplit, load_split};
pub use flow_loop::{FlowBatch, FlowData, FlowTrainReport, finish_pipeline_run, train_flow};
pub use flow_section::{FlowSection, WeightingScheme};
pub use lora_section::{LoraSection, MERGED_ADAPTER_DIR, require_lora_for_quantized};
pub use metrics::{MetricsLog, MetricsRecord, check_finite, read_metrics};
pub use optimizer::{AdamW, AdamWConfig};
pub use param_ids::ParamIds;
pub use personal_eval::{
    GENERATIONS_FILE, PERSONAL_EVAL_FILE, PersonalEvalOptions, PersonalEvalReport,
    evaluate_and_write, evaluate_personalization, load_test_split,
};
pub use personalization_section::{LayoutName, PersonalMethod, PersonalizationSection, PromptView};
pub use plot::{PlotSize, plot_curve, plot_metrics_file};
pub use progress::TrainProgress;
pub use prompt_completions::{Completion, CompletionOptions, complete_prompts, write_completions};
pub use reference_logps::{Reference, Split, batch_rows, precompute};
pub use run_config::{
    DataSection, Method, ModelSection, ReferenceSection, RunConfig, ValidRunConfig,
};
pub use run_config_file::{apply_override, load_run_config, load_table, parse_tables};
pub use schedule::{LrSchedule, LrSchedulerKwargs, LrSchedulerType};
pub use train_loop::{
    METRICS_FILE, RUN_CONFIG_FILE, TrainOptions, TrainReport, copy_tokenizer_files, load_tokenizer,
    train,
};
pub use train_objective::{MicroOutput, TrainObjective};
pub use trainer_config::TrainerConfig;
pub use trainer_state::{TrainerState, config_hash};
