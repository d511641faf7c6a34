#![doc = include_str!("../README.md")]

pub mod device;
mod commands;

pub use commands::{Cli, Command, run};
pub use device::{DeviceChoice, DeviceError};
