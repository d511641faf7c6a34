#![doc = include_str!("../README.md")]

mod commands;
pub mod device;

pub use commands::{
    AlignRealArgs, BenchCommand, Cli, Command, Completion, ConvertArgs, DemoArgs, EvalArgs,
    EvalReport, GenerateArgs, GenerationArgs, GrpoArgs, GrpoReport, PersonalEvalArgs, RunFlags,
    ServeArgs, StudyArgs, T2iCheckArgs, T2iCommand, T2iGenerateArgs, T2iSuiteArgs, T2iTrainArgs,
    ToyWorldArgs, TrainArgs, align_real_command, convert_command, demo_command, eval_command,
    generate_command, grpo_command, personal_eval_command, run, serve_command, serve_start,
    study_command, t2i_command, train_command,
};
pub use device::{DeviceChoice, DeviceError};
