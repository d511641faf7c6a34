//! Throughput of `QuantizedMatrix::matvec` on SmolLM2-135M's shapes, per type, against an f32
//! matvec of the same shape: `cargo bench -p prefopt-gguf --bench qmatvec` (std timing, median
//! of repeated runs; `-- quick` for fewer repetitions,
//! type names such as `-- Q4_0 Q6_K` to select types).
//!
//! Reports the time of one matvec (activation quantization included), the weight bytes read per
//! second, and the relative RMS difference of the integer kernels from the exact f32 kernel on
//! normal-ish inputs.

#![allow(clippy::print_stdout)] // a benchmark's report is its output

use std::time::{Duration, Instant};

use half::f16;
use prefopt_core::SplitMix64;
use prefopt_gguf::{GgmlType, Kernel, QuantizedMatrix};

/// The workspace's SplitMix64 with the draws this benchmark needs.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Roughly normal (sum of four uniforms).
    fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() * 0.87
    }
}

/// Random valid blocks: random quants, small positive or signed f16 scales.
fn random_matrix(rng: &mut Rng, ty: GgmlType, rows: usize, cols: usize) -> QuantizedMatrix {
    let size = ty.type_size() as usize;
    let n_blocks = rows * cols / ty.block_size() as usize;
    let f16_fields: &[usize] = match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[],
    };
    let mut data: Vec<u8> = (0..n_blocks * size).map(|_| rng.next() as u8).collect();
    for block in data.chunks_exact_mut(size) {
        for &at in f16_fields {
            let v = f16::from_f32(rng.unit() * 0.01);
            block[at..at + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
    QuantizedMatrix::new(ty, rows, cols, data).expect("valid blocks")
}

/// The median wall time of `f` over repeated runs of at least `budget` in total.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f(); // warm caches and threads
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < budget && times.len() < 10_000) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// `y = W x` in f32, split over threads like `QuantizedMatrix` (rows in chunks when the
/// product has at least 2^20 multiply-adds).
fn f32_matvec(w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            for j in 0..8 {
                acc[j] += x[j] * y[j];
            }
        }
        acc.iter().sum()
    }
    let rows = y.len();
    let threads = ((rows * cols) >> 20)
        .clamp(
            1,
            std::thread::available_parallelism().map_or(1, usize::from),
        )
        .min(rows);
    if threads == 1 {
        for (r, out) in y.iter_mut().enumerate() {
            *out = dot(&w[r * cols..(r + 1) * cols], x);
        }
        return;
    }
    let chunk = rows.div_ceil(threads);
    std::thread::scope(|s| {
        for (t, part) in y.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                for (i, out) in part.iter_mut().enumerate() {
                    let r = t * chunk + i;
                    *out = dot(&w[r * cols..(r + 1) * cols], x);
                }
            });
        }
    });
}

fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let budget = Duration::from_millis(if quick { 100 } else { 400 });
    let mut rng = Rng(SplitMix64::new(1));
    println!(
        "threads available: {}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "{:<6} {:>13} {:>7} {:>10} {:>8} {:>10} {:>8} {:>11} {:>8} {:>8}",
        "type",
        "rows x cols",
        "kernel",
        "time us",
        "GB/s",
        "scalar us",
        "f32 us",
        "f32 GB/s",
        "speedup",
        "rel err"
    );
    let types = prefopt_gguf::INTEGER_KERNEL_TYPES;
    // Arguments other than `quick` (and cargo's `--bench`) select types by name.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "quick" && !a.starts_with('-'))
        .collect();
    for ty in types {
        if !only.is_empty() && !only.contains(&ty.to_string()) {
            continue;
        }
        // SmolLM2-135M: q/o 576x576, up/gate 1536x576, down 576x1536, LM head 49152x576. The
        // k-quants need cols % 256 == 0 (llama.cpp stores such tensors as Q5_0/Q8_0 instead), so
        // they get 512 columns where the model has 576.
        let c576 = if ty.block_size() == 256 { 512 } else { 576 };
        for (rows, cols) in [(576, c576), (1536, c576), (576, 1536), (49152, c576)] {
            let m = random_matrix(&mut rng, ty, rows, cols);
            let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
            let mut y = vec![0.0; rows];
            let t = time(budget, || m.matvec(&x, &mut y).expect("matvec"));
            let t_scalar = time(budget / 4, || {
                m.matmul_with(Kernel::Scalar, &x, 1, &mut y)
                    .expect("scalar")
            });
            let mut exact = vec![0.0; rows];
            m.matmul_with(Kernel::DequantF32, &x, 1, &mut exact)
                .expect("exact");
            m.matvec(&x, &mut y).expect("matvec");
            let (num, den) = y
                .iter()
                .zip(&exact)
                .fold((0.0f64, 0.0f64), |(n, d), (a, b)| {
                    let e = f64::from(a - b);
                    (n + e * e, d + f64::from(*b) * f64::from(*b))
                });
            let w32 = m.dequantize();
            let mut y32 = vec![0.0; rows];
            let t32 = time(budget, || f32_matvec(&w32, cols, &x, &mut y32));
            println!(
                "{:<6} {:>13} {:>7} {:>10.1} {:>8.2} {:>10.1} {:>8.1} {:>11.2} {:>7.2}x {:>8.1e}",
                ty.to_string(),
                format!("{rows}x{cols}"),
                format!("{:?}", m.auto_kernel()),
                t.as_secs_f64() * 1e6,
                gbps(m.bytes().len(), t),
                t_scalar.as_secs_f64() * 1e6,
                t32.as_secs_f64() * 1e6,
                gbps(rows * cols * 4, t32),
                t32.as_secs_f64() / t.as_secs_f64(),
                (num / den).sqrt()
            );
        }
    }
    // Batched inputs (prefill, training): matmul of 64 rows, per input row, against f32.
    println!("\nmatmul, n = 64 input rows: time per input row");
    println!(
        "{:<6} {:>13} {:>12} {:>12}",
        "type", "rows x cols", "quant us", "f32 us"
    );
    for ty in types {
        if !only.is_empty() && !only.contains(&ty.to_string()) {
            continue;
        }
        let cols = if ty.block_size() == 256 { 512 } else { 576 };
        let (rows, n) = (1536, 64);
        let m = random_matrix(&mut rng, ty, rows, cols);
        let x: Vec<f32> = (0..n * cols).map(|_| rng.normal()).collect();
        let mut y = vec![0.0; n * rows];
        let t = time(budget, || m.matmul(&x, n, &mut y).expect("matmul"));
        let w32 = m.dequantize();
        let mut y32 = vec![0.0; rows];
        let t32 = time(budget, || {
            for xi in x.chunks_exact(cols) {
                f32_matvec(&w32, cols, xi, &mut y32);
            }
        });
        println!(
            "{:<6} {:>13} {:>12.2} {:>12.2}",
            ty.to_string(),
            format!("{rows}x{cols}"),
            t.as_secs_f64() * 1e6 / n as f64,
            t32.as_secs_f64() * 1e6 / n as f64
        );
    }
}
