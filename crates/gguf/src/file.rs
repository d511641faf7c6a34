//! The GGUF container: header, metadata, tensor infos, and lazy access to tensor data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cursor::Cursor;
use crate::dequant::dequantize;
use crate::error::{GgufError, Result};
use crate::ggml_type::GgmlType;
use crate::value::{Array, Value, ValueType};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// The data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// The key that sets the data alignment (a u32 power of two).
pub const ALIGNMENT_KEY: &str = "general.alignment";

/// Longest metadata key accepted (ggml's limit).
const MAX_KEY_LEN: u64 = 65_535;
/// Longest tensor name accepted (ggml allows 63 bytes; real files never come close to this).
const MAX_TENSOR_NAME_LEN: u64 = 4_096;
/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
/// Deepest nesting of arrays accepted.
const MAX_ARRAY_DEPTH: usize = 8;
/// The smallest tensor-info record: name length, n_dims, type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;
/// The smallest metadata entry: key length, type tag, a one-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;

/// One tensor's record: name, dimensions, type and where its data lies.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The name, as written (`blk.0.attn_q.weight`).
    pub name: String,
    /// ggml's `ne`: the fastest-varying dimension first (`[cols, rows]` for a matrix).
    pub dims: Vec<u64>,
    /// The storage type.
    pub ggml_type: GgmlType,
    /// Offset of the data from the start of the data section.
    pub offset: u64,
    /// Bytes of data.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The row-major shape (`dims` reversed): `[rows, cols]` for a matrix, as numpy, PyTorch and
    /// Hugging Face see it.
    pub fn shape(&self) -> Vec<usize> {
        // Each dim fits in usize: n_bytes (≥ elements / 256) was checked against the file size.
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// An opened GGUF file: the header and metadata in memory, tensor data read on demand.
///
/// Every count and length in the header is checked against the bytes left in the file before
/// anything is allocated, and every tensor's data range against the file size, so a corrupt or
/// hostile header is an error naming the key or tensor, never a huge allocation or a panic.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    version: u32,
    file_len: u64,
    alignment: u64,
    data_start: u64,
    metadata: Vec<(String, Value)>,
    keys: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    file: Mutex<File>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GgufError + '_ {
    move |source| GgufError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_array<R: Read>(cur: &mut Cursor<R>, depth: usize) -> Result<Array> {
    if depth >= MAX_ARRAY_DEPTH {
        return Err(cur.malformed(format!(
            "arrays nested deeper than {MAX_ARRAY_DEPTH} levels"
        )));
    }
    let tag = cur.u32("array element type")?;
    let ty = ValueType::from_id(tag)
        .ok_or_else(|| cur.malformed(format!("unknown array element type {tag}")))?;
    let count = cur.u64("array length")?;
    let n = cur.bound_count(count, ty.min_bytes(), "array element")?;
    macro_rules! each {
        ($variant:ident, $read:ident) => {{
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(cur.$read("array element")?);
            }
            Array::$variant(v)
        }};
    }
    Ok(match ty {
        ValueType::U8 => Array::U8(cur.bytes(count, "u8 array")?),
        ValueType::I8 => each!(I8, i8),
        ValueType::U16 => each!(U16, u16),
        ValueType::I16 => each!(I16, i16),
        ValueType::U32 => each!(U32, u32),
        ValueType::I32 => each!(I32, i32),
        ValueType::F32 => each!(F32, f32),
        ValueType::Bool => each!(Bool, bool),
        ValueType::U64 => each!(U64, u64),
        ValueType::I64 => each!(I64, i64),
        ValueType::F64 => each!(F64, f64),
        ValueType::String => {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(cur.string(&format!("string element {i}"), u64::MAX)?);
            }
            Array::String(v)
        }
        ValueType::Array => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_array(cur, depth + 1)?);
            }
            Array::Array(v)
        }
    })
}

