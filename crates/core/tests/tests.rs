//! Integration tests of prefopt-core (one binary: see the crate README).

mod chat_client;
mod text_metrics;
