//! Fixture files: patched copies of committed fixtures (for bad-input tests) and the real
//! models that `cargo xtask fetch-models` caches outside the repository.

use std::path::{Path, PathBuf};

/// The directory `cargo xtask fetch-models` fills: `$PREFOPT_MODELS_DIR`, else
/// `~/.cache/prefopt/models`.
pub fn models_dir() -> Option<PathBuf> {
    std::env::var_os("PREFOPT_MODELS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/prefopt/models"))
        })
}

/// The fetched model file `name`, or `None` after [`missing_data`] said that `test` is skipped
/// and how to fetch it.
///
/// # Panics
/// Under `CI=true` (see [`missing_data`]).
pub fn fetched_model(name: &str, test: &str) -> Option<PathBuf> {
    let path = models_dir().map(|d| d.join(name));
    if let Some(p) = path.as_ref().filter(|p| p.is_file()) {
        return Some(p.clone());
    }
    let shown = path.map_or_else(|| name.to_string(), |p| p.display().to_string());
    missing_data(&format!(
        "{shown} not found; run `cargo xtask fetch-models` (or set PREFOPT_MODELS_DIR) to run \
         {test}"
    ));
    None
}

/// A data directory from outside the repository (e.g. the official UniGenBench CSVs under
/// `../shared`): `$env_var` if set, else `default`; it counts as present when it holds
/// `marker`. `None` after [`missing_data`] said why.
///
/// # Panics
/// Under `CI=true` (see [`missing_data`]).
pub fn external_data_dir(
    env_var: &str,
    default: &Path,
    marker: &str,
    test: &str,
) -> Option<PathBuf> {
    let dir = std::env::var_os(env_var).map_or_else(|| default.to_path_buf(), PathBuf::from);
    if dir.join(marker).is_file() {
        return Some(dir);
    }
    missing_data(&format!(
        "{} (no {marker}) not found; set {env_var} to the directory to run {test}",
        dir.display()
    ));
    None
}

/// What a test does when its data is absent: under `CI=true` (or `1`) it fails with `message`,
/// since CI provides every data set and absence there is a fault, never a silent pass;
/// elsewhere it prints a visible `SKIPPED:` line (shown by `cargo test -- --nocapture`) and the
/// caller returns.
///
/// # Panics
/// Under `CI=true`.
#[allow(clippy::print_stderr)] // a skipped test must say so
pub fn missing_data(message: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("test data missing under CI=true: {message}");
    }
    eprintln!("SKIPPED: {message}");
}

/// A copy of the fixture `path` in a fresh temporary directory, with `edit` applied to its
/// bytes (keep the directory alive as long as the file is used).
///
/// # Panics
/// If the fixture cannot be read or the copy written.
pub fn patched_copy(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    let mut bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    edit(&mut bytes);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join(path.file_name().unwrap_or_default());
    std::fs::write(&copy, bytes).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
    (dir, copy)
}

/// The offset of the first occurrence of `needle` in `bytes`.
///
/// # Panics
/// If `needle` does not occur.
pub fn find_bytes(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}
