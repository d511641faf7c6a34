//! The shapes world as a [`FlowGrpoEnv`]: training-split captions, pixels → RGB images, the
//! checker rewards, and evaluation on the held-out mini UniGenBench suite.

use std::path::PathBuf;

use burn::prelude::*;
use prefopt_models::FluxPipelineModel;
use prefopt_rl::{FlowGrpoEnv, FlowPrompt, RewardSet};

use crate::shapes::{
    Checker, Dimension, MAX_CAPTION_WORDS, RgbImage, Split, SuitePrompt, World, WorldTokenizer,
    check_dir, write_suite, write_verdicts,
};
use crate::shapes_t2i::{GenerateOptions, WORLD_FILE, generate_suite_images, pixels_to_image};
use crate::{Result, TaskError};

use super::config::ShapesGrpoConfig;
use super::rewards::build_rewards;

/// The shapes world's prompts, rewards and evaluation for one run.
#[derive(Debug)]
pub struct ShapesGrpoEnv {
    world: World,
    prompts: Vec<FlowPrompt>,
    rewards: RewardSet<RgbImage>,
    suite: Vec<SuitePrompt>,
    eval_dir: PathBuf,
    eval: GenerateOptions,
}

fn rl_error(e: TaskError) -> prefopt_rl::Error {
    prefopt_rl::Error::InvalidInput(e.to_string())
}

impl ShapesGrpoEnv {
    /// The environment of `config` in `world`; evaluation outputs go under `eval_dir`
    /// (`suite.csv`, then `step-N/` with images and `verdicts.jsonl`); learned reward
    /// networks run on `device`.
    pub fn new(
        config: &ShapesGrpoConfig,
        world: World,
        eval_dir: PathBuf,
        device: &Device,
    ) -> Result<Self> {
        let tokenizer = WorldTokenizer::new();
        let captions = world.captions(
            config.prompts.train_seed,
            config.prompts.train_prompts,
            Split::Train,
            false,
        )?;
        let prompts = captions
            .iter()
            .map(|c| {
                let text = c.text();
                let (ids, mask) = tokenizer.encode(&text, MAX_CAPTION_WORDS)?;
                let len = mask.iter().filter(|m| **m).count();
                Ok(FlowPrompt {
                    text,
                    ids: ids[..len].to_vec(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rewards = build_rewards(
            &config.rewards,
            world.config,
            config.grpo.group_size,
            device,
        )?;
        let suite = if config.prompts.eval_prompts > 0 {
            std::fs::create_dir_all(&eval_dir).map_err(|e| TaskError::io(&eval_dir, e))?;
            write_suite(
                &eval_dir.join("suite.csv"),
                &world,
                config.prompts.eval_prompts,
                config.prompts.eval_seed,
            )?
        } else {
            Vec::new()
        };
        let eval = GenerateOptions {
            images_per_prompt: config.prompts.eval_images_per_prompt,
            seed: config.prompts.eval_seed,
            steps: config.prompts.eval_sampling_steps,
            shift: config.grpo.shift,
            ..GenerateOptions::default()
        };
        Ok(Self {
            world,
            prompts,
            rewards,
            suite,
            eval_dir,
            eval,
        })
    }

    /// Checker pass rates of the current pipeline on the suite: `pass_rate` over all test
    /// points and `pass_rate/<primary dimension>`; images and verdicts are kept in
    /// `eval_dir/step-N/` for `prefopt bench unigenbench score`.
    fn evaluate_suite(
        &self,
        step: u64,
        model: &FluxPipelineModel,
        device: &Device,
    ) -> Result<Vec<(String, f64)>> {
        if self.suite.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.eval_dir.join(format!("step-{step}"));
        // generate_suite_images reads a pipeline directory: a temporary one for this step.
        let model_dir = dir.join("model");
        model.save(&model_dir)?;
        let world_json = serde_json::to_vec_pretty(&self.world.config)?;
        prefopt_core::write_atomic(&model_dir.join(WORLD_FILE), &world_json)?;
        let images = dir.join("images");
        generate_suite_images(&model_dir, &self.suite, &images, &self.eval, device)?;
        std::fs::remove_dir_all(&model_dir).map_err(|e| TaskError::io(&model_dir, e))?;
        let checker = Checker::new(self.world.config)?;
        let lines = check_dir(&checker, &self.suite, &images, self.eval.images_per_prompt)?;
        write_verdicts(&dir.join("verdicts.jsonl"), &lines)?;
        let mut per: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        let (mut total, mut passed) = (0usize, 0usize);
        for line in &lines {
            let scores = line.scores.as_deref().unwrap_or(&[]);
            for (tp, s) in line.testpoints.iter().zip(scores) {
                total += 1;
                passed += usize::from(*s);
                let primary = Dimension::from_testpoint(tp)
                    .map_or("other", Dimension::primary)
                    .to_lowercase()
                    .replace([' ', '-'], "_");
                let e = per.entry(primary).or_default();
                e.0 += 1;
                e.1 += usize::from(*s);
            }
        }
        let mut out = vec![("pass_rate".to_owned(), passed as f64 / total.max(1) as f64)];
        out.extend(
            per.into_iter()
                .map(|(k, (n, p))| (format!("pass_rate/{k}"), p as f64 / n.max(1) as f64)),
        );
        tracing::info!(step, pass_rate = out[0].1, dir = %dir.display(), "evaluated");
        Ok(out)
    }
}

impl FlowGrpoEnv for ShapesGrpoEnv {
    type Image = RgbImage;

    fn prompts(&self) -> &[FlowPrompt] {
        &self.prompts
    }

    fn decode(&self, pixels: &[f32], shape: [usize; 4]) -> prefopt_rl::Result<Vec<RgbImage>> {
        let [n, c, h, w] = shape;
        let per = c * h * w;
        if pixels.len() != n * per || c != 3 {
            return Err(prefopt_rl::Error::InvalidInput(format!(
                "{} pixel values for {n} images of {c}x{h}x{w} (RGB expected)",
                pixels.len()
            )));
        }
        pixels
            .chunks_exact(per)
            .map(|px| pixels_to_image(px, w, h).map_err(rl_error))
            .collect()
    }

    fn rewards(&self) -> &RewardSet<RgbImage> {
        &self.rewards
    }

    fn evaluate(
        &self,
        step: u64,
        model: &FluxPipelineModel,
        device: &Device,
    ) -> prefopt_rl::Result<Vec<(String, f64)>> {
        self.evaluate_suite(step, model, device).map_err(rl_error)
    }
}
