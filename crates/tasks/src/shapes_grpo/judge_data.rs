//! Checker-labelled samples of a base pipeline, the data both learned judges are trained on:
//! N images per training-split caption, each labelled with the share of the caption's test
//! points it passes; the pairwise view is every within-caption pair, labelled by which image
//! passes more (ties inside a band).

use std::path::Path;

use burn::prelude::Device;

use crate::shapes::{Caption, Checker, RgbImage, SuitePrompt, WorldConfig, suite_image_path};
use crate::shapes_t2i::{GenerateOptions, generate_suite_images};
use crate::{Result, TaskError};

use super::rewards::pass_rate;

/// One labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeSample {
    /// Index of its caption in the draw (samples of one caption share it).
    pub prompt: usize,
    /// The caption.
    pub caption: String,
    /// The image.
    pub image: RgbImage,
    /// The checker's share of test points passed, in [0, 1].
    pub pass_rate: f64,
}

/// A within-caption pair `(first, second, target)`: target P(first ≻ second) is 1 when the
/// first passes more than `tie_band` more of the test points, 0 when the second does, ½ else.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledPair {
    /// Index of the first sample.
    pub first: usize,
    /// Index of the second sample.
    pub second: usize,
    /// 1, 0 or ½.
    pub target: f32,
}

/// Every unordered within-caption pair (lower index first) of `samples`, labelled with
/// `tie_band` (the checker judge's rule).
pub fn labelled_pairs(samples: &[JudgeSample], tie_band: f64) -> Vec<LabelledPair> {
    let mut out = Vec::new();
    for i in 0..samples.len() {
        for j in i + 1..samples.len() {
            if samples[i].prompt != samples[j].prompt {
                continue;
            }
            let gap = samples[i].pass_rate - samples[j].pass_rate;
            let target = if gap.abs() <= tie_band {
                0.5
            } else if gap > 0.0 {
                1.0
            } else {
                0.0
            };
            out.push(LabelledPair {
                first: i,
                second: j,
                target,
            });
        }
    }
    out
}

/// Labels `(prompt, caption, image)` rows with the checker of a world with `config`.
///
/// # Errors
/// A caption outside the grammar, an image of the wrong size.
pub fn label_samples(
    config: WorldConfig,
    rows: Vec<(usize, String, RgbImage)>,
) -> Result<Vec<JudgeSample>> {
    let checker = Checker::new(config)?;
    rows.into_iter()
        .map(|(prompt, caption, image)| {
            let pass_rate = pass_rate(&checker, &caption, &image)?;
            Ok(JudgeSample {
                prompt,
                caption,
                image,
                pass_rate,
            })
        })
        .collect()
}

/// Draws `options.images_per_prompt` images per caption from the pipeline in `base_model`
/// (the `prefopt t2i generate` sampler) into `dir` (`{index}_{j}.png`, a contact sheet),
/// reads them back and labels them with the checker; `first_index` numbers the captions.
///
/// # Errors
/// As [`generate_suite_images`], unreadable images, [`label_samples`].
pub fn sample_judge_data(
    base_model: &Path,
    config: WorldConfig,
    captions: &[Caption],
    first_index: usize,
    dir: &Path,
    options: &GenerateOptions,
    device: &Device,
) -> Result<Vec<JudgeSample>> {
    if captions.is_empty() {
        return Err(TaskError::InvalidInput(
            "no captions to sample judge data for".into(),
        ));
    }
    let prompts: Vec<SuitePrompt> = captions
        .iter()
        .enumerate()
        .map(|(i, caption)| SuitePrompt {
            index: first_index + i,
            caption: caption.clone(),
        })
        .collect();
    generate_suite_images(base_model, &prompts, dir, options, device)?;
    let mut rows = Vec::with_capacity(prompts.len() * options.images_per_prompt);
    for p in &prompts {
        for j in 0..options.images_per_prompt {
            let image = RgbImage::read_png(&suite_image_path(dir, p.index, j))?;
            rows.push((p.index, p.caption.text(), image));
        }
    }
    label_samples(config, rows)
}
