//! NextQuill objective tests: reference values from `fixtures/gen_nextquill_reference.py`
//! (torch float64), the identities of the research notes §1.7, gradient flow, invariants and
//! bad input.

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use prefopt_objectives::Error;
use prefopt_objectives::nextquill::{
    DataEffectSource, FrozenLogits, NextQuillConfig, NextQuillInputs, NextQuillMetrics,
    NextQuillOutput, NextQuillVariant, TokenWeighting, WeightNormalization,
};
use prefopt_testkit::{Tolerance, assert_all_close};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/nextquill_reference.json");

fn host(t: Tensor<1>) -> Vec<f64> {
    t.try_into_vec_as::<f64>().expect("float readback")
}

fn host2(t: Tensor<2>) -> Vec<f64> {
    t.try_into_vec_as::<f64>().expect("float readback")
}

fn host3(t: Tensor<3>) -> Vec<f64> {
    t.try_into_vec_as::<f64>().expect("float readback")
}

fn scalar(t: Tensor<1>) -> f64 {
    host(t)[0]
}

fn float3(flat: Vec<f64>, shape: [usize; 3], device: &Device, dtype: DType) -> Tensor<3> {
    Tensor::from_data(TensorData::new(flat, shape), (device, dtype))
}

fn ints(flat: Vec<i64>, shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(flat, shape), device)
}

fn bools(flat: Vec<bool>, shape: [usize; 2], device: &Device) -> Tensor<2, Bool> {
    Tensor::from_data(TensorData::new(flat, shape), device)
}

/// Flattens a JSON nested array of numbers, returning the values and the shape.
fn flatten(v: &Value) -> (Vec<f64>, Vec<usize>) {
    match v {
        Value::Array(items) => {
            let mut flat = Vec::new();
            let mut inner = Vec::new();
            for item in items {
                let (f, s) = flatten(item);
                flat.extend(f);
                inner = s;
            }
            let mut shape = vec![items.len()];
            shape.extend(inner);
            (flat, shape)
        }
        Value::Bool(b) => (vec![f64::from(u8::from(*b))], vec![]),
        other => (vec![other.as_f64().expect("number")], vec![]),
    }
}

fn json3(v: &Value, device: &Device, dtype: DType) -> Tensor<3> {
    let (flat, s) = flatten(v);
    float3(flat, [s[0], s[1], s[2]], device, dtype)
}

/// Runs every (case, config) of the fixture at `dtype`, gradients included.
fn check_reference(dtype: DType, tol: f64) {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let device = Device::flex().autodiff();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        let inp = &case["inputs"];
        let name = inp["name"].as_str().unwrap();
        let (targets, ts) = flatten(&inp["targets"]);
        let (mask, _) = flatten(&inp["target_mask"]);
        let shape2 = [ts[0], ts[1]];
        for (cfg_name, res) in case["results"].as_object().unwrap() {
            let what = format!("{name}/{cfg_name}/{dtype:?}");
            // Partial config: missing keys take the defaults.
            let cfg: NextQuillConfig = serde_json::from_value(res["config"].clone()).unwrap();
            let nq = cfg.init().unwrap();
            let zh = json3(&inp["logits_with_history"], &device, dtype).require_grad();
            let zn = json3(&inp["logits_null_history"], &device, dtype).require_grad();
            let mut inputs = NextQuillInputs::new(
                zh.clone(),
                zn.clone(),
                ints(targets.iter().map(|&x| x as i64).collect(), shape2, &device),
                bools(mask.iter().map(|&x| x > 0.5).collect(), shape2, &device),
            );
            if cfg.data_effect_source == DataEffectSource::Fixed {
                inputs = inputs.with_frozen(FrozenLogits {
                    logits_with_history: json3(&inp["frozen_with_history"], &device, dtype),
                    logits_null_history: json3(&inp["frozen_null_history"], &device, dtype),
                });
            }
            let out = nq.forward(inputs).unwrap();
            assert_eq!(out.loss.dtype(), dtype, "{what}: loss dtype");
            let want = |k: &str| flatten(&res[k]).0;
            assert_all_close(
                &format!("{what} loss"),
                &host(out.loss.clone()),
                &want("loss"),
                Tolerance::rel(tol),
            );
            assert_all_close(
                &format!("{what} l_n"),
                &host(out.l_n.clone()),
                &want("l_n"),
                Tolerance::rel(tol),
            );
            assert_all_close(
                &format!("{what} l_p"),
                &host(out.l_p.clone()),
                &want("l_p"),
                Tolerance::rel(tol),
            );
            assert_all_close(
                &format!("{what} token_weights"),
                &host2(out.token_weights.clone()),
                &want("token_weights"),
                Tolerance::rel(tol),
            );
            assert_all_close(
                &format!("{what} data_effect"),
                &host2(out.data_effect.clone()),
                &want("data_effect"),
                Tolerance::rel(tol),
            );
            assert_all_close(
                &format!("{what} metrics"),
                &host(out.metrics.summary()),
                &want("metrics"),
                Tolerance::rel(tol),
            );
            let grads = out.loss.backward();
            let g_h = zh.grad(&grads).map(host3).unwrap();
            assert_all_close(
                &format!("{what} grad z_h"),
                &g_h,
                &want("grad_with_history"),
                Tolerance::rel(tol),
            );
            let g_n = zn
                .grad(&grads)
                .map(host3)
                .unwrap_or_else(|| vec![0.0; g_h.len()]);
            assert_all_close(
                &format!("{what} grad z_null"),
                &g_n,
                &want("grad_null_history"),
                Tolerance::rel(tol),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 30, "2 cases × 15 configs");
}

#[test]
fn matches_torch_reference_f64() {
    check_reference(DType::F64, 1e-6);
}

#[test]
fn matches_torch_reference_f32() {
    check_reference(DType::F32, 1e-5);
}

#[test]
fn fixture_metric_names_match() {
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let names: Vec<&str> = doc["metric_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, NextQuillMetrics::NAMES);
    // The fixture's defaults are the config's defaults.
    let defaults: NextQuillConfig = serde_json::from_value(doc["defaults"].clone()).unwrap();
    assert_eq!(defaults, NextQuillConfig::new());
}

/// Deterministic pseudo-random logits in [−scale, scale] (a small LCG; no RNG dependency).
fn pseudo_random(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
        })
        .collect()
}

