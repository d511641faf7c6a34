//! GGUF files (`prefopt_gguf::GgufFile`): header, metadata, tensor infos, tensor data.

use prefopt_gguf::GgufFile;

use crate::scratch::file_with;

/// Opens `data` as a GGUF file and reads every metadata array and every tensor as f32.
pub fn gguf(data: &[u8]) {
    let path = file_with("fuzz.gguf", data);
    let Ok(file) = GgufFile::open(&path) else {
        return;
    };
    for (key, _) in file.metadata() {
        let _ = file.get_strings(key);
        let _ = file.get_i64s(key);
        let _ = file.get_f64s(key);
    }
    let names: Vec<String> = file.tensors().iter().map(|t| t.name.clone()).collect();
    for name in names {
        let _ = file.tensor_f32(&name);
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A small valid GGUF v3 file: an architecture string, an alignment, a token array, and two
/// tensors (F32 `[4, 2]` and F16 `[8]`).
pub fn gguf_seed() -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes()); // tensors
    out.extend_from_slice(&3u64.to_le_bytes()); // metadata entries
    string(&mut out, "general.architecture");
    out.extend_from_slice(&8u32.to_le_bytes());
    string(&mut out, "llama");
    string(&mut out, "general.alignment");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    string(&mut out, "tokenizer.ggml.tokens");
    out.extend_from_slice(&9u32.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes());
    string(&mut out, "<s>");
    string(&mut out, "a");
    // Tensor infos: name, n_dims, dims, type, offset.
    string(&mut out, "w");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&4u64.to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // F32
    out.extend_from_slice(&0u64.to_le_bytes());
    string(&mut out, "h");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&8u64.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // F16
    out.extend_from_slice(&32u64.to_le_bytes());
    while !out.len().is_multiple_of(32) {
        out.push(0);
    }
    for i in 0..8u32 {
        out.extend_from_slice(&(i as f32).to_le_bytes());
    }
    for _ in 0..8 {
        out.extend_from_slice(&0x3c00u16.to_le_bytes()); // 1.0 in f16
    }
    out
}

pub(crate) fn seeds() -> Vec<Vec<u8>> {
    vec![gguf_seed()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_a_valid_gguf_file() {
        let path = file_with("seed.gguf", &gguf_seed());
        let file = GgufFile::open(&path).unwrap();
        assert_eq!(
            file.tensor_f32("w").unwrap(),
            [0., 1., 2., 3., 4., 5., 6., 7.]
        );
        assert_eq!(file.tensor_f32("h").unwrap(), [1.0; 8]);
        assert_eq!(
            file.require_strings("tokenizer.ggml.tokens").unwrap(),
            ["<s>", "a"]
        );
    }
}
