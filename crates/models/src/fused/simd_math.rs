//! Slice kernels the compiler vectorises: sums and dot products over eight partial sums, and an
//! `exp` with no libm call in the loop body.
//!
//! `exp`: range reduction `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`, a degree-6 polynomial for `e^r` and the
//! power of two built from the exponent bits. Relative error below 3e-7 over the range where
//! `f32` `exp` is normal; inputs below −87.33 (including −∞, a masked logit) give exactly 0,
//! inputs above 88.72 saturate at `f32::MAX`-scale values rather than +∞.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
const MIN_INPUT: f32 = -87.336_54;
const MAX_INPUT: f32 = 88.722_83;
const ROUNDING: f32 = 12_582_912.0;

/// `e^x` for one value; see the module docs for its accuracy.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let keep = if x >= MIN_INPUT { 1.0 } else { 0.0 };
    let x = x.clamp(MIN_INPUT, MAX_INPUT);
    // Round to nearest by adding and removing 1.5 · 2^23 (no libm `roundf` call in the loop;
    // |x log2 e| < 2^22 here, and Rust does not reassociate float additions).
    let n = (x * LOG2_E + ROUNDING) - ROUNDING;
    let r = x - n * LN2_HI - n * LN2_LO;
    // e^r, Taylor to degree 6 (|r| ≤ 0.347: truncation error < 2.5e-8 relative).
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n for n in [-126, 128]: split in two factors so that neither leaves the normal range.
    let n = n as i32;
    let half = n / 2;
    let a = f32::from_bits(((half + 127) as u32) << 23);
    let b = f32::from_bits(((n - half + 127) as u32) << 23);
    p * a * b * keep
}

/// `out[i] = e^(x[i] - shift)`, returning the sum of the outputs.
#[inline]
pub(crate) fn exp_shifted_into(x: &[f32], shift: f32, out: &mut [f32]) -> f32 {
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(x) {
        let e = exp(v - shift);
        *o = e;
        sum += e;
    }
    sum
}

/// `Σ e^(x[i] - shift)`.
#[inline]
pub(crate) fn exp_shifted_sum(x: &[f32], shift: f32) -> f32 {
    // Eight partial sums: lets the loop vectorise without reassociating a single float sum.
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += exp(v - shift);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&v| exp(v - shift)).sum();
    acc.iter().sum::<f32>() + tail
}

/// `Σ a[i] b[i]`, accumulated in eight lanes.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(x).zip(y) {
            *s += u * v;
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(u, v)| u * v)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// The largest value of a non-empty slice (−∞ for an empty one).
#[inline]
pub(crate) fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    acc.iter().fold(tail, |m, &v| m.max(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_exp_to_3e_7_relative_over_the_normal_range() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            worst = worst.max(((got - want) / want).abs());
            x += 0.013_7;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn masked_and_huge_inputs() {
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(200.0).is_finite() && exp(200.0) > 1e38);
    }

    #[test]
    fn shifted_sum_and_max_agree_with_scalar_loops() {
        let x: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let m = max(&x);
        assert_eq!(m, x.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        let want: f64 = x.iter().map(|&v| f64::from(v - m).exp()).sum();
        let got = f64::from(exp_shifted_sum(&x, m));
        assert!((got - want).abs() / want < 1e-6);
        let mut out = vec![0f32; x.len()];
        let s = exp_shifted_into(&x, m, &mut out);
        assert!((f64::from(s) - want).abs() / want < 1e-6);
        let d = f64::from(dot(&x, &out));
        let want: f64 = x
            .iter()
            .zip(&out)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        assert!((d - want).abs() < 1e-5 * want.abs().max(1.0));
    }
}