struct Batch {
    zh: Vec<f64>,
    zn: Vec<f64>,
    targets: Vec<i64>,
    mask: Vec<bool>,
    shape: [usize; 3],
}

impl Batch {
    fn random(b: usize, t: usize, v: usize, seed: u64) -> Self {
        let n = b * t * v;
        Self {
            zh: pseudo_random(n, seed, 3.0),
            zn: pseudo_random(n, seed + 1, 3.0),
            targets: (0..b * t)
                .map(|i| ((i * 7 + seed as usize) % v) as i64)
                .collect(),
            mask: (0..b * t).map(|i| i % t != t - 1 || i / t == 0).collect(),
            shape: [b, t, v],
        }
    }

    fn inputs(&self, device: &Device, dtype: DType) -> (Tensor<3>, Tensor<3>, NextQuillInputs) {
        let [b, t, _] = self.shape;
        let leaf = |x: &[f64]| {
            let t = float3(x.to_vec(), self.shape, device, dtype);
            if device.is_autodiff() {
                t.require_grad()
            } else {
                t
            }
        };
        let (zh, zn) = (leaf(&self.zh), leaf(&self.zn));
        let inputs = NextQuillInputs::new(
            zh.clone(),
            zn.clone(),
            ints(self.targets.clone(), [b, t], device),
            bools(self.mask.clone(), [b, t], device),
        );
        (zh, zn, inputs)
    }

    fn run(&self, cfg: &NextQuillConfig) -> NextQuillOutput {
        let device = Device::flex();
        let (_, _, inputs) = self.inputs(&device, DType::F64);
        cfg.init().unwrap().forward(inputs).unwrap()
    }
}

// ---------------------------------------------------------------- §1.7 identities

#[test]
fn equal_passes_give_l_p_log_vocab() {
    for (v, seed) in [(2, 1), (3, 2), (7, 3), (50, 4)] {
        let mut batch = Batch::random(2, 3, v, seed);
        batch.zn = batch.zh.clone();
        for cfg in [
            NextQuillConfig::new(),
            NextQuillConfig::new().with_weight_alignment_term(true),
            NextQuillConfig::new().with_weight_normalization(WeightNormalization::Sequence),
        ] {
            let out = batch.run(&cfg);
            let l_p = scalar(out.l_p);
            assert!(
                (l_p - (v as f64).ln()).abs() < 1e-12,
                "V={v}: L_p {l_p} != ln V {}",
                (v as f64).ln()
            );
            // The history has no effect: no data-side effect, no preference-bearing token.
            let m = out.metrics.read();
            assert_eq!(m.preference_token_fraction, 0.0);
            assert!(m.mean_data_effect.abs() < 1e-15 && m.mean_gold_log_ratio.abs() < 1e-15);
        }
    }
}

