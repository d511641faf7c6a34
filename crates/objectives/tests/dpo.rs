//! DPO family tests: reference values, invariants, gradients, properties and bad input.
//!
//! Sources of the expected numbers:
//! - `TABLE_A`: `shared/research/dpo-lipo-grpo.md` §1.10-A (float64 evaluation of TRL HEAD's
//!   formulas on torchtune's DPO unit-test vector, lengths |y_c| = [5, 20, 10],
//!   |y_r| = [3, 40, 30]); printed to 6 decimals.
//! - `fixtures/dpo_reference.json`: `fixtures/gen_dpo_reference.py` (independent NumPy float64
//!   implementation; versions and seed inside the file).

use burn::tensor::{DType, Device, Tensor, TensorData};
use prefopt_objectives::Error;
use prefopt_objectives::dpo::{
    CpoConfig, CpoInputs, CpoLossType, Dpo, DpoConfig, DpoInputs, DpoLossType, FDivergenceType,
    IpoNormalization, PairMetrics, TailLogps, WpoLogWeights, log_sum_squared_probs, shared_lengths,
    tail_logps, wpo_log_weights,
};
use prefopt_testkit::{Tolerance, assert_all_close, assert_close};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// helpers

fn tensor(v: &[f64], dtype: DType, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), (device, dtype))
}

fn tensor2(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Tensor<2> {
    let cols = rows[0].len();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), (device, dtype))
}

fn read(t: Tensor<1>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().unwrap()
}

fn scalar(t: Tensor<1>) -> f64 {
    let v = read(t);
    assert_eq!(v.len(), 1);
    v[0]
}

/// Tolerance per dtype: 1e-6 in f64 (the table is printed to 6 decimals), 1e-5 in f32.
fn tol(dtype: DType) -> f64 {
    if dtype == DType::F64 { 1e-6 } else { 1e-5 }
}

/// Tolerance against the float64 generator: both sides compute the same formulas in f64.
fn fixture_tol(dtype: DType) -> f64 {
    if dtype == DType::F64 { 1e-11 } else { 1e-5 }
}

#[derive(Clone, Debug)]
struct Pairs {
    pc: Vec<f64>,
    pr: Vec<f64>,
    rc: Vec<f64>,
    rr: Vec<f64>,
    lc: Vec<f64>,
    lr: Vec<f64>,
}

impl Pairs {
    fn inputs(&self, dtype: DType, device: &Device) -> DpoInputs {
        DpoInputs::new(
            tensor(&self.pc, dtype, device),
            tensor(&self.pr, dtype, device),
            tensor(&self.rc, dtype, device),
            tensor(&self.rr, dtype, device),
            tensor(&self.lc, dtype, device),
            tensor(&self.lr, dtype, device),
        )
    }

    fn swapped(&self) -> Pairs {
        Pairs {
            pc: self.pr.clone(),
            pr: self.pc.clone(),
            rc: self.rr.clone(),
            rr: self.rc.clone(),
            lc: self.lr.clone(),
            lr: self.lc.clone(),
        }
    }
}

/// torchtune's DPO unit-test vector with the research file's assumed lengths.
fn tt_pairs() -> Pairs {
    Pairs {
        pc: vec![-0.5, -10.0, -1.0],
        pr: vec![-0.1, -30.0, -21.0],
        rc: vec![-0.5, -10.1, -0.1],
        rr: vec![-0.1, -20.1, -0.1],
        lc: vec![5.0, 20.0, 10.0],
        lr: vec![3.0, 40.0, 30.0],
    }
}

fn single(ty: DpoLossType) -> DpoConfig {
    DpoConfig::new().with_loss_type(vec![ty])
}

// ---------------------------------------------------------------------------------------------
// §1.10-A

