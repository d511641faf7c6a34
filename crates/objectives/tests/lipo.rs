//! LiPO family tests: reference values (research notes §2.8 and the committed generator
//! `fixtures/gen_lipo_reference.py`), autodiff gradients, finite differences, f64 precision,
//! bad input and property tests.

use burn::prelude::*;
use burn::tensor::DType;
use prefopt_objectives::Error;
use prefopt_objectives::lipo::{
    LambdaDiscount, LambdaScale, Lipo, LipoConfig, LipoConvention, LipoLossType, LipoReduction,
    aggregate_win_probabilities, lambda_weights, score_ranks,
};
use prefopt_testkit::{Tolerance, assert_all_close, assert_close};
use proptest::prelude::*;
use serde_json::Value;

/// A padded batch: scores, labels and validity mask, `[batch][K]` each.
#[derive(Debug, Clone)]
struct Batch {
    scores: Vec<Vec<f64>>,
    labels: Vec<Vec<f64>>,
    mask: Vec<Vec<bool>>,
}

const ALL_LOSSES: [LipoLossType; 7] = [
    LipoLossType::Lambda,
    LipoLossType::PairLogistic,
    LipoLossType::PairHinge,
    LipoLossType::ListMle,
    LipoLossType::Softmax,
    LipoLossType::PointMse,
    LipoLossType::PointSigmoid,
];
const CONVENTIONS: [LipoConvention; 2] = [LipoConvention::Paper, LipoConvention::Rax];

// ---------------------------------------------------------------------------------------------
// helpers

fn float2(rows: &[Vec<f64>], dtype: DType, device: &Device) -> Tensor<2> {
    let shape = [rows.len(), rows[0].len()];
    Tensor::from_data(TensorData::new(rows.concat(), shape), (device, dtype))
}

