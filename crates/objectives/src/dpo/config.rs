//! `DpoConfig`: the hyper-parameters of the DPO family, readable from a TOML table.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Dpo, DpoLossType, FDivergenceType};
use crate::{Error, Result};

/// How the `ipo` loss turns summed scores into its margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpoNormalization {
    /// Δ = s_c/|y_c| − s_r/|y_r| (per-token average, lengths clamped ≥ 1): TRL, which says the
    /// IPO authors confirmed this form.
    #[default]
    LengthNormalized,
    /// Δ = s_c − s_r on summed log-probs: the reference DPO code and OpenRLHF.
    Summed,
}

/// Configuration of [`Dpo`], field for field TRL's `DPOConfig` loss options.
///
/// This is a serde struct rather than `#[derive(burn::config::Config)]`: burn 0.22's derive
/// generates its own private serde twin that carries neither `deny_unknown_fields` nor the
/// defaults for missing keys, so a partial TOML table would fail and a misspelt key would pass.
/// It still implements [`burn::config::Config`] (JSON `save`/`load`) and offers the same
/// `new()` + `with_*` builders the derive would.
///
/// ```
/// use prefopt_objectives::dpo::{DpoConfig, DpoLossType};
///
/// let dpo = DpoConfig::new()
///     .with_loss_type(vec![DpoLossType::Sigmoid, DpoLossType::Sft])
///     .with_loss_weights(Some(vec![1.0, 0.2]))
///     .init()
///     .unwrap();
/// assert_eq!(dpo.config().beta, 0.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoConfig {
    /// Losses to sum, `loss = Σ_k w_k · mean(ℓ_k)`. A single string is accepted in TOML.
    #[serde(deserialize_with = "one_or_many")]
    pub loss_type: Vec<DpoLossType>,
    /// Weights w_k, one per `loss_type` (default: 1 each).
    pub loss_weights: Option<Vec<f64>>,
    /// Inverse temperature β (> 0).
    pub beta: f64,
    /// ε: cDPO for `sigmoid`, the noise rate of `robust`, the target of `exo_pair`, and the
    /// smoothing of `aot*`.
    pub label_smoothing: f64,
    /// Normalisation of the `ipo` margin.
    pub ipo_normalization: IpoNormalization,
    /// f-divergence used to score the log-ratios.
    pub f_divergence_type: FDivergenceType,
    /// a of the α-divergence (TRL HEAD convention).
    pub f_alpha_divergence_coef: f64,
    /// LD-DPO weight α ∈ [0, 1] of the tokens past min(|y_c|, |y_r|), applied to policy and
    /// reference log-probs (TRL HEAD; TRL 0.28 applied it to the policy only).
    pub ld_alpha: Option<f64>,
    /// WPO: multiply each pair's loss by the detached weight w(y_c)·w(y_r) (unclamped, as TRL
    /// HEAD; TRL 0.28 clamped the product at 1).
    pub use_weighting: bool,
    /// Temperature τ of `discopop` (> 0).
    pub discopop_tau: f64,
}

impl Default for DpoConfig {
    fn default() -> Self {
        Self {
            loss_type: vec![DpoLossType::Sigmoid],
            loss_weights: None,
            beta: 0.1,
            label_smoothing: 0.0,
            ipo_normalization: IpoNormalization::LengthNormalized,
            f_divergence_type: FDivergenceType::ReverseKl,
            f_alpha_divergence_coef: 0.5,
            ld_alpha: None,
            use_weighting: false,
            discopop_tau: 0.05,
        }
    }
}

impl burn::config::Config for DpoConfig {}

impl std::fmt::Display for DpoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&burn::config::config_to_json(self))
    }
}

macro_rules! builder {
    ($($(#[$doc:meta])* $fn:ident => $field:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $fn(mut self, $field: $ty) -> Self {
                self.$field = $field;
                self
            }
        )*
    };
}

impl DpoConfig {
    /// The TRL defaults: `sigmoid`, β = 0.1.
    pub fn new() -> Self {
        Self::default()
    }

