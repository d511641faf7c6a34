//! Reading and writing Hugging Face checkpoint directories: `config.json` plus
//! `model.safetensors` or `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use prefopt_core::write_atomic;
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, Metadata, TensorView};

use crate::error::{ModelError, Result};
use crate::weights::{NamedTensor, WeightSource};

/// Single-file weights name.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// Sharded weights index name.
pub const SAFETENSORS_INDEX_FILE: &str = "model.safetensors.index.json";
/// Config name.
pub const CONFIG_FILE: &str = "config.json";

struct ShardFile {
    path: PathBuf,
    bytes: Vec<u8>,
    header_len: usize,
    metadata: Metadata,
}

/// All tensors of a checkpoint directory, read into memory and validated up front.
pub(crate) struct CheckpointWeights {
    shards: Vec<ShardFile>,
    /// tensor name -> shard index
    names: HashMap<String, usize>,
    /// where a missing tensor should have been (the index, or the single file)
    listing: PathBuf,
    taken: HashSet<String>,
}

impl std::fmt::Debug for CheckpointWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointWeights")
            .field("listing", &self.listing)
            .field("tensors", &self.names.len())
            .finish()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_shard(path: &Path) -> Result<ShardFile> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let invalid = |message: String| ModelError::InvalidSafetensors {
        path: path.to_path_buf(),
        message,
    };
    // Full validation (header, offsets, file length) before anything is used.
    SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
    let (header_len, metadata) =
        SafeTensors::read_metadata(&bytes).map_err(|e| invalid(e.to_string()))?;
    Ok(ShardFile {
        path: path.to_path_buf(),
        bytes,
        header_len,
        metadata,
    })
}

impl CheckpointWeights {
    /// Opens `dir/{stem}.safetensors`, or the shards listed in
    /// `dir/{stem}.safetensors.index.json` (`stem` is `model` for transformers,
    /// `diffusion_pytorch_model` for diffusers).
    pub fn open_stem(dir: &Path, stem: &str) -> Result<Self> {
        let single = dir.join(format!("{stem}.safetensors"));
        let index = dir.join(format!("{stem}.safetensors.index.json"));
        let mut shards = Vec::new();
        let mut names = HashMap::new();
        let listing;
        if single.is_file() {
            return Self::open_file(&single);
        } else if index.is_file() {
            let text = std::fs::read_to_string(&index).map_err(io_err(&index))?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|source| ModelError::Json {
                    path: index.clone(),
                    source,
                })?;
            let map = json
                .get("weight_map")
                .and_then(serde_json::Value::as_object)
                .ok_or_else(|| ModelError::InvalidConfig {
                    path: index.clone(),
                    message: "missing `weight_map` object".into(),
                })?;
            let mut file_index: BTreeMap<String, usize> = BTreeMap::new();
            for (tensor, file) in map {
                let file = file.as_str().ok_or_else(|| ModelError::InvalidConfig {
                    path: index.clone(),
                    message: format!("weight_map entry for `{tensor}` is not a file name"),
                })?;
                let next = file_index.len();
                let idx = *file_index.entry(file.to_string()).or_insert(next);
                names.insert(tensor.clone(), idx);
            }
            let mut files: Vec<(usize, String)> =
                file_index.into_iter().map(|(f, i)| (i, f)).collect();
            files.sort();
            for (_, file) in files {
                shards.push(read_shard(&dir.join(file))?);
            }
            // Every tensor the index promises must be in its shard.
            for (tensor, &idx) in &names {
                if !shards[idx].metadata.tensors().contains_key(tensor) {
                    return Err(ModelError::MissingTensor {
                        path: shards[idx].path.clone(),
                        tensor: tensor.clone(),
                    });
                }
            }
            listing = index;
        } else {
            return Err(ModelError::MissingWeights {
                dir: dir.to_path_buf(),
            });
        }
        Ok(Self {
            shards,
            names,
            listing,
            taken: HashSet::new(),
        })
    }

    /// Opens one safetensors file (`model.safetensors`, `adapter_model.safetensors`, ...).
    pub fn open_file(path: &Path) -> Result<Self> {
        let shard = read_shard(path)?;
        let names = shard
            .metadata
            .tensors()
            .keys()
            .map(|name| (name.clone(), 0))
            .collect();
        Ok(Self {
            shards: vec![shard],
            names,
            listing: path.to_path_buf(),
            taken: HashSet::new(),
        })
    }

    /// Opens `dir` (`model.safetensors` or its sharded form), builds a model from its tensors with
    /// `build`, and warns about tensors the model left unused.
    pub fn load_with<M>(dir: &Path, build: impl FnOnce(&mut Self) -> Result<M>) -> Result<M> {
        Self::load_stem_with(dir, "model", build)
    }

    /// [`CheckpointWeights::load_with`] for the weights named by `stem` (see
    /// [`CheckpointWeights::open_stem`]).
    pub fn load_stem_with<M>(
        dir: &Path,
        stem: &str,
        build: impl FnOnce(&mut Self) -> Result<M>,
    ) -> Result<M> {
        let mut weights = Self::open_stem(dir, stem)?;
        let model = build(&mut weights)?;
        let unused = weights.unused();
        if !unused.is_empty() {
            tracing::warn!(dir = %dir.display(), ?unused, "checkpoint tensors not used by the model");
        }
        Ok(model)
    }

    /// Tensors present in the files but never taken by the model.
    pub fn unused(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .names
            .keys()
            .filter(|n| !self.taken.contains(*n))
            .cloned()
            .collect();
        v.sort();
        v
    }
}

