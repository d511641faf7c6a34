//! The fused operations (`prefopt_models::fused`) against the burn compositions they replace,
//! computed in f64: values and gradients, with autodiff and without.

use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation::{log_softmax, silu};
use prefopt_models::fused;

/// Deterministic values in [-scale, scale), from the project's one seeded generator.
fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut rng = prefopt_core::SplitMix64::new(seed);
    (0..n)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) * scale)
        .collect()
}

fn f32_tensor<const D: usize>(v: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
    let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// The same `f32` values as [`f32_tensor`], held in `f64` (the reference computes in f64).
fn f64_tensor<const D: usize>(v: &[f64], shape: [usize; D], device: &Device) -> Tensor<D> {
    f32_tensor(v, shape, device).cast(DType::F64)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

fn assert_close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tol * scale,
        "{name}: max |diff| {worst:e} > {tol:e} × {scale:e}"
    );
}

fn grad_device() -> Device {
    Device::flex().autodiff()
}

#[test]
fn rms_norm_matches_the_composition_in_values_and_gradients() {
    let (rows, d, eps) = (37, 48, 1e-5);
    let x = values(rows * d, 1, 3.0);
    let gamma = values(d, 2, 1.5);
    let w = values(rows * d, 3, 1.0);
    let dev = grad_device();
    let run = |fuse: bool| {
        let (xt, gt, wt) = if fuse {
            (
                f32_tensor(&x, [rows, d], &dev),
                f32_tensor(&gamma, [d], &dev),
                f32_tensor(&w, [rows, d], &dev),
            )
        } else {
            (
                f64_tensor(&x, [rows, d], &dev),
                f64_tensor(&gamma, [d], &dev),
                f64_tensor(&w, [rows, d], &dev),
            )
        };
        let (xt, gt) = (xt.require_grad(), gt.require_grad());
        assert_eq!(fused::fused_kernels_apply(&xt), fuse);
        let out = if fuse {
            fused::rms_norm(xt.clone(), gt.clone(), eps)
        } else {
            let rms = (xt.clone().square().mean_dim(1) + eps).sqrt();
            (xt.clone() / rms) * gt.clone().unsqueeze()
        };
        let grads = (out.clone() * wt).sum().backward();
        (
            host(out),
            host(xt.grad(&grads).unwrap()),
            host(gt.grad(&grads).unwrap()),
        )
    };
    let (y, dx, dg) = run(true);
    let (y_ref, dx_ref, dg_ref) = run(false);
    assert_close("rms_norm", &y, &y_ref, 1e-6);
    assert_close("rms_norm dx", &dx, &dx_ref, 1e-5);
    assert_close("rms_norm dgamma", &dg, &dg_ref, 1e-5);

    // Without autodiff, and on a 3-d input, the same values.
    let plain = Device::flex();
    let y3 = host(fused::rms_norm(
        f32_tensor(&x, [1, rows, d], &plain),
        f32_tensor(&gamma, [d], &plain),
        eps,
    ));
    assert_close("rms_norm (no autodiff)", &y3, &y_ref, 1e-6);
}

#[test]
fn rms_norm_of_a_frozen_gamma_and_a_non_contiguous_input() {
    let (rows, d, eps) = (5, 16, 1e-6);
    let x = values(rows * d, 4, 2.0);
    let gamma = values(d, 5, 1.0);
    let dev = grad_device();
    // The input transposed twice: a non-contiguous view of the same values.
    let xt = f32_tensor(&x, [d, rows], &dev).require_grad();
    let view = xt.clone().swap_dims(0, 1);
    let out = fused::rms_norm(view.clone(), f32_tensor(&gamma, [d], &dev), eps);
    let grads = out.clone().sum().backward();
    let dx = host(xt.grad(&grads).unwrap().swap_dims(0, 1));
    let (xr, gr) = (
        f64_tensor(&x, [d, rows], &dev).require_grad(),
        f64_tensor(&gamma, [d], &dev),
    );
    let v = xr.clone().swap_dims(0, 1);
    let rms = (v.clone().square().mean_dim(1) + eps).sqrt();
    let want = (v / rms) * gr.unsqueeze();
    let g = want.clone().sum().backward();
    assert_close("rms_norm (view)", &host(out), &host(want), 1e-6);
    assert_close(
        "rms_norm dx (view)",
        &dx,
        &host(xr.grad(&g).unwrap().swap_dims(0, 1)),
        1e-5,
    );
}