    builder! {
        /// Sets [`loss_type`](Self::loss_type).
        with_loss_type => loss_type: Vec<DpoLossType>,
        /// Sets [`loss_weights`](Self::loss_weights).
        with_loss_weights => loss_weights: Option<Vec<f64>>,
        /// Sets [`beta`](Self::beta).
        with_beta => beta: f64,
        /// Sets [`label_smoothing`](Self::label_smoothing).
        with_label_smoothing => label_smoothing: f64,
        /// Sets [`ipo_normalization`](Self::ipo_normalization).
        with_ipo_normalization => ipo_normalization: IpoNormalization,
        /// Sets [`f_divergence_type`](Self::f_divergence_type).
        with_f_divergence_type => f_divergence_type: FDivergenceType,
        /// Sets [`f_alpha_divergence_coef`](Self::f_alpha_divergence_coef).
        with_f_alpha_divergence_coef => f_alpha_divergence_coef: f64,
        /// Sets [`ld_alpha`](Self::ld_alpha).
        with_ld_alpha => ld_alpha: Option<f64>,
        /// Sets [`use_weighting`](Self::use_weighting).
        with_use_weighting => use_weighting: bool,
        /// Sets [`discopop_tau`](Self::discopop_tau).
        with_discopop_tau => discopop_tau: f64,
    }

    /// Validates the hyper-parameters and builds the loss.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending key when a value is out of range or two
    /// options cannot be combined.
    pub fn init(&self) -> Result<Dpo> {
        self.validate()?;
        Ok(Dpo::from_validated(self.clone()))
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if self.loss_type.is_empty() {
            return bad("loss_type", "at least one loss type is required".into());
        }
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return bad("beta", format!("must be finite and > 0, got {}", self.beta));
        }
        if let Some(weights) = &self.loss_weights {
            if weights.len() != self.loss_type.len() {
                return bad(
                    "loss_weights",
                    format!(
                        "has {} entries but loss_type has {}",
                        weights.len(),
                        self.loss_type.len()
                    ),
                );
            }
            if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
                return bad("loss_weights", format!("must be finite, got {w}"));
            }
        }
        let eps = self.label_smoothing;
        if !(eps.is_finite() && (0.0..=0.5).contains(&eps)) {
            return bad("label_smoothing", format!("must be in [0, 0.5], got {eps}"));
        }
        if eps > 0.0 && !self.loss_type.iter().any(|t| t.uses_label_smoothing()) {
            return bad(
                "label_smoothing",
                format!(
                    "is {eps} but none of the loss types uses it (sigmoid, robust, exo_pair, \
                     aot, aot_unpaired do)"
                ),
            );
        }
        if self.loss_type.contains(&DpoLossType::Robust) && eps >= 0.5 {
            return bad(
                "label_smoothing",
                format!("robust needs label_smoothing in [0, 0.5), got {eps}"),
            );
        }
        if self.loss_type.contains(&DpoLossType::ExoPair) && eps <= 0.0 {
            return bad(
                "label_smoothing",
                "exo_pair needs label_smoothing > 0 (the EXO paper suggests 1e-3)".into(),
            );
        }
        if !self.f_alpha_divergence_coef.is_finite() {
            return bad(
                "f_alpha_divergence_coef",
                format!("must be finite, got {}", self.f_alpha_divergence_coef),
            );
        }
        if let Some(a) = self.ld_alpha
            && !(a.is_finite() && (0.0..=1.0).contains(&a))
        {
            return bad("ld_alpha", format!("must be in [0, 1], got {a}"));
        }
        if self.use_weighting && self.loss_type.iter().any(|t| t.is_aot()) {
            return bad(
                "use_weighting",
                "cannot be combined with aot/aot_unpaired (their batch sort breaks the pairing)"
                    .into(),
            );
        }
        if !(self.discopop_tau.is_finite() && self.discopop_tau > 0.0) {
            return bad(
                "discopop_tau",
                format!("must be finite and > 0, got {}", self.discopop_tau),
            );
        }
        Ok(())
    }

    /// The weight of each loss type, defaulting to 1.
    pub(crate) fn weights(&self) -> Vec<f64> {
        self.loss_weights
            .clone()
            .unwrap_or_else(|| vec![1.0; self.loss_type.len()])
    }
}

/// Accepts `loss_type = "ipo"` as well as `loss_type = ["sigmoid", "sft"]`, as TRL does, and keeps
/// serde's "unknown variant, expected one of …" message for misspelt names.
fn one_or_many<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<DpoLossType>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<DpoLossType>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a loss type name or a list of loss type names")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
            use serde::de::IntoDeserializer;
            Ok(vec![DpoLossType::deserialize(v.into_deserializer())?])
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(t) = seq.next_element::<DpoLossType>()? {
                out.push(t);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(Visitor)
}
