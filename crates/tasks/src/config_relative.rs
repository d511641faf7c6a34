//! How a path written in a config file is found: as given (from the working directory) when
//! it exists there, otherwise next to the config file.

use std::path::{Path, PathBuf};

/// `path` as given when it is absolute or exists from the working directory, otherwise
/// `config_dir`/`path` (unchanged when there is no directory).
pub(crate) fn beside_config(path: &Path, config_dir: Option<&Path>) -> PathBuf {
    match config_dir {
        Some(dir) if path.is_relative() && !path.exists() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_relative_paths_are_taken_next_to_the_config() {
        let dir = Path::new("/configs");
        assert_eq!(
            beside_config(Path::new("no-such-model-here"), Some(dir)),
            dir.join("no-such-model-here")
        );
        assert_eq!(
            beside_config(Path::new("/abs/model"), Some(dir)),
            Path::new("/abs/model")
        );
        // Cargo runs tests from the crate directory, where `src` exists.
        assert_eq!(beside_config(Path::new("src"), Some(dir)), Path::new("src"));
        assert_eq!(beside_config(Path::new("x"), None), Path::new("x"));
    }
}
