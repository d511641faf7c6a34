//! Integration tests of the server on a tiny random model, over the loopback.

mod batching;
mod http;
mod support;