fn mask2(rows: &[Vec<bool>], device: &Device) -> Tensor<2, Bool> {
    let shape = [rows.len(), rows[0].len()];
    Tensor::from_data(TensorData::new(rows.concat(), shape), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.try_into_vec_as::<f64>().unwrap()
}

fn scalar(t: Tensor<1>) -> f64 {
    values(t)[0]
}

fn lipo(loss_type: LipoLossType, convention: LipoConvention) -> Lipo {
    LipoConfig::new()
        .with_loss_type(loss_type)
        .with_convention(convention)
        .init()
        .unwrap()
}

fn name<T: serde::Serialize>(x: T) -> String {
    serde_json::to_value(x)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// Loss and autodiff gradient w.r.t. the scores.
fn loss_and_grad(
    lipo: &Lipo,
    scores: &[Vec<f64>],
    labels: &[Vec<f64>],
    mask: &[Vec<bool>],
    dtype: DType,
) -> (f64, Vec<f64>) {
    let device = Device::flex().autodiff();
    let s = float2(scores, dtype, &device).require_grad();
    let out = lipo
        .forward_scores(
            s.clone(),
            float2(labels, dtype, &device),
            mask2(mask, &device),
        )
        .unwrap();
    let grads = out.loss.backward();
    let grad = s
        .grad(&grads)
        .map(values)
        .unwrap_or_else(|| vec![0.0; scores.concat().len()]);
    (scalar(out.loss), grad)
}

fn loss_f64(lipo: &Lipo, scores: &[Vec<f64>], labels: &[Vec<f64>], mask: &[Vec<bool>]) -> f64 {
    let device = Device::flex();
    let out = lipo
        .forward_scores(
            float2(scores, DType::F64, &device),
            float2(labels, DType::F64, &device),
            mask2(mask, &device),
        )
        .unwrap();
    scalar(out.loss)
}

// ---------------------------------------------------------------------------------------------
// research notes §2.8 (docs/../shared/research/dpo-lipo-grpo.md, values [computed] there)

const REF_SCORES: [f64; 4] = [0.2, 0.5, -0.1, 0.0];
const REF_LABELS: [f64; 4] = [0.8, 0.6, 0.5, 0.1];

fn reference_list() -> Batch {
    Batch {
        scores: vec![REF_SCORES.to_vec()],
        labels: vec![REF_LABELS.to_vec()],
        mask: vec![vec![true; 4]],
    }
}

/// (loss type, convention, reduction override, value) from §2.8.
fn research_table() -> Vec<(LipoLossType, LipoConvention, Option<LipoReduction>, f64)> {
    use LipoConvention::{Paper, Rax};
    use LipoLossType::*;
    use LipoReduction::{Mean, Sum};
    vec![
        (Lambda, Paper, None, 0.444290),
        (Lambda, Rax, None, 0.205305),
        (PairLogistic, Paper, Some(Sum), 3.662811),
        (PairLogistic, Paper, Some(Mean), 0.610468),
        (PairHinge, Paper, Some(Sum), 4.8),
        (PairHinge, Paper, Some(Mean), 0.8),
        (ListMle, Paper, None, 2.875732),
        (ListMle, Rax, None, 2.875732),
        (Softmax, Paper, None, 1.358386), // normalised labels (Eq. 11)
        (Softmax, Rax, None, 2.716772),   // raw labels (Rax default)
        (PointMse, Paper, None, 0.74),    // sums
        (PointSigmoid, Paper, None, 2.699760),
    ]
}

fn check_research_values(dtype: DType, tol: f64) {
    let Batch {
        scores: s,
        labels: y,
        mask: m,
    } = reference_list();
    for (loss_type, convention, reduction, want) in research_table() {
        let lipo = LipoConfig::new()
            .with_loss_type(loss_type)
            .with_convention(convention)
            .with_reduction(reduction)
            .init()
            .unwrap();
        let (got, _) = loss_and_grad(&lipo, &s, &y, &m, dtype);
        assert_close(
            &format!("{loss_type:?}/{convention:?}/{reduction:?}"),
            got,
            want,
            Tolerance::abs(tol),
        );
    }
}

#[test]
fn research_values_f64() {
    check_research_values(DType::F64, 1e-6);
}

#[test]
fn research_values_f32() {
    check_research_values(DType::F32, 1e-5);
}

#[test]
fn rax_over_paper_lambda_ratio_is_k_ln2_over_pairs() {
    // §2.8: ratio 0.462098 = K·ln 2 / 6 for K = 4 and 6 valid pairs.
    let Batch {
        scores: s,
        labels: y,
        mask: m,
    } = reference_list();
    let paper = loss_f64(
        &lipo(LipoLossType::Lambda, LipoConvention::Paper),
        &s,
        &y,
        &m,
    );
    let rax = loss_f64(&lipo(LipoLossType::Lambda, LipoConvention::Rax), &s, &y, &m);
    assert_close(
        "ratio",
        rax / paper,
        4.0 * std::f64::consts::LN_2 / 6.0,
        Tolerance::abs(1e-12),
    );
}

#[test]
fn lambda_paper_gradient_matches_research_values() {
    // §2.8: ∂L/∂s for the paper form with λ held constant. The λ weights are built from
    // comparisons of the scores (no gradient), so autodiff gives exactly this.
    let want = [-0.166041, -0.081507, 0.051751, 0.195797];
    let Batch {
        scores: s,
        labels: y,
        mask: m,
    } = reference_list();
    let lipo = lipo(LipoLossType::Lambda, LipoConvention::Paper);
    for (dtype, tol) in [(DType::F64, 1e-6), (DType::F32, 1e-5)] {
        let (_, grad) = loss_and_grad(&lipo, &s, &y, &m, dtype);
        assert_all_close(
            &format!("grad {dtype:?}"),
            &grad,
            &want,
            Tolerance::abs(tol),
        );
    }
}

#[test]
fn label_aggregation_matches_research_value() {
    // §2.8: ψ_k = mean_i Ψ_{k,i} → [0.675, 0.5, 0.275, 0.55].
    let device = Device::flex();
    let win = [
        [0.5, 0.7, 0.9, 0.6],
        [0.3, 0.5, 0.8, 0.4],
        [0.1, 0.2, 0.5, 0.3],
        [0.4, 0.6, 0.7, 0.5],
    ];
    let win_t = Tensor::<3>::from_data(
        TensorData::new(win.concat(), [1, 4, 4]),
        (&device, DType::F64),
    );
    let psi = aggregate_win_probabilities(win_t, mask2(&[vec![true; 4]], &device)).unwrap();
    assert_eq!(psi.dtype(), DType::F64);
    assert_all_close(
        "psi",
        &values(psi),
        &[0.675, 0.5, 0.275, 0.55],
        Tolerance::abs(1e-12),
    );

    // The same matrix padded to K = 6 with garbage in the padded rows and columns.
    let mut padded = vec![vec![9.0; 6]; 6];
    for (k, row) in win.iter().enumerate() {
        padded[k][..4].copy_from_slice(row);
    }
    let win_t = Tensor::<3>::from_data(
        TensorData::new(padded.concat(), [1, 6, 6]),
        (&device, DType::F64),
    );
    let mask = mask2(&[vec![true, true, true, true, false, false]], &device);
    let psi = values(aggregate_win_probabilities(win_t, mask).unwrap());
    assert_all_close(
        "padded psi",
        &psi,
        &[0.675, 0.5, 0.275, 0.55, 0.0, 0.0],
        Tolerance::abs(1e-12),
    );
}

// ---------------------------------------------------------------------------------------------
// generator fixture: every loss × convention, value and gradient, on the §2.8 list and on a
// padded batch with ties, an all-tied list and an all-padding list

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/lipo_reference.json")).unwrap()
}

fn matrix<T: serde::de::DeserializeOwned>(v: &Value) -> Vec<Vec<T>> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn fixture_losses_gradients_ranks_and_metrics() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let case_name = case["name"].as_str().unwrap();
        let s: Vec<Vec<f64>> = matrix(&case["scores"]);
        let y: Vec<Vec<f64>> = matrix(&case["labels"]);
        let m: Vec<Vec<bool>> = matrix(&case["mask"]);
        for loss_type in ALL_LOSSES {
            for convention in CONVENTIONS {
                let key = format!("{}/{}", name(loss_type), name(convention));
                let want = &case["losses"][&key];
                let want_loss = want["loss"].as_f64().unwrap();
                let want_grad: Vec<Vec<f64>> = matrix(&want["grad"]);
                let lipo = lipo(loss_type, convention);
                let what = format!("{case_name} {key}");

                let (loss, grad) = loss_and_grad(&lipo, &s, &y, &m, DType::F64);
                assert_close(&what, loss, want_loss, Tolerance::abs(1e-10));
                // Central differences with h = 1e-6 are good to ~1e-9.
                assert_all_close(
                    &format!("{what} grad"),
                    &grad,
                    &want_grad.concat(),
                    Tolerance::abs(1e-7),
                );

                let (loss, grad) = loss_and_grad(&lipo, &s, &y, &m, DType::F32);
                assert_close(
                    &what,
                    loss,
                    want_loss,
                    Tolerance::abs(1e-5 * want_loss.abs().max(1.0)),
                );
                assert_all_close(
                    &format!("{what} grad f32"),
                    &grad,
                    &want_grad.concat(),
                    Tolerance::abs(1e-5),
                );
            }
        }

        // Ranks of the valid items (padded ranks are unspecified).
        let device = Device::flex();
        let ranks =
            values(score_ranks(float2(&s, DType::F64, &device), mask2(&m, &device)).unwrap());
        let want_ranks: Vec<Vec<f64>> = matrix(&case["ranks"]);
        for ((got, want), valid) in ranks.iter().zip(want_ranks.concat()).zip(m.concat()) {
            if valid {
                assert_eq!(*got, want, "{case_name} ranks");
            }
        }

        // Metrics.
        let out = lipo(LipoLossType::Lambda, LipoConvention::Rax)
            .forward_scores(
                float2(&s, DType::F64, &device),
                float2(&y, DType::F64, &device),
                mask2(&m, &device),
            )
            .unwrap();
        let want = &case["metrics"];
        let metric = |t: Tensor<1>, key: &str| {
            assert_close(
                &format!("{case_name} {key}"),
                scalar(t),
                want[key].as_f64().unwrap(),
                Tolerance::abs(1e-12),
            )
        };
        metric(out.metrics.pair_accuracy, "pair_accuracy");
        metric(out.metrics.num_pairs, "num_pairs");
        metric(out.metrics.best_score, "best_score");
        metric(out.metrics.worst_score, "worst_score");
        metric(out.metrics.mean_score, "mean_score");
    }
}

