#![doc = include_str!("../README.md")]
#![allow(clippy::missing_panics_doc)] // test helpers panic by design

pub mod fixture_files;
pub mod http_server;
pub mod tolerance;

pub use fixture_files::{
    external_data_dir, fetched_model, find_bytes, missing_data, models_dir, patched_copy,
};
pub use http_server::{Reply, Request, Server};
pub use tolerance::{Tolerance, assert_all_close, assert_close};
