#![doc = include_str!("../README.md")]

pub mod dpo;
mod error;
pub mod lipo;
pub mod nextquill;

pub use error::{Error, Result};
