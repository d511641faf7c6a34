//! AVX2 versions of the `qdot_scalar` kernels (same integer arithmetic, so the same results up
//! to f32 summation order): nibbles and bytes are unpacked in registers, multiplied with the i8
//! activations by `maddubs` (u8 × i8 → i16 pairs) and `madd` (i16 → i32, times the sub-block
//! scale for the k-quants), converted to f32 once per block and scaled with an FMA. Where the
//! CPU has AVX-512 VL and VNNI, the 32-element kernels are compiled a second time with
//! `vpdpbusd` for `maddubs` + `madd` (module [`vnni`]; the same integers, one instruction).
//!
//! This is the crate's only `unsafe` code: calling a `#[target_feature]` function (sound only
//! where the CPU has the features) and unaligned loads from slices whose length is checked.
//! An [`Avx2`] token exists only where the features were detected at run time, so its safe
//! methods are the only way in.

#![allow(unsafe_code)] // std::arch loads and target-feature calls; every block has a SAFETY note

use std::arch::x86_64::{
    __m128i, __m256, __m256i, _mm_add_ps, _mm_add_ss, _mm_and_si128, _mm_cvtph_ps,
    _mm_cvtsi32_si128, _mm_cvtss_f32, _mm_loadu_si128, _mm_movehdup_ps, _mm_movehl_ps,
    _mm_set1_epi8, _mm_set1_epi16, _mm_srli_epi16, _mm256_add_epi32, _mm256_add_ps,
    _mm256_and_si256, _mm256_andnot_si256, _mm256_blend_ps, _mm256_castps256_ps128,
    _mm256_cmpeq_epi8, _mm256_cvtepi32_ps, _mm256_cvtph_ps, _mm256_extractf128_ps, _mm256_fmadd_ps,
    _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_mul_ps, _mm256_or_si256,
    _mm256_set_epi64x, _mm256_set_m128i, _mm256_set1_epi8, _mm256_set1_epi16, _mm256_set1_epi32,
    _mm256_set1_epi64x, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_setzero_si256,
    _mm256_shuffle_epi8, _mm256_sign_epi8, _mm256_slli_epi16, _mm256_srli_epi16, _mm256_sub_epi8,
    _mm256_sub_epi32,
};

use crate::q8_activation::{BlockQ8, BlockQ8K};
use crate::qdot_scalar::{q4_k_min_sum, q4_k_scales, q6_k_offset_sum};

/// Proof that this CPU has AVX2, FMA and F16C (checked at run time by [`Avx2::detect`]), and
/// with `vnni`, also AVX-512 VL and VNNI ([`Avx2::detect_vnni`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2 {
    vnni: bool,
}

impl Avx2 {
    /// The token, where the CPU has the features.
    pub(crate) fn detect() -> Option<Self> {
        let found = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c");
        found.then_some(Self { vnni: false })
    }

    /// The token whose 32-element kernels multiply with AVX-512 VNNI's `vpdpbusd` (on 256-bit
    /// registers), where the CPU also has `avx512vl` and `avx512vnni`.
    pub(crate) fn detect_vnni() -> Option<Self> {
        let found = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni");
        Self::detect()
            .filter(|_| found)
            .map(|_| Self { vnni: true })
    }

    /// Whether this token runs the VNNI kernels.
    pub(crate) fn vnni(self) -> bool {
        self.vnni
    }

    /// [`crate::qdot_scalar::dot_q8_0`].
    pub(crate) fn dot_q8_0(self, w: &[u8], a: &[BlockQ8]) -> f32 {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot_q8_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q8_0(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q4_0`].
    pub(crate) fn dot_q4_0(self, w: &[u8], a: &[BlockQ8]) -> f32 {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot_q4_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q4_0(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q4_1`].
    pub(crate) fn dot_q4_1(self, w: &[u8], a: &[BlockQ8]) -> f32 {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot_q4_1(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q4_1(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q5_0`].
    pub(crate) fn dot_q5_0(self, w: &[u8], a: &[BlockQ8]) -> f32 {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot_q5_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q5_0(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q5_1`].
    pub(crate) fn dot_q5_1(self, w: &[u8], a: &[BlockQ8]) -> f32 {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot_q5_1(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q5_1(w, a) }
    }

    /// [`Avx2::dot_q8_0`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q8_0(self, w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot4_q8_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q8_0(w, a) }
    }

    /// [`Avx2::dot_q4_0`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q4_0(self, w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot4_q4_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q4_0(w, a) }
    }

    /// [`Avx2::dot_q4_1`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q4_1(self, w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot4_q4_1(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q4_1(w, a) }
    }