fn read_value<R: Read>(cur: &mut Cursor<R>, ty: ValueType) -> Result<Value> {
    Ok(match ty {
        ValueType::U8 => Value::U8(cur.u8("value")?),
        ValueType::I8 => Value::I8(cur.i8("value")?),
        ValueType::U16 => Value::U16(cur.u16("value")?),
        ValueType::I16 => Value::I16(cur.i16("value")?),
        ValueType::U32 => Value::U32(cur.u32("value")?),
        ValueType::I32 => Value::I32(cur.i32("value")?),
        ValueType::F32 => Value::F32(cur.f32("value")?),
        ValueType::Bool => Value::Bool(cur.bool("value")?),
        ValueType::String => Value::String(cur.string("string value", u64::MAX)?),
        ValueType::Array => Value::Array(read_array(cur, 0)?),
        ValueType::U64 => Value::U64(cur.u64("value")?),
        ValueType::I64 => Value::I64(cur.i64("value")?),
        ValueType::F64 => Value::F64(cur.f64("value")?),
    })
}

/// `x` rounded up to a multiple of `align` (a power of two), `None` on overflow.
fn align_up(x: u64, align: u64) -> Option<u64> {
    x.checked_add((align - x % align) % align)
}

impl GgufFile {
    /// Opens `path` and reads its header, metadata and tensor infos (not the tensor data).
    ///
    /// # Errors
    /// A clear [`GgufError`] for a wrong magic, a version other than 2/3, a big-endian file, a
    /// truncated section, an impossible count or length, a duplicate key or tensor name, an
    /// unknown value or tensor type, a bad `general.alignment`, or tensor data outside the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(io(path))?;
        let file_len = file.metadata().map_err(io(path))?.len();
        let reader = BufReader::with_capacity(1 << 16, file.try_clone().map_err(io(path))?);
        let mut cur = Cursor::new(reader, file_len, path);

