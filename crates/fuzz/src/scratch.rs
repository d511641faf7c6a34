//! A per-thread scratch directory for targets whose parser reads a file.

use std::cell::RefCell;
use std::path::PathBuf;

thread_local! {
    static DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// `name` inside this thread's scratch directory (created on first use), with `bytes` written
/// to it.
pub(crate) fn file_with(name: &str, bytes: &[u8]) -> PathBuf {
    let path = DIR.with(|dir| {
        let mut dir = dir.borrow_mut();
        // In memory where the system has a tmpfs at /dev/shm: the file targets write every input.
        let dir = dir.get_or_insert_with(|| {
            tempfile::tempdir_in("/dev/shm")
                .or_else(|_| tempfile::tempdir())
                .expect("scratch directory")
        });
        dir.path().join(name)
    });
    std::fs::write(&path, bytes).expect("write a scratch file");
    path
}
