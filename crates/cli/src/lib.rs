#![doc = include_str!("../README.md")]

mod commands;
pub mod device;
pub mod run_config_file;

pub use commands::{
    BenchCommand, Cli, Command, Completion, EvalArgs, EvalReport, GenerateArgs, GenerationArgs,
    GrpoArgs, GrpoReport, PersonalEvalArgs, TrainArgs, eval_command, generate_command,
    grpo_command, personal_eval_command, run, train_command,
};
pub use device::{DeviceChoice, DeviceError};
pub use run_config_file::{apply_override, load_run_config, load_table, parse_tables};