#[test]
fn swiglu_matches_the_composition_in_values_and_gradients() {
    let shape = [3, 11, 40];
    let n: usize = shape.iter().product();
    let gate = values(n, 6, 8.0);
    let up = values(n, 7, 2.0);
    let w = values(n, 8, 1.0);
    let dev = grad_device();
    let run = |fuse: bool| {
        let mk = |v: &[f64]| {
            if fuse {
                f32_tensor(v, shape, &dev)
            } else {
                f64_tensor(v, shape, &dev)
            }
        };
        let (g, u, wt) = (mk(&gate).require_grad(), mk(&up).require_grad(), mk(&w));
        assert_eq!(fused::fused_kernels_apply(&g), fuse);
        let out = if fuse {
            fused::swiglu(g.clone(), u.clone())
        } else {
            silu(g.clone()) * u.clone()
        };
        let grads = (out.clone() * wt).sum().backward();
        (
            host(out),
            host(g.grad(&grads).unwrap()),
            host(u.grad(&grads).unwrap()),
        )
    };
    let (y, dg, du) = run(true);
    let (y_ref, dg_ref, du_ref) = run(false);
    assert_close("swiglu", &y, &y_ref, 1e-6);
    assert_close("swiglu d_gate", &dg, &dg_ref, 1e-6);
    assert_close("swiglu d_up", &du, &du_ref, 1e-6);
}

#[test]
fn token_logprobs_match_log_softmax_and_gather_in_values_and_gradients() {
    let (n, vocab) = (29, 301);
    let logits = values(n * vocab, 9, 12.0);
    let targets: Vec<i64> = (0..n as i64).map(|i| (i * 97 + 5) % vocab as i64).collect();
    let w = values(n, 10, 1.0);
    let dev = grad_device();
    let run = |fuse: bool| {
        let x = if fuse {
            f32_tensor(&logits, [n, vocab], &dev)
        } else {
            f64_tensor(&logits, [n, vocab], &dev)
        }
        .require_grad();
        assert_eq!(fused::fused_kernels_apply(&x), fuse);
        let t = Tensor::<1, Int>::from_data(TensorData::new(targets.clone(), [n]), &dev);
        let wt = if fuse {
            f32_tensor(&w, [n], &dev)
        } else {
            f64_tensor(&w, [n], &dev)
        };
        let out = if fuse {
            fused::token_logprobs(x.clone(), t)
        } else {
            log_softmax(x.clone(), 1)
                .gather(1, t.reshape([n, 1]))
                .reshape([n])
        };
        let grads = (out.clone() * wt).sum().backward();
        (host(out), host(x.grad(&grads).unwrap()))
    };
    let (y, dx) = run(true);
    let (y_ref, dx_ref) = run(false);
    assert_close("token_logprobs", &y, &y_ref, 1e-6);
    assert_close("token_logprobs d_logits", &dx, &dx_ref, 1e-6);
}

#[test]
fn token_logprobs_with_masked_logits_give_zero_gradient_there() {
    let dev = grad_device();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32, f32::NEG_INFINITY, -1.0, 2.0], [1, 4]),
        &dev,
    )
    .require_grad();
    let t = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64], [1]), &dev);
    let out = fused::token_logprobs(x.clone(), t);
    let lse = (0.5f64.exp() + (-1f64).exp() + 2f64.exp()).ln();
    assert!((host(out.clone())[0] - (2.0 - lse)).abs() < 1e-6);
    let dx = host(x.grad(&out.sum().backward()).unwrap());
    assert_eq!(dx[1], 0.0);
    assert!((dx[3] - (1.0 - (2.0 - lse).exp())).abs() < 1e-6);
}

