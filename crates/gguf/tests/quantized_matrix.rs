//! `QuantizedMatrix` products against dequantize-then-f64 on random valid blocks, for every
//! kernel (scalar, AVX2 where the CPU has it, exact f32), and its length errors.
//!
//! Tolerances. The integer kernels compute `Σ w x̂` exactly in integers per block, where `x̂` is
//! the input rounded to 8 bits per block (`|x - x̂| <= max|x_block| / 254`), so per output
//! `|y - ref| <= Σ_j |w_j| max|x_block(j)| / 254` plus f32 rounding of the per-block scalings
//! and sums, bounded here by `5e-5 Σ_blocks max|w_block| Σ|x_block|` over 32-column blocks.
//! The exact-f32 kernel only rounds its f32 sums: `|y - ref| <= 1e-5 Σ |w x|`.

use half::f16;
use prefopt_core::SplitMix64;
use prefopt_gguf::{GgmlType, GgufFile, INTEGER_KERNEL_TYPES, Kernel, QuantizedMatrix};
use proptest::prelude::*;

use crate::common::fixture;

/// The types with integer kernels.
const INTEGER: [GgmlType; 7] = INTEGER_KERNEL_TYPES;

/// Every type `QuantizedMatrix` accepts through the exact-f32 kernel, quantized ones first.
const ALL: [GgmlType; 13] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q5_K,
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
];

/// The workspace's SplitMix64 with the draws these tests need (seeded by proptest).
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// A finite f16 scale of random sign and magnitude 2^-10 .. 1.
    fn scale(&mut self) -> [u8; 2] {
        let magnitude = 2f32.powi(-((self.next() % 11) as i32));
        f16::from_f32(self.unit() * magnitude).to_le_bytes()
    }
}

/// Byte offsets of the f16 scales in a block of `ty` (everything else is valid as any bytes).
fn f16_fields(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

/// A random valid `rows × cols` matrix of `ty`.
fn random_matrix(rng: &mut Rng, ty: GgmlType, rows: usize, cols: usize) -> QuantizedMatrix {
    let n_blocks = rows * cols / ty.block_size() as usize;
    let size = ty.type_size() as usize;
    let mut data = Vec::with_capacity(n_blocks * size);
    for _ in 0..n_blocks {
        let start = data.len();
        match ty {
            GgmlType::F32 => data.extend(rng.unit().to_le_bytes()),
            GgmlType::F16 => data.extend(rng.scale()),
            GgmlType::BF16 => data.extend(half::bf16::from_f32(rng.unit()).to_le_bytes()),
            _ => {
                data.extend((0..size).map(|_| rng.next() as u8));
                for &at in f16_fields(ty) {
                    data[start + at..start + at + 2].copy_from_slice(&rng.scale());
                }
            }
        }
    }
    QuantizedMatrix::new(ty, rows, cols, data).unwrap()
}

/// Random inputs whose 32-element blocks have magnitudes from 0.01 to 100.
fn random_input(rng: &mut Rng, len: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(len);
    while x.len() < len {
        let magnitude = 10f32.powi((rng.next() % 5) as i32 - 2);
        x.extend((0..32).map(|_| rng.unit() * magnitude));
    }
    x.truncate(len);
    x
}

/// Per output of `x Wᵀ`: the f64 reference, the activation-rounding bound and the f32
/// rounding bounds of the integer and exact kernels (see the module docs).
struct Reference {
    y: Vec<f64>,
    rounding: Vec<f64>,
    integer_float: Vec<f64>,
    exact: Vec<f64>,
}

fn reference(m: &QuantizedMatrix, x: &[f32], n: usize) -> Reference {
    let w = m.dequantize();
    let (rows, cols) = (m.rows(), m.cols());
    let act_block = if m.ggml_type().block_size() == 256 {
        256
    } else {
        32
    };
    let mut out = Reference {
        y: vec![0.0; n * rows],
        rounding: vec![0.0; n * rows],
        integer_float: vec![0.0; n * rows],
        exact: vec![0.0; n * rows],
    };
    for i in 0..n {
        let xi = &x[i * cols..(i + 1) * cols];
        let amax: Vec<f64> = xi
            .chunks(act_block)
            .map(|b| b.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs()))))
            .collect();
        for r in 0..rows {
            let wr = &w[r * cols..(r + 1) * cols];
            let o = i * rows + r;
            for (j, (&wj, &xj)) in wr.iter().zip(xi).enumerate() {
                out.y[o] += f64::from(wj) * f64::from(xj);
                out.rounding[o] += f64::from(wj.abs()) * amax[j / act_block] / 254.0;
                out.exact[o] += f64::from((wj * xj).abs());
            }
            for (wb, xb) in wr.chunks(32).zip(xi.chunks(32)) {
                let wmax = wb.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
                let xsum: f64 = xb.iter().map(|v| f64::from(v.abs())).sum();
                out.integer_float[o] += wmax * xsum;
            }
        }
    }
    out
}

