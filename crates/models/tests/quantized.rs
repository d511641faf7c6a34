//! Weights kept quantized (`prefopt_models::quantized`, issue 20): the product against
//! dequantize-then-f64 for every type with integer kernels, values and input gradients, on both
//! paths and across dequantization chunks; whole models from the GGUF fixtures against the same
//! files loaded in f32 and against transformers; QLoRA gradients, merging and export.

use burn::module::{Module, Param};
use burn::prelude::*;
use half::f16;
use prefopt_gguf::{GgmlType, QuantizedMatrix};
use prefopt_models::quantized::{
    INTEGER_KERNEL_MAX_ROWS, QuantizedPath, QuantizedWeight, quantized_matmul,
};
use prefopt_models::{BaseLinear, CausalLm, LoadOptions, LoraConfig};

use crate::gguf::{fixture, flat, input_ids, logits, reference};

/// The types with integer kernels, and the byte offsets of their f16 scale fields.
const TYPES: [(GgmlType, &[usize]); 7] = [
    (GgmlType::Q8_0, &[0]),
    (GgmlType::Q4_0, &[0]),
    (GgmlType::Q4_1, &[0, 2]),
    (GgmlType::Q5_0, &[0]),
    (GgmlType::Q5_1, &[0, 2]),
    (GgmlType::Q4_K, &[0, 2]),
    (GgmlType::Q6_K, &[208]),
];

/// Random valid blocks: random quants, f16 scales drawn small and finite (as
/// `fixtures/gguf/make_tiny_llama.py` writes k-quant blocks).
fn random_matrix(
    ty: GgmlType,
    scales: &[usize],
    rows: usize,
    cols: usize,
    seed: u64,
) -> QuantizedMatrix {
    let mut rng = prefopt_core::SplitMix64::new(seed);
    let (block, size) = (ty.block_size() as usize, ty.type_size() as usize);
    let n_blocks = rows * cols / block;
    let mut bytes: Vec<u8> = (0..n_blocks * size)
        .map(|_| (rng.next_u64() & 0xff) as u8)
        .collect();
    for b in bytes.chunks_exact_mut(size) {
        for &at in scales {
            let h = f16::from_f64((rng.next_f64() * 2.0 - 1.0) * 0.02 + 0.03);
            b[at..at + 2].copy_from_slice(&h.to_le_bytes());
        }
    }
    QuantizedMatrix::new(ty, rows, cols, bytes).unwrap()
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = prefopt_core::SplitMix64::new(seed);
    (0..n)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect()
}

fn host(t: Tensor<2>) -> Vec<f64> {
    t.try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `max |got − want|` over `max |want|`.
fn relative_max(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
        / scale
}

/// `y = x Wᵀ` and `dx = g W` in f64 from the exactly dequantized weight.
fn reference_product(
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    g: &[f32],
) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / cols;
    let mut y = vec![0f64; n * rows];
    let mut dx = vec![0f64; n * cols];
    for i in 0..n {
        for r in 0..rows {
            let wr = &w[r * cols..(r + 1) * cols];
            let xi = &x[i * cols..(i + 1) * cols];
            y[i * rows + r] = wr
                .iter()
                .zip(xi)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let gi = f64::from(g[i * rows + r]);
            for (d, &a) in dx[i * cols..(i + 1) * cols].iter_mut().zip(wr) {
                *d += gi * f64::from(a);
            }
        }
    }
    (y, dx)
}

/// The product and the input gradient of `sum(y · g)`, through autodiff.
fn product_and_grad(
    w: &QuantizedWeight,
    x: &[f32],
    g: &[f32],
    path: QuantizedPath,
) -> (Vec<f64>, Vec<f64>) {
    let device = Device::flex().autodiff();
    let (n, cols, rows) = (x.len() / w.d_in(), w.d_in(), w.d_out());
    let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, cols]), &device).require_grad();
    let gt = Tensor::<2>::from_data(TensorData::new(g.to_vec(), [n, rows]), &device);
    let y = quantized_matmul(xt.clone(), w, path);
    let grads = (y.clone() * gt).sum().backward();
    let dx = xt.grad(&grads).expect("input gradient");
    (host(y.inner()), host(dx))
}

