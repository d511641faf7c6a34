//! Identities that tie the DPO and LiPO families together (LiPO paper, Props. 2.1 and 2.2).

use burn::prelude::*;
use burn::tensor::DType;
use prefopt_objectives::dpo::{DpoConfig, DpoInputs, DpoLossType};
use prefopt_objectives::lipo::{LipoConfig, LipoConvention, LipoLossType, LipoReduction};
use prefopt_testkit::{Tolerance, assert_all_close};

fn t1(v: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), (device, DType::F64))
}

fn t2(rows: &[[f64; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 2]), (device, DType::F64))
}

fn values(t: Tensor<1>) -> Vec<f64> {
    t.try_into_vec_as::<f64>().unwrap()
}

/// The §1.10-A vector of the research notes (torchtune's DPO unit-test inputs).
const POLICY_CHOSEN: [f64; 3] = [-0.5, -10.0, -1.0];
const POLICY_REJECTED: [f64; 3] = [-0.1, -30.0, -21.0];
const REF_CHOSEN: [f64; 3] = [-0.5, -10.1, -0.1];
const REF_REJECTED: [f64; 3] = [-0.1, -20.1, -0.1];

fn dpo_per_pair(loss: DpoLossType, beta: f64, device: &Device) -> Vec<f64> {
    let dpo = DpoConfig::new()
        .with_loss_type(vec![loss])
        .with_beta(beta)
        .init()
        .unwrap();
    let out = dpo
        .forward(DpoInputs::new(
            t1(&POLICY_CHOSEN, device),
            t1(&POLICY_REJECTED, device),
            t1(&REF_CHOSEN, device),
            t1(&REF_REJECTED, device),
            t1(&[5.0, 20.0, 10.0], device),
            t1(&[3.0, 40.0, 30.0], device),
        ))
        .unwrap();
    values(out.per_pair)
}

/// LiPO with one list of K = 2 per pair (chosen labelled 1, rejected 0), summed per list so
/// each list's loss is its one pair's loss.
fn lipo_per_list(loss: LipoLossType, beta: f64, device: &Device) -> Vec<f64> {
    let lipo = LipoConfig::new()
        .with_loss_type(loss)
        .with_beta(beta)
        .with_convention(LipoConvention::Paper)
        .with_reduction(Some(LipoReduction::Sum))
        .init()
        .unwrap();
    (0..3)
        .map(|i| {
            let out = lipo
                .forward(
                    t2(&[[POLICY_CHOSEN[i], POLICY_REJECTED[i]]], device),
                    t2(&[[REF_CHOSEN[i], REF_REJECTED[i]]], device),
                    t2(&[[1.0, 0.0]], device),
                    Tensor::from_data(TensorData::new(vec![true, true], [1, 2]), device),
                )
                .unwrap();
            values(out.loss)[0]
        })
        .collect()
}

#[test]
fn lipo_pair_logistic_at_k2_is_dpo_sigmoid() {
    let device = Device::flex();
    for beta in [0.1, 0.5, 2.0] {
        let dpo = dpo_per_pair(DpoLossType::Sigmoid, beta, &device);
        let lipo = lipo_per_list(LipoLossType::PairLogistic, beta, &device);
        assert_all_close(&format!("beta {beta}"), &lipo, &dpo, Tolerance::abs(1e-12));
    }
    // and the research notes' numbers at beta = 0.1
    assert_all_close(
        "pair-logistic at beta 0.1",
        &lipo_per_list(LipoLossType::PairLogistic, 0.1, &device),
        &[std::f64::consts::LN_2, 0.313262, 0.126928],
        Tolerance::abs(1e-6),
    );
}

#[test]
fn lipo_pair_hinge_at_k2_is_dpo_hinge() {
    let device = Device::flex();
    for beta in [0.1, 0.5, 2.0] {
        let dpo = dpo_per_pair(DpoLossType::Hinge, beta, &device);
        let lipo = lipo_per_list(LipoLossType::PairHinge, beta, &device);
        assert_all_close(&format!("beta {beta}"), &lipo, &dpo, Tolerance::abs(1e-12));
    }
}

#[test]
fn lipo_lambda_at_k2_is_a_weighted_dpo_sigmoid() {
    // With K = 2 and labels {1, 0}, |ΔG| = 1 and the paper discount gives
    // |1/ln 2 − 1/ln 3| for the single pair, whichever item ranks first.
    let device = Device::flex();
    let weight = (1.0 / 2f64.ln() - 1.0 / 3f64.ln()).abs();
    let dpo = dpo_per_pair(DpoLossType::Sigmoid, 0.1, &device);
    let lambda = lipo_per_list(LipoLossType::Lambda, 0.1, &device);
    let weighted: Vec<f64> = dpo.iter().map(|l| l * weight).collect();
    assert_all_close("lambda", &lambda, &weighted, Tolerance::abs(1e-12));
}