fn check(m: &QuantizedMatrix, kernel: Kernel, x: &[f32], n: usize, refs: &Reference) {
    let mut y = vec![f32::NAN; n * m.rows()];
    m.matmul_with(kernel, x, n, &mut y).unwrap();
    for (o, &got) in y.iter().enumerate() {
        let tol = if kernel == Kernel::DequantF32 {
            1e-5 * refs.exact[o]
        } else {
            refs.rounding[o] * 1.001 + 5e-5 * refs.integer_float[o]
        } + 1e-30;
        let err = (f64::from(got) - refs.y[o]).abs();
        assert!(
            err <= tol,
            "{} {kernel:?} [{} x {}] n={n} output {o}: {got} vs {} (error {err:e} > {tol:e})",
            m.ggml_type(),
            m.rows(),
            m.cols(),
            refs.y[o]
        );
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_available() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn vnni_available() -> bool {
    avx2_available()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(target_arch = "x86_64"))]
fn vnni_available() -> bool {
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn integer_kernels_match_the_reference(
        t in 0..INTEGER.len(),
        rows in 1usize..20,
        blocks in 1usize..4,
        n in 1usize..10,
        seed in any::<u64>(),
    ) {
        let ty = INTEGER[t];
        let mut rng = Rng(SplitMix64::new(seed));
        let cols = blocks * ty.block_size() as usize;
        let m = random_matrix(&mut rng, ty, rows, cols);
        let x = random_input(&mut rng, n * cols);
        let refs = reference(&m, &x, n);
        check(&m, Kernel::Scalar, &x, n, &refs);
        check(&m, Kernel::DequantF32, &x, n, &refs);
        check(&m, Kernel::Auto, &x, n, &refs);
        if avx2_available() {
            let auto = if vnni_available() { Kernel::Avx512Vnni } else { Kernel::Avx2 };
            prop_assert_eq!(m.auto_kernel(), auto);
            check(&m, Kernel::Avx2, &x, n, &refs);
        }
        if vnni_available() {
            check(&m, Kernel::Avx512Vnni, &x, n, &refs);
        }
        // matvec is matmul of one input, and a batch's first row agrees with it (the same
        // integers; batches of four sum them in another order).
        let mut y1 = vec![0.0; rows];
        m.matvec(&x[..cols], &mut y1).unwrap();
        let mut yn = vec![0.0; n * rows];
        m.matmul(&x, n, &mut yn).unwrap();
        for (o, (a, b)) in y1.iter().zip(&yn).enumerate() {
            let tol = 5e-5 * refs.integer_float[o] + 1e-30;
            prop_assert!(f64::from((a - b).abs()) <= tol, "row {}: {} vs {}", o, a, b);
        }
    }

    #[test]
    fn exact_kernel_matches_the_reference_for_every_type(
        t in 0..ALL.len(),
        rows in 1usize..12,
        blocks in 1usize..3,
        n in 1usize..3,
        seed in any::<u64>(),
    ) {
        let ty = ALL[t];
        let mut rng = Rng(SplitMix64::new(seed));
        let cols = blocks * 256;
        let m = random_matrix(&mut rng, ty, rows, cols);
        let x = random_input(&mut rng, n * cols);
        let refs = reference(&m, &x, n);
        check(&m, Kernel::DequantF32, &x, n, &refs);
        if !INTEGER.contains(&ty) {
            prop_assert_eq!(m.auto_kernel(), Kernel::DequantF32);
            check(&m, Kernel::Auto, &x, n, &refs);
        }
    }
}

#[test]
fn large_products_split_over_threads_agree() {
    // 2^21+ multiply-adds per input: several tasks per thread where the machine has two or
    // more, with an uneven last chunk; and a product just past the split into one task per
    // thread (601 × 64: 38,464 multiply-adds per input, an odd row count).
    let mut rng = Rng(SplitMix64::new(7));
    for (ty, rows, cols) in [
        (GgmlType::Q4_0, 8197, 256),
        (GgmlType::Q6_K, 8197, 256),
        (GgmlType::Q4_1, 601, 64),
        (GgmlType::Q8_0, 601, 64),
    ] {
        let m = random_matrix(&mut rng, ty, rows, cols);
        for n in [1, 6] {
            let x = random_input(&mut rng, n * cols);
            let refs = reference(&m, &x, n);
            check(&m, Kernel::Auto, &x, n, &refs);
            check(&m, Kernel::Scalar, &x, n, &refs);
        }
    }
}

#[test]
fn simd_and_scalar_agree_to_float_rounding() {
    if !avx2_available() {
        return;
    }
    let mut rng = Rng(SplitMix64::new(11));
    for ty in INTEGER {
        let cols = 6 * ty.block_size() as usize;
        let m = random_matrix(&mut rng, ty, 64, cols);
        let x = random_input(&mut rng, cols);
        let (mut scalar, mut simd) = (vec![0.0; 64], vec![0.0; 64]);
        m.matmul_with(Kernel::Scalar, &x, 1, &mut scalar).unwrap();
        let refs = reference(&m, &x, 1);
        let mut kernels = vec![Kernel::Avx2];
        if vnni_available() {
            kernels.push(Kernel::Avx512Vnni);
        }
        for kernel in kernels {
            m.matmul_with(kernel, &x, 1, &mut simd).unwrap();
            for (o, (s, v)) in scalar.iter().zip(&simd).enumerate() {
                // Same integers per block; only the order of the f32 sums differs.
                let tol = 5e-5 * refs.integer_float[o] + 1e-30;
                assert!(
                    f64::from((s - v).abs()) <= tol,
                    "{ty} {kernel:?} row {o}: {s} vs {v}"
                );
            }
        }
    }
}

#[test]
fn non_finite_inputs_give_nan() {
    let mut rng = Rng(SplitMix64::new(3));
    let m = random_matrix(&mut rng, GgmlType::Q4_K, 4, 256);
    let mut x = random_input(&mut rng, 256);
    x[17] = f32::INFINITY;
    let mut y = [0.0; 4];
    m.matvec(&x, &mut y).unwrap();
    assert!(y.iter().all(|v| v.is_nan()), "{y:?}");
}

#[test]
fn zero_sized_products() {
    let m = QuantizedMatrix::new(GgmlType::Q8_0, 0, 64, Vec::new()).unwrap();
    m.matvec(&[1.0; 64], &mut []).unwrap();
    let m = QuantizedMatrix::new(GgmlType::Q8_0, 3, 0, Vec::new()).unwrap();
    let mut y = [f32::NAN; 6];
    m.matmul(&[], 2, &mut y).unwrap();
    assert_eq!(y, [0.0; 6]);
}

fn err_text<T: std::fmt::Debug>(r: prefopt_gguf::Result<T>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn construction_errors_name_the_sizes() {
    let e = err_text(QuantizedMatrix::new(
        GgmlType::Q4_K,
        2,
        576,
        vec![0; 2 * 144],
    ));
    assert!(
        e.contains("576") && e.contains("256") && e.contains("Q4_K"),
        "{e}"
    );
    let e = err_text(QuantizedMatrix::from_bytes(
        GgmlType::Q8_0,
        2,
        64,
        &[0; 135],
    ));
    assert!(e.contains("135") && e.contains("136"), "{e}");
    let e = err_text(QuantizedMatrix::from_bytes(
        GgmlType::Q8_0,
        usize::MAX,
        64,
        &[0; 34],
    ));
    assert!(e.contains("more than usize::MAX"), "{e}");
    let e = err_text(QuantizedMatrix::new(GgmlType::IQ2_XXS, 1, 256, vec![0; 66]));
    assert!(
        e.contains("IQ2_XXS") && e.contains("cannot be dequantized"),
        "{e}"
    );
}

#[test]
fn product_errors_name_the_sizes() {
    let m = QuantizedMatrix::new(GgmlType::Q4_0, 3, 64, vec![0; 3 * 2 * 18]).unwrap();
    let e = err_text(m.matvec(&[0.0; 63], &mut [0.0; 3]));
    assert!(e.contains("x has 63") && e.contains("cols = 64"), "{e}");
    let e = err_text(m.matvec(&[0.0; 64], &mut [0.0; 4]));
    assert!(e.contains("y has 4") && e.contains("rows = 3"), "{e}");
    let e = err_text(m.matmul(&[0.0; 128], 3, &mut [0.0; 9]));
    assert!(e.contains("n = 3") && e.contains("x has 128"), "{e}");
    let e = err_text(m.matmul(&[0.0; 128], 2, &mut [0.0; 5]));
    assert!(e.contains("y 5") && e.contains("2 × 3"), "{e}");
    let e = err_text(m.matmul(&[0.0; 128], usize::MAX, &mut [0.0; 6]));
    assert!(e.contains("n = 18446744073709551615"), "{e}");

    let q2 = QuantizedMatrix::new(GgmlType::Q2_K, 1, 256, vec![0; 84]).unwrap();
    let e = err_text(q2.matmul_with(Kernel::Scalar, &[0.0; 256], 1, &mut [0.0; 1]));
    assert!(e.contains("no integer kernel") && e.contains("Q2_K"), "{e}");
    q2.matmul_with(Kernel::DequantF32, &[0.0; 256], 1, &mut [0.0; 1])
        .unwrap();
    if !avx2_available() {
        let e = err_text(m.matmul_with(Kernel::Avx2, &[0.0; 64], 1, &mut [0.0; 3]));
        assert!(e.contains("lacks avx2"), "{e}");
    }
    let e = err_text(q2.matmul_with(Kernel::Avx512Vnni, &[0.0; 256], 1, &mut [0.0; 1]));
    assert!(e.contains("no integer kernel"), "{e}");
    if !vnni_available() {
        let e = err_text(m.matmul_with(Kernel::Avx512Vnni, &[0.0; 64], 1, &mut [0.0; 3]));
        assert!(e.contains("lacks") && e.contains("avx512vnni"), "{e}");
    }
}

#[test]
fn from_tensor_keeps_the_blocks() {
    let mut checked = 0;
    for ty in INTEGER {
        let file = GgufFile::open(fixture(&format!("quants/{ty}.gguf"))).unwrap();
        for info in file.tensors() {
            if info.name.ends_with(".expected") {
                continue;
            }
            let m = QuantizedMatrix::from_tensor(&file, &info.name).unwrap();
            assert_eq!(
                [m.cols() as u64, m.rows() as u64],
                [info.dims[0], info.dims[1]]
            );
            assert_eq!(m.bytes(), file.tensor_bytes(&info.name).unwrap());
            assert_eq!(m.dequantize(), file.tensor_f32(&info.name).unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} 2-D tensors");
    // format.gguf: `mat` is F32 [3, 64]; `vec` is 1-D and `cube` 3-D.
    let file = GgufFile::open(fixture("format.gguf")).unwrap();
    let m = QuantizedMatrix::from_tensor(&file, "mat").unwrap();
    assert_eq!((m.rows(), m.cols()), (3, 64));
    assert_eq!(m.dequantize(), file.tensor_f32("mat").unwrap());
    for name in ["vec", "cube"] {
        let e = err_text(QuantizedMatrix::from_tensor(&file, name));
        assert!(e.contains("not 2-D") && e.contains(name), "{e}");
    }
    let e = err_text(QuantizedMatrix::from_tensor(&file, "absent"));
    assert!(e.contains("absent"), "{e}");
}

#[test]
fn stacked_products_equal_the_separate_ones() {
    // q/k/v- and gate/up-like stacks, mixed formats (32- and 256-element activation blocks and
    // an exact-f32 type in one call), batch sizes around the four-input grouping, sizes on both
    // sides of the split into tasks.
    let mut rng = Rng(SplitMix64::new(13));
    let stacks: [&[(GgmlType, usize)]; 3] = [
        &[
            (GgmlType::Q4_1, 576),
            (GgmlType::Q4_1, 192),
            (GgmlType::Q8_0, 192),
        ],
        &[
            (GgmlType::Q6_K, 40),
            (GgmlType::Q4_0, 3),
            (GgmlType::Q5_K, 17),
            (GgmlType::Q4_K, 9),
        ],
        &[(GgmlType::Q8_0, 5)],
    ];
    for (stack, cols) in stacks.into_iter().zip([576, 512, 64]) {
        let mats: Vec<QuantizedMatrix> = stack
            .iter()
            .map(|&(ty, rows)| random_matrix(&mut rng, ty, rows, cols))
            .collect();
        let refs: Vec<&QuantizedMatrix> = mats.iter().collect();
        let total: usize = mats.iter().map(QuantizedMatrix::rows).sum();
        for n in [1, 3, 6] {
            let x = random_input(&mut rng, n * cols);
            let mut stacked = vec![f32::NAN; n * total];
            QuantizedMatrix::matmul_many(&refs, &x, n, &mut stacked).unwrap();
            let mut offset = 0;
            for m in &mats {
                let mut y = vec![0.0; n * m.rows()];
                m.matmul(&x, n, &mut y).unwrap();
                for i in 0..n {
                    let got = &stacked[i * total + offset..i * total + offset + m.rows()];
                    assert_eq!(
                        got,
                        &y[i * m.rows()..(i + 1) * m.rows()],
                        "{} rows at {offset}, input {i} of {n}",
                        m.ggml_type()
                    );
                }
                offset += m.rows();
            }
        }
    }
    let a = random_matrix(&mut rng, GgmlType::Q8_0, 2, 64);
    let b = random_matrix(&mut rng, GgmlType::Q8_0, 2, 32);
    let e = err_text(QuantizedMatrix::matmul_many(
        &[&a, &b],
        &[0.0; 64],
        1,
        &mut [0.0; 4],
    ));
    assert!(e.contains("32 columns") && e.contains("64"), "{e}");
    let e = err_text(QuantizedMatrix::matmul_many(
        &[&a, &a],
        &[0.0; 64],
        1,
        &mut [0.0; 3],
    ));
    assert!(e.contains("y 3") && e.contains("1 × 4"), "{e}");
    let e = err_text(QuantizedMatrix::matmul_many(&[], &[], 1, &mut []));
    assert!(e.contains("no matrices"), "{e}");
}
