//! The matrix products of the tiny DPO step (`cargo xtask bench-dpo --config tiny`) through
//! `prefopt_models::fused::matmul` against `torch.mm` (MKL) on the same CPU, in one run.
//!
//! `PREFOPT_PYTHON=/path/to/python cargo bench -p prefopt-models --bench matmul_shapes
//! [-- --reps N]`
//!
//! Twelve shapes: the projections forward (`x · W`), the input gradients (`dy · Wᵀ`, a
//! transposed view), the weight gradients (`xᵀ · dy`, a transposed view with the token axis as
//! the inner dimension) and the LM head's three products on the completion positions. Each
//! side times every shape 30 times and keeps the best; the two sides alternate `--reps` times
//! (default 3), each in its own process for torch (`benches/matmul_shapes_torch.py`, the same
//! shape list), and the summed best times are printed per round with their ratio.
#![allow(clippy::print_stdout, missing_docs)]

use std::process::Command;
use std::time::Instant;

use burn::prelude::*;

/// `(name, m, n, k, lhs transposed, rhs transposed)`; shared with the Python script (keep in
/// sync).
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("q/k/v/o forward", 2048, 256, 256, false, false),
    ("gate/up forward", 2048, 688, 256, false, false),
    ("down forward", 2048, 256, 688, false, false),
    ("q/k/v/o d_x", 2048, 256, 256, false, true),
    ("gate/up d_x", 2048, 256, 688, false, true),
    ("down d_x", 2048, 688, 256, false, true),
    ("q/k/v/o d_W", 256, 256, 2048, true, false),
    ("gate/up d_W", 256, 688, 2048, true, false),
    ("down d_W", 688, 256, 2048, true, false),
    ("head forward", 1024, 2048, 256, false, false),
    ("head d_x", 1024, 256, 2048, false, true),
    ("head d_W", 256, 2048, 1024, true, false),
];

const TIMES: usize = 30;

/// A `rows × cols` operand, or the transposed view of a `cols × rows` one.
fn operand(rows: usize, cols: usize, transposed: bool, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
        .collect();
    if transposed {
        Tensor::<2>::from_data(TensorData::new(values, [cols, rows]), device).transpose()
    } else {
        Tensor::<2>::from_data(TensorData::new(values, [rows, cols]), device)
    }
}

/// Best time of each shape in milliseconds.
fn prefopt_side() -> Vec<f64> {
    let device = Device::flex();
    SHAPES
        .iter()
        .map(|&(_, m, n, k, lhs_t, rhs_t)| {
            let a = operand(m, k, lhs_t, &device);
            let b = operand(k, n, rhs_t, &device);
            (0..TIMES)
                .map(|_| {
                    let start = Instant::now();
                    let c = prefopt_models::fused::matmul(a.clone(), b.clone());
                    let elapsed = start.elapsed().as_secs_f64();
                    drop(c);
                    elapsed * 1e3
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// The torch side's best times (one line per shape: `name<TAB>ms`), or why not.
fn torch_side(python: &str) -> Result<Vec<f64>, String> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/matmul_shapes_torch.py"
    );
    let out = Command::new(python)
        .arg(script)
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let times: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split('\t').nth(1)?.trim().parse().ok())
        .collect();
    if times.len() == SHAPES.len() {
        Ok(times)
    } else {
        Err(format!("expected {} shapes, got:\n{text}", SHAPES.len()))
    }
}

fn gflops(ms: f64, (m, n, k): (usize, usize, usize)) -> f64 {
    2.0 * (m * n * k) as f64 / (ms * 1e-3) / 1e9
}

fn main() {
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args
        .windows(2)
        .find(|w| w[0] == "--reps")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(3);
    for rep in 1..=reps {
        let ours = prefopt_side();
        let theirs = torch_side(&python);
        println!("round {rep}/{reps}:");
        for (i, &(name, m, n, k, _, _)) in SHAPES.iter().enumerate() {
            let peer = match &theirs {
                Ok(t) => format!("  torch {:6.1} GFLOP/s", gflops(t[i], (m, n, k))),
                Err(_) => String::new(),
            };
            println!(
                "  {name:16} {m:>5}x{n:>5}x{k:>5}  prefopt {:6.1} GFLOP/s{peer}",
                gflops(ours[i], (m, n, k))
            );
        }
        let sum: f64 = ours.iter().sum();
        match &theirs {
            Ok(t) => {
                let peer: f64 = t.iter().sum();
                println!(
                    "  summed best times: prefopt {sum:.2} ms, torch {peer:.2} ms, \
                     speed prefopt/torch {:.3}",
                    peer / sum
                );
            }
            Err(e) => println!("  summed best times: prefopt {sum:.2} ms; torch side skipped: {e}"),
        }
    }
}