#[test]
fn forward_from_log_probs_uses_beta() {
    // s = β·(log π_θ − log π_ref): log-probs whose difference is s/β give the §2.8 value.
    let device = Device::flex();
    let lipo = lipo(LipoLossType::Lambda, LipoConvention::Paper);
    let reference = vec![vec![-12.5, -30.25, -7.0, -18.0]];
    let policy = vec![
        reference[0]
            .iter()
            .zip(REF_SCORES)
            .map(|(r, s)| r + s / lipo.beta())
            .collect::<Vec<_>>(),
    ];
    let out = lipo
        .forward(
            float2(&policy, DType::F64, &device),
            float2(&reference, DType::F64, &device),
            float2(&[REF_LABELS.to_vec()], DType::F64, &device),
            mask2(&[vec![true; 4]], &device),
        )
        .unwrap();
    assert_all_close(
        "scores",
        &values(out.scores),
        &REF_SCORES,
        Tolerance::abs(1e-12),
    );
    assert_close("loss", scalar(out.loss), 0.444290, Tolerance::abs(1e-6));
}

// ---------------------------------------------------------------------------------------------
// f64 really computes in f64

#[test]
fn f64_path_computes_in_f64() {
    // Burn 0.22: `Tensor::from_data(data, &device)` converts to the device's default float dtype
    // (f32 on flex) whatever the data's dtype; f64 needs `(&device, DType::F64)` at creation.
    // Every tensor the objective creates itself follows its input's dtype.
    let device = Device::flex();
    let lipo = lipo(LipoLossType::PairLogistic, LipoConvention::Paper);
    // log π_θ − log π_ref = 2e-8: below f32 resolution at |log p| ≈ 100 (ulp 7.6e-6), so an f32
    // computation would see s = 0 and L = ln 2 exactly.
    let reference = vec![vec![-100.0, -100.0]];
    let policy = vec![vec![-100.0 + 2e-8, -100.0]];
    let labels = vec![vec![1.0, 0.0]];
    let mask = vec![vec![true, true]];
    let run = |dtype| {
        lipo.forward(
            float2(&policy, dtype, &device),
            float2(&reference, dtype, &device),
            float2(&labels, dtype, &device),
            mask2(&mask, &device),
        )
        .unwrap()
    };

    let out = run(DType::F64);
    for t in [
        out.loss.clone(),
        out.metrics.pair_accuracy.clone(),
        out.metrics.best_score.clone(),
        out.metrics.num_pairs.clone(),
    ] {
        assert_eq!(t.dtype(), DType::F64);
    }
    assert_eq!(out.scores.dtype(), DType::F64);
    // `try_to_vec::<f64>` only succeeds on f64 storage.
    let s = out.scores.into_data().try_to_vec::<f64>().unwrap();
    let delta = 2e-8 * lipo.beta(); // s_1 − s_2 = 1e-9 (up to the rounding of −100 + 2e-8)
    assert_close("s_1", s[0], delta, Tolerance::abs(1e-14));
    let loss = out.loss.into_data().try_to_vec::<f64>().unwrap()[0];
    // softplus(−Δ) = ln 2 − Δ/2 + Δ²/8 − …
    assert_close(
        "f64 loss",
        loss,
        std::f64::consts::LN_2 - s[0] / 2.0,
        Tolerance::abs(1e-16),
    );
    assert!(loss < std::f64::consts::LN_2);

    let out = run(DType::F32);
    assert_eq!(out.loss.dtype(), DType::F32);
    assert_eq!(scalar(out.loss) as f32, std::f32::consts::LN_2);
}

