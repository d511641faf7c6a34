//! Activations quantized to 8 bits block by block, as llama.cpp does before its integer dot
//! products: Q8_0-style 32-element blocks for the 32-element weight types, Q8_K-style
//! 256-element blocks (with per-16 sums) for the k-quants.
//!
//! Each block has one f32 scale `d = max|x| / 127` and `q = round(x / d)` in `-127..=127` (never
//! -128, so the AVX2 sign trick `maddubs(|w|, sign(a, w))` cannot overflow), hence
//! `|x - d q| <= d / 2 = max|x| / 254` for every element. A block holding a NaN or an infinity
//! gets a NaN scale, so the outputs it touches are NaN rather than silently finite.

/// 32 activations quantized to 8 bits (llama.cpp's `block_q8_1`, with an f32 scale and an integer
/// sum).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockQ8 {
    /// Scale: element `i` is `d * qs[i]`.
    pub d: f32,
    /// `Σ qs`, for the offset and minimum terms of Q4_0 and Q4_1.
    pub sum: i32,
    /// `d · Σ qs` (llama.cpp's `s`), the minimum term's factor, computed once per block.
    pub ds: f32,
    /// The quantized values.
    pub qs: [i8; 32],
}

/// 256 activations quantized to 8 bits (llama.cpp's `block_q8_K`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockQ8K {
    /// Scale: element `i` is `d * qs[i]`.
    pub d: f32,
    /// The quantized values.
    pub qs: [i8; 256],
    /// `bsums[j] = Σ qs[16 j .. 16 j + 16]`, for the minimum terms of Q4_K and the `-32` of Q6_K.
    pub bsums: [i16; 16],
}

/// `max |x|`, or NaN when `x` holds a NaN.
fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, &v| {
        if v.is_nan() || v.abs() > m {
            v.abs()
        } else {
            m
        }
    })
}

/// Quantizes `x` into `qs` (same length) with one scale, which it returns.
fn quantize_into(x: &[f32], qs: &mut [i8]) -> f32 {
    let amax = abs_max(x);
    let d = if amax.is_finite() {
        amax / 127.0
    } else {
        f32::NAN
    };
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    for (q, &v) in qs.iter_mut().zip(x) {
        // Half away from zero, as `roundf`, by truncating `v · id ± 0.5` (a conversion
        // instruction instead of a libm call per element). In range by construction
        // (|v| · id <= 127 up to rounding); the clamp guards the ulp.
        let t = v * id;
        *q = (t + 0.5f32.copysign(t)).clamp(-127.0, 127.0) as i8;
    }
    d
}

/// Quantizes `x` (a multiple of 32 long) into 32-element blocks.
pub(crate) fn quantize_q8(x: &[f32], out: &mut Vec<BlockQ8>) {
    out.extend(x.chunks_exact(32).map(|chunk| {
        let mut qs = [0i8; 32];
        let d = quantize_into(chunk, &mut qs);
        let sum: i32 = qs.iter().map(|&q| i32::from(q)).sum();
        BlockQ8 {
            d,
            sum,
            ds: d * sum as f32,
            qs,
        }
    }));
}

/// Quantizes `x` (a multiple of 256 long) into 256-element blocks.
pub(crate) fn quantize_q8k(x: &[f32], out: &mut Vec<BlockQ8K>) {
    out.extend(x.chunks_exact(256).map(|chunk| {
        let mut qs = [0i8; 256];
        let d = quantize_into(chunk, &mut qs);
        let mut bsums = [0i16; 16];
        for (s, group) in bsums.iter_mut().zip(qs.chunks_exact(16)) {
            // At most 16 * 127 in magnitude.
            *s = group.iter().map(|&q| i16::from(q)).sum();
        }
        BlockQ8K { d, qs, bsums }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_error_is_at_most_half_a_step() {
        let x: Vec<f32> = (0..256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let mut blocks = Vec::new();
        quantize_q8k(&x, &mut blocks);
        let b = &blocks[0];
        let amax = abs_max(&x);
        for (v, &q) in x.iter().zip(&b.qs) {
            assert!((v - b.d * f32::from(q)).abs() <= amax / 254.0 * 1.0001);
        }
        let total: i32 = b.bsums.iter().map(|&s| i32::from(s)).sum();
        assert_eq!(total, b.qs.iter().map(|&q| i32::from(q)).sum::<i32>());
    }

    #[test]
    fn zeros_and_non_finite_blocks() {
        let mut blocks = Vec::new();
        quantize_q8(&[0.0; 32], &mut blocks);
        assert_eq!((blocks[0].d, blocks[0].sum), (0.0, 0));
        let mut x = [1.0f32; 32];
        x[3] = f32::NAN;
        quantize_q8(&x, &mut blocks);
        assert!(blocks[1].d.is_nan());
        x[3] = f32::INFINITY;
        quantize_q8(&x, &mut blocks);
        assert!(blocks[2].d.is_nan());
    }
}
