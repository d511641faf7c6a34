#![doc = include_str!("../README.md")]

mod commands;
pub mod device;

pub use commands::{
    BenchCommand, Cli, Command, Completion, DemoArgs, EvalArgs, EvalReport, GenerateArgs,
    GenerationArgs, GrpoArgs, GrpoReport, PersonalEvalArgs, StudyArgs, TrainArgs, demo_command,
    eval_command, generate_command, grpo_command, personal_eval_command, run, study_command,
    train_command,
};
pub use device::{DeviceChoice, DeviceError};
