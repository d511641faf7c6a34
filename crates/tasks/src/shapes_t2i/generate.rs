//! `prefopt t2i generate`: images of a trained pipeline for a prompt file, in the UniGenBench
//! layout (`{index}_{j}.png`), with a contact sheet.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{FluxPipelineModel, euler_sample, seeded_normal, time_shifted_schedule};

use crate::shapes::{
    Caption, SuitePrompt, World, WorldConfig, WorldTokenizer, contact_sheet, read_suite,
    suite_image_path,
};
use crate::shapes_t2i::config::WORLD_FILE;
use crate::shapes_t2i::pixels::pixels_to_image;
use crate::{Result, TaskError};

/// File name of the contact sheet in a generation directory.
pub const CONTACT_SHEET_FILE: &str = "contact_sheet.png";
/// Prompts (rows) the contact sheet shows at most: the first ones of the file.
pub const CONTACT_SHEET_MAX_PROMPTS: usize = 32;
/// Images per prompt (columns) the contact sheet shows at most.
pub const CONTACT_SHEET_MAX_IMAGES: usize = 8;

/// The images of the contact sheet out of `images` (prompt-major, `images_per_prompt` each):
/// the first [`CONTACT_SHEET_MAX_IMAGES`] of each of the first [`CONTACT_SHEET_MAX_PROMPTS`]
/// prompts, so the sheet stays a viewable size however many images were generated; and the
/// number of columns.
pub fn contact_sheet_selection<T: Clone>(
    images: &[T],
    images_per_prompt: usize,
) -> (Vec<T>, usize) {
    let per = images_per_prompt.max(1);
    let columns = per.min(CONTACT_SHEET_MAX_IMAGES);
    let picked = images
        .chunks(per)
        .take(CONTACT_SHEET_MAX_PROMPTS)
        .flat_map(|row| row.iter().take(columns).cloned())
        .collect();
    (picked, columns)
}

/// How to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Images per prompt (`j` in `{index}_{j}.png`).
    pub images_per_prompt: usize,
    /// Seed of the initial noise; image `(index, j)` gets its own stream, so an image does not
    /// depend on the batch it was drawn in.
    pub seed: u64,
    /// Euler steps.
    pub steps: usize,
    /// Time shift of the schedule (1 = none).
    pub shift: f64,
    /// Classifier-free guidance scale (1 = no guidance: one forward per step).
    pub guidance_scale: f32,
    /// Images per forward pass.
    pub batch_size: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            images_per_prompt: 4,
            seed: 0,
            steps: 20,
            shift: 1.0,
            guidance_scale: 1.0,
            batch_size: 32,
        }
    }
}

/// What [`generate_suite_images`] wrote.
#[derive(Debug, Clone)]
pub struct GeneratedImages {
    /// Every image, prompt-major.
    pub images: Vec<PathBuf>,
    /// The contact sheet (one row per prompt; see [`contact_sheet_selection`]).
    pub contact_sheet: PathBuf,
}

/// The world a pipeline was trained in: `path` itself when it is a file (a [`WORLD_FILE`]),
/// else [`WORLD_FILE`] in the directory `path` or its parent (a checkpoint directory sits
/// inside the run's output directory).
pub fn load_world(path: &Path) -> Result<World> {
    let candidates: Vec<PathBuf> = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        [Some(path), path.parent()]
            .into_iter()
            .flatten()
            .map(|d| d.join(WORLD_FILE))
            .collect()
    };
    if let Some(file) = candidates.iter().find(|f| f.is_file()) {
        let text = std::fs::read_to_string(file).map_err(|e| TaskError::io(file, e))?;
        let config: WorldConfig = serde_json::from_str(&text)
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", file.display())))?;
        return World::new(config);
    }
    Err(TaskError::InvalidInput(format!(
        "no `{WORLD_FILE}` at `{}` or in its parent: give a pipeline trained by \
         `prefopt t2i train` or its `{WORLD_FILE}`",
        path.display()
    )))
}

