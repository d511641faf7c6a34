//! Dequantization of ggml blocks to f32, written from ggml's block layouts (`ggml-common.h`)
//! with gguf-py's operation order (`gguf/quants.py`), so results are bit-identical to
//! `gguf.quants.dequantize`: every product and sum is a separate f32 operation (no fused
//! multiply-add), in the order numpy evaluates it.

use half::{bf16, f16};

use crate::error::{GgufError, Result};
use crate::ggml_type::GgmlType;

/// Dequantizes `data` (whole blocks of `ggml_type`) into `out`.
///
/// `out.len()` must be the number of elements `data` holds (`data.len() / type_size *
/// block_size`).
///
/// # Errors
/// [`GgufError::UnsupportedType`] for a type not implemented here (see
/// [`GgmlType::is_dequantizable`]); [`GgufError::BufferSize`] when the lengths disagree.
pub fn dequantize(ggml_type: GgmlType, data: &[u8], out: &mut [f32]) -> Result<()> {
    let block = ggml_type.block_size() as usize;
    let size = ggml_type.type_size() as usize;
    let block_fn: fn(&[u8], &mut [f32]) = match ggml_type {
        GgmlType::F32 => |b, o| o[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        GgmlType::F16 => |b, o| o[0] = half_at(b, 0),
        GgmlType::BF16 => |b, o| o[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32(),
        GgmlType::Q4_0 => q4_0,
        GgmlType::Q4_1 => q4_1,
        GgmlType::Q5_0 => q5_0,
        GgmlType::Q5_1 => q5_1,
        GgmlType::Q8_0 => q8_0,
        GgmlType::Q2_K => q2_k,
        GgmlType::Q3_K => q3_k,
        GgmlType::Q4_K => q4_k,
        GgmlType::Q5_K => q5_k,
        GgmlType::Q6_K => q6_k,
        other => return Err(GgufError::UnsupportedType { ggml_type: other }),
    };
    if !data.len().is_multiple_of(size) || data.len() / size * block != out.len() {
        return Err(GgufError::BufferSize {
            ggml_type,
            message: format!(
                "{} bytes of {size}-byte blocks of {block} elements do not fill {} outputs",
                data.len(),
                out.len()
            ),
        });
    }
    for (b, o) in data.chunks_exact(size).zip(out.chunks_exact_mut(block)) {
        block_fn(b, o);
    }
    Ok(())
}

/// The f16 at byte `at`, widened (exactly) to f32.
fn half_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// The 4-bit value of element `i` of a 32-element block whose nibbles start at `qs`: low
/// nibbles hold elements 0..16, high nibbles 16..32.
fn nibble(qs: &[u8], i: usize) -> u8 {
    if i < 16 {
        qs[i] & 0x0F
    } else {
        qs[i - 16] >> 4
    }
}

/// Bit `i` of the little-endian u32 at byte `at` (the fifth bit of Q5 elements).
fn high_bit(b: &[u8], at: usize, i: usize) -> u8 {
    let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    ((qh >> i) & 1) as u8
}

/// Q4_0 (18 B: `d` f16, `qs[16]`): `d * (q - 8)`.
fn q4_0(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    for (i, o) in out.iter_mut().enumerate() {
        let q = nibble(&b[2..], i) as i8 - 8;
        *o = d * f32::from(q);
    }
}

/// Q4_1 (20 B: `d`, `m` f16, `qs[16]`): `d * q + m`.
fn q4_1(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    let m = half_at(b, 2);
    for (i, o) in out.iter_mut().enumerate() {
        *o = d * f32::from(nibble(&b[4..], i)) + m;
    }
}

/// Q5_0 (22 B: `d` f16, `qh` u32, `qs[16]`): `d * (q - 16)`.
fn q5_0(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    for (i, o) in out.iter_mut().enumerate() {
        let q = (nibble(&b[6..], i) | (high_bit(b, 2, i) << 4)) as i8 - 16;
        *o = d * f32::from(q);
    }
}

/// Q5_1 (24 B: `d`, `m` f16, `qh` u32, `qs[16]`): `d * q + m`.
fn q5_1(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    let m = half_at(b, 2);
    for (i, o) in out.iter_mut().enumerate() {
        let q = nibble(&b[8..], i) | (high_bit(b, 4, i) << 4);
        *o = d * f32::from(q) + m;
    }
}

/// Q8_0 (34 B: `d` f16, `qs[32]` i8): `q * d`.
fn q8_0(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    for (i, o) in out.iter_mut().enumerate() {
        *o = f32::from(b[2 + i] as i8) * d;
    }
}

/// Position of element `e` of a 256-element k-quant block: `(h, j, l)` with
/// `e = 128 h + 32 j + l`.
fn k_position(e: usize) -> (usize, usize, usize) {
    (e / 128, (e % 128) / 32, e % 32)
}

/// Q2_K (84 B: `scales[16]`, `qs[64]`, `d`, `dmin`): `(d * (sc & 15)) * q - dmin * (sc >> 4)`.
fn q2_k(b: &[u8], out: &mut [f32]) {
    let (scales, qs) = (&b[0..16], &b[16..80]);
    let d = half_at(b, 80);
    let dmin = half_at(b, 82);
    for (e, o) in out.iter_mut().enumerate() {
        let (h, j, l) = k_position(e);
        let sc = scales[e / 16];
        let dl = d * f32::from(sc & 0x0F);
        let ml = dmin * f32::from(sc >> 4);
        let q = (qs[32 * h + l] >> (2 * j)) & 3;
        *o = dl * f32::from(q) - ml;
    }
}

/// Q3_K (110 B: `hmask[32]`, `qs[64]`, `scales[12]`, `d`): 16 signed 6-bit scales; the quant
/// is the 2-bit value minus 4 where the `hmask` bit is clear.
fn q3_k(b: &[u8], out: &mut [f32]) {
    let (hmask, qs, s) = (&b[0..32], &b[32..96], &b[96..108]);
    let d = half_at(b, 108);
    let scale = |i: usize| -> f32 {
        let lo = if i < 8 { s[i] & 0x0F } else { s[i - 8] >> 4 };
        let hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        f32::from((lo | (hi << 4)) as i8 - 32)
    };
    for (e, o) in out.iter_mut().enumerate() {
        let (h, j, l) = k_position(e);
        let dl = d * scale(e / 16);
        let low = ((qs[32 * h + l] >> (2 * j)) & 3) as i8;
        let clear = ((hmask[l] >> (4 * h + j)) & 1) ^ 1;
        let q = low - ((clear << 2) as i8);
        *o = dl * f32::from(q);
    }
}

/// The 6-bit scale and minimum of sub-block `sb` (0..8) packed in the 12 bytes `s`
/// (Q4_K and Q5_K).
fn k_scale_min(s: &[u8], sb: usize) -> (u8, u8) {
    if sb < 4 {
        (s[sb] & 63, s[sb + 4] & 63)
    } else {
        (
            (s[sb + 4] & 0x0F) | ((s[sb - 4] >> 6) << 4),
            (s[sb + 4] >> 4) | ((s[sb] >> 6) << 4),
        )
    }
}

/// The low 4 bits of element `e` of a Q4_K/Q5_K block: each 32-byte chunk of `qs` serves two
/// sub-blocks, low nibbles first.
fn k_nibble(qs: &[u8], e: usize) -> u8 {
    let (c, t) = (e / 64, e % 64);
    let byte = qs[32 * c + t % 32];
    if t < 32 { byte & 0x0F } else { byte >> 4 }
}

/// Q4_K (144 B: `d`, `dmin`, `scales[12]`, `qs[128]`): `(d * sc) * q - dmin * m`.
fn q4_k(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    let dmin = half_at(b, 2);
    let (s, qs) = (&b[4..16], &b[16..144]);
    for (e, o) in out.iter_mut().enumerate() {
        let (sc, m) = k_scale_min(s, e / 32);
        let dd = d * f32::from(sc);
        let dm = dmin * f32::from(m);
        *o = dd * f32::from(k_nibble(qs, e)) - dm;
    }
}

/// Q5_K (176 B: `d`, `dmin`, `scales[12]`, `qh[32]`, `qs[128]`): Q4_K plus a fifth bit.
fn q5_k(b: &[u8], out: &mut [f32]) {
    let d = half_at(b, 0);
    let dmin = half_at(b, 2);
    let (s, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
    for (e, o) in out.iter_mut().enumerate() {
        let sb = e / 32;
        let (sc, m) = k_scale_min(s, sb);
        let dd = d * f32::from(sc);
        let dm = dmin * f32::from(m);
        let q = k_nibble(qs, e) | (((qh[e % 32] >> sb) & 1) << 4);
        *o = dd * f32::from(q) - dm;
    }
}

/// Q6_K (210 B: `ql[128]`, `qh[64]`, `scales[16]` i8, `d`): `(d * scale) * (q - 32)`.
fn q6_k(b: &[u8], out: &mut [f32]) {
    let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
    let d = half_at(b, 208);
    for (e, o) in out.iter_mut().enumerate() {
        let (h, k, l) = k_position(e);
        let lb = ql[64 * h + 32 * (k & 1) + l];
        let lo = if k < 2 { lb & 0x0F } else { lb >> 4 };
        let hi = (qh[32 * h + l] >> (2 * k)) & 3;
        let q = (lo | (hi << 4)) as i8 - 32;
        let dd = d * f32::from(scales[e / 16] as i8);
        *o = dd * f32::from(q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_by_hand() {
        let mut block = vec![0u8; 34];
        block[..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        block[2] = 4;
        block[3] = (-6i8) as u8;
        let mut out = [0f32; 32];
        dequantize(GgmlType::Q8_0, &block, &mut out).unwrap();
        assert_eq!(&out[..3], &[2.0, -3.0, 0.0]);
    }

    #[test]
    fn q4_1_by_hand() {
        let mut block = vec![0u8; 20];
        block[..2].copy_from_slice(&f16::from_f32(2.0).to_le_bytes());
        block[2..4].copy_from_slice(&f16::from_f32(-1.0).to_le_bytes());
        block[4] = 0x53; // element 0 = 3, element 16 = 5
        let mut out = [0f32; 32];
        dequantize(GgmlType::Q4_1, &block, &mut out).unwrap();
        assert_eq!((out[0], out[16], out[1]), (5.0, 9.0, -1.0));
    }

    #[test]
    fn wrong_lengths_and_types_are_errors() {
        let mut out = [0f32; 31];
        let err = dequantize(GgmlType::Q8_0, &[0u8; 34], &mut out).unwrap_err();
        assert!(err.to_string().contains("Q8_0"), "{err}");
        let err = dequantize(GgmlType::IQ2_XXS, &[0u8; 66], &mut [0f32; 256]).unwrap_err();
        assert!(err.to_string().contains("IQ2_XXS"), "{err}");
    }
}