#[test]
fn constant_null_row_makes_l_p_plain_cross_entropy() {
    let batch0 = Batch::random(2, 4, 6, 11);
    let [b, t, v] = batch0.shape;
    let mut batch = batch0;
    // A different constant at every position.
    batch.zn = (0..b * t * v)
        .map(|i| (i / v) as f64 * 0.37 - 1.1)
        .collect();
    let out = batch.run(&NextQuillConfig::new());
    // Independent plain CE (token mean over valid positions) of the with-history logits.
    let mut total = 0.0;
    let mut n = 0.0;
    for pos in 0..b * t {
        if !batch.mask[pos] {
            continue;
        }
        let row = &batch.zh[pos * v..(pos + 1) * v];
        let max = row.iter().cloned().fold(f64::MIN, f64::max);
        let lse = max + row.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
        total += lse - row[batch.targets[pos] as usize];
        n += 1.0;
    }
    let ce = total / n;
    let l_p = scalar(out.l_p.clone());
    assert!((l_p - ce).abs() < 1e-12, "L_p {l_p} vs CE {ce}");
    assert!((out.metrics.read().nll_with_history - ce).abs() < 1e-12);
    // And with uniform L_n (mce_only), L_n is the same CE.
    let mce = batch.run(&NextQuillConfig::new().with_variant(NextQuillVariant::MceOnly));
    assert!((scalar(mce.l_n) - ce).abs() < 1e-12);
}

#[test]
fn effect_distribution_is_the_probability_ratio() {
    // softmax(z^h − z^∅) ∝ p_h / p_∅: check through L_p,t = −log q_t(y_t) on one token.
    let device = Device::flex();
    let zh = [0.3, -1.2, 2.0, 0.7];
    let zn = [1.0, 0.4, -0.5, 0.2];
    let softmax = |z: &[f64]| {
        let s: f64 = z.iter().map(|x| x.exp()).sum();
        z.iter().map(|x| x.exp() / s).collect::<Vec<_>>()
    };
    let (ph, pn) = (softmax(&zh), softmax(&zn));
    let ratio: Vec<f64> = ph.iter().zip(&pn).map(|(a, b)| a / b).collect();
    let q2 = ratio[2] / ratio.iter().sum::<f64>();
    let out = NextQuillConfig::new()
        .init()
        .unwrap()
        .forward(NextQuillInputs::new(
            float3(zh.to_vec(), [1, 1, 4], &device, DType::F64),
            float3(zn.to_vec(), [1, 1, 4], &device, DType::F64),
            ints(vec![2], [1, 1], &device),
            bools(vec![true], [1, 1], &device),
        ))
        .unwrap();
    assert!((scalar(out.l_p) + q2.ln()).abs() < 1e-12);
    // DCE of the gold token is the probability difference.
    assert!((host2(out.data_effect)[0] - (ph[2] - pn[2])).abs() < 1e-12);
}

#[test]
fn weight_normalisation_sums_as_specified() {
    let batch = Batch::random(3, 5, 4, 21);
    let [b, t, _] = batch.shape;
    for weighting in [TokenWeighting::Threshold, TokenWeighting::SoftJs] {
        let base = NextQuillConfig::new().with_token_weighting(weighting);
        // batch: sum to 1 over the batch, 0 at padding.
        let w = host2(batch.run(&base).token_weights);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for (i, wi) in w.iter().enumerate() {
            assert!(*wi >= 0.0);
            if !batch.mask[i] {
                assert_eq!(*wi, 0.0);
            }
        }
        // sequence: every row with a valid token sums to 1.
        let w = host2(
            batch
                .run(
                    &base
                        .clone()
                        .with_weight_normalization(WeightNormalization::Sequence),
                )
                .token_weights,
        );
        for row in 0..b {
            let s: f64 = w[row * t..(row + 1) * t].iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "row {row}: {s}");
        }
        // token_count: mean raw weight = Σ ω̃.
        let out = batch.run(
            &base
                .clone()
                .with_weight_normalization(WeightNormalization::TokenCount),
        );
        let s: f64 = host2(out.token_weights).iter().sum();
        assert!((s - out.metrics.read().mean_preference_weight).abs() < 1e-12);
    }
    // sum (unnormalised) with threshold: only λ, ε and 0, and λ exactly where DCE > δ.
    let out =
        batch.run(&NextQuillConfig::new().with_weight_normalization(WeightNormalization::Sum));
    let w = host2(out.token_weights);
    let dce = host2(out.data_effect);
    let mut seen = [false; 2];
    for i in 0..b * t {
        let want = match (batch.mask[i], dce[i] > 0.05) {
            (false, _) => 0.0,
            (true, true) => 0.9,
            (true, false) => 0.1,
        };
        assert_eq!(w[i], want, "token {i}");
        if batch.mask[i] {
            seen[usize::from(dce[i] > 0.05)] = true;
        }
    }
    assert_eq!(
        seen,
        [true, true],
        "the batch must exercise both weight levels"
    );
}