/// (row of the table, config, per pair, batch mean).
// The values are copied as printed (6 decimals); 0.693147 is ln 2 rounded, on purpose.
#[allow(clippy::approx_constant)]
fn table_a() -> Vec<(&'static str, DpoConfig, [f64; 3], f64)> {
    use DpoLossType as T;
    vec![
        (
            "sigmoid",
            single(T::Sigmoid),
            [0.693147, 0.313262, 0.126928],
            0.377779,
        ),
        ("hinge", single(T::Hinge), [1.0, 0.0, 0.0], 0.333333),
        (
            "ipo (length-normalised)",
            single(T::Ipo),
            [25.0, 22.538756, 19.301378],
            22.280045,
        ),
        (
            "ipo (summed)",
            single(T::Ipo).with_ipo_normalization(IpoNormalization::Summed),
            [25.0, 25.0, 225.0],
            91.666667,
        ),
        (
            "exo_pair",
            single(T::ExoPair).with_label_smoothing(1e-3),
            [2.761231, 1.276310, 0.458972],
            1.498838,
        ),
        (
            "nca_pair",
            single(T::NcaPair),
            [1.386294, 1.195220, 1.122047],
            1.234520,
        ),
        (
            "robust",
            single(T::Robust).with_label_smoothing(0.1),
            [0.693147, 0.188262, -0.123072],
            0.252779,
        ),
        (
            "cDPO",
            single(T::Sigmoid).with_label_smoothing(0.1),
            [0.693147, 0.413262, 0.326928],
            0.477779,
        ),
        (
            "bco_pair",
            single(T::BcoPair),
            [1.386294, 1.004121, 0.855775],
            1.082063,
        ),
        (
            "sppo_hard",
            single(T::SppoHard),
            [50.0, 48.02, 287.62],
            128.546667,
        ),
        (
            "aot",
            single(T::Aot),
            [0.693147, 0.126928, 0.313262],
            0.377779,
        ),
        (
            "aot_unpaired",
            single(T::AotUnpaired),
            [0.126928, 0.315961, 0.688160],
            0.377016,
        ),
        (
            "apo_zero",
            single(T::ApoZero),
            [1.0, 0.768412, 0.632557],
            0.800323,
        ),
        (
            "apo_down",
            single(T::ApoDown),
            [1.0, 0.771441, 0.596718],
            0.789386,
        ),
        (
            "discopop",
            single(T::Discopop),
            [0.846574, 0.367879, 0.135335],
            0.449929,
        ),
        (
            "sigmoid_norm",
            single(T::SigmoidNorm),
            [0.693147, 0.680602, 0.663274],
            0.679008,
        ),
        (
            "sigmoid + js_divergence",
            single(T::Sigmoid).with_f_divergence_type(FDivergenceType::JsDivergence),
            [0.693147, 0.333831, 0.131056],
            0.386012,
        ),
    ]
}

/// The table is printed to 6 decimals: absolute 1e-6 in f64; in f32, 1e-5 relative to
/// max(1, |value|) (an f32 ulp at 287.62 is already 3e-5).
fn assert_table(got: &[f64], want: &[f64], dtype: DType, what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if dtype == DType::F64 {
            assert!((g - w).abs() <= 1e-6, "{what}[{i}]: got {g}, want {w}");
        } else {
            assert_close(&format!("{what}[{i}]"), *g, *w, Tolerance::rel(1e-5));
        }
    }
}

fn check_table_a(dtype: DType) {
    let device = Device::flex();
    for (row, cfg, per_pair, mean) in table_a() {
        let out = cfg
            .init()
            .unwrap()
            .forward(tt_pairs().inputs(dtype, &device))
            .unwrap();
        assert_eq!(out.loss.dtype(), dtype, "{row}: dtype");
        assert_eq!(out.loss.dims(), [1], "{row}: loss shape");
        assert_table(&read(out.per_pair.clone()), &per_pair, dtype, row);
        assert_table(&[scalar(out.loss.clone())], &[mean], dtype, row);

        // Metrics line of §1.10-A (independent of the loss type).
        let m = &out.metrics;
        assert_all_close(
            row,
            &read(m.rewards_chosen.clone()),
            &[0.0, 0.01, -0.09],
            Tolerance::rel(tol(dtype)),
        );
        assert_all_close(
            row,
            &read(m.rewards_rejected.clone()),
            &[0.0, -0.99, -2.09],
            Tolerance::rel(tol(dtype)),
        );
        assert_all_close(
            row,
            &read(m.margins()),
            &[0.0, 1.0, 2.0],
            Tolerance::rel(tol(dtype)),
        );
        assert_eq!(
            read(m.accuracies()),
            vec![0.0, 1.0, 1.0],
            "{row}: accuracies"
        );
        let v = out.read_metrics();
        let want = [
            ("rewards/chosen", -0.08 / 3.0),
            ("rewards/rejected", -3.08 / 3.0),
            ("rewards/margins", 1.0),
            ("rewards/accuracies", 2.0 / 3.0),
            ("logps/chosen", -11.5 / 3.0),
            ("logps/rejected", -51.1 / 3.0),
        ];
        for ((name, got), (want_name, want)) in v.named().iter().zip(want) {
            assert_eq!(*name, want_name);
            assert_close(name, *got, want, Tolerance::rel(tol(dtype)));
        }
    }
}

#[test]
fn table_a_f64() {
    check_table_a(DType::F64);
}

#[test]
fn table_a_f32() {
    check_table_a(DType::F32);
}