/// `softmax(q kᵀ / sqrt(d), masked) v`, composed of burn operations (the reference).
fn attention_reference(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Tensor<4, Bool>,
) -> Tensor<4> {
    let d = q.dims()[3];
    let s = q.matmul(k.swap_dims(2, 3)) / (d as f64).sqrt();
    let s = s.mask_fill(mask, f64::NEG_INFINITY);
    burn::tensor::activation::softmax(s, 3).matmul(v)
}

fn check_attention(b: usize, h: usize, t: usize, d: usize, padded: bool) {
    let shape = [b, h, t, d];
    let n = b * h * t * d;
    let (q, k, v, w) = (
        values(n, 11, 2.0),
        values(n, 12, 2.0),
        values(n, 13, 1.0),
        values(n, 14, 1.0),
    );
    // Causal; with `padded`, the last two keys of batch row 0 are padding too (but each query
    // still sees itself, as the model's masks do).
    let mut bits = Vec::with_capacity(b * h * t * t);
    for bi in 0..b {
        for _ in 0..h {
            for i in 0..t {
                for j in 0..t {
                    let pad = padded && bi == 0 && j + 2 >= t && j != i;
                    bits.push(j > i || pad);
                }
            }
        }
    }
    let dev = grad_device();
    let run = |fuse: bool| {
        let mk = |x: &[f64]| {
            if fuse {
                f32_tensor(x, shape, &dev)
            } else {
                f64_tensor(x, shape, &dev)
            }
        };
        let (qt, kt, vt) = (
            mk(&q).require_grad(),
            mk(&k).require_grad(),
            mk(&v).require_grad(),
        );
        assert_eq!(fused::fused_kernels_apply(&qt), fuse);
        let mask = Tensor::<4, Bool>::from_data(TensorData::new(bits.clone(), [b, h, t, t]), &dev);
        let out = if fuse {
            let m = if padded { Some(mask) } else { None };
            fused::attention(qt.clone(), kt.clone(), vt.clone(), m)
        } else {
            attention_reference(qt.clone(), kt.clone(), vt.clone(), mask)
        };
        let grads = (out.clone() * mk(&w)).sum().backward();
        (
            host(out),
            host(qt.grad(&grads).unwrap()),
            host(kt.grad(&grads).unwrap()),
            host(vt.grad(&grads).unwrap()),
        )
    };
    let got = run(true);
    let want = run(false);
    assert_close("attention", &got.0, &want.0, 1e-6);
    assert_close("attention dq", &got.1, &want.1, 1e-5);
    assert_close("attention dk", &got.2, &want.2, 1e-5);
    assert_close("attention dv", &got.3, &want.3, 1e-5);
}

#[test]
fn attention_matches_the_materialised_softmax_in_values_and_gradients() {
    check_attention(2, 3, 17, 8, false);
    check_attention(2, 2, 9, 16, true);
}

#[test]
fn attention_gives_the_same_values_with_and_without_autodiff_and_handles_grouped_heads() {
    // A policy under autodiff and its frozen reference must agree bit for bit.
    let (q, k, v) = (
        values(60, 15, 1.0),
        values(20, 16, 1.0),
        values(20, 17, 1.0),
    );
    let run = |dev: &Device| {
        let q = f32_tensor(&q, [1, 3, 5, 4], dev);
        let (k, v) = (
            f32_tensor(&k, [1, 1, 5, 4], dev),
            f32_tensor(&v, [1, 1, 5, 4], dev),
        );
        host(fused::attention(q, k, v, None))
    };
    let plain = run(&Device::flex());
    assert_eq!(plain, run(&grad_device()));
    // One K/V head shared by three query heads = the same head repeated.
    let dev = Device::flex();
    let causal = Tensor::<2, Bool>::tril_mask([5, 5], 0, &dev)
        .reshape([1, 1, 5, 5])
        .expand([1, 3, 5, 5]);
    let rep = |x: &[f64]| f32_tensor(x, [1, 1, 5, 4], &dev).repeat_dim(1, 3);
    let want = attention_reference(f32_tensor(&q, [1, 3, 5, 4], &dev), rep(&k), rep(&v), causal);
    assert_close("attention (grouped heads)", &plain, &host(want), 1e-6);
}