// ---------------------------------------------------------------- gradient flow

/// Central finite differences of `f` at `x`, in f64.
fn finite_difference(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    (0..x.len())
        .map(|i| {
            let mut p = x.to_vec();
            p[i] += h;
            let mut m = x.to_vec();
            m[i] -= h;
            (f(&p) - f(&m)) / (2.0 * h)
        })
        .collect()
}

#[test]
fn gradient_reaches_null_pass_only_without_detach() {
    let device = Device::flex().autodiff();
    let batch = Batch::random(2, 3, 4, 5);
    let cfg = NextQuillConfig::new();
    // The threshold weights are piecewise constant: keep every DCE away from δ so that the
    // finite differences see the same weights as the analytic gradient.
    let dce = host2(batch.run(&cfg).data_effect);
    assert!(dce.iter().all(|d| (d - cfg.delta).abs() > 1e-3), "{dce:?}");

    let (zh, zn, inputs) = batch.inputs(&device, DType::F64);
    let out = cfg.init().unwrap().forward(inputs).unwrap();
    let grads = out.loss.backward();
    let g_n = host3(zn.grad(&grads).expect("null pass is in the graph"));
    let g_h = host3(zh.grad(&grads).unwrap());
    assert!(g_n.iter().any(|g| g.abs() > 1e-3), "{g_n:?}");

    let loss_at = |zh: &[f64], zn: &[f64]| {
        let b = Batch {
            zh: zh.to_vec(),
            zn: zn.to_vec(),
            targets: batch.targets.clone(),
            mask: batch.mask.clone(),
            shape: batch.shape,
        };
        scalar(b.run(&cfg).loss)
    };
    let fd_n = finite_difference(&batch.zn, |x| loss_at(&batch.zh, x));
    let fd_h = finite_difference(&batch.zh, |x| loss_at(x, &batch.zn));
    assert_all_close("d loss / d z_null", &g_n, &fd_n, Tolerance::rel(1e-7));
    assert_all_close("d loss / d z_h", &g_h, &fd_h, Tolerance::rel(1e-7));

    // With the null pass detached, it receives no gradient at all.
    let detached = cfg.clone().with_detach_null_history(true);
    let (zh, zn, inputs) = batch.inputs(&device, DType::F64);
    let out = detached.init().unwrap().forward(inputs).unwrap();
    let grads = out.loss.backward();
    let g_n = zn.grad(&grads).map(host3).unwrap_or_default();
    assert!(g_n.iter().all(|g| *g == 0.0), "{g_n:?}");
    // The with-history gradient is unchanged for L_n and still carries L_p's z^h part.
    let g_h2 = host3(zh.grad(&grads).unwrap());
    assert_all_close("detach keeps d/d z_h", &g_h2, &g_h, Tolerance::rel(1e-12));
}

#[test]
fn alignment_gradients_are_equal_and_opposite() {
    // ∂L_p/∂z^h = q − e_y = −∂L_p/∂z^∅ (research notes §1.7).
    let device = Device::flex().autodiff();
    let batch = Batch::random(2, 3, 5, 9);
    let (zh, zn, inputs) = batch.inputs(&device, DType::F64);
    let out = NextQuillConfig::new()
        .init()
        .unwrap()
        .forward(inputs)
        .unwrap();
    let grads = out.l_p.backward();
    let g_h = host3(zh.grad(&grads).unwrap());
    let g_n: Vec<f64> = host3(zn.grad(&grads).unwrap()).iter().map(|g| -g).collect();
    assert_all_close(
        "dL_p/dz_h vs -dL_p/dz_null",
        &g_h,
        &g_n,
        Tolerance::rel(1e-12),
    );
    assert!(g_h.iter().any(|g| g.abs() > 1e-3));
}

