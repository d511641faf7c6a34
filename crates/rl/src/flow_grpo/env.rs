//! What a task gives the image GRPO loop: its prompts, how pixels become the images its
//! rewards read, the rewards, and an optional evaluation.

use burn::prelude::*;
use prefopt_models::FluxPipelineModel;

use crate::error::Result;
use crate::reward::RewardSet;

/// One training prompt: the text the rewards see and the token ids the text encoder reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPrompt {
    /// The caption.
    pub text: String,
    /// Its token ids (unpadded; the text encoder pads).
    pub ids: Vec<u32>,
}

/// A text-to-image task for [`train_flow_grpo`](super::train_flow_grpo).
pub trait FlowGrpoEnv {
    /// What the rewards judge (e.g. an 8-bit RGB image).
    type Image: Send + Sync;

    /// The training prompts (non-empty).
    fn prompts(&self) -> &[FlowPrompt];

    /// Images from model pixels, row-major `[b, c, h, w]` in about [−1, 1].
    ///
    /// # Errors
    /// Pixels of the wrong geometry.
    fn decode(&self, pixels: &[f32], shape: [usize; 4]) -> Result<Vec<Self::Image>>;

    /// The weighted rewards (pointwise and win-rate).
    fn rewards(&self) -> &RewardSet<Self::Image>;

    /// Evaluation of the current pipeline (no autodiff) at `step`, as named metrics (logged
    /// with an `eval/` prefix). None by default.
    ///
    /// # Errors
    /// Whatever the evaluation reports.
    fn evaluate(
        &self,
        step: u64,
        model: &FluxPipelineModel,
        device: &Device,
    ) -> Result<Vec<(String, f64)>> {
        let _ = (step, model, device);
        Ok(Vec::new())
    }
}
