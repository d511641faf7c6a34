//! Integration tests of prefopt-core (one binary: see the crate README).

mod allocator;
mod chat_client;
mod reply_limits;
mod text_metrics;
