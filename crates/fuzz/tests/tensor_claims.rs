//! A header that claims a 2^40-element tensor (4 TiB of f32) is an error naming the tensor or
//! the file, answered from the header and the file length before anything of that size is
//! allocated: GGUF tensor infos and safetensors headers (through the model loader).

use burn::prelude::Device;
use prefopt_fuzz::{TINY_LLAMA_CONFIG, gguf_seed};
use prefopt_gguf::GgufFile;
use prefopt_models::CausalLm;
use prefopt_testkit::find_bytes;

const HUGE_SIDE: u64 = 1 << 20; // 2^20 x 2^20 = 2^40 elements

#[test]
fn a_gguf_tensor_claiming_2_pow_40_elements_is_refused() {
    let mut bytes = gguf_seed();
    // Tensor `w` is [4, 2]: its two dims as u64, then its type (F32 = 0).
    let mut dims = 4u64.to_le_bytes().to_vec();
    dims.extend_from_slice(&2u64.to_le_bytes());
    let at = find_bytes(&bytes, &dims);
    bytes[at..at + 8].copy_from_slice(&HUGE_SIDE.to_le_bytes());
    bytes[at + 8..at + 16].copy_from_slice(&HUGE_SIDE.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.gguf");
    std::fs::write(&path, &bytes).unwrap();
    let err = GgufFile::open(&path).unwrap_err().to_string();
    assert!(err.contains("huge.gguf") && err.contains('w'), "{err}");
}

fn load(dir: &std::path::Path, safetensors: &[u8]) -> String {
    std::fs::write(dir.join("config.json"), TINY_LLAMA_CONFIG).unwrap();
    std::fs::write(dir.join("model.safetensors"), safetensors).unwrap();
    CausalLm::load_hf(dir, &Device::flex())
        .expect_err("a 4 TiB claim must not load")
        .to_string()
}

#[test]
fn a_safetensors_tensor_claiming_2_pow_40_elements_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let end = HUGE_SIDE * HUGE_SIDE * 4;
    let header = format!(
        r#"{{"model.embed_tokens.weight":{{"dtype":"F32","shape":[{HUGE_SIDE},{HUGE_SIDE}],"data_offsets":[0,{end}]}}}}"#
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0u8; 64]);
    let err = load(dir.path(), &bytes);
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn a_safetensors_header_length_of_2_pow_40_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let err = load(dir.path(), &bytes);
    assert!(err.contains("model.safetensors"), "{err}");
}
