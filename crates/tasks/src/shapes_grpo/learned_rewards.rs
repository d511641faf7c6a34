//! The learned networks of `prefopt t2i train-judges` as GRPO rewards:
//! - `learned_scorer` (pointwise): σ(s(image, caption)), the predicted share of test points
//!   passed;
//! - `learned_judge_win_rate` (pairwise): a Bradley–Terry judge P(a ≻ b) = σ(s_a − s_b)
//!   (`prefopt_rl`'s [`BradleyTerryJudge`], threshold rule with a tie margin) turned into win
//!   rates by [`WinRateReward`].

use std::path::Path;
use std::sync::Arc;

use burn::prelude::Device;
use prefopt_rl::{
    BradleyTerryDecision, BradleyTerryJudge, PairwiseJudge, RewardFn, WinRateConfig, WinRateReward,
};

use crate::Result;
use crate::shapes::RgbImage;

use super::judge_net::{JudgeObjective, LoadedJudgeNet};

/// Rows per forward of the scorer.
const SCORE_CHUNK: usize = 64;

/// The learned pointwise scorer as a reward.
#[derive(Debug)]
pub struct LearnedScorer {
    name: String,
    net: LoadedJudgeNet,
}

impl LearnedScorer {
    /// Loads the scorer in `dir` (a `scorer/` of `prefopt t2i train-judges`) for images of
    /// `size` (width, height).
    ///
    /// # Errors
    /// As [`LoadedJudgeNet::load`] (a pairwise judge's directory is refused).
    pub fn load(
        name: impl Into<String>,
        dir: &Path,
        size: (usize, usize),
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            name: name.into(),
            net: LoadedJudgeNet::load(dir, JudgeObjective::Pointwise, size, device)?,
        })
    }
}

impl RewardFn<RgbImage> for LearnedScorer {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(
        &self,
        prompts: &[&str],
        completions: &[&RgbImage],
    ) -> prefopt_rl::Result<Vec<Option<f64>>> {
        let mut out = Vec::with_capacity(completions.len());
        for (p, c) in prompts
            .chunks(SCORE_CHUNK)
            .zip(completions.chunks(SCORE_CHUNK))
        {
            let logits = self
                .net
                .scores(p, c)
                .map_err(|e| prefopt_rl::Error::Reward {
                    name: self.name.clone(),
                    reason: e.to_string(),
                })?;
            out.extend(logits.into_iter().map(|s| Some(1.0 / (1.0 + (-s).exp()))));
        }
        Ok(out)
    }
}

/// The learned pairwise judge: Bradley–Terry on the network's logits.
pub fn learned_judge(
    dir: &Path,
    size: (usize, usize),
    tie_margin: f64,
    device: &Device,
) -> Result<impl PairwiseJudge<RgbImage> + use<>> {
    let net = Arc::new(LoadedJudgeNet::load(
        dir,
        JudgeObjective::Pairwise,
        size,
        device,
    )?);
    let score = move |caption: &str, image: &RgbImage| -> f64 {
        match net.scores(&[caption], &[image]) {
            Ok(s) => s[0],
            Err(e) => {
                // A non-finite score is an error of the judge (the step fails), not a tie.
                tracing::error!(error = %e, "the learned judge cannot score an image");
                f64::NAN
            }
        }
    };
    Ok(BradleyTerryJudge::new(
        score,
        BradleyTerryDecision::Threshold { tie_margin },
    )?)
}

/// `learned_judge_win_rate`: win rates over groups of `group_size` from [`learned_judge`].
///
/// # Errors
/// As [`learned_judge`], a group smaller than 2.
pub fn learned_judge_win_rate(
    name: &str,
    dir: &Path,
    size: (usize, usize),
    tie_margin: f64,
    group_size: usize,
    device: &Device,
) -> Result<Box<dyn RewardFn<RgbImage>>> {
    Ok(Box::new(WinRateReward::new(
        name,
        learned_judge(dir, size, tie_margin, device)?,
        WinRateConfig {
            num_generations: group_size,
            swap_debias: false,
            workers: 1,
        },
    )?))
}