#[test]
fn f64_scores_with_f32_labels_stay_f64() {
    let device = Device::flex();
    let Batch {
        scores: s,
        labels: y,
        mask: m,
    } = reference_list();
    let out = lipo(LipoLossType::Lambda, LipoConvention::Paper)
        .forward_scores(
            float2(&s, DType::F64, &device),
            float2(&y, DType::F32, &device),
            mask2(&m, &device),
        )
        .unwrap();
    assert_eq!(out.loss.dtype(), DType::F64);
    // Labels 0.8, 0.6, … rounded to f32 change the loss at ~1e-8; the fixture has full f64.
    let want = fixture()["cases"][0]["losses"]["lambda/paper"]["loss"]
        .as_f64()
        .unwrap();
    assert_close("mixed dtypes", scalar(out.loss), want, Tolerance::abs(1e-6));
}

// ---------------------------------------------------------------------------------------------
// finite differences of the full lambda loss (f64)

/// Central differences of the lambda loss, recomputing everything (ranks included) at s ± h e_k.
/// Ranks are piecewise constant in s: at a point whose valid scores are pairwise ≥ 0.05 apart,
/// a step h = 1e-6 cannot reorder them, so the weights are frozen inside the stencil (asserted
/// below) and the quotient converges to the gradient with the weights held constant.
#[test]
fn lambda_gradient_matches_central_differences() {
    let device = Device::flex();
    let h = 1e-6;
    let s = vec![
        vec![0.4, -0.2, 0.1, 0.35, -0.5],
        vec![0.05, -0.3, 0.0, 0.6, 0.0],
    ];
    let y = vec![vec![0.9, 0.3, 0.3, 0.6, 0.0], vec![0.2, 0.7, 0.0, 0.5, 0.0]];
    let m = vec![vec![true; 5], vec![true, true, false, true, false]];
    for convention in CONVENTIONS {
        let lipo = lipo(LipoLossType::Lambda, convention);
        let weights = |s: &[Vec<f64>]| {
            values(
                lambda_weights(
                    float2(s, DType::F64, &device),
                    float2(&y, DType::F64, &device),
                    mask2(&m, &device),
                    lipo.discount(),
                    lipo.lambda_scale(),
                )
                .unwrap(),
            )
        };
        let base_weights = weights(&s);
        let (_, grad) = loss_and_grad(&lipo, &s, &y, &m, DType::F64);
        for b in 0..s.len() {
            for k in 0..s[0].len() {
                let mut up = s.clone();
                let mut down = s.clone();
                up[b][k] += h;
                down[b][k] -= h;
                assert_eq!(weights(&up), base_weights, "weights moved at +h");
                assert_eq!(weights(&down), base_weights, "weights moved at −h");
                let fd =
                    (loss_f64(&lipo, &up, &y, &m) - loss_f64(&lipo, &down, &y, &m)) / (2.0 * h);
                let g = grad[b * s[0].len() + k];
                assert_close(
                    &format!("{convention:?} ∂L/∂s[{b}][{k}]"),
                    g,
                    fd,
                    Tolerance::abs(1e-8),
                );
                if !m[b][k] {
                    assert_eq!(g, 0.0, "padded slot gets no gradient");
                }
            }
        }
    }
}

