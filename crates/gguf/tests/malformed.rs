//! Malformed, truncated, hostile and unsupported files: each a clear error naming the key or
//! tensor, never a panic or an allocation sized by the header.

use prefopt_gguf::{GgufError, GgufFile};
use proptest::prelude::*;

use crate::common::{Builder, fixture, write_temp};

fn open_bytes(bytes: &[u8]) -> Result<GgufFile, GgufError> {
    let dir = tempfile::tempdir().unwrap();
    GgufFile::open(write_temp(&dir, "case.gguf", bytes))
}

fn error_of(bytes: &[u8]) -> String {
    match open_bytes(bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn format_bytes() -> Vec<u8> {
    std::fs::read(fixture("format.gguf")).unwrap()
}

fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn wrong_magic() {
    let mut bytes = format_bytes();
    bytes[..4].copy_from_slice(b"GGML");
    let err = error_of(&bytes);
    assert!(
        err.contains("not a GGUF file") && err.contains("case.gguf"),
        "{err}"
    );
}

#[test]
fn versions_other_than_2_and_3() {
    for v in [1u32, 4, 0] {
        let mut bytes = format_bytes();
        bytes[4..8].copy_from_slice(&v.to_le_bytes());
        let err = error_of(&bytes);
        assert!(
            err.contains(&format!("version {v} is not supported")),
            "{err}"
        );
    }
}

#[test]
fn big_endian_is_rejected() {
    let err = GgufFile::open(fixture("big_endian.gguf"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("big-endian"), "{err}");
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = format_bytes();
    for cut in 0..bytes.len() {
        let result = open_bytes(&bytes[..cut]);
        assert!(result.is_err(), "a file cut at {cut} bytes opened");
    }
    // A cut inside the data section names the tensor whose data is missing.
    let err = error_of(&bytes[..bytes.len() - 1]);
    assert!(
        err.contains("tensor `brain`") && err.contains("truncated"),
        "{err}"
    );
    // A cut inside the metadata names the key.
    let at = find(&bytes, b"t.string");
    let err = error_of(&bytes[..at + 20]);
    assert!(
        err.contains("metadata key `t.string`") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn huge_counts_and_lengths_do_not_allocate() {
    let mut bytes = format_bytes();
    bytes[8..16].copy_from_slice(&1_000_000_000_000u64.to_le_bytes());
    let err = error_of(&bytes);
    assert!(err.contains("tensor count 1000000000000"), "{err}");

    let mut bytes = format_bytes();
    bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = error_of(&bytes);
    assert!(err.contains("metadata entry count"), "{err}");

    // The first key's length field.
    let mut bytes = format_bytes();
    bytes[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = error_of(&bytes);
    assert!(
        err.contains("metadata entry #0") && err.contains("1099511627776"),
        "{err}"
    );

    // An array's element count: key, value tag (u32), element tag (u32), count (u64).
    let mut bytes = format_bytes();
    let at = find(&bytes, b"t.array.i32") + "t.array.i32".len() + 8;
    bytes[at..at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let err = error_of(&bytes);
    assert!(
        err.contains("metadata key `t.array.i32`") && err.contains("array element count"),
        "{err}"
    );

    // A string value's length.
    let mut bytes = format_bytes();
    let at = find(&bytes, b"t.string") + "t.string".len() + 4;
    bytes[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = error_of(&bytes);
    assert!(
        err.contains("metadata key `t.string`") && err.contains("truncated"),
        "{err}"
    );
}

/// Byte offset of the type field of tensor `name` in a fixture's header.
fn type_field(bytes: &[u8], name: &str, n_dims: usize) -> usize {
    // The name is preceded by its u64 length; the first match is the tensor info.
    let mut pattern = (name.len() as u64).to_le_bytes().to_vec();
    pattern.extend(name.as_bytes());
    find(bytes, &pattern) + pattern.len() + 4 + 8 * n_dims
}

#[test]
fn unknown_quantization_type_names_the_tensor() {
    let mut bytes = format_bytes();
    let at = type_field(&bytes, "brain", 2);
    assert_eq!(
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()),
        30
    );
    bytes[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    let err = error_of(&bytes);
    assert!(
        err.contains("tensor `brain`") && err.contains("unknown ggml type id 99"),
        "{err}"
    );
}

#[test]
fn known_but_unsupported_type_fails_when_dequantized() {
    let mut bytes = format_bytes();
    let at = type_field(&bytes, "brain", 2);
    bytes[at..at + 4].copy_from_slice(&20u32.to_le_bytes()); // IQ4_NL: 32 per block, 18 bytes
    let file = open_bytes(&bytes).unwrap();
    let err = file.tensor_f32("brain").unwrap_err().to_string();
    assert!(
        err.contains("tensor `brain`") && err.contains("IQ4_NL"),
        "{err}"
    );
    assert!(file.tensor_f32("mat").is_ok());
}

#[test]
fn row_length_must_be_whole_blocks() {
    let bytes = Builder::new().tensor("odd", &[48, 2], 8, 0).bytes(); // Q8_0, 32 per block
    let err = error_of(&bytes);
    assert!(
        err.contains("tensor `odd`") && err.contains("not a multiple"),
        "{err}"
    );
}

#[test]
fn bad_alignment_values() {
    let bytes = std::fs::read(fixture("align64.gguf")).unwrap();
    let at = find(&bytes, b"general.alignment") + "general.alignment".len() + 4;
    assert_eq!(
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()),
        64
    );
    for bad in [0u32, 48] {
        let mut b = bytes.clone();
        b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
        let err = error_of(&b);
        assert!(
            err.contains("general.alignment") && err.contains("power of two"),
            "{err}"
        );
    }
    let b = Builder::new()
        .kv("general.alignment", 2, &64u16.to_le_bytes())
        .bytes();
    let err = error_of(&b);
    assert!(
        err.contains("general.alignment") && err.contains("must be a u32"),
        "{err}"
    );
}

#[test]
fn crafted_header_errors_name_their_key_or_tensor() {
    let data = vec![0u8; 64];
    let cases: Vec<(Builder, &str)> = vec![
        (
            Builder::new()
                .kv("a", 4, &[1, 0, 0, 0])
                .kv("a", 4, &[2, 0, 0, 0]),
            "metadata key `a`: duplicate key",
        ),
        (Builder::new().kv("flag", 7, &[2]), "metadata key `flag`"),
        (
            Builder::new().kv("weird", 13, &[0]),
            "unknown value type 13",
        ),
        (
            Builder::new()
                .tensor("t", &[4], 0, 0)
                .tensor("t", &[4], 0, 32),
            "tensor `t`: duplicate tensor name",
        ),
        (
            Builder::new().tensor("t5", &[1, 1, 1, 1, 1], 0, 0),
            "5 dimensions",
        ),
        (
            Builder::new().tensor("misaligned", &[2], 0, 4),
            "not a multiple of the alignment",
        ),
        (
            Builder::new().tensor("far", &[4], 0, 1 << 20),
            "tensor `far`: truncated",
        ),
        (
            Builder::new().tensor("overflow", &[u64::MAX / 2, 4], 0, 0),
            "tensor `overflow`",
        ),
        (
            Builder::new().tensor("neg", &[u64::MAX], 0, 0),
            "tensor `neg`",
        ),
    ];
    for (builder, want) in cases {
        let mut builder = builder;
        builder.data = data.clone();
        let err = error_of(&builder.bytes());
        assert!(err.contains(want), "expected `{want}` in: {err}");
    }
    // Arrays nested past the depth limit.
    let mut nested = Vec::new();
    for _ in 0..10 {
        nested.extend(9u32.to_le_bytes());
        nested.extend(1u64.to_le_bytes());
    }
    nested.extend(4u32.to_le_bytes());
    nested.extend(0u64.to_le_bytes());
    let err = error_of(&Builder::new().kv("deep", 9, &nested).bytes());
    assert!(
        err.contains("metadata key `deep`") && err.contains("nested deeper"),
        "{err}"
    );
}

#[test]
fn a_valid_crafted_file_opens() {
    let mut b = Builder::new()
        .kv(
            "general.architecture",
            8,
            &[&4u64.to_le_bytes()[..], b"test"].concat(),
        )
        .tensor("t", &[4], 0, 0);
    b.data = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let file = open_bytes(&b.bytes()).unwrap();
    assert_eq!(file.tensor_f32("t").unwrap(), [1.0, 2.0, 3.0, 4.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random corruption never panics: the file either fails to open, or opens and every
    /// tensor either reads or fails with an error.
    #[test]
    fn corrupted_files_never_panic(edits in prop::collection::vec((0usize..3104, any::<u8>()), 1..8)) {
        let mut bytes = format_bytes();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        if let Ok(file) = open_bytes(&bytes) {
            for t in file.tensors().to_vec() {
                let _ = file.tensor_f32(&t.name);
            }
        }
    }
}
