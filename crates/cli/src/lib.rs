#![doc = include_str!("../README.md")]

mod commands;
pub mod device;

pub use commands::{BenchCommand, Cli, Command, run};
pub use device::{DeviceChoice, DeviceError};