#[test]
fn every_type_matches_dequantized_f64_on_both_paths_with_input_gradients() {
    for (i, (ty, scales)) in TYPES.into_iter().enumerate() {
        let cols = if ty.block_size() == 256 { 512 } else { 96 };
        let rows = 40;
        let w = QuantizedWeight::new(random_matrix(ty, scales, rows, cols, 7 + i as u64));
        let dense = w.matrix().dequantize();
        let big = INTEGER_KERNEL_MAX_ROWS + 9;
        for (n, path) in [
            (3, QuantizedPath::Decode),
            (3, QuantizedPath::Exact),
            (big, QuantizedPath::Decode),
            (big, QuantizedPath::Exact),
        ] {
            let x = values(n * cols, 100 + i as u64);
            let g = values(n * rows, 200 + i as u64);
            let (y, dx) = product_and_grad(&w, &x, &g, path);
            let (y_ref, dx_ref) = reference_product(&dense, rows, cols, &x, &g);
            // The input gradient always dequantizes exactly (f32 GEMM).
            let dx_err = relative_max(&dx, &dx_ref);
            assert!(dx_err < 1e-5, "{ty} n={n}: dx relative error {dx_err:e}");
            if path == QuantizedPath::Exact || n > INTEGER_KERNEL_MAX_ROWS {
                let err = relative_max(&y, &y_ref);
                assert!(
                    err < 1e-5,
                    "{ty} n={n} {path:?}: exact path relative error {err:e}"
                );
            } else {
                // Integer kernels: each input rounded to 8 bits per block moves by at most
                // max|x_block| / 254 (the crate's stated bound, plus f32 slack).
                let block = if ty.block_size() == 256 { 256 } else { 32 };
                for s in 0..n {
                    let xs = &x[s * cols..(s + 1) * cols];
                    for r in 0..rows {
                        let wr = &dense[r * cols..(r + 1) * cols];
                        let bound: f64 = wr
                            .chunks(block)
                            .zip(xs.chunks(block))
                            .map(|(wb, xb)| {
                                let xmax = xb.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
                                wb.iter().map(|&v| f64::from(v).abs()).sum::<f64>() * xmax / 254.0
                            })
                            .sum();
                        let slack: f64 = wr
                            .iter()
                            .zip(xs)
                            .map(|(&a, &b)| f64::from(a * b).abs())
                            .sum();
                        let diff = (y[s * rows + r] - y_ref[s * rows + r]).abs();
                        assert!(
                            diff <= bound + 1e-4 * slack,
                            "{ty} n={n} row {r}: |Δ| {diff:e} above the 8-bit bound {bound:e}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_weight_larger_than_one_dequantization_chunk_is_exact() {
    // 140 000 × 32 Q8_0 = 4.48 M weights: two chunks of 4 M.
    let (rows, cols, n) = (140_000, 32, INTEGER_KERNEL_MAX_ROWS + 4);
    let w = QuantizedWeight::new(random_matrix(GgmlType::Q8_0, &[0], rows, cols, 3));
    let x = values(n * cols, 4);
    let g = values(n * rows, 5);
    let (y, dx) = product_and_grad(&w, &x, &g, QuantizedPath::Exact);
    let (y_ref, dx_ref) = reference_product(&w.matrix().dequantize(), rows, cols, &x, &g);
    assert!(relative_max(&y, &y_ref) < 1e-5);
    assert!(relative_max(&dx, &dx_ref) < 1e-5);
}

fn load(name: &str, keep_quantized: bool) -> CausalLm {
    let options = LoadOptions { keep_quantized };
    CausalLm::load_with(fixture(name), &Device::flex(), &options).unwrap()
}

#[test]
fn a_quantized_model_gives_the_f32_models_logits_and_transformers() {
    let reference = reference();
    for name in ["tiny_llama.gguf", "tiny_llama_tied.gguf"] {
        let dense = load(name, false);
        let quant = load(name, true);
        assert!(quant.is_quantized() && !dense.is_quantized());
        // Only the norms (and the BF16 output head of the untied file) stay f32 parameters.
        assert!(
            quant.num_params() * 10 < dense.num_params(),
            "{name}: {} f32 parameters kept of {}",
            quant.num_params(),
            dense.num_params()
        );
        // 2 × 12 tokens = 24 rows: the dequantizing GEMM path, equal up to summation order.
        let got = logits(&quant, input_ids(&reference));
        let f32_logits = logits(&dense, input_ids(&reference));
        let err = relative_max(&got, &f32_logits);
        assert!(
            err < 1e-5,
            "{name}: relative difference to the f32 model {err:e}"
        );
        let want = flat(&reference["logits"][name]);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "{name}: max |Δ| to transformers {worst:e}");
    }
}

/// Logits of a cached (decoding) forward from an empty cache.
fn cached_logits(model: &CausalLm, ids: Tensor<2, Int>) -> Vec<f64> {
    let mut cache = model.new_cache();
    model
        .forward_cached(ids, None, &mut cache)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn decoding_steps_run_the_integer_kernels_and_full_forwards_stay_exact() {
    let reference = reference();
    let ids: Vec<Vec<i64>> = serde_json::from_value(reference["input_ids"].clone()).unwrap();
    let row = Tensor::<2, Int>::from_data(
        TensorData::new(ids[0].clone(), [1, ids[0].len()]),
        &Device::flex(),
    );
    for name in ["tiny_llama.gguf", "tiny_llama_tied.gguf"] {
        let (quant, dense) = (load(name, true), load(name, false));
        // A full forward of one short row stays on the exact path.
        let exact = relative_max(&logits(&quant, row.clone()), &logits(&dense, row.clone()));
        assert!(exact < 1e-5, "{name}: full forward differs by {exact:e}");
        // A cached step of 12 rows ≤ INTEGER_KERNEL_MAX_ROWS: 8-bit activations, as llama.cpp
        // decodes.
        let got = cached_logits(&quant, row.clone());
        let want = cached_logits(&dense, row.clone());
        let err = relative_max(&got, &want);
        assert!(
            err > 1e-5,
            "{name}: the decode path should differ by its rounding ({err:e})"
        );
        assert!(err < 3e-2, "{name}: decode relative max difference {err:e}");
    }
}

fn lora_config() -> LoraConfig {
    LoraConfig {
        r: 4,
        lora_alpha: 8.0,
        target_modules: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
        .map(String::from)
        .to_vec(),
        ..LoraConfig::default()
    }
}

/// Gives every adapter a non-zero `B` drawn from `seed`.
fn perturb_adapters(model: CausalLm, seed: u64) -> CausalLm {
    let mut model = model;
    let mut k = seed;
    for layer in &mut model.model.layers {
        let a = &mut layer.self_attn;
        let m = &mut layer.mlp;
        for adapter in [
            &mut a.q_proj_lora,
            &mut a.k_proj_lora,
            &mut a.v_proj_lora,
            &mut a.o_proj_lora,
            &mut m.gate_proj_lora,
            &mut m.up_proj_lora,
            &mut m.down_proj_lora,
        ]
        .into_iter()
        .flatten()
        {
            let b = adapter.lora_b.val();
            let [r, out] = b.dims();
            k += 1;
            let v: Vec<f32> = values(r * out, k).into_iter().map(|x| x * 0.05).collect();
            adapter.lora_b =
                Param::from_tensor(Tensor::from_data(TensorData::new(v, [r, out]), &b.device()));
        }
    }
    model
}

#[test]
fn qlora_adapters_get_the_gradients_of_the_f32_base_and_merge_into_it() {
    let reference = reference();
    let device = Device::flex().autodiff();
    let ids = input_ids(&reference);
    let [b, t] = ids.dims();
    let ids = Tensor::<2, Int>::from_data(ids.into_data(), &device);
    let ones = Tensor::<2, Int>::ones([b, t], &device);
    let completion = Tensor::<2, Int>::from_data(
        TensorData::new(
            (0..b * t)
                .map(|i| i64::from(i % t >= 4))
                .collect::<Vec<_>>(),
            [b, t],
        ),
        &device,
    );
    let build = |keep_quantized: bool| {
        let options = LoadOptions { keep_quantized };
        let base = CausalLm::load_with(fixture("tiny_llama_tied.gguf"), &device, &options).unwrap();
        perturb_adapters(base.with_lora(&lora_config(), 11).unwrap(), 12)
    };
    let (quant, dense) = (build(true), build(false));
    let grads_of = |model: &CausalLm| {
        let lp = model
            .completion_logprobs(ids.clone(), ones.clone(), completion.clone())
            .unwrap();
        let grads = lp.summed.sum().backward();
        let attn = &model.model.layers[1].self_attn;
        let a = attn
            .q_proj_lora
            .as_ref()
            .unwrap()
            .lora_a
            .val()
            .grad(&grads)
            .unwrap();
        let bg = model.model.layers[0]
            .mlp
            .down_proj_lora
            .as_ref()
            .unwrap()
            .lora_b
            .val()
            .grad(&grads)
            .unwrap();
        (host(a), host(bg))
    };
    let (qa, qb) = grads_of(&quant);
    let (da, db) = grads_of(&dense);
    assert!(qa.iter().any(|v| *v != 0.0) && qb.iter().any(|v| *v != 0.0));
    assert!(
        relative_max(&qa, &da) < 1e-4,
        "A gradient {:e}",
        relative_max(&qa, &da)
    );
    assert!(
        relative_max(&qb, &db) < 1e-4,
        "B gradient {:e}",
        relative_max(&qb, &db)
    );

    // Merged, the quantized base becomes f32 layers equal to the merged f32 model.
    let infer = |m: CausalLm| logits(&m, input_ids(&reference));
    let merged_q = quant.valid().merge_adapters().unwrap();
    assert!(matches!(
        merged_q.model.layers[0].self_attn.q_proj,
        BaseLinear::Dense(_)
    ));
    let merged_d = dense.valid().merge_adapters().unwrap();
    let err = relative_max(&infer(merged_q), &infer(merged_d));
    assert!(err < 1e-5, "merged logits differ by {err:e}");
}

#[test]
fn a_quantized_model_exports_the_f32_checkpoint() {
    let quant = load("tiny_llama.gguf", true);
    let dense = load("tiny_llama.gguf", false);
    let dir = tempfile::tempdir().unwrap();
    quant.save_hf(dir.path()).unwrap();
    let back = CausalLm::load(dir.path(), &Device::flex()).unwrap();
    let ids = input_ids(&reference());
    assert_eq!(logits(&back, ids.clone()), logits(&dense, ids));
}
