//! Integration tests of prefopt-data on the committed fixtures.

mod common;
mod datasets;
mod gguf;
mod loading;
mod personal;
mod readers;
mod reference;
mod templates;
