//! On-disk caches: `bincode` payloads behind a checked header.
//!
//! File layout (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `b"PFOPTCCH"` |
//! | 4 | format version ([`CACHE_FORMAT_VERSION`]) |
//! | 32 | key: SHA-256 of everything the payload was computed from ([`CacheKey`]) |
//! | 8 | payload length |
//! | 32 | SHA-256 of the payload |
//! | n | payload: `bincode` v2 (standard config) of the value |
//!
//! A file whose key or format version differs is **stale**; a file whose magic, length,
//! checksum or payload does not check is **corrupt**. Either way [`load_or_build`] logs a
//! warning, rebuilds and rewrites it (atomically, with [`prefopt_core::write_atomic`]); a
//! bad cache is never used.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// File magic.
pub const CACHE_MAGIC: [u8; 8] = *b"PFOPTCCH";
/// Version of the header layout and payload encoding.
pub const CACHE_FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 32 + 8 + 32;

/// A SHA-256 over named, length-prefixed parts: whatever a cached value depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 32]);

impl CacheKey {
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Builds a [`CacheKey`] from parts. Each part is tagged with its name and length, so
/// `("a", "bc")` and `("ab", "c")` hash differently.
#[derive(Debug, Clone, Default)]
pub struct CacheKeyBuilder {
    hasher: Sha256,
}

impl CacheKeyBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds raw bytes under `name`.
    pub fn bytes(mut self, name: &str, bytes: &[u8]) -> Self {
        self.hasher.update((name.len() as u64).to_le_bytes());
        self.hasher.update(name.as_bytes());
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
        self
    }

    /// Adds a string under `name`.
    pub fn str(self, name: &str, value: &str) -> Self {
        self.bytes(name, value.as_bytes())
    }

    /// Adds a file's bytes under `name`.
    pub fn file(self, name: &str, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Ok(self.bytes(name, &bytes))
    }

    /// Adds the JSON serialization of `value` (options structs) under `name`.
    pub fn json<T: Serialize>(self, name: &str, value: &T) -> Result<Self> {
        let text = serde_json::to_vec(value)
            .map_err(|e| DataError::InvalidOption(format!("cannot hash {name}: {e}")))?;
        Ok(self.bytes(name, &text))
    }

    /// The key.
    pub fn finish(self) -> CacheKey {
        CacheKey(self.hasher.finalize().into())
    }
}

/// Why a cache file was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheMiss {
    /// No file.
    Missing,
    /// Written for other inputs or by another format version.
    Stale(String),
    /// Damaged: bad magic, truncated, checksum mismatch or undecodable payload.
    Corrupt(String),
}

/// Result of reading a cache file.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheLookup<T> {
    /// The file matched the key and checked out.
    Hit(T),
    /// It could not be used.
    Miss(CacheMiss),
}

/// Writes `value` to `path` under `key` (atomically, with [`prefopt_core::write_atomic`]:
/// a synced temporary file renamed over `path`).
pub fn write_cache<T: Serialize>(path: &Path, key: &CacheKey, value: &T) -> Result<()> {
    let payload =
        bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| {
            DataError::Cache {
                path: path.to_path_buf(),
                message: format!("encode: {e}"),
            }
        })?;
    let checksum: [u8; 32] = Sha256::digest(&payload).into();
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(&CACHE_MAGIC);
    bytes.extend_from_slice(&CACHE_FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&key.0);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum);
    bytes.extend_from_slice(&payload);
    Ok(prefopt_core::write_atomic(path, &bytes)?)
}

