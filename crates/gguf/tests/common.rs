//! Fixture paths and byte patching.

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes `bytes` to a new file in `dir` and returns its path.
pub fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A hand-assembled little-endian GGUF, for cases gguf-py's writer refuses to produce.
#[derive(Default)]
pub struct Builder {
    pub version: u32,
    kv: Vec<u8>,
    n_kv: u64,
    info: Vec<u8>,
    n_tensors: u64,
    pub data: Vec<u8>,
}

impl Builder {
    pub fn new() -> Self {
        Self {
            version: 3,
            ..Self::default()
        }
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    /// A key with type tag `tag` and the already-encoded `value` bytes.
    pub fn kv(mut self, key: &str, tag: u32, value: &[u8]) -> Self {
        Self::string(&mut self.kv, key);
        self.kv.extend(tag.to_le_bytes());
        self.kv.extend(value);
        self.n_kv += 1;
        self
    }

    pub fn tensor(mut self, name: &str, dims: &[u64], type_id: u32, offset: u64) -> Self {
        Self::string(&mut self.info, name);
        self.info.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.info.extend(d.to_le_bytes());
        }
        self.info.extend(type_id.to_le_bytes());
        self.info.extend(offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend(self.n_tensors.to_le_bytes());
        out.extend(self.n_kv.to_le_bytes());
        out.extend(&self.kv);
        out.extend(&self.info);
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        out.extend(&self.data);
        out
    }
}