fn decode(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        _ => return None,
    })
}

impl WeightSource for CheckpointWeights {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let idx = *self
            .names
            .get(name)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.listing.clone(),
                tensor: name.to_string(),
            })?;
        let shard = &self.shards[idx];
        let info = shard.metadata.tensors().get(name).cloned().ok_or_else(|| {
            ModelError::MissingTensor {
                path: shard.path.clone(),
                tensor: name.to_string(),
            }
        })?;
        if info.shape != shape {
            return Err(ModelError::ShapeMismatch {
                path: shard.path.clone(),
                tensor: name.to_string(),
                expected: shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        let (start, end) = info.data_offsets;
        let base = 8 + shard.header_len;
        let bytes = &shard.bytes[base + start..base + end];
        let data = decode(info.dtype, bytes).ok_or_else(|| ModelError::UnsupportedDtype {
            path: shard.path.clone(),
            tensor: name.to_string(),
            dtype: format!("{:?}", info.dtype),
        })?;
        self.taken.insert(name.to_string());
        Ok(data)
    }
}

/// On-disk dtype for saved weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveDtype {
    /// 32-bit float.
    #[default]
    F32,
    /// IEEE half.
    F16,
    /// bfloat16.
    Bf16,
}

impl SaveDtype {
    /// From an HF `torch_dtype`/`dtype` string (`float32`, `float16`, `bfloat16`).
    pub fn from_torch_name(name: &str) -> Option<Self> {
        match name {
            "float32" | "float" => Some(Self::F32),
            "float16" | "half" => Some(Self::F16),
            "bfloat16" => Some(Self::Bf16),
            _ => None,
        }
    }

    /// The dtype an HF `config.json` asks for (`torch_dtype`, or transformers v5's `dtype`),
    /// f32 when it names none this crate writes.
    pub fn from_hf_config(config: &serde_json::Value) -> Self {
        ["torch_dtype", "dtype"]
            .iter()
            .filter_map(|k| config.get(*k).and_then(serde_json::Value::as_str))
            .find_map(Self::from_torch_name)
            .unwrap_or_default()
    }

