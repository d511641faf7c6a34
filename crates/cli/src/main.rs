//! The `prefopt` binary.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    // Before any thread or tensor exists: freed tensors stay in the heap for the next step.
    let retained = prefopt_core::allocator::retain_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    tracing::debug!(retained, "malloc keeps freed memory for reuse");
    prefopt_cli::run(prefopt_cli::Cli::parse())
}
