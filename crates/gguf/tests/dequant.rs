//! Dequantization bit for bit against gguf-py: each `quants/<TYPE>.gguf` holds quantized
//! tensors and, beside each, `<name>.expected` = `gguf.quants.dequantize(bytes, TYPE)` as F32.

use prefopt_gguf::{GgmlType, GgufFile};

use crate::common::fixture;

fn check(ty: GgmlType) {
    let file = GgufFile::open(fixture(&format!("quants/{ty}.gguf"))).unwrap();
    let mut checked = 0;
    for info in file.tensors() {
        if info.name.ends_with(".expected") {
            continue;
        }
        assert_eq!(info.ggml_type, ty, "{}", info.name);
        let got = file.tensor_f32(&info.name).unwrap();
        let expected_name = format!("{}.expected", info.name);
        let expected = file.tensor_f32(&expected_name).unwrap();
        assert_eq!(info.shape(), file.tensor(&expected_name).unwrap().shape());
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{ty} `{}` element {i}: {g} != gguf-py's {e}",
                info.name
            );
        }
        checked += got.len();
    }
    assert!(checked >= 384, "{ty}: only {checked} values checked");
}

#[test]
fn bf16() {
    check(GgmlType::BF16);
}
#[test]
fn q4_0() {
    check(GgmlType::Q4_0);
}
#[test]
fn q4_1() {
    check(GgmlType::Q4_1);
}
#[test]
fn q5_0() {
    check(GgmlType::Q5_0);
}
#[test]
fn q5_1() {
    check(GgmlType::Q5_1);
}
#[test]
fn q8_0() {
    check(GgmlType::Q8_0);
}
#[test]
fn q2_k() {
    check(GgmlType::Q2_K);
}
#[test]
fn q3_k() {
    check(GgmlType::Q3_K);
}
#[test]
fn q4_k() {
    check(GgmlType::Q4_K);
}
#[test]
fn q5_k() {
    check(GgmlType::Q5_K);
}
#[test]
fn q6_k() {
    check(GgmlType::Q6_K);
}

#[test]
fn every_dequantizable_type_has_a_fixture() {
    // F32 and F16 are covered by format.gguf.
    for name in GgmlType::dequantizable_names().split(", ") {
        if name == "F32" || name == "F16" {
            continue;
        }
        assert!(
            fixture(&format!("quants/{name}.gguf")).is_file(),
            "no fixture for {name}"
        );
    }
}