#[test]
fn dynamic_weights_carry_no_gradient_unless_asked() {
    // soft_js with detached weights: L_n's gradient w.r.t. z^∅ is 0 (z^∅ only enters ω);
    // not detached (the authors' unused JS path), it is not.
    let device = Device::flex().autodiff();
    let batch = Batch::random(2, 3, 4, 13);
    let base = NextQuillConfig::new()
        .with_token_weighting(TokenWeighting::SoftJs)
        .with_variant(NextQuillVariant::DceOnly);
    for (detach, expect_zero) in [(true, true), (false, false)] {
        let (_, zn, inputs) = batch.inputs(&device, DType::F64);
        let out = base
            .clone()
            .with_detach_weights(detach)
            .init()
            .unwrap()
            .forward(inputs)
            .unwrap();
        let grads = out.loss.backward();
        let g = zn.grad(&grads).map(host3).unwrap_or_default();
        let zero = g.iter().all(|x| *x == 0.0);
        assert_eq!(zero, expect_zero, "detach_weights = {detach}: {g:?}");
    }
}

// ---------------------------------------------------------------- variants, dtypes, edges

#[test]
fn variants_combine_the_terms_as_documented() {
    let batch = Batch::random(2, 4, 5, 17);
    let run = |v| batch.run(&NextQuillConfig::new().with_variant(v));
    let full = run(NextQuillVariant::Full);
    let (l_n, l_p, loss) = (
        scalar(full.l_n.clone()),
        scalar(full.l_p.clone()),
        scalar(full.loss.clone()),
    );
    assert!((loss - (l_n + 0.1 * l_p)).abs() < 1e-12);
    let dce_only = run(NextQuillVariant::DceOnly);
    assert_eq!(scalar(dce_only.loss), l_n);
    assert_eq!(scalar(dce_only.l_p), l_p, "l_p is still reported");
    let mce_only = run(NextQuillVariant::MceOnly);
    let nll = mce_only.metrics.read().nll_with_history;
    assert!(
        (scalar(mce_only.l_n) - nll).abs() < 1e-12,
        "uniform L_n is the token mean"
    );
    assert_eq!(scalar(mce_only.l_p), l_p, "code's L_p is uniform in both");
    let align = run(NextQuillVariant::MceDceAlignment);
    let weighted = batch.run(&NextQuillConfig::new().with_weight_alignment_term(true));
    assert_eq!(scalar(align.l_p), scalar(weighted.l_p));
    assert!((scalar(align.l_n) - nll).abs() < 1e-12);
}

#[test]
fn half_precision_is_upcast_and_f64_kept() {
    let device = Device::flex();
    let batch = Batch::random(1, 3, 4, 3);
    let reference = scalar(batch.run(&NextQuillConfig::new()).loss);
    for (dtype, want, tol) in [
        (DType::F64, DType::F64, 0.0),
        (DType::F32, DType::F32, 1e-5),
        (DType::BF16, DType::F32, 5e-2),
    ] {
        let (_, _, inputs) = batch.inputs(&device, dtype);
        let out = NextQuillConfig::new()
            .init()
            .unwrap()
            .forward(inputs)
            .unwrap();
        assert_eq!(out.loss.dtype(), want);
        let loss = scalar(out.loss);
        assert!(
            (loss - reference).abs() <= tol,
            "{dtype:?}: {loss} vs {reference}"
        );
    }
}

#[test]
fn all_padding_gives_zero_loss() {
    let mut batch = Batch::random(2, 2, 3, 1);
    batch.mask = vec![false; 4];
    batch.targets = vec![-100; 4];
    let out = batch.run(&NextQuillConfig::new());
    assert_eq!(scalar(out.loss), 0.0);
    assert_eq!(out.metrics.read().valid_tokens, 0.0);
    assert!(host(out.metrics.summary()).iter().all(|x| x.is_finite()));
}

// ---------------------------------------------------------------- properties

