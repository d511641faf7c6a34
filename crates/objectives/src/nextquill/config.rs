//! `NextQuillConfig`: the hyper-parameters of the NextQuill objective, readable from TOML.

use serde::{Deserialize, Serialize};

use super::{DataEffectSource, NextQuill, NextQuillVariant, TokenWeighting, WeightNormalization};
use crate::{Error, Result};

/// Configuration of [`NextQuill`]; field names are the TOML keys.
///
/// Where the authors' code (`juntaoyou/NextQuill`, `CustomTrainer3`) and the paper as
/// summarised disagree, both are available and **the default follows the code**:
///
/// | key | default (code) | paper / alternative |
/// |---|---|---|
/// | `weight_alignment_term` | `false`: L_p is an unweighted token mean | `true`: L_p weighted by ω like L_n (paper as summarised, MIRROR reimplementation) |
/// | `weight_normalization` | `batch`: ω / Σ_batch ω | `sum`: the printed (1/\|D\|) Σ Σ ω·CE; also `sequence`, `token_count` |
/// | `data_effect_source` | `dynamic`: the trained model's own passes | `fixed`: a frozen data model (paper appendix, MIRROR) |
/// | `detach_null_history` | `false`: L_p's gradient reaches the null pass | `true`: only the with-history pass is trained |
/// | `detach_weights` | `true`: ω never carries a gradient | `false`: the code's unused JS path, whose weights were not detached |
///
/// δ = 0.05, λ = 0.9, ε = 0.1 are hard-coded in the code; α = 0.1 is `CustomTrainer3`'s default.
///
/// This is a serde struct implementing [`burn::config::Config`] rather than
/// `#[derive(burn::config::Config)]`: burn 0.22's derive writes its own serde twin without
/// field defaults or `deny_unknown_fields`, so a partial TOML table would fail to load and a
/// misspelt key would be ignored. It offers the same `new()` + `with_*` builders.
///
/// ```toml
/// [nextquill]
/// variant = "full"                 # full | mce_only | dce_only | mce_dce_alignment
/// alpha = 0.1                      # weight of L_p
/// token_weighting = "threshold"    # threshold | soft_js
/// delta = 0.05                     # threshold on the gold-probability difference
/// lambda = 0.9                     # weight of preference-bearing tokens
/// epsilon = 0.1                    # weight of the other tokens
/// weight_normalization = "batch"   # batch | sequence | token_count | sum
/// weight_alignment_term = false    # weight L_p by ω too (paper) or not (code)
/// detach_null_history = false
/// data_effect_source = "dynamic"   # dynamic | fixed
/// detach_weights = true
/// ```
///
/// ```
/// use prefopt_objectives::nextquill::{NextQuillConfig, NextQuillVariant};
///
/// let nq = NextQuillConfig::new()
///     .with_variant(NextQuillVariant::DceOnly)
///     .init()
///     .unwrap();
/// assert_eq!(nq.config().delta, 0.05);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NextQuillConfig {
    /// Full objective or one ablation row. Default `full`.
    pub variant: NextQuillVariant,
    /// α, the weight of L_p in L_n + α·L_p (finite, ≥ 0). Default 0.1.
    pub alpha: f64,
    /// Rule that turns the data-side effect into ω. Default `threshold`.
    pub token_weighting: TokenWeighting,
    /// δ, the threshold on the gold-probability difference DCE_t (in [0, 1)). Default 0.05.
    pub delta: f64,
    /// λ, the weight of preference-bearing tokens (DCE_t > δ) (finite, ≥ 0). Default 0.9.
    pub lambda: f64,
    /// ε, the weight of the other valid tokens (finite, ≥ 0). Default 0.1.
    pub epsilon: f64,
    /// Normalisation of the weights, for L_n and L_p alike. Default `batch` (the code).
    pub weight_normalization: WeightNormalization,
    /// Weight L_p by ω (paper as summarised) instead of uniformly (the code, default `false`).
    /// Only meaningful for `variant = "full"`.
    pub weight_alignment_term: bool,
    /// Stop L_p's gradient into the null-history logits. Default `false` (the code).
    pub detach_null_history: bool,
    /// Which model estimates the data-side effect. Default `dynamic` (the code).
    pub data_effect_source: DataEffectSource,
    /// Detach ω from the graph. Default `true`. Only `soft_js` weights from the dynamic source
    /// have a gradient to stop (threshold weights are piecewise constant, fixed ones frozen).
    pub detach_weights: bool,
}

impl Default for NextQuillConfig {
    fn default() -> Self {
        Self {
            variant: NextQuillVariant::Full,
            alpha: 0.1,
            token_weighting: TokenWeighting::Threshold,
            delta: 0.05,
            lambda: 0.9,
            epsilon: 0.1,
            weight_normalization: WeightNormalization::Batch,
            weight_alignment_term: false,
            detach_null_history: false,
            data_effect_source: DataEffectSource::Dynamic,
            detach_weights: true,
        }
    }
}

impl burn::config::Config for NextQuillConfig {}

impl std::fmt::Display for NextQuillConfig {
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

impl NextQuillConfig {
    /// The defaults of the authors' code: full NextQuill, α = 0.1, threshold weights
    /// δ = 0.05, λ = 0.9, ε = 0.1, batch normalisation, unweighted L_p, dynamic effect.
    pub fn new() -> Self {
        Self::default()
    }