/// Reads `path` and checks it against `key`.
pub fn read_cache<T: DeserializeOwned>(path: &Path, key: &CacheKey) -> Result<CacheLookup<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(CacheLookup::Miss(CacheMiss::Missing));
        }
        Err(e) => return Err(DataError::io(path, e)),
    };
    Ok(match check(&bytes, key) {
        Ok(payload) => {
            match bincode::serde::decode_from_slice::<T, _>(payload, bincode::config::standard()) {
                Ok((value, used)) if used == payload.len() => CacheLookup::Hit(value),
                Ok((_, used)) => CacheLookup::Miss(CacheMiss::Corrupt(format!(
                    "payload decoded from {used} of {} bytes",
                    payload.len()
                ))),
                Err(e) => CacheLookup::Miss(CacheMiss::Corrupt(format!("decode: {e}"))),
            }
        }
        Err(miss) => CacheLookup::Miss(miss),
    })
}

fn check<'b>(bytes: &'b [u8], key: &CacheKey) -> std::result::Result<&'b [u8], CacheMiss> {
    if bytes.len() < HEADER_LEN {
        return Err(CacheMiss::Corrupt(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if bytes[..8] != CACHE_MAGIC {
        return Err(CacheMiss::Corrupt("bad magic".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if version != CACHE_FORMAT_VERSION {
        return Err(CacheMiss::Stale(format!(
            "format version {version}, expected {CACHE_FORMAT_VERSION}"
        )));
    }
    if bytes[12..44] != key.0 {
        return Err(CacheMiss::Stale(format!(
            "key {} differs from {}",
            hex::encode(&bytes[12..44]),
            key.to_hex()
        )));
    }
    let len = u64::from_le_bytes(bytes[44..52].try_into().unwrap_or_default());
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(CacheMiss::Corrupt(format!(
            "payload is {} bytes, header says {len}",
            payload.len()
        )));
    }
    let checksum: [u8; 32] = Sha256::digest(payload).into();
    if bytes[52..84] != checksum {
        return Err(CacheMiss::Corrupt("payload checksum mismatch".into()));
    }
    Ok(payload)
}

/// Where a cached value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from a valid cache file.
    Hit,
    /// Built (and written) because of this miss.
    Built(CacheMiss),
}

/// Returns the cached value for `key` at `path`, or builds it with `build`, writes it and
/// returns it. Stale and corrupt files are logged and replaced.
pub fn load_or_build<T, F>(path: &Path, key: &CacheKey, build: F) -> Result<(T, CacheOutcome)>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Result<T>,
{
    let miss = match read_cache::<T>(path, key)? {
        CacheLookup::Hit(value) => {
            tracing::debug!(cache = %path.display(), "cache hit");
            return Ok((value, CacheOutcome::Hit));
        }
        CacheLookup::Miss(miss) => miss,
    };
    match &miss {
        CacheMiss::Missing => tracing::info!(cache = %path.display(), "no cache; building"),
        CacheMiss::Stale(why) => {
            tracing::warn!(cache = %path.display(), reason = %why, "stale cache; rebuilding")
        }
        CacheMiss::Corrupt(why) => {
            tracing::warn!(cache = %path.display(), reason = %why, "corrupt cache; rebuilding")
        }
    }
    let value = build()?;
    write_cache(path, key, &value)?;
    Ok((value, CacheOutcome::Built(miss)))
}

/// Rows of `f32` values under a key: the trainer's cache of reference log-probs (one row
/// per example: `[chosen, rejected]` for pairs, K values for lists).
pub type VectorRows = Vec<Vec<f32>>;

/// The key of per-example `f32` rows computed by a model (reference log-probs): the data
/// set's key, the bytes of every model file (`config.json`, `model.safetensors`, shards...),
/// and whatever options change the numbers (dtype, device kind, batch size...).
///
/// Hashing reads each model file once (SHA-256 runs at several hundred MB/s).
pub fn vector_cache_key<T: Serialize>(
    dataset_key: &CacheKey,
    model_files: &[&Path],
    options: &T,
) -> Result<CacheKey> {
    let mut builder = CacheKeyBuilder::new()
        .str("purpose", "prefopt-data f32 rows")
        .bytes("dataset", &dataset_key.0);
    for path in model_files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        builder = builder
            .str("model_file_name", name)
            .file("model_file", path)?;
    }
    Ok(builder.json("options", options)?.finish())
}

/// Writes `rows` under `key` (see [`write_cache`]).
pub fn write_vectors(path: &Path, key: &CacheKey, rows: &VectorRows) -> Result<()> {
    write_cache(path, key, rows)
}

/// Reads rows written by [`write_vectors`].
pub fn read_vectors(path: &Path, key: &CacheKey) -> Result<CacheLookup<VectorRows>> {
    read_cache(path, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> CacheKey {
        CacheKeyBuilder::new().str("test", s).finish()
    }

    #[test]
    fn key_parts_are_delimited() {
        let a = CacheKeyBuilder::new().str("x", "ab").str("y", "c").finish();
        let b = CacheKeyBuilder::new().str("x", "a").str("y", "bc").finish();
        assert_ne!(a, b);
        assert_eq!(
            a,
            CacheKeyBuilder::new().str("x", "ab").str("y", "c").finish()
        );
    }

    #[test]
    fn vector_keys_depend_on_data_model_and_options() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.safetensors");
        std::fs::write(&model, b"weights v1").unwrap();
        let k = |data: &str, opts: &str| {
            vector_cache_key(&key(data), &[model.as_path()], &opts).unwrap()
        };
        let base = k("d", "f32");
        assert_eq!(base, k("d", "f32"));
        assert_ne!(base, k("e", "f32"));
        assert_ne!(base, k("d", "bf16"));
        std::fs::write(&model, b"weights v2").unwrap();
        assert_ne!(base, k("d", "f32"));
    }

    #[test]
    fn round_trip_and_miss_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/v.bin");
        let rows: VectorRows = vec![vec![1.5, -2.0], vec![0.25]];
        assert_eq!(
            read_vectors(&path, &key("a")).unwrap(),
            CacheLookup::Miss(CacheMiss::Missing)
        );
        write_vectors(&path, &key("a"), &rows).unwrap();
        assert_eq!(
            read_vectors(&path, &key("a")).unwrap(),
            CacheLookup::Hit(rows.clone())
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["v.bin"], "no temporary file is left behind");
        assert!(matches!(
            read_vectors(&path, &key("b")).unwrap(),
            CacheLookup::Miss(CacheMiss::Stale(_))
        ));
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let rows: VectorRows = vec![vec![1.0, 2.0, 3.0], vec![4.0]];
        write_vectors(&path, &key("a"), &rows).unwrap();
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            let got = read_vectors(&path, &key("a")).unwrap();
            assert!(
                matches!(
                    got,
                    CacheLookup::Miss(CacheMiss::Corrupt(_) | CacheMiss::Stale(_))
                ),
                "byte {i}: {got:?}"
            );
        }
        for len in 0..good.len() {
            std::fs::write(&path, &good[..len]).unwrap();
            let got = read_vectors(&path, &key("a")).unwrap();
            assert!(
                matches!(got, CacheLookup::Miss(CacheMiss::Corrupt(_))),
                "len {len}: {got:?}"
            );
        }
    }

    #[test]
    fn load_or_build_rebuilds_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let mut builds = 0;
        let mut get = |k: &CacheKey| {
            load_or_build(&path, k, || {
                builds += 1;
                Ok(vec![vec![builds as f32]])
            })
            .unwrap()
        };
        let (v, o) = get(&key("a"));
        assert_eq!(
            (v, o),
            (vec![vec![1.0]], CacheOutcome::Built(CacheMiss::Missing))
        );
        let (v, o) = get(&key("a"));
        assert_eq!((v, o), (vec![vec![1.0]], CacheOutcome::Hit));
        let (v, o) = get(&key("b"));
        assert_eq!(v, vec![vec![2.0]]);
        assert!(matches!(o, CacheOutcome::Built(CacheMiss::Stale(_))));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (v, o) = get(&key("b"));
        assert_eq!(v, vec![vec![3.0]]);
        assert!(matches!(o, CacheOutcome::Built(CacheMiss::Corrupt(_))));
    }
}