#[test]
fn lambda_weights_are_symmetric_zero_on_ties_and_padding() {
    let device = Device::flex();
    let s = vec![vec![0.3, 0.2, 0.1, 5.0]];
    let y = vec![vec![0.5, 0.5, 0.9, 0.7]];
    let m = vec![vec![true, true, true, false]];
    let w = values(
        lambda_weights(
            float2(&s, DType::F64, &device),
            float2(&y, DType::F64, &device),
            mask2(&m, &device),
            LambdaDiscount::Ln,
            LambdaScale::One,
        )
        .unwrap(),
    );
    let at = |i: usize, j: usize| w[i * 4 + j];
    // Tied labels (items 0 and 1) and anything involving the padded item 3: no pair.
    for (i, j) in [(0, 1), (1, 0), (0, 3), (3, 0), (2, 3), (3, 2), (0, 0)] {
        assert_eq!(at(i, j), 0.0, "({i}, {j})");
    }
    // Only the winner side carries the weight: item 2 (ψ = 0.9) over item 0 (ψ = 0.5). Their
    // score ranks are 3 and 1 (label ranks would be 1 and 2): |2^0.9 − 2^0.5| · |1/ln 4 − 1/ln 2|.
    let want = (2f64.powf(0.9) - 2f64.powf(0.5)).abs() * (1.0 / 4f64.ln() - 1.0 / 2f64.ln()).abs();
    assert_close("w(2, 0)", at(2, 0), want, Tolerance::abs(1e-15));
    assert_eq!(at(0, 2), 0.0);
}

// ---------------------------------------------------------------------------------------------
// named equivalences at K = 2

#[test]
fn k2_pair_losses_are_dpo_and_slic() {
    // Prop. 2.1: pair-logistic at K = 2 is DPO-BT, −log σ(s_c − s_r);
    // Prop. 2.2: pair-hinge at K = 2 is SLiC-norm, max(0, 1 − (s_c − s_r)).
    for (s_c, s_r) in [(0.3, -0.2), (-1.5, 0.7), (0.0, 0.0)] {
        let s = vec![vec![s_r, s_c]]; // the chosen one second: order must not matter
        let y = vec![vec![0.0, 1.0]];
        let m = vec![vec![true, true]];
        let delta: f64 = s_c - s_r;
        let dpo = (1.0 + (-delta).exp()).ln();
        let slic = (1.0 - delta).max(0.0);
        for convention in CONVENTIONS {
            let logistic = loss_f64(&lipo(LipoLossType::PairLogistic, convention), &s, &y, &m);
            let hinge = loss_f64(&lipo(LipoLossType::PairHinge, convention), &s, &y, &m);
            assert_close("DPO-BT", logistic, dpo, Tolerance::abs(1e-15));
            assert_close("SLiC-norm", hinge, slic, Tolerance::abs(1e-15));
        }
        // list-MLE at K = 2 is the same Bradley-Terry likelihood (Prop. 2.3, DPO-PL).
        let mle = loss_f64(
            &lipo(LipoLossType::ListMle, LipoConvention::Paper),
            &s,
            &y,
            &m,
        );
        assert_close("DPO-PL", mle, dpo, Tolerance::abs(1e-15));
    }
}