    /// [`Avx2::dot_q5_0`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q5_0(self, w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot4_q5_0(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q5_0(w, a) }
    }

    /// [`Avx2::dot_q5_1`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q5_1(self, w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
        if self.vnni {
            // SAFETY: `vnni` is set only where `detect_vnni` found avx512vl and avx512vnni too.
            return unsafe { vnni::dot4_q5_1(w, a) };
        }
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q5_1(w, a) }
    }

    /// [`Avx2::dot_q4_k`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q4_k(self, w: &[u8], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q4_k(w, a) }
    }

    /// [`Avx2::dot_q6_k`] of one row with four inputs at once (each block unpacked once).
    pub(crate) fn dot4_q6_k(self, w: &[u8], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot4_q6_k(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q4_k`].
    pub(crate) fn dot_q4_k(self, w: &[u8], a: &[BlockQ8K]) -> f32 {
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q4_k(w, a) }
    }

    /// [`crate::qdot_scalar::dot_q6_k`].
    pub(crate) fn dot_q6_k(self, w: &[u8], a: &[BlockQ8K]) -> f32 {
        // SAFETY: `self` exists only where `detect` found avx2, fma and f16c.
        unsafe { dot_q6_k(w, a) }
    }
}

/// The first 32 bytes of `b`.
#[target_feature(enable = "avx2")]
fn load_u8x32(b: &[u8]) -> __m256i {
    let b = &b[..32];
    // SAFETY: `b` is exactly 32 bytes long; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// The first 32 values of `a`.
#[target_feature(enable = "avx2")]
fn load_i8x32(a: &[i8]) -> __m256i {
    let a = &a[..32];
    // SAFETY: `a` is exactly 32 bytes long; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
}

/// The first 16 bytes of `b`.
#[target_feature(enable = "avx2")]
fn load_u8x16(b: &[u8]) -> __m128i {
    let b = &b[..16];
    // SAFETY: `b` is exactly 16 bytes long; `loadu` has no alignment requirement.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

/// The f16 at byte `at` times `by`, in all eight lanes. (Broadcasting the f16 before converting
/// it keeps the conversion free of false dependencies on other registers, which a scalar
/// `cvtph2ps` picked up from the accumulators.)
#[target_feature(enable = "avx2,f16c")]
#[inline]
fn scale8(b: &[u8], at: usize, by: f32) -> __m256 {
    _mm256_mul_ps(f16x8(b, at), _mm256_set1_ps(by))
}

/// The f16 at byte `at`, in all eight lanes.
#[target_feature(enable = "avx2,f16c")]
#[inline]
fn f16x8(b: &[u8], at: usize) -> __m256 {
    let h = i16::from_le_bytes([b[at], b[at + 1]]);
    _mm256_cvtph_ps(_mm_set1_epi16(h))
}

/// The f16 at byte `at`, widened to f32 (broadcast first, as in [`scale8`]).
#[target_feature(enable = "avx2,f16c")]
#[inline]
fn f16_at(b: &[u8], at: usize) -> f32 {
    let h = i16::from_le_bytes([b[at], b[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(h)))
}

/// Lane 0 of `v`, the other lanes zero: a per-block scalar term added into an accumulator.
#[target_feature(enable = "avx2")]
#[inline]
fn lane0(v: __m256) -> __m256 {
    _mm256_blend_ps::<1>(_mm256_setzero_ps(), v)
}

/// The two f16s at bytes 0..4 (a block's scale and minimum), widened in one conversion.
#[target_feature(enable = "avx2,f16c")]
#[inline]
fn f16_pair(b: &[u8]) -> (f32, f32) {
    let bits = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let v = _mm_cvtph_ps(_mm_cvtsi32_si128(bits));
    (_mm_cvtss_f32(v), _mm_cvtss_f32(_mm_movehdup_ps(v)))
}

/// The sum of the eight lanes.
#[target_feature(enable = "avx2")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// Adjacent i16 pairs summed into i32 lanes.
#[target_feature(enable = "avx2")]
fn sum_pairs(p: __m256i) -> __m256i {
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

/// `u · s` for unsigned bytes `u` and signed bytes `s`, each run of four adjacent products summed
/// into an i32 lane: `maddubs` then `madd` on AVX2 (the i16 pairs cannot saturate: every
/// caller's bytes bound them below 2^15), one `vpdpbusd` with VNNI. The 32-element kernels'
/// integer product, passed to their bodies as `products`.
#[target_feature(enable = "avx2")]
#[inline]
fn maddubs_products(u: __m256i, s: __m256i) -> __m256i {
    sum_pairs(_mm256_maddubs_epi16(u, s))
}

/// The 32 nibbles of a 32-element block from its 16 bytes: low nibbles (elements 0..16) in the
/// lower half, high nibbles (16..32) in the upper half.
#[target_feature(enable = "avx2")]
fn nibbles(qs: &[u8]) -> __m256i {
    let v = load_u8x16(qs);
    let m4 = _mm_set1_epi8(0x0F);
    _mm256_set_m128i(
        _mm_and_si128(_mm_srli_epi16::<4>(v), m4),
        _mm_and_si128(v, m4),
    )
}

/// `Σ_blocks block(b, a)` over the 32-element blocks of `w` (`size` bytes each), where `block`
/// returns a block's eight partial dot products already scaled to f32. Two accumulators, so
/// consecutive blocks' FMAs do not wait on each other.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sum_blocks(
    w: &[u8],
    a: &[BlockQ8],
    size: usize,
    block: impl Fn(&[u8], &BlockQ8, __m256) -> __m256,
) -> f32 {
    sum_blocks_and_scalars(w, a, size, |b, a, acc, _| block(b, a, acc)).0
}

/// [`sum_blocks`] whose `block` may also add a per-block scalar term (a minimum's
/// `m · d_x · Σ q_x`) to its `&mut f32`: `(vector sum, scalar sum)`, each over two interleaved
/// accumulators.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sum_blocks_and_scalars(
    w: &[u8],
    a: &[BlockQ8],
    size: usize,
    block: impl Fn(&[u8], &BlockQ8, __m256, &mut f32) -> __m256,
) -> (f32, f32) {
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mut s0, mut s1) = (0.0f32, 0.0f32);
    let mut blocks = w.chunks_exact(size).zip(a);
    while let Some((b0, a0)) = blocks.next() {
        acc0 = block(b0, a0, acc0, &mut s0);
        if let Some((b1, a1)) = blocks.next() {
            acc1 = block(b1, a1, acc1, &mut s1);
        }
    }
    (hsum(_mm256_add_ps(acc0, acc1)), s0 + s1)
}

/// `acc + d · products(|q|, sign(x, q))`: the dot product of signed i8 quants `q` with
/// the activations `x`, scaled by `d`. At most 2 · 128 · 127 per i16 (|q| ≤ 128, |x| ≤ 127).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn signed_dot_fma(
    q: __m256i,
    x: __m256i,
    d: __m256,
    acc: __m256,
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> __m256 {
    let p = products(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
    _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body_q8_0(w: &[u8], a: &[BlockQ8], products: impl Fn(__m256i, __m256i) -> __m256i) -> f32 {
    sum_blocks(w, a, 34, |b, a, acc| {
        // `d · d_x` as one scalar, broadcast once.
        let d = _mm256_set1_ps(f16_pair(b).0 * a.d);
        signed_dot_fma(load_u8x32(&b[2..]), load_i8x32(&a.qs), d, acc, &products)
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body_q4_0(w: &[u8], a: &[BlockQ8], products: impl Fn(__m256i, __m256i) -> __m256i) -> f32 {
    let eight = _mm256_set1_epi8(8);
    sum_blocks(w, a, 18, |b, a, acc| {
        // q - 8 in -8..8.
        let q = _mm256_sub_epi8(nibbles(&b[2..]), eight);
        let d = scale8(b, 0, a.d);
        signed_dot_fma(q, load_i8x32(&a.qs), d, acc, &products)
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body_q4_1(w: &[u8], a: &[BlockQ8], products: impl Fn(__m256i, __m256i) -> __m256i) -> f32 {
    // Per block: the f16 pair (d, m) widened in one conversion, `d · d_x` broadcast once, and
    // the minimum term `m · d_x · Σ q_x` summed as a scalar (fewer vector operations per block
    // than a lane-0 vector term; batch-1 decoding spends most of its time here).
    let (dots, mins) = sum_blocks_and_scalars(w, a, 20, |b, x, acc, min| {
        // Unsigned nibbles: at most 2 · 15 · 127 per i16.
        let s = _mm256_cvtepi32_ps(products(nibbles(&b[4..]), load_i8x32(&x.qs)));
        let (d, m) = f16_pair(b);
        *min += m * x.ds;
        _mm256_fmadd_ps(_mm256_set1_ps(d * x.d), s, acc)
    });
    dots + mins
}

/// One 32-element weight block in registers: the quants `q` (signed i8 when `min` is `None`,
/// element = `d q`; unsigned otherwise, element = `d q + min`), the scale in all lanes and the
/// minimum as a scalar.
#[derive(Clone, Copy)]
struct Block32 {
    q: __m256i,
    d: __m256,
    min: Option<f32>,
}

/// Row `w` (blocks of `size` bytes, unpacked by `unpack`) dotted with four inputs: one
/// unpacking per block, one accumulator per input.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn dot4_blocks(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    size: usize,
    unpack: impl Fn(&[u8]) -> Block32,
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    let mut acc = [_mm256_setzero_ps(); 4];
    // The minimum terms `m · d_x · Σ q_x`, one scalar sum per input.
    let mut mins = [0.0f32; 4];
    let blocks = w.chunks_exact(size).zip(a[0]).zip(a[1]).zip(a[2]).zip(a[3]);
    for ((((b, x0), x1), x2), x3) in blocks {
        let block = unpack(b);
        // For signed quants, |q| once; each input then takes q's sign (as in `signed_dot_fma`).
        let left = match block.min {
            None => _mm256_sign_epi8(block.q, block.q),
            Some(_) => block.q,
        };
        for ((acc, min), x) in acc.iter_mut().zip(&mut mins).zip([x0, x1, x2, x3]) {
            let xv = load_i8x32(&x.qs);
            let right = match block.min {
                None => _mm256_sign_epi8(xv, block.q),
                Some(m) => {
                    *min += m * x.ds;
                    xv
                }
            };
            let s = _mm256_cvtepi32_ps(products(left, right));
            *acc = _mm256_fmadd_ps(_mm256_mul_ps(block.d, _mm256_set1_ps(x.d)), s, *acc);
        }
    }
    let mut out = [0.0; 4];
    for ((o, acc), min) in out.iter_mut().zip(acc).zip(mins) {
        *o = hsum(acc) + min;
    }
    out
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body4_q8_0(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    dot4_blocks(
        w,
        a,
        34,
        |b| Block32 {
            q: load_u8x32(&b[2..]),
            d: f16x8(b, 0),
            min: None,
        },
        products,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body4_q4_0(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    let eight = _mm256_set1_epi8(8);
    dot4_blocks(
        w,
        a,
        18,
        |b| Block32 {
            q: _mm256_sub_epi8(nibbles(&b[2..]), eight),
            d: f16x8(b, 0),
            min: None,
        },
        products,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body4_q4_1(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    dot4_blocks(
        w,
        a,
        20,
        |b| Block32 {
            q: nibbles(&b[4..]),
            d: f16x8(b, 0),
            min: Some(f16_at(b, 2)),
        },
        products,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body4_q5_0(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    let high = _mm256_set1_epi8(0xF0_u8 as i8);
    dot4_blocks(
        w,
        a,
        22,
        |b| Block32 {
            q: _mm256_or_si256(
                nibbles(&b[6..]),
                _mm256_andnot_si256(bit_bytes(&b[2..]), high),
            ),
            d: f16x8(b, 0),
            min: None,
        },
        products,
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body4_q5_1(
    w: &[u8],
    a: [&[BlockQ8]; 4],
    products: impl Fn(__m256i, __m256i) -> __m256i,
) -> [f32; 4] {
    let fifth = _mm256_set1_epi8(0x10);
    dot4_blocks(
        w,
        a,
        24,
        |b| Block32 {
            q: _mm256_or_si256(
                nibbles(&b[8..]),
                _mm256_and_si256(bit_bytes(&b[4..]), fifth),
            ),
            d: f16x8(b, 0),
            min: Some(f16_at(b, 2)),
        },
        products,
    )
}

/// The entry points of the 32-element kernels, one per type and input count: `body_*` with
/// `maddubs_products` compiled for AVX2 here, and with `vpdpbusd` compiled for AVX-512 VNNI in
/// [`vnni`] (the same integers, so the same results).
macro_rules! entry_points {
    ($features:literal, $products:expr) => {
        #[target_feature(enable = $features)]
        pub(super) fn dot_q8_0(w: &[u8], a: &[BlockQ8]) -> f32 {
            body_q8_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot_q4_0(w: &[u8], a: &[BlockQ8]) -> f32 {
            body_q4_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot_q4_1(w: &[u8], a: &[BlockQ8]) -> f32 {
            body_q4_1(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot_q5_0(w: &[u8], a: &[BlockQ8]) -> f32 {
            body_q5_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot_q5_1(w: &[u8], a: &[BlockQ8]) -> f32 {
            body_q5_1(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot4_q8_0(w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
            body4_q8_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot4_q4_0(w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
            body4_q4_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot4_q4_1(w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
            body4_q4_1(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot4_q5_0(w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
            body4_q5_0(w, a, $products)
        }

        #[target_feature(enable = $features)]
        pub(super) fn dot4_q5_1(w: &[u8], a: [&[BlockQ8]; 4]) -> [f32; 4] {
            body4_q5_1(w, a, $products)
        }
    };
}

entry_points!("avx2,fma,f16c", |u, s| maddubs_products(u, s));

/// The 32-element kernels with `vpdpbusd` on 256-bit registers (AVX-512 VL + VNNI): one
/// instruction for `maddubs` + `madd`, as llama.cpp builds its kernels where `__AVX512VNNI__`
/// and `__AVX512VL__` are set.
mod vnni {
    use std::arch::x86_64::{_mm256_dpbusd_epi32, _mm256_setzero_si256};

    use super::{
        BlockQ8, body_q4_0, body_q4_1, body_q5_0, body_q5_1, body_q8_0, body4_q4_0, body4_q4_1,
        body4_q5_0, body4_q5_1, body4_q8_0,
    };

    entry_points!("avx2,fma,f16c,avx512f,avx512vl,avx512vnni", |u, s| {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
    });
}

/// Byte `j` all ones where bit `j` of the little-endian u32 at `qh` is set, else zero
/// (llama.cpp's `bytes_from_bits_32`): broadcast, spread byte `j / 8` over bytes `8 (j / 8)..`,
/// set every bit but `j % 8`, compare with all ones.
#[target_feature(enable = "avx2")]
#[inline]
fn bit_bytes(qh: &[u8]) -> __m256i {
    let x = i32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    let spread = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x), spread);
    let others = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(_mm256_or_si256(bytes, others), _mm256_set1_epi64x(-1))
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body_q5_0(w: &[u8], a: &[BlockQ8], products: impl Fn(__m256i, __m256i) -> __m256i) -> f32 {
    let high = _mm256_set1_epi8(0xF0_u8 as i8);
    sum_blocks(w, a, 22, |b, a, acc| {
        // q - 16 as i8: the nibble where the fifth bit is set, the nibble | 0xF0 (= nibble - 16)
        // where it is clear.
        let q = _mm256_or_si256(
            nibbles(&b[6..]),
            _mm256_andnot_si256(bit_bytes(&b[2..]), high),
        );
        let d = scale8(b, 0, a.d);
        signed_dot_fma(q, load_i8x32(&a.qs), d, acc, &products)
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn body_q5_1(w: &[u8], a: &[BlockQ8], products: impl Fn(__m256i, __m256i) -> __m256i) -> f32 {
    let fifth = _mm256_set1_epi8(0x10);
    sum_blocks(w, a, 24, |b, a, acc| {
        let q = _mm256_or_si256(
            nibbles(&b[8..]),
            _mm256_and_si256(bit_bytes(&b[4..]), fifth),
        );
        // Unsigned 5-bit quants: at most 2 · 31 · 127 per i16.
        let s = _mm256_cvtepi32_ps(products(q, load_i8x32(&a.qs)));
        let min = lane0(scale8(b, 2, a.ds));
        _mm256_fmadd_ps(scale8(b, 0, a.d), s, _mm256_add_ps(acc, min))
    })
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    let m4 = _mm256_set1_epi8(0x0F);
    let mut acc = _mm256_setzero_ps();
    let mut mins = 0.0f32;
    for (b, a) in w.chunks_exact(144).zip(a) {
        let (sc, m) = q4_k_scales(&b[4..16]);
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let q = load_u8x32(&b[16 + 32 * c..]);
            let lo = _mm256_and_si256(q, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
            // At most 2 * 15 * 127 per i16, times a 6-bit scale twice per i32.
            let plo = _mm256_maddubs_epi16(lo, load_i8x32(&a.qs[64 * c..]));
            let phi = _mm256_maddubs_epi16(hi, load_i8x32(&a.qs[64 * c + 32..]));
            let slo = _mm256_set1_epi16(i16::from(sc[2 * c]));
            let shi = _mm256_set1_epi16(i16::from(sc[2 * c + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, slo));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, shi));
        }
        let dd = f16_at(b, 0) * a.d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(sumi), acc);
        // One minimum term per 256 elements: scalar, off the vector dependency chain.
        mins += f16_at(b, 2) * a.d * q4_k_min_sum(&m, &a.bsums) as f32;
    }
    hsum(acc) - mins
}

/// The 6-bit quants of elements `128 h + 32 k + (0..32)` of a Q6_K block, `k = 0..4`: a nibble
/// of `ql` and bits `2k..2k+2` of `qh` moved to bits 4..6 (masked first, so the 16-bit shifts
/// carry nothing across bytes).
#[target_feature(enable = "avx2")]
#[inline]
fn q6_k_quants(ql: &[u8], qh: &[u8], h: usize) -> [__m256i; 4] {
    let m4 = _mm256_set1_epi8(0x0F);
    let bits = |mask: u8| _mm256_set1_epi8(mask as i8);
    let ql0 = load_u8x32(&ql[64 * h..]);
    let ql1 = load_u8x32(&ql[64 * h + 32..]);
    let qhv = load_u8x32(&qh[32 * h..]);
    [
        _mm256_or_si256(
            _mm256_and_si256(ql0, m4),
            _mm256_slli_epi16::<4>(_mm256_and_si256(qhv, bits(0x03))),
        ),
        _mm256_or_si256(
            _mm256_and_si256(ql1, m4),
            _mm256_slli_epi16::<2>(_mm256_and_si256(qhv, bits(0x0C))),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), m4),
            _mm256_and_si256(qhv, bits(0x30)),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), m4),
            _mm256_srli_epi16::<2>(_mm256_and_si256(qhv, bits(0xC0))),
        ),
    ]
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q6_k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (b, a) in w.chunks_exact(210).zip(a) {
        let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
        let mut sumi = _mm256_setzero_si256();
        for h in 0..2 {
            let q = q6_k_quants(ql, qh, h);
            for (k, &q) in q.iter().enumerate() {
                let g = 8 * h + 2 * k;
                // At most 2 * 63 * 127 per i16; lanes 0..8 are scale group g, 8..16 group g + 1.
                let p = _mm256_maddubs_epi16(q, load_i8x32(&a.qs[128 * h + 32 * k..]));
                let s = _mm256_set_m128i(
                    _mm_set1_epi16(i16::from(scales[g + 1] as i8)),
                    _mm_set1_epi16(i16::from(scales[g] as i8)),
                );
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        // The -32 of every quant, in the integer sum.
        let offset = 32 * q6_k_offset_sum(scales, &a.bsums);
        sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(offset, 0, 0, 0, 0, 0, 0, 0));
        acc = _mm256_fmadd_ps(scale8(b, 208, a.d), _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot4_q4_k(w: &[u8], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
    let m4 = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut mins = [0.0f32; 4];
    for (j, b) in w.chunks_exact(144).enumerate() {
        let (sc, m) = q4_k_scales(&b[4..16]);
        let mut sumi = [_mm256_setzero_si256(); 4];
        for c in 0..4 {
            let q = load_u8x32(&b[16 + 32 * c..]);
            let lo = _mm256_and_si256(q, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
            let slo = _mm256_set1_epi16(i16::from(sc[2 * c]));
            let shi = _mm256_set1_epi16(i16::from(sc[2 * c + 1]));
            for (sumi, a) in sumi.iter_mut().zip(a) {
                let x = &a[j].qs;
                let plo = _mm256_maddubs_epi16(lo, load_i8x32(&x[64 * c..]));
                let phi = _mm256_maddubs_epi16(hi, load_i8x32(&x[64 * c + 32..]));
                *sumi = _mm256_add_epi32(*sumi, _mm256_madd_epi16(plo, slo));
                *sumi = _mm256_add_epi32(*sumi, _mm256_madd_epi16(phi, shi));
            }
        }
        let (d, dmin) = (f16x8(b, 0), f16_at(b, 2));
        for k in 0..4 {
            let x = &a[k][j];
            let dd = _mm256_mul_ps(d, _mm256_set1_ps(x.d));
            acc[k] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(sumi[k]), acc[k]);
            mins[k] += dmin * x.d * q4_k_min_sum(&m, &x.bsums) as f32;
        }
    }
    let mut out = [0.0; 4];
    for k in 0..4 {
        out[k] = hsum(acc[k]) - mins[k];
    }
    out
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot4_q6_k(w: &[u8], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
    let mut acc = [_mm256_setzero_ps(); 4];
    for (j, b) in w.chunks_exact(210).enumerate() {
        let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
        let mut sumi = [_mm256_setzero_si256(); 4];
        for h in 0..2 {
            let q = q6_k_quants(ql, qh, h);
            for (k, &q) in q.iter().enumerate() {
                let g = 8 * h + 2 * k;
                let s = _mm256_set_m128i(
                    _mm_set1_epi16(i16::from(scales[g + 1] as i8)),
                    _mm_set1_epi16(i16::from(scales[g] as i8)),
                );
                for (sumi, a) in sumi.iter_mut().zip(a) {
                    let x = load_i8x32(&a[j].qs[128 * h + 32 * k..]);
                    let p = _mm256_maddubs_epi16(q, x);
                    *sumi = _mm256_add_epi32(*sumi, _mm256_madd_epi16(p, s));
                }
            }
        }
        let d = f16x8(b, 208);
        for k in 0..4 {
            let x = &a[k][j];
            let offset = 32 * q6_k_offset_sum(scales, &x.bsums);
            let sumi = _mm256_sub_epi32(sumi[k], _mm256_setr_epi32(offset, 0, 0, 0, 0, 0, 0, 0));
            let dd = _mm256_mul_ps(d, _mm256_set1_ps(x.d));
            acc[k] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(sumi), acc[k]);
        }
    }
    let mut out = [0.0; 4];
    for k in 0..4 {
        out[k] = hsum(acc[k]);
    }
    out
}