    fn dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F16 => Dtype::F16,
            Self::Bf16 => Dtype::BF16,
        }
    }

    pub(crate) fn encode(self, data: &[f32]) -> Vec<u8> {
        match self {
            Self::F32 => data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Self::F16 => data
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
            Self::Bf16 => data
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect(),
        }
    }

    fn bytes_per_element(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::Bf16 => 2,
        }
    }
}

/// The bytes of one safetensors file (`format: pt` metadata, as torch writes it).
pub(crate) fn serialize(
    path: &Path,
    tensors: &[(NamedTensor, Vec<u8>)],
    dtype: SaveDtype,
) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(t, bytes)| {
            TensorView::new(dtype.dtype(), t.shape.clone(), bytes)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| ModelError::Serialize {
                    path: path.to_path_buf(),
                    message: format!("{}: {e}", t.name),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize(views, Some(metadata)).map_err(|e| ModelError::Serialize {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes a checkpoint directory in the HF layout. With `max_shard_bytes`, weights larger than
/// that are split into `model-0000k-of-0000n.safetensors` files plus an index.
pub(crate) fn write_checkpoint(
    dir: &Path,
    config_json: &str,
    tensors: Vec<NamedTensor>,
    dtype: SaveDtype,
    max_shard_bytes: Option<usize>,
) -> Result<()> {
    write_checkpoint_stem(dir, "model", config_json, tensors, dtype, max_shard_bytes)
}

/// [`write_checkpoint`] with the weight files named `{stem}.safetensors` (or
/// `{stem}-0000k-of-0000n.safetensors` plus `{stem}.safetensors.index.json`).
pub(crate) fn write_checkpoint_stem(
    dir: &Path,
    stem: &str,
    config_json: &str,
    tensors: Vec<NamedTensor>,
    dtype: SaveDtype,
    max_shard_bytes: Option<usize>,
) -> Result<()> {
    let single_file = format!("{stem}.safetensors");
    let index_file = format!("{stem}.safetensors.index.json");
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let encoded: Vec<(NamedTensor, Vec<u8>)> = tensors
        .into_iter()
        .map(|t| {
            let bytes = dtype.encode(&t.data);
            (t, bytes)
        })
        .collect();
    let total: usize = encoded
        .iter()
        .map(|(t, _)| t.data.len() * dtype.bytes_per_element())
        .sum();
    let limit = max_shard_bytes.unwrap_or(usize::MAX).max(1);
    let mut groups: Vec<Vec<(NamedTensor, Vec<u8>)>> = vec![Vec::new()];
    let mut current = 0usize;
    for item in encoded {
        let size = item.1.len();
        if current > 0 && current + size > limit {
            groups.push(Vec::new());
            current = 0;
        }
        current += size;
        if let Some(g) = groups.last_mut() {
            g.push(item);
        }
    }
    if groups.len() == 1 {
        let path = dir.join(&single_file);
        let bytes = serialize(&path, &groups[0], dtype)?;
        write_atomic(&path, &bytes)?;
        // A stale index from an earlier sharded save would shadow nothing, but confuse readers.
        let _ = std::fs::remove_file(dir.join(&index_file));
    } else {
        let n = groups.len();
        let mut weight_map = BTreeMap::new();
        for (k, group) in groups.iter().enumerate() {
            let file = format!("{stem}-{:05}-of-{:05}.safetensors", k + 1, n);
            let path = dir.join(&file);
            let bytes = serialize(&path, group, dtype)?;
            write_atomic(&path, &bytes)?;
            for (t, _) in group {
                weight_map.insert(t.name.clone(), serde_json::Value::String(file.clone()));
            }
        }
        let index = serde_json::json!({
            "metadata": {"total_size": total},
            "weight_map": weight_map,
        });
        let text = serde_json::to_string_pretty(&index).unwrap_or_default();
        write_atomic(&dir.join(&index_file), text.as_bytes())?;
        let _ = std::fs::remove_file(dir.join(&single_file));
    }
    write_atomic(&dir.join(CONFIG_FILE), config_json.as_bytes())?;
    Ok(())
}