// ---------------------------------------------------------------------------------------------
// bad input

#[test]
fn mismatched_shapes_are_errors_naming_the_input() {
    let device = Device::flex();
    let lipo = lipo(LipoLossType::Lambda, LipoConvention::Rax);
    let a = || Tensor::<2>::zeros([2, 4], &device);
    let b = || Tensor::<2>::zeros([2, 3], &device);
    let mask = |k: usize| {
        Tensor::<2, Bool>::from_data(TensorData::new(vec![true; 2 * k], [2, k]), &device)
    };
    let expect = |r: prefopt_objectives::Result<_>, name: &str, got: Vec<usize>| match r {
        Err(Error::ShapeMismatch {
            what,
            expected,
            got: g,
        }) => {
            assert_eq!(what, name);
            assert_eq!(expected, vec![2, 4]);
            assert_eq!(g, got);
        }
        Err(other) => panic!("{name}: wrong error {other}"),
        Ok(_) => panic!("{name}: accepted a mismatched shape"),
    };
    expect(
        lipo.forward(a(), b(), a(), mask(4)).map(|_| ()),
        "reference_logps",
        vec![2, 3],
    );
    expect(
        lipo.forward(a(), a(), b(), mask(4)).map(|_| ()),
        "labels",
        vec![2, 3],
    );
    expect(
        lipo.forward(a(), a(), a(), mask(3)).map(|_| ()),
        "mask",
        vec![2, 3],
    );
    expect(
        lipo.forward_scores(a(), b(), mask(4)).map(|_| ()),
        "labels",
        vec![2, 3],
    );
    expect(
        lipo.forward_scores(a(), a(), mask(3)).map(|_| ()),
        "mask",
        vec![2, 3],
    );
    expect(
        lipo.scores(a(), b()).map(|_| ()),
        "reference_logps",
        vec![2, 3],
    );
    expect(score_ranks(a(), mask(3)).map(|_| ()), "mask", vec![2, 3]);
    expect(
        lambda_weights(a(), b(), mask(4), LambdaDiscount::Ln, LambdaScale::One).map(|_| ()),
        "labels",
        vec![2, 3],
    );
    match aggregate_win_probabilities(Tensor::<3>::zeros([2, 4, 3], &device), mask(4)) {
        Err(Error::ShapeMismatch {
            what,
            expected,
            got,
        }) => {
            assert_eq!(what, "win_probabilities");
            assert_eq!((expected, got), (vec![2, 4, 4], vec![2, 4, 3]));
        }
        other => panic!("non-square matrix accepted: {:?}", other.map(|_| ())),
    }
}