        let magic = cur.bytes(4.min(file_len), "magic")?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::BadMagic {
                path: path.to_path_buf(),
                found: magic,
            });
        }
        let version = cur.u32("version")?;
        if version != 0 && version & 0xFFFF == 0 {
            return Err(GgufError::BigEndian {
                path: path.to_path_buf(),
                raw: version,
            });
        }
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        let tensor_count = cur.u64("tensor count")?;
        let kv_count = cur.u64("metadata count")?;
        let n_kv = cur.bound_count(kv_count, MIN_KV_BYTES, "metadata entry")?;
        cur.bound_count(tensor_count, MIN_TENSOR_INFO_BYTES, "tensor")?;

        let mut metadata = Vec::with_capacity(n_kv);
        let mut keys = HashMap::with_capacity(n_kv);
        for i in 0..n_kv {
            cur.context = format!("metadata entry #{i}");
            let key = cur.string("key", MAX_KEY_LEN)?;
            cur.context = format!("metadata key `{key}`");
            let tag = cur.u32("value type")?;
            let ty = ValueType::from_id(tag)
                .ok_or_else(|| cur.malformed(format!("unknown value type {tag}")))?;
            let value = read_value(&mut cur, ty)?;
            if keys.insert(key.clone(), metadata.len()).is_some() {
                return Err(cur.malformed("duplicate key"));
            }
            metadata.push((key, value));
        }

        cur.context = format!("metadata key `{ALIGNMENT_KEY}`");
        let alignment = match keys.get(ALIGNMENT_KEY).map(|&i| &metadata[i].1) {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if *a != 0 && a.is_power_of_two() => u64::from(*a),
            Some(Value::U32(a)) => {
                return Err(cur.malformed(format!("alignment {a} is not a non-zero power of two")));
            }
            Some(other) => {
                return Err(cur.malformed(format!(
                    "alignment must be a u32, found {}",
                    other.describe()
                )));
            }
        };

        cur.context = "header".into();
        let n_tensors = cur.bound_count(tensor_count, MIN_TENSOR_INFO_BYTES, "tensor")?;
        let mut tensors = Vec::with_capacity(n_tensors);
        let mut tensor_index = HashMap::with_capacity(n_tensors);
        for i in 0..n_tensors {
            cur.context = format!("tensor info #{i}");
            let name = cur.string("name", MAX_TENSOR_NAME_LEN)?;
            cur.context = format!("tensor `{name}`");
            let n_dims = cur.u32("n_dims")?;
            if n_dims > MAX_DIMS {
                return Err(cur.malformed(format!(
                    "{n_dims} dimensions, at most {MAX_DIMS} are allowed"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                let d = cur.u64("dimension")?;
                if d > i64::MAX as u64 {
                    return Err(cur.malformed(format!("dimension {d} is negative as an i64")));
                }
                dims.push(d);
            }
            let type_id = cur.u32("type")?;
            let ggml_type =
                GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownTensorType {
                    path: path.to_path_buf(),
                    tensor: name.clone(),
                    type_id,
                })?;
            let offset = cur.u64("offset")?;
            let n_elements = dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| cur.malformed(format!("element count of {dims:?} overflows")))?;
            if let Some(&first) = dims.first()
                && !first.is_multiple_of(ggml_type.block_size())
            {
                return Err(cur.malformed(format!(
                    "row length {first} is not a multiple of the {ggml_type} block size {}",
                    ggml_type.block_size()
                )));
            }
            let n_bytes = ggml_type.bytes_for(n_elements).ok_or_else(|| {
                cur.malformed(format!(
                    "byte size of {n_elements} {ggml_type} elements overflows"
                ))
            })?;
            if !offset.is_multiple_of(alignment) {
                return Err(cur.malformed(format!(
                    "data offset {offset} is not a multiple of the alignment {alignment}"
                )));
            }
            if tensor_index.insert(name.clone(), tensors.len()).is_some() {
                return Err(cur.malformed("duplicate tensor name"));
            }
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
                n_bytes,
            });
        }

        cur.context = "header".into();
        let data_start = align_up(cur.pos(), alignment)
            .ok_or_else(|| cur.malformed("data section start overflows"))?;
        for t in &tensors {
            let end = data_start
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(t.n_bytes));
            if end.is_none_or(|e| e > file_len) {
                return Err(GgufError::Malformed {
                    path: path.to_path_buf(),
                    context: format!("tensor `{}`", t.name),
                    message: format!(
                        "truncated: its {} bytes at data offset {} (file offset {}) run past the \
                         end of the file ({file_len} bytes)",
                        t.n_bytes,
                        t.offset,
                        data_start.saturating_add(t.offset)
                    ),
                });
            }
        }
        tracing::debug!(
            path = %path.display(),
            version,
            tensors = tensors.len(),
            metadata = metadata.len(),
            alignment,
            "opened GGUF file"
        );
        Ok(Self {
            path: path.to_path_buf(),
            version,
            file_len,
            alignment,
            data_start,
            metadata,
            keys,
            tensors,
            tensor_index,
            file: Mutex::new(file),
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The file size in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The data alignment (`general.alignment`, else 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// File offset of the data section.
    pub fn data_start(&self) -> u64 {
        self.data_start
    }

    /// The metadata entries in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.keys.get(key).map(|&i| &self.metadata[i].1)
    }

    /// The tensor infos in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The info of tensor `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    fn missing_key(&self, key: &str) -> GgufError {
        GgufError::MissingKey {
            path: self.path.clone(),
            key: key.into(),
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> GgufError {
        GgufError::WrongType {
            path: self.path.clone(),
            key: key.into(),
            expected: expected.into(),
            found: found.describe(),
        }
    }

    /// `key` as a non-negative integer of any width; `Ok(None)` when absent.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| self.wrong_type(key, "a non-negative integer", v))
            })
            .transpose()
    }

    /// `key` as a float (f32 or f64); `Ok(None)` when absent.
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>> {
        self.get(key)
            .map(|v| v.as_f64().ok_or_else(|| self.wrong_type(key, "a float", v)))
            .transpose()
    }

    /// `key` as a bool; `Ok(None)` when absent.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong_type(key, "a bool", v)))
            .transpose()
    }

    /// `key` as a string; `Ok(None)` when absent.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| self.wrong_type(key, "a string", v))
            })
            .transpose()
    }

    /// `key` as an array; `Ok(None)` when absent.
    pub fn get_array(&self, key: &str) -> Result<Option<&Array>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .ok_or_else(|| self.wrong_type(key, "an array", v))
            })
            .transpose()
    }

    /// `key` as a string array; `Ok(None)` when absent.
    pub fn get_strings(&self, key: &str) -> Result<Option<&[String]>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(Array::as_strings)
                    .ok_or_else(|| self.wrong_type(key, "an array of strings", v))
            })
            .transpose()
    }

    /// `key` as an integer array of any integer type; `Ok(None)` when absent.
    pub fn get_i64s(&self, key: &str) -> Result<Option<Vec<i64>>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(Array::to_i64s)
                    .ok_or_else(|| self.wrong_type(key, "an array of integers", v))
            })
            .transpose()
    }

    /// `key` as a float array (f32 or f64); `Ok(None)` when absent.
    pub fn get_f64s(&self, key: &str) -> Result<Option<Vec<f64>>> {
        self.get(key)
            .map(|v| {
                v.as_array()
                    .and_then(Array::to_f64s)
                    .ok_or_else(|| self.wrong_type(key, "an array of floats", v))
            })
            .transpose()
    }

    /// [`GgufFile::get_u64`] for a key that must be present.
    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.get_u64(key)?.ok_or_else(|| self.missing_key(key))
    }

    /// [`GgufFile::get_f64`] for a key that must be present.
    pub fn require_f64(&self, key: &str) -> Result<f64> {
        self.get_f64(key)?.ok_or_else(|| self.missing_key(key))
    }

    /// [`GgufFile::get_str`] for a key that must be present.
    pub fn require_str(&self, key: &str) -> Result<&str> {
        self.get_str(key)?.ok_or_else(|| self.missing_key(key))
    }

    /// [`GgufFile::get_strings`] for a key that must be present.
    pub fn require_strings(&self, key: &str) -> Result<&[String]> {
        self.get_strings(key)?.ok_or_else(|| self.missing_key(key))
    }

    /// The info of tensor `name`, or an error naming it.
    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name).ok_or_else(|| GgufError::MissingTensor {
            path: self.path.clone(),
            tensor: name.into(),
        })
    }

    /// The raw bytes of tensor `name` (read from disk now; nothing is cached).
    pub fn tensor_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let info = self.require_tensor(name)?;
        // Bounded by the file size, checked in `open`.
        let mut buf = vec![0u8; info.n_bytes as usize];
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek(SeekFrom::Start(self.data_start + info.offset))
            .and_then(|_| file.read_exact(&mut buf))
            .map_err(io(&self.path))?;
        Ok(buf)
    }

    /// Tensor `name` dequantized to f32, row-major in [`TensorInfo::shape`] order.
    ///
    /// # Errors
    /// [`GgufError::UnsupportedTensorType`] (naming the tensor) for a type
    /// [`crate::dequantize`] does not implement; I/O errors naming the file.
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let info = self.require_tensor(name)?;
        let ggml_type = info.ggml_type;
        if !ggml_type.is_dequantizable() {
            return Err(GgufError::UnsupportedTensorType {
                path: self.path.clone(),
                tensor: name.into(),
                ggml_type,
            });
        }
        let bytes = self.tensor_bytes(name)?;
        let mut out = vec![0f32; info.n_elements() as usize];
        dequantize(ggml_type, &bytes, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_to_the_next_multiple() {
        assert_eq!(align_up(0, 32), Some(0));
        assert_eq!(align_up(1, 32), Some(32));
        assert_eq!(align_up(64, 32), Some(64));
        assert_eq!(align_up(96, 64), Some(128));
        assert_eq!(align_up(u64::MAX, 32), None);
    }
}