fn any_config() -> impl Strategy<Value = NextQuillConfig> {
    (
        prop_oneof![
            Just(NextQuillVariant::Full),
            Just(NextQuillVariant::MceOnly),
            Just(NextQuillVariant::DceOnly),
            Just(NextQuillVariant::MceDceAlignment),
        ],
        prop_oneof![
            Just(TokenWeighting::Threshold),
            Just(TokenWeighting::SoftJs)
        ],
        prop_oneof![
            Just(WeightNormalization::Batch),
            Just(WeightNormalization::Sequence),
            Just(WeightNormalization::TokenCount),
            Just(WeightNormalization::Sum),
        ],
        any::<bool>(),
    )
        .prop_map(|(variant, weighting, norm, detach)| {
            NextQuillConfig::new()
                .with_variant(variant)
                .with_token_weighting(weighting)
                .with_weight_normalization(norm)
                .with_detach_null_history(detach)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn large_logits_give_finite_loss_and_gradients(
        cfg in any_config(),
        b in 1usize..3,
        t in 1usize..4,
        v in 2usize..6,
        seed in 0u64..1000,
    ) {
        let device = Device::flex().autodiff();
        let mut batch = Batch::random(b, t, v, seed);
        batch.zh = pseudo_random(b * t * v, seed, 1e3);
        batch.zn = pseudo_random(b * t * v, seed + 7, 1e3);
        for dtype in [DType::F32, DType::F64] {
            let (zh, zn, inputs) = batch.inputs(&device, dtype);
            let out = cfg.init().unwrap().forward(inputs).unwrap();
            for x in host(Tensor::cat(vec![out.loss.clone(), out.l_n.clone(), out.l_p.clone()], 0)) {
                prop_assert!(x.is_finite(), "{dtype:?}: {x}");
            }
            let grads = out.loss.backward();
            let g = host3(zh.grad(&grads).unwrap());
            prop_assert!(g.iter().all(|x| x.is_finite()));
            if let Some(g) = zn.grad(&grads) {
                prop_assert!(host3(g).iter().all(|x| x.is_finite()));
            }
        }
    }

    #[test]
    fn masked_positions_never_change_the_loss(
        cfg in any_config(),
        seed in 0u64..1000,
        junk in -50.0f64..50.0,
        junk_target in -200i64..200,
    ) {
        let batch = Batch::random(2, 3, 4, seed);
        let base = batch.run(&cfg);
        let mut changed = Batch { zh: batch.zh.clone(), zn: batch.zn.clone(),
            targets: batch.targets.clone(), mask: batch.mask.clone(), shape: batch.shape };
        let v = batch.shape[2];
        for (pos, valid) in batch.mask.iter().enumerate() {
            if !valid {
                changed.targets[pos] = junk_target;
                for k in 0..v {
                    changed.zh[pos * v + k] = junk * (k as f64 + 1.0);
                    changed.zn[pos * v + k] = -junk + k as f64;
                }
            }
        }
        prop_assert!(changed.mask.iter().any(|m| !m));
        let other = changed.run(&cfg);
        prop_assert_eq!(host(base.loss), host(other.loss));
        prop_assert_eq!(host(base.l_n), host(other.l_n));
        prop_assert_eq!(host(base.l_p), host(other.l_p));
        prop_assert_eq!(host(base.metrics.summary()), host(other.metrics.summary()));
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn mismatched_shapes_are_named() {
    let device = Device::flex();
    let z = |s: [usize; 3]| float3(vec![0.0; s.iter().product()], s, &device, DType::F32);
    let y = |s: [usize; 2]| ints(vec![0; s[0] * s[1]], s, &device);
    let m = |s: [usize; 2]| bools(vec![true; s[0] * s[1]], s, &device);
    let nq = NextQuillConfig::new().init().unwrap();
    let expect = |inputs: NextQuillInputs, name: &str| match nq.forward(inputs) {
        Err(Error::ShapeMismatch { what, .. }) => assert_eq!(what, name),
        other => panic!("{name}: expected ShapeMismatch, got {other:?}"),
    };
    let good = [2, 3, 4];
    expect(
        NextQuillInputs::new(z(good), z([2, 3, 5]), y([2, 3]), m([2, 3])),
        "logits_null_history",
    );
    expect(
        NextQuillInputs::new(z(good), z(good), y([2, 2]), m([2, 3])),
        "targets",
    );
    expect(
        NextQuillInputs::new(z(good), z(good), y([2, 3]), m([3, 3])),
        "target_mask",
    );
    expect(
        NextQuillInputs::new(z([2, 0, 4]), z([2, 0, 4]), y([2, 0]), m([2, 0])),
        "logits_with_history",
    );
    let frozen = |a, b| FrozenLogits {
        logits_with_history: a,
        logits_null_history: b,
    };
    let fixed = NextQuillConfig::new()
        .with_data_effect_source(DataEffectSource::Fixed)
        .init()
        .unwrap();
    match fixed.forward(
        NextQuillInputs::new(z(good), z(good), y([2, 3]), m([2, 3]))
            .with_frozen(frozen(z(good), z([1, 3, 4]))),
    ) {
        Err(Error::ShapeMismatch {
            what,
            expected,
            got,
        }) => {
            assert_eq!(what, "frozen.logits_null_history");
            assert_eq!((expected, got), (vec![2, 3, 4], vec![1, 3, 4]));
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
}

#[test]
fn effect_source_and_frozen_logits_must_agree() {
    let device = Device::flex();
    let z = || float3(vec![0.5; 6], [1, 2, 3], &device, DType::F32);
    let inputs = || {
        NextQuillInputs::new(
            z(),
            z(),
            ints(vec![0, 1], [1, 2], &device),
            bools(vec![true, true], [1, 2], &device),
        )
    };
    let fixed = NextQuillConfig::new().with_data_effect_source(DataEffectSource::Fixed);
    for (cfg, inp) in [
        (fixed, inputs()),
        (
            NextQuillConfig::new(),
            inputs().with_frozen(FrozenLogits {
                logits_with_history: z(),
                logits_null_history: z(),
            }),
        ),
    ] {
        match cfg.init().unwrap().forward(inp) {
            Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "data_effect_source"),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }
}

#[test]
fn config_reads_partial_tables_and_rejects_unknown_keys() {
    let cfg: NextQuillConfig = serde_json::from_str(
        r#"{"variant": "mce_dce_alignment", "delta": 0.1, "weight_normalization": "sum"}"#,
    )
    .unwrap();
    assert_eq!(cfg.variant, NextQuillVariant::MceDceAlignment);
    assert_eq!((cfg.delta, cfg.lambda, cfg.alpha), (0.1, 0.9, 0.1));
    assert_eq!(cfg.weight_normalization, WeightNormalization::Sum);
    let back: NextQuillConfig =
        serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    assert!(serde_json::from_str::<NextQuillConfig>(r#"{"lamda": 0.5}"#).is_err());
    let err = serde_json::from_str::<NextQuillConfig>(r#"{"delta": 1.0}"#)
        .unwrap()
        .init()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { field: "delta", .. }),
        "{err}"
    );
}

#[test]
fn frozen_logits_may_come_from_a_non_autodiff_device() {
    // A frozen data model typically runs without autodiff (`model.valid()`); its logits mix
    // with the trained model's as constants. Same numbers as the fixture's `fixed` config.
    let doc: Value = serde_json::from_str(FIXTURE).unwrap();
    let case = &doc["cases"][0];
    let (inp, want) = (&case["inputs"], &case["results"]["fixed"]);
    let train = Device::flex().autodiff();
    let plain = Device::flex();
    let zh = json3(&inp["logits_with_history"], &train, DType::F64).require_grad();
    let zn = json3(&inp["logits_null_history"], &train, DType::F64).require_grad();
    let inputs = NextQuillInputs::new(
        zh.clone(),
        zn,
        ints(vec![0, 1, 2, -100], [2, 2], &train),
        bools(vec![true, true, true, false], [2, 2], &train),
    )
    .with_frozen(FrozenLogits {
        logits_with_history: json3(&inp["frozen_with_history"], &plain, DType::F64),
        logits_null_history: json3(&inp["frozen_null_history"], &plain, DType::F64),
    });
    let out = NextQuillConfig::new()
        .with_data_effect_source(DataEffectSource::Fixed)
        .init()
        .unwrap()
        .forward(inputs)
        .unwrap();
    assert_all_close(
        "loss",
        &host(out.loss.clone()),
        &flatten(&want["loss"]).0,
        Tolerance::rel(1e-12),
    );
    let grads = out.loss.backward();
    let g = host3(zh.grad(&grads).unwrap());
    assert_all_close(
        "grad",
        &g,
        &flatten(&want["grad_with_history"]).0,
        Tolerance::rel(1e-12),
    );
}
