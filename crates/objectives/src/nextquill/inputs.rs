//! `NextQuillInputs`: the two aligned passes at target positions, targets and mask.

use burn::tensor::{Bool, Int, Tensor};

use crate::{Error, Result};

/// Inputs of [`NextQuill::forward`](super::NextQuill::forward).
///
/// The trainer renders every example twice — with the user history and with the null history
/// (the authors use the literal placeholder `None` for the history block) — runs the model on
/// both, and gathers the logits that **predict the target tokens**, aligned by position: row
/// `[b, t]` of both logit tensors predicts the same gold token `targets[b, t]`. Prompt tokens
/// are not included; padding after a short target is marked `false` in `target_mask`.
///
/// Masked positions never change the loss: their targets may hold any id (e.g. −100) and their
/// logits any finite value.
///
/// Logits in f16/bf16 are upcast to f32, f64 stays f64; all inputs are cast to that dtype.
///
/// # Shapes
/// - `logits_with_history`, `logits_null_history`: `[batch, T, V]`
/// - `targets`, `target_mask`: `[batch, T]`
#[derive(Debug, Clone)]
pub struct NextQuillInputs {
    /// z^h: logits of the with-history pass at target positions. Gradients flow into it.
    pub logits_with_history: Tensor<3>,
    /// z^∅: logits of the null-history pass at the same positions. Gradients flow into it
    /// through L_p unless `detach_null_history` is set.
    pub logits_null_history: Tensor<3>,
    /// Gold token ids y_t.
    pub targets: Tensor<2, Int>,
    /// `true` at real target tokens, `false` at padding.
    pub target_mask: Tensor<2, Bool>,
    /// Logits of the frozen data model, required by `data_effect_source = "fixed"` and
    /// rejected otherwise.
    pub frozen: Option<FrozenLogits>,
}

/// The two passes of a frozen model θ_D, aligned exactly like the trained model's. They are
/// detached inside the loss.
///
/// # Shapes
/// - both fields: `[batch, T, V]`
#[derive(Debug, Clone)]
pub struct FrozenLogits {
    /// f_{θ_D}(x, h, y_<t).
    pub logits_with_history: Tensor<3>,
    /// f_{θ_D}(x, ∅, y_<t).
    pub logits_null_history: Tensor<3>,
}

impl NextQuillInputs {
    /// Inputs for the dynamic data-side effect (no frozen model).
    pub fn new(
        logits_with_history: Tensor<3>,
        logits_null_history: Tensor<3>,
        targets: Tensor<2, Int>,
        target_mask: Tensor<2, Bool>,
    ) -> Self {
        Self {
            logits_with_history,
            logits_null_history,
            targets,
            target_mask,
            frozen: None,
        }
    }

    /// Adds the frozen model's logits (for `data_effect_source = "fixed"`).
    #[must_use]
    pub fn with_frozen(mut self, frozen: FrozenLogits) -> Self {
        self.frozen = Some(frozen);
        self
    }

    /// Checks that every tensor agrees with `logits_with_history` `[batch, T, V]`, and that
    /// none of batch, T, V is 0.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming the first input that disagrees.
    pub fn check_shapes(&self) -> Result<()> {
        let dims = self.logits_with_history.dims();
        if dims.contains(&0) {
            return Err(Error::ShapeMismatch {
                what: "logits_with_history",
                expected: vec![dims[0].max(1), dims[1].max(1), dims[2].max(1)],
                got: dims.to_vec(),
            });
        }
        let [batch, t, _] = dims;
        let check = |what: &'static str, expected: &[usize], got: &[usize]| {
            if expected == got {
                Ok(())
            } else {
                Err(Error::ShapeMismatch {
                    what,
                    expected: expected.to_vec(),
                    got: got.to_vec(),
                })
            }
        };
        check(
            "logits_null_history",
            &dims,
            &self.logits_null_history.dims(),
        )?;
        check("targets", &[batch, t], &self.targets.dims())?;
        check("target_mask", &[batch, t], &self.target_mask.dims())?;
        if let Some(frozen) = &self.frozen {
            check(
                "frozen.logits_with_history",
                &dims,
                &frozen.logits_with_history.dims(),
            )?;
            check(
                "frozen.logits_null_history",
                &dims,
                &frozen.logits_null_history.dims(),
            )?;
        }
        Ok(())
    }
}
