//! The DPO loss variants, named exactly as TRL's `DPOConfig.loss_type` strings.

use serde::{Deserialize, Serialize};

/// One per-pair preference loss of the DPO family.
///
/// The serde names are TRL's `loss_type` strings (`sigmoid`, `hinge`, …), so a TOML file written
/// for TRL's `DPOConfig` reads unchanged. Notation: β = `beta`, ε = `label_smoothing`,
/// r = log π_θ(y|x) − log π_ref(y|x) (the log-ratio), s = the f-divergence score of r
/// ([`FDivergenceType`](super::FDivergenceType); s = r by default), Δs = s_c − s_r,
/// |y| = completion token count. Formulas follow TRL `DPOTrainer` at HEAD (`f2cd577`) unless
/// an arm says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpoLossType {
    /// DPO (Rafailov et al. 2023, arXiv:2305.18290, Eq. 7): ℓ = −log σ(βΔs).
    ///
    /// With `label_smoothing` ε > 0 this is conservative DPO (cDPO, Mitchell 2023 note; the
    /// reference DPO code and TRL ≤ 0.28): ℓ = −(1−ε) log σ(βΔs) − ε log σ(−βΔs). TRL HEAD
    /// ignores ε here; with the default ε = 0 both agree.
    Sigmoid,
    /// SLiC-HF / RSO hinge (Zhao et al. 2023, arXiv:2305.10425 Eq. 3; Liu et al. 2023,
    /// arXiv:2309.06657): ℓ = max(0, 1 − βΔs). The margin is 1/β.
    Hinge,
    /// IPO (Azar et al. 2023, arXiv:2310.12036, Eq. 17, β playing τ): ℓ = (Δ − 1/(2β))².
    ///
    /// Δ is length-normalised (s_c/|y_c| − s_r/|y_r|, TRL) or summed (Δs, reference DPO
    /// code), chosen by [`IpoNormalization`](super::IpoNormalization).
    Ipo,
    /// Robust DPO (rDPO, Chowdhury et al. 2024, arXiv:2403.00409, Eq. 8):
    /// ℓ = [−(1−ε) log σ(βΔs) + ε log σ(−βΔs)] / (1 − 2ε), ε ∈ [0, 0.5).
    Robust,
    /// EXO, pairwise (Ji et al. 2024, arXiv:2402.00856, Eq. 16):
    /// ℓ = σ(βΔs)[log σ(βΔs) − log(1−ε)] + σ(−βΔs)[log σ(−βΔs) − log ε], ε > 0 required.
    ExoPair,
    /// NCA, pairwise (Chen et al. 2024, arXiv:2402.05369, Eq. 10):
    /// ℓ = −log σ(βs_c) − ½ log σ(−βs_c) − ½ log σ(−βs_r).
    NcaPair,
    /// BCO, pairwise (Jung et al. 2024, arXiv:2404.04656), without the running-mean shift δ of
    /// TRL ≤ 0.28: ℓ = −log σ(βs_c) − log σ(−βs_r).
    BcoPair,
    /// SPPO with hard probabilities (Wu et al. 2024, arXiv:2405.00675, Eq. 4.7 with P = 1 for
    /// the winner): ℓ = (s_c − 1/(2β))² + (s_r + 1/(2β))².
    SppoHard,
    /// AOT, paired (Melnyk et al. 2024, arXiv:2406.05882): sort L = log π_θ(y_c) − log π_θ(y_r)
    /// and R = log π_ref(y_c) − log π_ref(y_r) over the batch, each on its own; δ = sort(L) −
    /// sort(R); ℓ = −(1−ε) log σ(βδ) − ε log σ(−βδ). Uses raw log-probs (no f-divergence).
    Aot,
    /// AOT, unpaired (same paper): δ = sort(r_c) − sort(r_r), same ℓ as [`Aot`](Self::Aot).
    /// Called `aot_pair` before TRL 0.28.
    AotUnpaired,
    /// APO-zero (D'Oosterlinck et al. 2024, arXiv:2408.06266, Eq. 7):
    /// ℓ = [1 − σ(βr_c)] + σ(βr_r) (raw log-ratios).
    ApoZero,
    /// APO-down (same paper, Eq. 8): ℓ = σ(βr_c) + [1 − σ(βΔs)], mixing raw r_c with the
    /// scored Δs as TRL codes it.
    ApoDown,
    /// DiscoPOP (Chris Lu et al. 2024, arXiv:2406.08414, Eq. 5): z = βΔs, m = σ(z/τ),
    /// ℓ = (1 − m)(−log σ(z)) + m·e^(−z), τ = `discopop_tau`.
    Discopop,
    /// Length-normalised DPO ("DPO-norm" of Tülu 3, arXiv:2411.15124; SimPO's ablation,
    /// arXiv:2405.14734): ℓ = −log σ(β(s_c/|y_c| − s_r/|y_r|)).
    SigmoidNorm,
    /// Supervised term (RPO, Pang et al. 2024, arXiv:2404.19733; IRPO/MPO mixes): the token-mean
    /// negative log-likelihood of all chosen completion tokens of the batch,
    /// −Σ log π_θ(y_c) / Σ|y_c|, broadcast to every pair. Replaces TRL ≤ 0.28's `rpo_alpha`.
    Sft,
}

impl DpoLossType {
    /// Every variant, in TRL's documentation order.
    pub const ALL: [DpoLossType; 15] = [
        Self::Sigmoid,
        Self::Hinge,
        Self::Ipo,
        Self::Robust,
        Self::ExoPair,
        Self::NcaPair,
        Self::BcoPair,
        Self::SppoHard,
        Self::Aot,
        Self::AotUnpaired,
        Self::ApoZero,
        Self::ApoDown,
        Self::Discopop,
        Self::SigmoidNorm,
        Self::Sft,
    ];

    /// The TRL `loss_type` string of this variant.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Hinge => "hinge",
            Self::Ipo => "ipo",
            Self::Robust => "robust",
            Self::ExoPair => "exo_pair",
            Self::NcaPair => "nca_pair",
            Self::BcoPair => "bco_pair",
            Self::SppoHard => "sppo_hard",
            Self::Aot => "aot",
            Self::AotUnpaired => "aot_unpaired",
            Self::ApoZero => "apo_zero",
            Self::ApoDown => "apo_down",
            Self::Discopop => "discopop",
            Self::SigmoidNorm => "sigmoid_norm",
            Self::Sft => "sft",
        }
    }

    /// Whether `label_smoothing` changes this loss.
    pub fn uses_label_smoothing(self) -> bool {
        matches!(
            self,
            Self::Sigmoid | Self::Robust | Self::ExoPair | Self::Aot | Self::AotUnpaired
        )
    }

    /// Whether the loss sorts over the batch (and so mixes up the pair order).
    pub fn is_aot(self) -> bool {
        matches!(self, Self::Aot | Self::AotUnpaired)
    }
}

impl std::fmt::Display for DpoLossType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_trl_strings() {
        for ty in DpoLossType::ALL {
            let json = serde_json::to_string(&ty).unwrap();
            assert_eq!(json, format!("\"{}\"", ty.as_str()));
            let back: DpoLossType = serde_json::from_str(&json).unwrap();
            assert_eq!(back, ty);
        }
        assert!(serde_json::from_str::<DpoLossType>("\"aot_pair\"").is_err());
    }
}