#[test]
fn metric_names_are_trl_names() {
    assert_eq!(
        PairMetrics::NAMES,
        [
            "rewards/chosen",
            "rewards/rejected",
            "rewards/margins",
            "rewards/accuracies",
            "logps/chosen",
            "logps/rejected"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// dtype

#[test]
fn f64_data_needs_an_explicit_dtype_and_then_computes_in_f64() {
    let device = Device::flex();
    // burn 0.22: `from_data` converts to the device's default float dtype (f32) unless a dtype
    // is given; this is the trap the helpers above avoid.
    let implicit = Tensor::<1>::from_data(TensorData::new(vec![1.0f64], [1]), &device);
    assert_eq!(implicit.dtype(), DType::F32);
    let explicit = tensor(&[1.0], DType::F64, &device);
    assert_eq!(explicit.dtype(), DType::F64);

    // Δ = 1e-6 survives only in f64: 1e4 + 1e-6 rounds to 1e4 in f32.
    let pairs = Pairs {
        pc: vec![1e4 + 1e-6],
        pr: vec![1e4],
        rc: vec![1e4],
        rr: vec![1e4],
        lc: vec![1.0],
        lr: vec![1.0],
    };
    let dpo = DpoConfig::new().init().unwrap();
    let f64_out = dpo.forward(pairs.inputs(DType::F64, &device)).unwrap();
    let f32_out = dpo.forward(pairs.inputs(DType::F32, &device)).unwrap();
    assert_eq!(f64_out.loss.dtype(), DType::F64);
    assert_eq!(f32_out.loss.dtype(), DType::F32);
    let delta = (1e4 + 1e-6) - 1e4; // Δ as f64 sees it (≈ 1e-6)
    let f64_margin = read(f64_out.metrics.margins())[0];
    let f32_margin = read(f32_out.metrics.margins())[0];
    assert!(
        (f64_margin - 0.1 * delta).abs() < 1e-15,
        "f64 margin {f64_margin}"
    );
    assert_eq!(f32_margin, 0.0, "f32 rounds 1e4 + 1e-6 to 1e4");
    let want = -(1.0 / (1.0 + (-0.1 * delta).exp())).ln();
    let f64_loss = scalar(f64_out.loss);
    assert!((f64_loss - want).abs() < 1e-13, "f64 {f64_loss} vs {want}");
    assert!(std::f64::consts::LN_2 - f64_loss > 4e-8, "f64 sees Δ");

    // Mixed inputs are cast to the policy's dtype.
    let mixed = DpoInputs::new(
        tensor(&pairs.pc, DType::F64, &device),
        tensor(&pairs.pr, DType::F32, &device),
        tensor(&pairs.rc, DType::F32, &device),
        tensor(&pairs.rr, DType::F32, &device),
        tensor(&pairs.lc, DType::F32, &device),
        tensor(&pairs.lr, DType::F32, &device),
    );
    assert_eq!(dpo.forward(mixed).unwrap().loss.dtype(), DType::F64);
}

#[test]
fn burn_log_sigmoid_and_sigmoid_are_stable_at_1e4() {
    use burn::tensor::activation::{log_sigmoid, sigmoid};
    for dtype in [DType::F32, DType::F64] {
        let device = Device::flex().autodiff();
        let x = tensor(&[-1e4, -50.0, 0.0, 50.0, 1e4], dtype, &device).require_grad();
        let y = log_sigmoid(x.clone());
        let values = read(y.clone());
        let want = [-1e4, -50.0, -std::f64::consts::LN_2, -(-50.0f64).exp(), 0.0];
        for (v, w) in values.iter().zip(want) {
            assert!(
                (v - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{dtype:?}: {v} vs {w}"
            );
        }
        let grads = y.sum().backward();
        let g = read(x.grad(&grads).unwrap());
        // d/dx log σ(x) = σ(−x).
        assert_eq!(g[0], 1.0);
        assert_eq!(g[4], 0.0);
        assert!(g.iter().all(|v| v.is_finite()));
        let s = read(sigmoid(tensor(&[-1e4, 1e4], dtype, &Device::flex())));
        assert_eq!(s, vec![0.0, 1.0]);
    }
}

// ---------------------------------------------------------------------------------------------
// invariants

fn random_pairs(seed: u64, n: usize) -> Pairs {
    // Small deterministic generator (no extra dependency).
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut v = |lo: f64, hi: f64| (0..n).map(|_| lo + (hi - lo) * next()).collect::<Vec<_>>();
    let pc = v(-60.0, -1.0);
    let pr = v(-60.0, -1.0);
    let rc = v(-60.0, -1.0);
    let rr = v(-60.0, -1.0);
    let lc = v(1.0, 50.0).iter().map(|x| x.round()).collect();
    let lr = v(1.0, 50.0).iter().map(|x| x.round()).collect();
    Pairs {
        pc,
        pr,
        rc,
        rr,
        lc,
        lr,
    }
}

#[test]
fn bradley_terry_losses_are_ln2_at_the_reference() {
    use DpoLossType as T;
    let device = Device::flex();
    let mut pairs = random_pairs(7, 6);
    pairs.rc = pairs.pc.clone();
    pairs.rr = pairs.pr.clone();
    let configs = vec![
        single(T::Sigmoid),
        single(T::Sigmoid).with_label_smoothing(0.1), // cDPO
        single(T::Robust).with_label_smoothing(0.2),
        single(T::SigmoidNorm),
        single(T::Aot),
        single(T::Aot).with_label_smoothing(0.3),
        single(T::AotUnpaired),
        single(T::Sigmoid).with_f_divergence_type(FDivergenceType::JsDivergence),
        single(T::Sigmoid).with_f_divergence_type(FDivergenceType::ForwardKl),
        single(T::Sigmoid).with_f_divergence_type(FDivergenceType::AlphaDivergence),
        single(T::Sigmoid).with_ld_alpha(Some(0.5)),
    ];
    for cfg in configs {
        let zeros = vec![0.0; 6];
        let tails = TailLogps {
            policy_chosen: tensor(&zeros, DType::F64, &device),
            policy_rejected: tensor(
                &pairs.pr.iter().map(|x| x / 3.0).collect::<Vec<_>>(),
                DType::F64,
                &device,
            ),
            reference_chosen: tensor(&zeros, DType::F64, &device),
            reference_rejected: tensor(
                &pairs.pr.iter().map(|x| x / 3.0).collect::<Vec<_>>(),
                DType::F64,
                &device,
            ),
        };
        let out = cfg
            .init()
            .unwrap()
            .forward(pairs.inputs(DType::F64, &device).with_tail_logps(tails))
            .unwrap();
        for l in read(out.per_pair.clone()) {
            assert_close(
                &format!("{cfg:?}"),
                l,
                std::f64::consts::LN_2,
                Tolerance::rel(1e-12),
            );
        }
        let m = out.read_metrics();
        assert_eq!(m.rewards_chosen, 0.0);
        assert_eq!(m.rewards_rejected, 0.0);
        assert_eq!(m.rewards_accuracies, 0.0, "ties count as wrong");
    }
}

#[test]
fn swapping_chosen_and_rejected_mirrors_the_pairs() {
    let device = Device::flex();
    let mut pairs = random_pairs(11, 7);
    // Make pair 0 a tie: equal rewards.
    pairs.pc[0] = pairs.rc[0] + 1.5;
    pairs.pr[0] = pairs.rr[0] + 1.5;
    let dpo = DpoConfig::new().init().unwrap();
    let a = dpo.forward(pairs.inputs(DType::F64, &device)).unwrap();
    let b = dpo
        .forward(pairs.swapped().inputs(DType::F64, &device))
        .unwrap();
    let (ma, mb) = (read(a.metrics.margins()), read(b.metrics.margins()));
    let (aa, ab) = (read(a.metrics.accuracies()), read(b.metrics.accuracies()));
    let (la, lb) = (read(a.per_pair), read(b.per_pair));
    assert_eq!(ma[0], 0.0);
    for i in 0..7 {
        assert_close("margin", mb[i], -ma[i], Tolerance::rel(1e-12));
        if ma[i] == 0.0 {
            assert_eq!((aa[i], ab[i]), (0.0, 0.0), "a tie stays 0 both ways");
        } else {
            assert_eq!(aa[i] + ab[i], 1.0, "exactly one side wins");
        }
        // −log σ(−x) − (−log σ(x)) = x, with x = βΔ = margin.
        assert_close(
            "sigmoid mirror",
            lb[i] - la[i],
            ma[i],
            Tolerance::rel(1e-10),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// gradients

/// Loss as a function of (policy chosen, policy rejected), evaluated without autodiff.
fn loss_at(dpo: &Dpo, p: &Pairs) -> f64 {
    scalar(
        dpo.forward(p.inputs(DType::F64, &Device::flex()))
            .unwrap()
            .loss,
    )
}

/// Autodiff gradients of the batch loss w.r.t. policy chosen and rejected log-probs (f64).
fn autodiff_grads(dpo: &Dpo, p: &Pairs) -> (Vec<f64>, Vec<f64>) {
    let device = Device::flex().autodiff();
    let pc = tensor(&p.pc, DType::F64, &device).require_grad();
    let pr = tensor(&p.pr, DType::F64, &device).require_grad();
    let inputs = DpoInputs::new(
        pc.clone(),
        pr.clone(),
        tensor(&p.rc, DType::F64, &device),
        tensor(&p.rr, DType::F64, &device),
        tensor(&p.lc, DType::F64, &device),
        tensor(&p.lr, DType::F64, &device),
    );
    let out = dpo.forward(inputs).unwrap();
    let grads = out.loss.backward();
    let gc = pc.grad(&grads).unwrap();
    let gr = pr.grad(&grads).unwrap();
    assert_eq!(gc.dtype(), DType::F64);
    (read(gc), read(gr))
}

fn finite_difference(dpo: &Dpo, p: &Pairs) -> (Vec<f64>, Vec<f64>) {
    let h = 1e-5;
    let mut gc = vec![];
    let mut gr = vec![];
    for i in 0..p.pc.len() {
        let (mut up, mut down) = (p.clone(), p.clone());
        up.pc[i] += h;
        down.pc[i] -= h;
        gc.push((loss_at(dpo, &up) - loss_at(dpo, &down)) / (2.0 * h));
        let (mut up, mut down) = (p.clone(), p.clone());
        up.pr[i] += h;
        down.pr[i] -= h;
        gr.push((loss_at(dpo, &up) - loss_at(dpo, &down)) / (2.0 * h));
    }
    (gc, gr)
}

fn sigma(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn sigmoid_gradient_matches_finite_differences_and_the_closed_form() {
    let p = random_pairs(3, 5);
    for beta in [0.1, 0.5] {
        let dpo = DpoConfig::new().with_beta(beta).init().unwrap();
        let (gc, gr) = autodiff_grads(&dpo, &p);
        let (fc, fr) = finite_difference(&dpo, &p);
        assert_all_close("d/d chosen (FD)", &gc, &fc, Tolerance::rel(1e-7));
        assert_all_close("d/d rejected (FD)", &gr, &fr, Tolerance::rel(1e-7));
        // ∂ℓ/∂Δ = −β σ(−βΔ); Δ moves +1 with chosen and −1 with rejected; mean over B.
        let b = p.pc.len() as f64;
        for i in 0..p.pc.len() {
            let delta = (p.pc[i] - p.rc[i]) - (p.pr[i] - p.rr[i]);
            let dl = -beta * sigma(-beta * delta) / b;
            assert_close("closed form chosen", gc[i], dl, Tolerance::rel(1e-12));
            assert_close("closed form rejected", gr[i], -dl, Tolerance::rel(1e-12));
        }
    }
}

#[test]
fn ipo_gradients_match_finite_differences_in_both_conventions() {
    let p = random_pairs(5, 4);
    let b = p.pc.len() as f64;
    let beta = 0.1;
    for norm in [IpoNormalization::LengthNormalized, IpoNormalization::Summed] {
        let dpo = single(DpoLossType::Ipo)
            .with_ipo_normalization(norm)
            .init()
            .unwrap();
        let (gc, gr) = autodiff_grads(&dpo, &p);
        let (fc, fr) = finite_difference(&dpo, &p);
        assert_all_close("ipo d/d chosen (FD)", &gc, &fc, Tolerance::rel(1e-6));
        assert_all_close("ipo d/d rejected (FD)", &gr, &fr, Tolerance::rel(1e-6));
        for i in 0..p.pc.len() {
            let (rc, rr) = (p.pc[i] - p.rc[i], p.pr[i] - p.rr[i]);
            let (m, sc, sr) = match norm {
                IpoNormalization::LengthNormalized => {
                    (rc / p.lc[i] - rr / p.lr[i], 1.0 / p.lc[i], 1.0 / p.lr[i])
                }
                IpoNormalization::Summed => (rc - rr, 1.0, 1.0),
            };
            let d = 2.0 * (m - 0.5 / beta) / b;
            assert_close(
                "ipo closed form chosen",
                gc[i],
                d * sc,
                Tolerance::rel(1e-12),
            );
            assert_close(
                "ipo closed form rejected",
                gr[i],
                -d * sr,
                Tolerance::rel(1e-12),
            );
        }
    }
}

#[test]
fn no_gradient_flows_into_wpo_weights() {
    let device = Device::flex().autodiff();
    let p = random_pairs(9, 3);
    let pc = tensor(&p.pc, DType::F64, &device).require_grad();
    let lw = tensor(&[-1.0, -2.0, -0.5], DType::F64, &device).require_grad();
    let mut inputs = p
        .inputs(DType::F64, &device)
        .with_wpo_log_weights(WpoLogWeights {
            chosen: lw.clone(),
            rejected: tensor(&[0.0, 0.0, 0.0], DType::F64, &device),
        });
    inputs.policy_chosen_logps = pc.clone();
    let dpo = DpoConfig::new().with_use_weighting(true).init().unwrap();
    let grads = dpo.forward(inputs).unwrap().loss.backward();
    assert!(pc.grad(&grads).is_some(), "the policy gets a gradient");
    assert!(lw.grad(&grads).is_none(), "WPO weights must be detached");
}

// ---------------------------------------------------------------------------------------------
// properties

fn config_for(ty: DpoLossType, div: FDivergenceType) -> DpoConfig {
    let cfg = single(ty).with_f_divergence_type(div);
    match ty {
        DpoLossType::ExoPair => cfg.with_label_smoothing(1e-3),
        DpoLossType::Robust => cfg.with_label_smoothing(0.1),
        _ => cfg,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Finite loss and finite gradients for finite inputs up to ±1e4, every loss type, in f32.
    #[test]
    fn finite_loss_and_gradients(
        values in prop::collection::vec(-1e4f64..1e4, 12),
        lengths in prop::collection::vec(0.0f64..2000.0, 6),
        js in any::<bool>(),
    ) {
        let device = Device::flex().autodiff();
        let div = if js { FDivergenceType::JsDivergence } else { FDivergenceType::ReverseKl };
        for ty in DpoLossType::ALL {
            let dpo = config_for(ty, div).init().unwrap();
            let pc = tensor(&values[0..3], DType::F32, &device).require_grad();
            let pr = tensor(&values[3..6], DType::F32, &device).require_grad();
            let out = dpo.forward(DpoInputs::new(
                pc.clone(),
                pr.clone(),
                tensor(&values[6..9], DType::F32, &device),
                tensor(&values[9..12], DType::F32, &device),
                tensor(&lengths[0..3], DType::F32, &device),
                tensor(&lengths[3..6], DType::F32, &device),
            )).unwrap();
            let grads = out.loss.backward();
            let loss = scalar(out.loss.clone());
            prop_assert!(loss.is_finite(), "{ty}: loss {loss}");
            // `sft` does not depend on the rejected answer: no gradient there is correct.
            let grad = |t: &Tensor<1>| t.grad(&grads).map(read).unwrap_or_default();
            prop_assert!(!grad(&pc).is_empty(), "{ty}: no gradient for the chosen policy");
            for g in grad(&pc).into_iter().chain(grad(&pr)) {
                prop_assert!(g.is_finite(), "{ty}: gradient {g}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// generated reference values

const FIXTURE: &str = include_str!("fixtures/dpo_reference.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

fn fixture_inputs(inp: &Value, dtype: DType, device: &Device) -> DpoInputs {
    let t = |key: &str| tensor(&floats(&inp[key]), dtype, device);
    let mut out = DpoInputs::new(
        t("policy_chosen_logps"),
        t("policy_rejected_logps"),
        t("reference_chosen_logps"),
        t("reference_rejected_logps"),
        t("chosen_lengths"),
        t("rejected_lengths"),
    );
    if let Some(tails) = inp.get("tail_logps") {
        let t = |key: &str| tensor(&floats(&tails[key]), dtype, device);
        out = out.with_tail_logps(TailLogps {
            policy_chosen: t("policy_chosen"),
            policy_rejected: t("policy_rejected"),
            reference_chosen: t("reference_chosen"),
            reference_rejected: t("reference_rejected"),
        });
    }
    if let Some(w) = inp.get("wpo_log_weights") {
        out = out.with_wpo_log_weights(WpoLogWeights {
            chosen: tensor(&floats(&w["chosen"]), dtype, device),
            rejected: tensor(&floats(&w["rejected"]), dtype, device),
        });
    }
    out
}

fn check_metrics(got: &[(&'static str, f64)], want: &Value, tol: f64, case: &str) {
    for (name, value) in got {
        assert_close(
            &format!("{case}: {name}"),
            *value,
            want[*name].as_f64().unwrap(),
            Tolerance::rel(tol),
        );
    }
}

fn check_dpo_fixture(dtype: DType) {
    let fx = fixture();
    let device = Device::flex();
    let cases = fx["dpo_cases"].as_array().unwrap();
    assert!(cases.len() >= 70);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        // The fixture's config objects use the TOML/serde names: this also checks them.
        let cfg: DpoConfig = serde_json::from_value(case["config"].clone()).unwrap();
        let inputs = fixture_inputs(
            &fx["inputs"][case["input"].as_str().unwrap()],
            dtype,
            &device,
        );
        let out = cfg.init().unwrap().forward(inputs).unwrap();
        assert_all_close(
            name,
            &read(out.per_pair.clone()),
            &floats(&case["per_pair"]),
            Tolerance::rel(fixture_tol(dtype)),
        );
        assert_close(
            name,
            scalar(out.loss.clone()),
            case["loss"].as_f64().unwrap(),
            Tolerance::rel(fixture_tol(dtype)),
        );
        check_metrics(
            &out.read_metrics().named(),
            &case["metrics"],
            fixture_tol(dtype),
            name,
        );
    }
}

#[test]
fn generated_dpo_references_f64() {
    check_dpo_fixture(DType::F64);
}

#[test]
fn generated_dpo_references_f32() {
    check_dpo_fixture(DType::F32);
}

fn check_cpo_fixture(dtype: DType) {
    let fx = fixture();
    let device = Device::flex();
    for case in fx["cpo_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cfg: CpoConfig = serde_json::from_value(case["config"].clone()).unwrap();
        let inp = &fx["inputs"][case["input"].as_str().unwrap()];
        let t = |key: &str| tensor(&floats(&inp[key]), dtype, &device);
        let out = cfg
            .init()
            .unwrap()
            .forward(CpoInputs {
                policy_chosen_logps: t("policy_chosen_logps"),
                policy_rejected_logps: t("policy_rejected_logps"),
                chosen_lengths: t("chosen_lengths"),
                rejected_lengths: t("rejected_lengths"),
            })
            .unwrap();
        assert_all_close(
            name,
            &read(out.per_pair.clone()),
            &floats(&case["per_pair"]),
            Tolerance::rel(fixture_tol(dtype)),
        );
        assert_close(
            name,
            scalar(out.loss.clone()),
            case["loss"].as_f64().unwrap(),
            Tolerance::rel(fixture_tol(dtype)),
        );
        check_metrics(
            &out.read_metrics(),
            &case["metrics"],
            fixture_tol(dtype),
            name,
        );
    }
}

#[test]
fn generated_cpo_references_f64() {
    check_cpo_fixture(DType::F64);
}

#[test]
fn generated_cpo_references_f32() {
    check_cpo_fixture(DType::F32);
}

#[test]
fn per_token_helpers_match_the_generator() {
    let fx = fixture();
    let raw = &fx["per_token_raw"];
    let want = &fx["inputs"]["per_token"];
    let device = Device::flex();
    let b = raw["batch"].as_u64().unwrap() as usize;
    let mask = tensor2(&rows(&raw["completion_mask"]), DType::F64, &device);
    let lengths = read(mask.clone().sum_dim(1).squeeze_dim::<1>(1));
    let shared = shared_lengths(
        tensor(&lengths[..b], DType::F64, &device),
        tensor(&lengths[b..], DType::F64, &device),
    );
    let shared2 = Tensor::cat(vec![shared.clone(), shared], 0);
    for (who, key_c, key_r) in [
        ("policy", "policy_chosen", "policy_rejected"),
        ("reference", "reference_chosen", "reference_rejected"),
    ] {
        let lp = tensor2(
            &rows(&raw[format!("{who}_per_token_logps")]),
            DType::F64,
            &device,
        );
        let tails = read(tail_logps(lp, mask.clone(), shared2.clone()));
        assert_all_close(
            key_c,
            &tails[..b],
            &floats(&want["tail_logps"][key_c]),
            Tolerance::rel(1e-12),
        );
        assert_all_close(
            key_r,
            &tails[b..],
            &floats(&want["tail_logps"][key_r]),
            Tolerance::rel(1e-12),
        );
    }

    // WPO: log Σp² from logits, then the per-sequence log-weights.
    let logits: Vec<Vec<Vec<f64>>> = raw["policy_logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(rows)
        .collect();
    let (n, t, v) = (logits.len(), logits[0].len(), logits[0][0].len());
    let flat: Vec<f64> = logits.iter().flatten().flatten().copied().collect();
    let logits = Tensor::<3>::from_data(TensorData::new(flat, [n, t, v]), (&device, DType::F64));
    let lss = log_sum_squared_probs(logits);
    let want_lss = rows(&raw["log_sum_squared_probs"]);
    let got_lss: Vec<f64> = lss.clone().into_data().try_into_vec_as::<f64>().unwrap();
    assert_all_close(
        "log_sum_squared_probs",
        &got_lss,
        &want_lss.concat(),
        Tolerance::rel(1e-12),
    );
    let lp = tensor2(&rows(&raw["policy_per_token_logps"]), DType::F64, &device);
    let w = read(wpo_log_weights(lp, lss, mask));
    assert_all_close(
        "wpo chosen",
        &w[..b],
        &floats(&want["wpo_log_weights"]["chosen"]),
        Tolerance::rel(1e-12),
    );
    assert_all_close(
        "wpo rejected",
        &w[b..],
        &floats(&want["wpo_log_weights"]["rejected"]),
        Tolerance::rel(1e-12),
    );
}

// ---------------------------------------------------------------------------------------------
// configuration and bad input

#[test]
fn toml_table_deserializes_with_defaults_and_rejects_unknown_keys() {
    let cfg: DpoConfig = toml::from_str(
        r#"
        loss_type = ["sigmoid", "bco_pair", "sft"]
        loss_weights = [0.8, 0.2, 1.0]
        beta = 0.05
        f_divergence_type = "alpha_divergence"
        ipo_normalization = "summed"
        "#,
    )
    .unwrap();
    assert_eq!(
        cfg.loss_type,
        vec![DpoLossType::Sigmoid, DpoLossType::BcoPair, DpoLossType::Sft]
    );
    assert_eq!(cfg.beta, 0.05);
    assert_eq!(cfg.f_divergence_type, FDivergenceType::AlphaDivergence);
    assert_eq!(cfg.ipo_normalization, IpoNormalization::Summed);
    assert_eq!(cfg.f_alpha_divergence_coef, 0.5, "default kept");
    assert_eq!(cfg.discopop_tau, 0.05, "default kept");
    cfg.init().unwrap();

    let one: DpoConfig = toml::from_str(r#"loss_type = "ipo""#).unwrap();
    assert_eq!(one.loss_type, vec![DpoLossType::Ipo]);
    assert_eq!(toml::from_str::<DpoConfig>("").unwrap(), DpoConfig::new());

    let err = toml::from_str::<DpoConfig>("beta = 0.1\nrpo_alpha = 1.0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field"), "{err}");
    let err = toml::from_str::<DpoConfig>(r#"loss_type = "aot_pair""#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown variant") && err.contains("aot_unpaired"),
        "{err}"
    );

    // burn's `Config` (JSON) round trip.
    use burn::config::Config;
    let json = cfg.to_string();
    assert_eq!(DpoConfig::load_binary(json.as_bytes()).unwrap(), cfg);

    let cpo: CpoConfig = toml::from_str("loss_type = \"simpo\"\ncpo_alpha = 0.0").unwrap();
    assert_eq!(cpo.loss_type, CpoLossType::Simpo);
    assert_eq!(cpo.simpo_gamma, 0.5);
    assert!(toml::from_str::<CpoConfig>("gamma = 1.0").is_err());
}

fn expect_invalid(result: prefopt_objectives::Result<Dpo>, field: &str) {
    match result {
        Err(e @ Error::InvalidConfig { field: f, .. }) => {
            assert_eq!(f, field);
            assert!(e.to_string().contains(field), "message {e} names {field}");
        }
        other => panic!("expected InvalidConfig for {field}, got {other:?}"),
    }
}

#[test]
fn invalid_hyper_parameters_are_rejected_naming_the_field() {
    use DpoLossType as T;
    let cases: Vec<(DpoConfig, &str)> = vec![
        (DpoConfig::new().with_beta(0.0), "beta"),
        (DpoConfig::new().with_beta(-0.1), "beta"),
        (DpoConfig::new().with_beta(f64::NAN), "beta"),
        (DpoConfig::new().with_loss_type(vec![]), "loss_type"),
        (
            DpoConfig::new().with_loss_weights(Some(vec![1.0, 2.0])),
            "loss_weights",
        ),
        (
            DpoConfig::new().with_loss_weights(Some(vec![f64::INFINITY])),
            "loss_weights",
        ),
        (single(T::ExoPair), "label_smoothing"),
        (
            single(T::Robust).with_label_smoothing(0.5),
            "label_smoothing",
        ),
        (
            single(T::Robust).with_label_smoothing(-0.1),
            "label_smoothing",
        ),
        (
            single(T::Sigmoid).with_label_smoothing(0.7),
            "label_smoothing",
        ),
        (
            single(T::Hinge).with_label_smoothing(0.1),
            "label_smoothing",
        ),
        (single(T::Aot).with_use_weighting(true), "use_weighting"),
        (
            single(T::AotUnpaired).with_use_weighting(true),
            "use_weighting",
        ),
        (DpoConfig::new().with_ld_alpha(Some(1.5)), "ld_alpha"),
        (DpoConfig::new().with_ld_alpha(Some(-0.5)), "ld_alpha"),
        (DpoConfig::new().with_discopop_tau(0.0), "discopop_tau"),
        (
            DpoConfig::new().with_f_alpha_divergence_coef(f64::NAN),
            "f_alpha_divergence_coef",
        ),
    ];
    for (cfg, field) in cases {
        expect_invalid(cfg.init(), field);
    }

    let cpo_cases: Vec<(CpoConfig, &str)> = vec![
        (CpoConfig::new().with_beta(0.0), "beta"),
        (
            CpoConfig::new().with_label_smoothing(0.6),
            "label_smoothing",
        ),
        (
            CpoConfig::new()
                .with_loss_type(CpoLossType::Hinge)
                .with_label_smoothing(0.1),
            "label_smoothing",
        ),
        (CpoConfig::new().with_cpo_alpha(-1.0), "cpo_alpha"),
        (CpoConfig::new().with_alpha(f64::NAN), "alpha"),
        (
            CpoConfig::new().with_simpo_gamma(f64::INFINITY),
            "simpo_gamma",
        ),
    ];
    for (cfg, field) in cpo_cases {
        match cfg.init() {
            Err(e @ Error::InvalidConfig { field: f, .. }) => {
                assert_eq!(f, field);
                assert!(e.to_string().contains(field));
            }
            other => panic!("expected InvalidConfig for {field}, got {other:?}"),
        }
    }
}

#[test]
fn bad_inputs_are_answered_with_errors() {
    let device = Device::flex();
    let p = tt_pairs();
    let dpo = DpoConfig::new().init().unwrap();

    let mut inputs = p.inputs(DType::F64, &device);
    inputs.reference_rejected_logps = tensor(&[0.0, 1.0], DType::F64, &device);
    match dpo.forward(inputs) {
        Err(Error::ShapeMismatch {
            what,
            expected,
            got,
        }) => {
            assert_eq!(what, "reference_rejected_logps");
            assert_eq!((expected, got), (vec![3], vec![2]));
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }

    let empty = Pairs {
        pc: vec![],
        pr: vec![],
        rc: vec![],
        rr: vec![],
        lc: vec![],
        lr: vec![],
    };
    assert!(matches!(
        dpo.forward(empty.inputs(DType::F64, &device)),
        Err(Error::ShapeMismatch { .. })
    ));

    let ld = DpoConfig::new().with_ld_alpha(Some(0.5)).init().unwrap();
    match ld.forward(p.inputs(DType::F64, &device)) {
        Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "ld_alpha"),
        other => panic!("expected missing tails error, got {other:?}"),
    }
    let wpo = DpoConfig::new().with_use_weighting(true).init().unwrap();
    match wpo.forward(p.inputs(DType::F64, &device)) {
        Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "use_weighting"),
        other => panic!("expected missing weights error, got {other:?}"),
    }
    let mut with_bad_tails = p.inputs(DType::F64, &device);
    with_bad_tails.tail_logps = Some(TailLogps {
        policy_chosen: tensor(&[0.0; 3], DType::F64, &device),
        policy_rejected: tensor(&[0.0; 4], DType::F64, &device),
        reference_chosen: tensor(&[0.0; 3], DType::F64, &device),
        reference_rejected: tensor(&[0.0; 3], DType::F64, &device),
    });
    assert!(matches!(
        ld.forward(with_bad_tails),
        Err(Error::ShapeMismatch {
            what: "tail_logps.policy_rejected",
            ..
        })
    ));
}