    builder! {
        /// Sets [`variant`](Self::variant).
        with_variant => variant: NextQuillVariant,
        /// Sets [`alpha`](Self::alpha).
        with_alpha => alpha: f64,
        /// Sets [`token_weighting`](Self::token_weighting).
        with_token_weighting => token_weighting: TokenWeighting,
        /// Sets [`delta`](Self::delta).
        with_delta => delta: f64,
        /// Sets [`lambda`](Self::lambda).
        with_lambda => lambda: f64,
        /// Sets [`epsilon`](Self::epsilon).
        with_epsilon => epsilon: f64,
        /// Sets [`weight_normalization`](Self::weight_normalization).
        with_weight_normalization => weight_normalization: WeightNormalization,
        /// Sets [`weight_alignment_term`](Self::weight_alignment_term).
        with_weight_alignment_term => weight_alignment_term: bool,
        /// Sets [`detach_null_history`](Self::detach_null_history).
        with_detach_null_history => detach_null_history: bool,
        /// Sets [`data_effect_source`](Self::data_effect_source).
        with_data_effect_source => data_effect_source: DataEffectSource,
        /// Sets [`detach_weights`](Self::detach_weights).
        with_detach_weights => detach_weights: bool,
    }

    /// Validates the hyper-parameters and builds the objective.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key: `alpha` (not finite or < 0), `delta` (not in
    /// [0, 1)), `lambda` / `epsilon` (not finite or < 0, or both 0 with threshold weights),
    /// `weight_alignment_term` (set for a variant other than `full`).
    pub fn init(&self) -> Result<NextQuill> {
        self.validate()?;
        Ok(NextQuill::from_validated(self.clone()))
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad(
                "alpha",
                format!("must be finite and >= 0, got {}", self.alpha),
            );
        }
        if !(0.0..1.0).contains(&self.delta) {
            return bad("delta", format!("must be in [0, 1), got {}", self.delta));
        }
        for (field, value) in [("lambda", self.lambda), ("epsilon", self.epsilon)] {
            if !(value.is_finite() && value >= 0.0) {
                return bad(field, format!("must be finite and >= 0, got {value}"));
            }
        }
        if self.token_weighting == TokenWeighting::Threshold
            && self.lambda == 0.0
            && self.epsilon == 0.0
        {
            return bad(
                "lambda",
                "lambda and epsilon are both 0, so every token weight would be 0".into(),
            );
        }
        if self.weight_alignment_term && self.variant != NextQuillVariant::Full {
            return bad(
                "weight_alignment_term",
                format!(
                    "only applies to variant \"full\" (variant {:?} fixes the weighting of L_p)",
                    self.variant
                ),
            );
        }
        Ok(())
    }

    /// Whether L_p uses the preference weights ω (else uniform weights).
    pub fn weights_alignment_term(&self) -> bool {
        match self.variant {
            NextQuillVariant::Full => self.weight_alignment_term,
            NextQuillVariant::MceDceAlignment => true,
            NextQuillVariant::MceOnly | NextQuillVariant::DceOnly => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(cfg: NextQuillConfig) -> &'static str {
        match cfg.init() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_authors_code() {
        let c = NextQuillConfig::new();
        assert_eq!(
            (c.delta, c.lambda, c.epsilon, c.alpha),
            (0.05, 0.9, 0.1, 0.1)
        );
        assert_eq!(c.variant, NextQuillVariant::Full);
        assert_eq!(c.weight_normalization, WeightNormalization::Batch);
        assert!(!c.weight_alignment_term && !c.detach_null_history && c.detach_weights);
        assert_eq!(c.data_effect_source, DataEffectSource::Dynamic);
        assert!(c.init().is_ok());
    }

    #[test]
    fn every_bad_value_names_its_field() {
        let base = NextQuillConfig::new;
        for a in [-0.1, f64::NAN, f64::INFINITY] {
            assert_eq!(field_of(base().with_alpha(a)), "alpha");
        }
        for d in [-0.01, 1.0, 1.5, f64::NAN] {
            assert_eq!(field_of(base().with_delta(d)), "delta");
        }
        for v in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(field_of(base().with_lambda(v)), "lambda");
            assert_eq!(field_of(base().with_epsilon(v)), "epsilon");
        }
        assert_eq!(
            field_of(base().with_lambda(0.0).with_epsilon(0.0)),
            "lambda"
        );
        assert_eq!(
            field_of(
                base()
                    .with_variant(NextQuillVariant::MceOnly)
                    .with_weight_alignment_term(true)
            ),
            "weight_alignment_term"
        );
        // Edge values that are valid.
        assert!(base().with_delta(0.0).with_alpha(0.0).init().is_ok());
        assert!(base().with_lambda(0.0).init().is_ok());
    }

    #[test]
    fn alignment_weighting_per_variant() {
        let w = |v, flag| {
            NextQuillConfig::new()
                .with_variant(v)
                .with_weight_alignment_term(flag)
                .weights_alignment_term()
        };
        assert!(!w(NextQuillVariant::Full, false));
        assert!(w(NextQuillVariant::Full, true));
        assert!(w(NextQuillVariant::MceDceAlignment, false));
        assert!(!w(NextQuillVariant::MceOnly, false));
        assert!(!w(NextQuillVariant::DceOnly, false));
    }
}