#[test]
fn rope_matches_the_rotate_half_composition_in_values_and_gradients() {
    let (b, h, t, d) = (2, 3, 7, 8);
    let n = b * h * t * d;
    let x = values(n, 18, 2.0);
    let w = values(n, 19, 1.0);
    let angles = values(b * t * d / 2, 20, 3.0);
    let (mut cos, mut sin) = (vec![0.0; b * t * d], vec![0.0; b * t * d]);
    for (row, a) in angles.chunks(d / 2).enumerate() {
        for (j, &a) in a.iter().enumerate() {
            for k in [j, j + d / 2] {
                cos[row * d + k] = a.cos();
                sin[row * d + k] = a.sin();
            }
        }
    }
    let dev = grad_device();
    let run = |fuse: bool| {
        let mk = |v: &[f64], shape: [usize; 4]| {
            if fuse {
                f32_tensor(v, shape, &dev)
            } else {
                f64_tensor(v, shape, &dev)
            }
        };
        let xt = mk(&x, [b, h, t, d]).require_grad();
        assert_eq!(fused::fused_kernels_apply(&xt), fuse);
        let (c, s) = (mk(&cos, [b, 1, t, d]), mk(&sin, [b, 1, t, d]));
        let out = if fuse {
            fused::rope(xt.clone(), c, s)
        } else {
            let x1 = xt.clone().slice([0..b, 0..h, 0..t, 0..d / 2]);
            let x2 = xt.clone().slice([0..b, 0..h, 0..t, d / 2..d]);
            xt.clone() * c + Tensor::cat(vec![x2.neg(), x1], 3) * s
        };
        let grads = (out.clone() * mk(&w, [b, h, t, d])).sum().backward();
        (host(out), host(xt.grad(&grads).unwrap()))
    };
    let (y, dx) = run(true);
    let (y_ref, dx_ref) = run(false);
    assert_close("rope", &y, &y_ref, 1e-6);
    assert_close("rope dx", &dx, &dx_ref, 1e-6);
}

#[test]
fn adamw_update_matches_the_composition_on_both_lerp_branches() {
    let n = 70_001; // more than one rayon task, and a ragged last one
    let (p, g, m, v) = (
        values(n, 21, 1.0),
        values(n, 22, 0.1),
        values(n, 23, 0.01),
        values(n, 24, 1e-4)
            .iter()
            .map(|x| x.abs())
            .collect::<Vec<_>>(),
    );
    let dev = Device::flex();
    for beta1 in [0.9, 0.3] {
        let scalars = fused::AdamWScalars {
            beta1,
            beta2: 0.999,
            epsilon: 1e-8,
            decay: 1.0 - 1e-3 * 0.01,
            step_size: 1e-3 / (1.0 - beta1.powi(3)),
            bias_correction2_sqrt: (1.0 - 0.999f64.powi(3)).sqrt(),
        };
        let run = |mk: &dyn Fn(&[f64]) -> Tensor<1>| {
            let (p, m, v) = fused::adamw_update(mk(&p), mk(&g), mk(&m), mk(&v), scalars);
            (host(p), host(m), host(v))
        };
        let fused_out = run(&|x| f32_tensor(x, [n], &dev));
        let reference = run(&|x| f64_tensor(x, [n], &dev));
        assert_close("adamw param", &fused_out.0, &reference.0, 1e-6);
        // The update itself (about lr in size), not only the updated value.
        let delta = |q: &[f64]| q.iter().zip(&p).map(|(a, b)| a - b).collect::<Vec<_>>();
        assert_close(
            "adamw update",
            &delta(&fused_out.0),
            &delta(&reference.0),
            1e-3,
        );
        assert_close("adamw m", &fused_out.1, &reference.1, 1e-6);
        assert_close("adamw v", &fused_out.2, &reference.2, 1e-6);
    }
}

