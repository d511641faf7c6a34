//! Portable dot products of one quantized weight row with 8-bit activations: integer products
//! of the weight quants with the activation quants per block, then one f32 scaling per block
//! (per sub-block scale folded into the integer sum for the k-quants). Always compiled; the
//! reference the AVX2 kernels in `qdot_avx2` must agree with.
//!
//! Each function takes the row's bytes (whole blocks, as stored in GGUF) and the activation
//! blocks covering the same columns; the caller guarantees the lengths match.

use std::ops::Range;

use half::f16;

use crate::q8_activation::{BlockQ8, BlockQ8K};

/// The f16 at byte `at`, widened to f32.
#[inline]
pub(crate) fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// `Σ lo(qs[j]) a[j] + hi(qs[j]) a[j + 16]` for the 16 nibble bytes of a 32-element block.
fn nibble_dot(qs: &[u8], a: &[i8; 32]) -> i32 {
    qs.iter()
        .zip(&a[..16])
        .zip(&a[16..])
        .map(|((&q, &lo), &hi)| {
            i32::from(q & 0x0F) * i32::from(lo) + i32::from(q >> 4) * i32::from(hi)
        })
        .sum()
}

/// Q8_0 (34 B: `d`, `qs[32]` i8).
pub(crate) fn dot_q8_0(w: &[u8], a: &[BlockQ8]) -> f32 {
    w.chunks_exact(34)
        .zip(a)
        .map(|(b, a)| {
            let sumi: i32 = b[2..34]
                .iter()
                .zip(&a.qs)
                .map(|(&q, &x)| i32::from(q as i8) * i32::from(x))
                .sum();
            f16_at(b, 0) * a.d * sumi as f32
        })
        .sum()
}

/// Q4_0 (18 B: `d`, `qs[16]`): `d (q - 8)`, so `Σ (q - 8) a = Σ q a - 8 Σ a`.
pub(crate) fn dot_q4_0(w: &[u8], a: &[BlockQ8]) -> f32 {
    w.chunks_exact(18)
        .zip(a)
        .map(|(b, a)| {
            let sumi = nibble_dot(&b[2..18], &a.qs) - 8 * a.sum;
            f16_at(b, 0) * a.d * sumi as f32
        })
        .sum()
}

/// Q4_1 (20 B: `d`, `m`, `qs[16]`): `d q + m`.
pub(crate) fn dot_q4_1(w: &[u8], a: &[BlockQ8]) -> f32 {
    w.chunks_exact(20)
        .zip(a)
        .map(|(b, a)| {
            let sumi = nibble_dot(&b[4..20], &a.qs);
            f16_at(b, 0) * a.d * sumi as f32 + f16_at(b, 2) * a.d * a.sum as f32
        })
        .sum()
}

/// `Σ q[j] a[j]` for the 5-bit quants of a Q5 block: nibbles as in Q4, bit `j` of `qh` (a
/// little-endian u32) on top of element `j`.
fn q5_dot(qs: &[u8], qh: &[u8], a: &[i8; 32]) -> i32 {
    let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    // Σ (nibble + 16 bit) a = Σ nibble a + 16 Σ_{bit set} a.
    let fifth: i32 = a
        .iter()
        .zip(0..32)
        .map(|(&x, j)| if qh & (1 << j) != 0 { i32::from(x) } else { 0 })
        .sum();
    nibble_dot(qs, a) + 16 * fifth
}

/// Q5_0 (22 B: `d`, `qh` u32, `qs[16]`): `d (q - 16)`.
pub(crate) fn dot_q5_0(w: &[u8], a: &[BlockQ8]) -> f32 {
    w.chunks_exact(22)
        .zip(a)
        .map(|(b, a)| {
            let sumi = q5_dot(&b[6..22], &b[2..6], &a.qs) - 16 * a.sum;
            f16_at(b, 0) * a.d * sumi as f32
        })
        .sum()
}

/// Q5_1 (24 B: `d`, `m`, `qh` u32, `qs[16]`): `d q + m`.
pub(crate) fn dot_q5_1(w: &[u8], a: &[BlockQ8]) -> f32 {
    w.chunks_exact(24)
        .zip(a)
        .map(|(b, a)| {
            let sumi = q5_dot(&b[8..24], &b[4..8], &a.qs);
            f16_at(b, 0) * a.d * sumi as f32 + f16_at(b, 2) * a.d * a.sum as f32
        })
        .sum()
}

