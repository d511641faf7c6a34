//! SIGINT / SIGTERM as a flag, for a clean stop of `prefopt serve`.
//!
//! The first signal sets the flag (the caller then calls
//! [`ServerHandle::shutdown`](crate::ServerHandle::shutdown)); a second one while the flag is
//! set exits at once with status 1, for a user who does not want to wait for the running batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::error::{Result, ServeError};

/// Whether SIGINT or SIGTERM has arrived since [`ShutdownSignal::install`].
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    flag: Arc<AtomicBool>,
}

impl ShutdownSignal {
    /// Installs the handlers of SIGINT and SIGTERM for the whole process.
    ///
    /// # Errors
    /// [`ServeError::Signal`] when a handler cannot be installed.
    pub fn install() -> Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            let wrap = |source| ServeError::Signal { signal, source };
            // Registered first, so it sees the flag as it was before this signal.
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&flag))
                .map_err(wrap)?;
            signal_hook::flag::register(signal, Arc::clone(&flag)).map_err(wrap)?;
        }
        Ok(Self { flag })
    }

    /// Whether a signal has arrived.
    pub fn received(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Blocks until a signal arrives.
    pub fn wait(&self) {
        while !self.received() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