/// Prompts from a suite CSV (`.csv`, the official layout) or a text file with one caption
/// per line (index = line number from 0; blank lines are skipped but counted).
pub fn read_prompts(path: &Path) -> Result<Vec<SuitePrompt>> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return read_suite(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| TaskError::io(path, e))?;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let caption = Caption::parse(line.trim()).map_err(|e| {
            TaskError::InvalidInput(format!("{}:{}: {e}", path.display(), index + 1))
        })?;
        out.push(SuitePrompt { index, caption });
    }
    if out.is_empty() {
        return Err(TaskError::InvalidInput(format!(
            "{}: no prompts",
            path.display()
        )));
    }
    Ok(out)
}

/// Draws `options.images_per_prompt` images for each prompt with the pipeline in `model_dir`
/// (Euler ODE sampler) into `out_dir/{index}_{j}.png`, plus [`CONTACT_SHEET_FILE`].
pub fn generate_suite_images(
    model_dir: &Path,
    prompts: &[SuitePrompt],
    out_dir: &Path,
    options: &GenerateOptions,
    device: &Device,
) -> Result<GeneratedImages> {
    if options.images_per_prompt == 0 || options.batch_size == 0 || options.steps == 0 {
        return Err(TaskError::InvalidInput(
            "images_per_prompt, batch_size and steps must be at least 1".into(),
        ));
    }
    let world = load_world(model_dir)?;
    let model = FluxPipelineModel::load(model_dir, device)?;
    let spec = model.image();
    if (spec.width, spec.height) != (world.config.width, world.config.height) {
        return Err(TaskError::InvalidInput(format!(
            "{}: the pipeline draws {}x{} images but its world is {}x{}",
            model_dir.display(),
            spec.width,
            spec.height,
            world.config.width,
            world.config.height
        )));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    let tokenizer = WorldTokenizer::new();
    let rope = model.rope(device)?;
    let sigmas = time_shifted_schedule(options.steps, options.shift);
    let jobs: Vec<(usize, usize, Vec<u32>)> = prompts
        .iter()
        .map(|p| {
            let ids = tokenizer.ids(&p.caption.text())?;
            Ok((0..options.images_per_prompt).map(move |j| (p.index, j, ids.clone())))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let tokens = spec.tokens();
    let width = 4 * spec.channels;
    let mut images = Vec::with_capacity(jobs.len());
    let mut rows = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(options.batch_size) {
        let b = chunk.len();
        let noise = Tensor::cat(
            chunk
                .iter()
                .map(|(index, j, _)| {
                    let mut rng =
                        SplitMix64::for_stream(options.seed, (*index as u64) << 16 | *j as u64);
                    seeded_normal([1, tokens, width], &mut rng, device)
                })
                .collect(),
            0,
        );
        let prompts: Vec<Vec<u32>> = chunk.iter().map(|(_, _, ids)| ids.clone()).collect();
        let text = model.encode_prompts(&prompts, device)?;
        let packed = if options.guidance_scale == 1.0 {
            euler_sample(noise, &sigmas, model.velocity_fn(&text, None, &rope))?
        } else {
            let uncond = model.encode_prompts(&vec![Vec::new(); b], device)?;
            euler_sample(
                noise,
                &sigmas,
                model.cfg_velocity_fn(&text, &uncond, options.guidance_scale, &rope),
            )?
        };
        let pixels = model.unpack(packed)?;
        let values: Vec<f32> = pixels
            .into_data()
            .try_to_vec()
            .map_err(|e| TaskError::TensorRead(format!("{e:?}")))?;
        let per = spec.channels * spec.height * spec.width;
        for ((index, j, _), px) in chunk.iter().zip(values.chunks_exact(per)) {
            let image = pixels_to_image(px, spec.width, spec.height)?;
            let path = suite_image_path(out_dir, *index, *j);
            image.write_png(&path)?;
            images.push(path);
            rows.push(image);
        }
    }
    let (shown, columns) = contact_sheet_selection(&rows, options.images_per_prompt);
    let sheet = contact_sheet(&shown, columns, 3, 2, [128; 3])?;
    let sheet_path = out_dir.join(CONTACT_SHEET_FILE);
    sheet.write_png(&sheet_path)?;
    tracing::info!(images = images.len(), dir = %out_dir.display(), "generated");
    Ok(GeneratedImages {
        images,
        contact_sheet: sheet_path,
    })
}