/// `fused::matmul` against burn's matmul in f64, values and both gradients; with
/// `lhs_transposed` the left operand is a transposed view of a leaf stored `[.., k, m]`.
fn check_matmul<const D: usize>(
    lhs_dims: [usize; D],
    rhs_dims: [usize; D],
    lhs_transposed: bool,
    seed: u64,
) {
    let count = |d: &[usize; D]| d.iter().product::<usize>();
    let (out_dims, stored) = {
        let mut o = lhs_dims;
        o[D - 1] = rhs_dims[D - 1];
        let mut s = lhs_dims;
        if lhs_transposed {
            s.swap(D - 2, D - 1);
        }
        (o, s)
    };
    let a = values(count(&lhs_dims), seed, 1.0);
    let b = values(count(&rhs_dims), seed + 1, 1.0);
    let w = values(count(&out_dims), seed + 2, 1.0);
    let dev = grad_device();
    let run = |fuse: bool| {
        let make = |v: &[f64], d: [usize; D]| {
            if fuse {
                f32_tensor(v, d, &dev)
            } else {
                f64_tensor(v, d, &dev)
            }
        };
        let leaf = make(&a, stored).require_grad();
        let lhs = if lhs_transposed {
            leaf.clone().swap_dims(D - 2, D - 1)
        } else {
            leaf.clone()
        };
        let rhs = make(&b, rhs_dims).require_grad();
        assert_eq!(fused::fused_kernels_apply(&lhs), fuse);
        let out = if fuse {
            fused::matmul(lhs, rhs.clone())
        } else {
            lhs.matmul(rhs.clone())
        };
        let grads = (out.clone() * make(&w, out_dims)).sum().backward();
        (
            host(out),
            host(leaf.grad(&grads).unwrap()),
            host(rhs.grad(&grads).unwrap()),
        )
    };
    let (y, da, db) = run(true);
    let (y_ref, da_ref, db_ref) = run(false);
    let name = format!("matmul {lhs_dims:?} @ {rhs_dims:?}, lhs view {lhs_transposed}");
    assert_close(&name, &y, &y_ref, 1e-5);
    assert_close(&format!("{name}: d lhs"), &da, &da_ref, 1e-5);
    assert_close(&format!("{name}: d rhs"), &db, &db_ref, 1e-5);
}

#[test]
fn matmul_matches_burn_in_values_and_gradients() {
    // A linear layer's shape, below and above the size at which the GEMM splits across threads.
    check_matmul([37, 48], [48, 29], false, 11);
    check_matmul([300, 256], [256, 200], false, 12);
    // A transposed (non-contiguous) operand, as in a weight gradient.
    check_matmul([64, 40], [40, 24], true, 13);
    // Batched, as attention's per-head products: a small batch, and one spread across threads.
    check_matmul([2, 3, 17, 8], [2, 3, 8, 19], false, 14);
    check_matmul([4, 4, 128, 64], [4, 4, 64, 128], true, 15);
}

#[test]
fn matmul_of_a_frozen_operand_and_without_autodiff() {
    let (a, b) = (values(6 * 5, 21, 1.0), values(5 * 4, 22, 1.0));
    let dev = grad_device();
    // Only the left operand tracked: its gradient is burn's, the frozen weight gets none.
    let x = f32_tensor(&a, [6, 5], &dev).require_grad();
    let out = fused::matmul(x.clone(), f32_tensor(&b, [5, 4], &dev));
    let grads = out.clone().sum().backward();
    let xr = f64_tensor(&a, [6, 5], &dev).require_grad();
    let want = xr.clone().matmul(f64_tensor(&b, [5, 4], &dev));
    let g = want.clone().sum().backward();
    assert_close("matmul (frozen rhs)", &host(out), &host(want.clone()), 1e-6);
    assert_close(
        "matmul dx (frozen rhs)",
        &host(x.grad(&grads).unwrap()),
        &host(xr.grad(&g).unwrap()),
        1e-6,
    );
    // Without autodiff; and an empty inner dimension gives zeros, as burn's does.
    let plain = Device::flex();
    let y = fused::matmul(
        f32_tensor(&a, [6, 5], &plain),
        f32_tensor(&b, [5, 4], &plain),
    );
    assert_close("matmul (no autodiff)", &host(y), &host(want), 1e-6);
    let empty = fused::matmul(
        f32_tensor(&[], [3, 0], &plain),
        f32_tensor(&[], [0, 2], &plain),
    );
    assert_eq!(host(empty), vec![0.0; 6]);
}