/// The eight 6-bit scales and minima of a Q4_K block packed in the 12 bytes `s`.
#[inline]
pub(crate) fn q4_k_scales(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..4 {
        sc[j] = s[j] & 63;
        m[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 0x0F) | ((s[j] >> 6) << 4);
        m[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    (sc, m)
}

/// `Σ_j m[j] (bsums[2j] + bsums[2j + 1])`: the minimum term of a Q4_K block.
#[inline]
pub(crate) fn q4_k_min_sum(m: &[u8; 8], bsums: &[i16; 16]) -> i32 {
    m.iter()
        .zip(bsums.chunks_exact(2))
        .map(|(&m, s)| i32::from(m) * (i32::from(s[0]) + i32::from(s[1])))
        .sum()
}

/// Q4_K (144 B: `d`, `dmin`, `scales[12]`, `qs[128]`): `d sc q - dmin m` per 32-element
/// sub-block; each 32-byte chunk of `qs` holds two sub-blocks, low nibbles first.
pub(crate) fn dot_q4_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    w.chunks_exact(144)
        .zip(a)
        .map(|(b, a)| {
            let (sc, m) = q4_k_scales(&b[4..16]);
            let mut sumi = 0i32;
            for (c, qs) in b[16..144].chunks_exact(32).enumerate() {
                let x = &a.qs[64 * c..][..64];
                let lo: i32 = qs
                    .iter()
                    .zip(&x[..32])
                    .map(|(&q, &x)| i32::from(q & 0x0F) * i32::from(x))
                    .sum();
                let hi: i32 = qs
                    .iter()
                    .zip(&x[32..])
                    .map(|(&q, &x)| i32::from(q >> 4) * i32::from(x))
                    .sum();
                sumi += i32::from(sc[2 * c]) * lo + i32::from(sc[2 * c + 1]) * hi;
            }
            let summ = q4_k_min_sum(&m, &a.bsums);
            f16_at(b, 0) * a.d * sumi as f32 - f16_at(b, 2) * a.d * summ as f32
        })
        .sum()
}

/// `Σ_g scales[g] bsums[g]`: times 32, the offset term of a Q6_K block.
#[inline]
pub(crate) fn q6_k_offset_sum(scales: &[u8], bsums: &[i16; 16]) -> i32 {
    scales
        .iter()
        .zip(bsums)
        .map(|(&s, &b)| i32::from(s as i8) * i32::from(b))
        .sum()
}

/// Q6_K (210 B: `ql[128]`, `qh[64]`, `scales[16]` i8, `d`): `d scale (q - 32)` with the 6-bit `q`
/// of element `128 h + 32 k + l` split over `ql[64 h + 32 (k & 1) + l]` (low or high nibble by
/// `k < 2`) and bits `2k..2k+2` of `qh[32 h + l]`.
pub(crate) fn dot_q6_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    w.chunks_exact(210)
        .zip(a)
        .map(|(b, a)| {
            let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
            let mut sumi = 0i32;
            for h in 0..2 {
                for k in 0..4 {
                    let ql = &ql[64 * h + 32 * (k & 1)..][..32];
                    let qh = &qh[32 * h..][..32];
                    let x = &a.qs[128 * h + 32 * k..][..32];
                    let lo_shift = if k < 2 { 0 } else { 4 };
                    // The two scale groups of 16 elements, each a plain zip (vectorizable).
                    let group = |r: Range<usize>| -> i32 {
                        ql[r.clone()]
                            .iter()
                            .zip(&qh[r.clone()])
                            .zip(&x[r])
                            .map(|((&lb, &hb), &x)| {
                                let q = ((lb >> lo_shift) & 0x0F) | (((hb >> (2 * k)) & 3) << 4);
                                i32::from(q) * i32::from(x)
                            })
                            .sum()
                    };
                    let g = 8 * h + 2 * k;
                    sumi += i32::from(scales[g] as i8) * group(0..16)
                        + i32::from(scales[g + 1] as i8) * group(16..32);
                }
            }
            sumi -= 32 * q6_k_offset_sum(scales, &a.bsums);
            f16_at(b, 208) * a.d * sumi as f32
        })
        .sum()
}