#[test]
fn config_parses_snake_case_rejects_unknown_keys_and_bad_beta() {
    let config: LipoConfig = serde_json::from_str(
        r#"{"loss_type": "pair_logistic", "convention": "paper", "reduction": "mean",
            "discount": "log2", "lambda_scale": "list_size", "softmax_labels": "raw"}"#,
    )
    .unwrap();
    assert_eq!(config.loss_type, LipoLossType::PairLogistic);
    assert_eq!(config.beta, 0.05, "missing keys take their defaults");
    let lipo = config.init().unwrap();
    assert_eq!(lipo.reduction(), LipoReduction::Mean);
    assert_eq!(lipo.discount(), LambdaDiscount::Log2);

    for loss_type in ALL_LOSSES {
        let json = format!(r#"{{"loss_type": "{}"}}"#, name(loss_type));
        let parsed: LipoConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.loss_type, loss_type);
    }
    let names: Vec<String> = ALL_LOSSES.iter().map(|l| name(*l)).collect();
    assert_eq!(
        names,
        [
            "lambda",
            "pair_logistic",
            "pair_hinge",
            "list_mle",
            "softmax",
            "point_mse",
            "point_sigmoid"
        ]
    );

    let unknown = serde_json::from_str::<LipoConfig>(r#"{"betta": 0.1}"#).unwrap_err();
    assert!(unknown.to_string().contains("betta"), "{unknown}");
    assert!(serde_json::from_str::<LipoConfig>(r#"{"loss_type": "LiPO"}"#).is_err());

    let config: LipoConfig = serde_json::from_str(r#"{"beta": -1.0}"#).unwrap();
    match config.init() {
        Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "beta"),
        other => panic!("negative beta accepted: {other:?}"),
    }

    // Round trip through burn's `Config` (JSON).
    let config = LipoConfig::new()
        .with_loss_type(LipoLossType::ListMle)
        .with_beta(0.1);
    let json = burn::config::config_to_json(&config);
    assert_eq!(serde_json::from_str::<LipoConfig>(&json).unwrap(), config);
}

#[test]
fn lists_without_pairs_give_zero_pairwise_loss_and_gradient() {
    let s = vec![vec![0.3, -0.1, 0.7], vec![0.2, 0.0, 0.0]];
    let y = vec![vec![0.4, 0.4, 0.4], vec![0.9, 0.0, 0.0]];
    let m = vec![vec![true; 3], vec![true, false, false]];
    for loss_type in [
        LipoLossType::Lambda,
        LipoLossType::PairLogistic,
        LipoLossType::PairHinge,
    ] {
        for convention in CONVENTIONS {
            let (loss, grad) = loss_and_grad(&lipo(loss_type, convention), &s, &y, &m, DType::F64);
            assert_eq!(loss, 0.0, "{loss_type:?}/{convention:?}");
            assert!(grad.iter().all(|g| *g == 0.0), "{grad:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// property tests

fn batch_strategy(score_range: f64, min_valid: usize) -> impl Strategy<Value = Batch> {
    (1usize..=3, 2usize..=6).prop_flat_map(move |(b, k)| {
        (
            prop::collection::vec(prop::collection::vec(-score_range..score_range, k), b),
            prop::collection::vec(prop::collection::vec(0.0f64..=1.0, k), b),
            prop::collection::vec(prop::collection::vec(any::<bool>(), k), b),
        )
            .prop_map(move |(scores, labels, mut mask)| {
                for row in &mut mask {
                    for slot in row.iter_mut().take(min_valid) {
                        *slot = true;
                    }
                }
                Batch {
                    scores,
                    labels,
                    mask,
                }
            })
    })
}

/// Whether all valid scores and all valid labels of each list are pairwise ≥ `gap` apart.
fn distinct(batch: &Batch, gap: f64) -> bool {
    batch.mask.iter().enumerate().all(|(b, row)| {
        let idx: Vec<usize> = (0..row.len()).filter(|&i| row[i]).collect();
        idx.iter().all(|&i| {
            idx.iter().all(|&j| {
                i == j
                    || ((batch.scores[b][i] - batch.scores[b][j]).abs() >= gap
                        && (batch.labels[b][i] - batch.labels[b][j]).abs() >= gap)
            })
        })
    })
}

fn garbage() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e4f64..1e4,
    ]
}

fn every_objective() -> Vec<Lipo> {
    ALL_LOSSES
        .iter()
        .flat_map(|l| CONVENTIONS.iter().map(move |c| lipo(*l, *c)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Finite log-prob differences up to ±1e4 (scores up to ±1e4 at β = 1) give a finite loss
    /// and finite gradients in f32, for every loss and convention.
    #[test]
    fn finite_inputs_give_finite_loss_and_gradient(batch in batch_strategy(1e4, 0)) {
        let device = Device::flex().autodiff();
        for loss_type in ALL_LOSSES {
            for convention in CONVENTIONS {
                let lipo = LipoConfig::new()
                    .with_loss_type(loss_type)
                    .with_convention(convention)
                    .with_beta(1.0)
                    .init()
                    .unwrap();
                let policy = float2(&batch.scores, DType::F32, &device).require_grad();
                let zeros: Vec<Vec<f64>> = batch.scores.iter().map(|r| vec![0.0; r.len()]).collect();
                let reference = float2(&zeros, DType::F32, &device);
                let out = lipo
                    .forward(
                        policy.clone(),
                        reference,
                        float2(&batch.labels, DType::F32, &device),
                        mask2(&batch.mask, &device),
                    )
                    .unwrap();
                let loss = scalar(out.loss.clone());
                prop_assert!(loss.is_finite(), "{loss_type:?}/{convention:?}: {loss}");
                let grads = out.loss.backward();
                if let Some(grad) = policy.grad(&grads) {
                    prop_assert!(values(grad).iter().all(|g| g.is_finite()));
                }
            }
        }
    }

    /// Permuting the items of each list (scores, labels and mask together) leaves every loss
    /// unchanged. Scores and labels are kept ≥ 1e-3 apart: with ties, ranks and the list-MLE
    /// order break ties by order of appearance, which a permutation changes (as in Rax).
    #[test]
    fn losses_are_permutation_invariant(
        batch in batch_strategy(3.0, 2).prop_filter("distinct", |b| distinct(b, 1e-3)),
        seed in any::<u64>(),
    ) {
        let mut permuted = batch.clone();
        let mut state = seed;
        for b in 0..batch.scores.len() {
            let k = batch.scores[b].len();
            let mut order: Vec<usize> = (0..k).collect();
            for i in (1..k).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (state >> 33) as usize % (i + 1));
            }
            permuted.scores[b] = order.iter().map(|&i| batch.scores[b][i]).collect();
            permuted.labels[b] = order.iter().map(|&i| batch.labels[b][i]).collect();
            permuted.mask[b] = order.iter().map(|&i| batch.mask[b][i]).collect();
        }
        for lipo in every_objective() {
            let a = loss_f64(&lipo, &batch.scores, &batch.labels, &batch.mask);
            let b = loss_f64(&lipo, &permuted.scores, &permuted.labels, &permuted.mask);
            prop_assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{lipo:?}: {a} vs {b}");
        }
    }

    /// Whatever sits in padded slots (NaN, ±∞, huge values, in scores and labels) the loss is
    /// bit-identical and the padded slots get a zero gradient; appending a padded column does
    /// not change the loss either.
    #[test]
    fn padding_never_changes_the_loss(
        batch in batch_strategy(5.0, 1),
        fill in prop::collection::vec(garbage(), 12),
    ) {
        let mut dirty = batch.clone();
        let mut next = fill.iter().cycle();
        for b in 0..batch.scores.len() {
            for i in 0..batch.scores[b].len() {
                if !batch.mask[b][i] {
                    dirty.scores[b][i] = *next.next().unwrap();
                    dirty.labels[b][i] = *next.next().unwrap();
                }
            }
        }
        let mut wider = dirty.clone();
        for b in 0..batch.scores.len() {
            wider.scores[b].push(*next.next().unwrap());
            wider.labels[b].push(*next.next().unwrap());
            wider.mask[b].push(false);
        }
        for lipo in every_objective() {
            let (clean, _) = loss_and_grad(&lipo, &batch.scores, &batch.labels, &batch.mask, DType::F64);
            let (loss, grad) = loss_and_grad(&lipo, &dirty.scores, &dirty.labels, &dirty.mask, DType::F64);
            prop_assert_eq!(loss.to_bits(), clean.to_bits(), "{:?}: {} vs {}", lipo, loss, clean);
            for (g, valid) in grad.iter().zip(dirty.mask.concat()) {
                prop_assert!(g.is_finite());
                if !valid {
                    prop_assert_eq!(*g, 0.0);
                }
            }
            let wide = loss_f64(&lipo, &wider.scores, &wider.labels, &wider.mask);
            prop_assert!((wide - clean).abs() <= 1e-12 * clean.abs().max(1.0), "{lipo:?}: {wide} vs {clean}");
        }
    }

    /// Tied labels form no pair: the pair count equals the number of strictly ordered valid
    /// pairs, and the pair-logistic sum equals a host computation over exactly those pairs.
    #[test]
    fn tied_labels_form_no_pairs(
        batch in batch_strategy(2.0, 1),
        levels in prop::collection::vec(0usize..3, 36),
    ) {
        let mut tied = batch.clone();
        let mut next = levels.iter().cycle();
        for row in &mut tied.labels {
            for y in row.iter_mut() {
                *y = [0.0, 0.5, 1.0][*next.next().unwrap()];
            }
        }
        let (mut pairs, mut sum, mut lists) = (0usize, 0.0, 0usize);
        for b in 0..tied.scores.len() {
            let k = tied.scores[b].len();
            lists += usize::from(tied.mask[b].iter().any(|v| *v));
            for i in 0..k {
                for j in 0..k {
                    if tied.mask[b][i] && tied.mask[b][j] && tied.labels[b][i] > tied.labels[b][j] {
                        pairs += 1;
                        let d = tied.scores[b][i] - tied.scores[b][j];
                        sum += (1.0 + (-d).exp()).ln();
                    }
                }
            }
        }
        let device = Device::flex();
        let lipo = lipo(LipoLossType::PairLogistic, LipoConvention::Paper);
        let out = lipo
            .forward_scores(
                float2(&tied.scores, DType::F64, &device),
                float2(&tied.labels, DType::F64, &device),
                mask2(&tied.mask, &device),
            )
            .unwrap();
        prop_assert_eq!(scalar(out.metrics.num_pairs), pairs as f64);
        let loss = scalar(out.loss);
        prop_assert!((loss - sum / lists as f64).abs() <= 1e-12 * loss.abs().max(1.0));
    }
}
