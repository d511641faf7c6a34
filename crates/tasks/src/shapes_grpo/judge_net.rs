//! The image–text network behind the learned scorer and the learned pairwise judge: one
//! architecture, one parameter count, two training objectives.
//!
//! - Image: a patch convolution (`patch`×`patch`, stride `patch`) over the RGB image in
//!   `[-1, 1]`, a 3×3 convolution, then FiLM conditioning on the caption (per-channel scale and
//!   shift from the text vector), another 3×3 convolution, and mean + max pooling over space.
//! - Text: the caption's world-tokenizer ids (padded to `max_words`), embedded, flattened in
//!   word order (so "a red circle left of a blue square" and its swap differ) and projected.
//! - Head: an MLP over [mean-pool, max-pool, text] → one logit `s(image, caption)`.
//!
//! The pointwise scorer reads `σ(s)` as the predicted share of test points passed; the pairwise
//! judge reads `σ(s_a − s_b)` as P(a ≻ b) (a Bradley–Terry head on the same network), so both
//! see exactly the same inputs through exactly the same parameters.
//!
//! Files: `config.json` ([`LearnedJudgeFile`]) and `model.safetensors` (burn's store, the
//! module's field names).

use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::gelu;
use prefopt_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::shapes::{RgbImage, WorldTokenizer};
use crate::shapes_t2i::image_to_pixels;
use crate::{Result, TaskError};

/// The weights file of a learned judge directory.
pub const JUDGE_WEIGHTS_FILE: &str = "model.safetensors";
/// The config file of a learned judge directory.
pub const JUDGE_CONFIG_FILE: &str = "config.json";

/// Sizes of a [`JudgeNet`].
#[derive(Config, Debug, PartialEq)]
pub struct JudgeNetConfig {
    /// Image width in pixels (a multiple of `patch`).
    pub width: usize,
    /// Image height in pixels (a multiple of `patch`).
    pub height: usize,
    /// Vocabulary of the world tokenizer.
    pub vocab_size: usize,
    /// Caption length in words (captions are padded to it).
    pub max_words: usize,
    /// Patch side of the first convolution.
    #[config(default = 4)]
    pub patch: usize,
    /// Channels of the image features.
    #[config(default = 32)]
    pub channels: usize,
    /// Width of the word embeddings and of the text vector.
    #[config(default = 32)]
    pub text_dim: usize,
    /// Hidden width of the head.
    #[config(default = 64)]
    pub hidden: usize,
}

impl JudgeNetConfig {
    /// Checks the sizes (errors name the key).
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| Err(TaskError::InvalidInput(format!("{key}: {msg}")));
        for (key, v) in [
            ("patch", self.patch),
            ("channels", self.channels),
            ("text_dim", self.text_dim),
            ("hidden", self.hidden),
            ("vocab_size", self.vocab_size),
            ("max_words", self.max_words),
        ] {
            if v == 0 {
                return bad(key, "must be at least 1".into());
            }
        }
        if self.width == 0
            || self.height == 0
            || !self.width.is_multiple_of(self.patch)
            || !self.height.is_multiple_of(self.patch)
        {
            return bad(
                "patch",
                format!(
                    "the image ({}x{}) must be a non-empty multiple of the patch side {}",
                    self.width, self.height, self.patch
                ),
            );
        }
        Ok(())
    }

    /// A network with fresh weights drawn from `seed` (PyTorch's rule: weights and biases
    /// uniform in ±1/√fan_in, embeddings standard normal), independent of burn's global RNG,
    /// so two networks of one seed start equal whatever else runs in the process.
    ///
    /// # Errors
    /// Invalid sizes.
    pub fn init_seeded(&self, seed: u64, device: &Device) -> Result<JudgeNet> {
        let net = self.init(device)?;
        Ok(net.map(&mut SeededInit {
            rng: SplitMix64::new(seed),
            fan_in: 1,
            in_embedding: false,
        }))
    }

    /// A network with burn's default initialisation (for loading weights into).
    ///
    /// # Errors
    /// Invalid sizes.
    pub fn init(&self, device: &Device) -> Result<JudgeNet> {
        self.validate()?;
        let c = self.channels;
        let same = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        Ok(JudgeNet {
            patch: Conv2dConfig::new([3, c], [self.patch, self.patch])
                .with_stride([self.patch, self.patch])
                .init(device),
            conv1: Conv2dConfig::new([c, c], [3, 3])
                .with_padding(same())
                .init(device),
            film: LinearConfig::new(self.text_dim, 2 * c).init(device),
            conv2: Conv2dConfig::new([c, c], [3, 3])
                .with_padding(same())
                .init(device),
            embed: EmbeddingConfig::new(self.vocab_size, self.text_dim).init(device),
            text: LinearConfig::new(self.max_words * self.text_dim, self.text_dim).init(device),
            head1: LinearConfig::new(2 * c + self.text_dim, self.hidden).init(device),
            head2: LinearConfig::new(self.hidden, 1).init(device),
        })
    }
}

/// Redraws every float parameter from a [`SplitMix64`]; fields are visited in declaration
/// order (a layer's weight before its bias), so a bias takes the fan-in of its weight.
struct SeededInit {
    rng: SplitMix64,
    fan_in: usize,
    in_embedding: bool,
}

impl ModuleMapper for SeededInit {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        if name == "embed" {
            self.in_embedding = true;
        }
    }

    fn exit_module(&mut self, name: &str, _container_type: &str) {
        if name == "embed" {
            self.in_embedding = false;
        }
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let dims = t.dims();
            let n: usize = dims.iter().product();
            let values: Vec<f32> = if self.in_embedding {
                (0..n).map(|_| self.rng.next_normal()).collect()
            } else {
                match D {
                    // Conv2d weight [out, in, kh, kw].
                    4 => self.fan_in = dims[1] * dims[2] * dims[3],
                    // Linear weight [in, out] (burn's layout).
                    2 => self.fan_in = dims[0],
                    _ => {}
                }
                let bound = 1.0 / (self.fan_in.max(1) as f64).sqrt();
                (0..n)
                    .map(|_| ((self.rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                    .collect()
            };
            let grad = t.is_require_grad();
            let fresh = Tensor::<D>::from_data(TensorData::new(values, dims), &t.device());
            if grad { fresh.require_grad() } else { fresh }
        })
    }
}

/// See the module docs.
#[derive(Module, Debug)]
pub struct JudgeNet {
    patch: Conv2d,
    conv1: Conv2d,
    film: Linear,
    conv2: Conv2d,
    embed: Embedding,
    text: Linear,
    head1: Linear,
    head2: Linear,
}

impl JudgeNet {
    /// One logit per (image, caption).
    ///
    /// # Shapes
    /// - `pixels`: `[b, 3, h, w]` in `[-1, 1]`
    /// - `ids`: `[b, max_words]` world-tokenizer ids (padding included)
    /// - output: `[b]`
    pub fn forward(&self, pixels: Tensor<4>, ids: Tensor<2, Int>) -> Tensor<1> {
        let [b, words] = ids.dims();
        let emb = self.embed.forward(ids); // [b, L, e]
        let e = emb.dims()[2];
        let text = gelu(self.text.forward(emb.reshape([b, words * e]))); // [b, e]
        let x = gelu(self.patch.forward(pixels));
        let x = gelu(self.conv1.forward(x)); // [b, c, h', w']
        let c = x.dims()[1];
        let film = self.film.forward(text.clone()); // [b, 2c]
        let gamma = film.clone().slice([0..b, 0..c]).reshape([b, c, 1, 1]);
        let beta = film.slice([0..b, c..2 * c]).reshape([b, c, 1, 1]);
        let x = x.clone() * gamma.add_scalar(1.0) + beta;
        let x = gelu(self.conv2.forward(x)); // [b, c, h', w']
        let [_, _, hh, ww] = x.dims();
        let flat = x.reshape([b, c, hh * ww]);
        let mean = flat.clone().mean_dim(2).reshape([b, c]);
        let max = flat.max_dim(2).reshape([b, c]);
        let features = Tensor::cat(vec![mean, max, text], 1);
        let hidden = gelu(self.head1.forward(features));
        self.head2.forward(hidden).reshape([b])
    }
}

/// What a learned judge was trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeObjective {
    /// Regression of the checker's pass rate (binary cross-entropy on σ(s)): `learned_scorer`.
    Pointwise,
    /// Bradley–Terry on labelled pairs (σ(s_a − s_b) against 1 / 0 / ½): `learned_judge_win_rate`.
    Pairwise,
}

impl JudgeObjective {
    /// The reward kind that loads it.
    pub fn reward_kind(self) -> &'static str {
        match self {
            Self::Pointwise => "learned_scorer",
            Self::Pairwise => "learned_judge_win_rate",
        }
    }
}

/// `config.json` of a learned judge directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedJudgeFile {
    /// What the network was trained for.
    pub objective: JudgeObjective,
    /// Its sizes.
    pub net: JudgeNetConfig,
    /// Parameters (the same for both objectives at the same sizes).
    pub num_parameters: usize,
}

/// A trained network with its tokenizer, ready to score images.
#[derive(Debug)]
pub struct LoadedJudgeNet {
    /// The file's description.
    pub file: LearnedJudgeFile,
    /// The network (inference device).
    pub net: JudgeNet,
    tokenizer: WorldTokenizer,
    device: Device,
}

/// Caption ids padded to `max_words`, row-major `[n, max_words]`.
pub(crate) fn caption_ids(
    tokenizer: &WorldTokenizer,
    captions: &[&str],
    max_words: usize,
) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(captions.len() * max_words);
    for caption in captions {
        let (ids, _) = tokenizer.encode(caption, max_words)?;
        out.extend(ids.iter().map(|&i| i64::from(i)));
    }
    Ok(out)
}

/// Images as `[n, 3, h, w]` pixels in `[-1, 1]`, checked against the network's size.
pub(crate) fn images_pixels(config: &JudgeNetConfig, images: &[&RgbImage]) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(images.len() * 3 * config.width * config.height);
    for image in images {
        if (image.width(), image.height()) != (config.width, config.height) {
            return Err(TaskError::InvalidInput(format!(
                "a {}x{} image for a judge network of {}x{} images",
                image.width(),
                image.height(),
                config.width,
                config.height
            )));
        }
        image_to_pixels(image, &mut out);
    }
    Ok(out)
}

impl JudgeNet {
    /// Logits for (caption, image) rows given as host data.
    ///
    /// # Errors
    /// Wrong image size, a caption outside the world's vocabulary, a failed read-back.
    pub fn score_host(
        &self,
        config: &JudgeNetConfig,
        tokenizer: &WorldTokenizer,
        captions: &[&str],
        images: &[&RgbImage],
        device: &Device,
    ) -> Result<Vec<f64>> {
        if captions.len() != images.len() {
            return Err(TaskError::InvalidInput(format!(
                "{} captions for {} images",
                captions.len(),
                images.len()
            )));
        }
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let n = images.len();
        let pixels = images_pixels(config, images)?;
        let ids = caption_ids(tokenizer, captions, config.max_words)?;
        let pixels = Tensor::<4>::from_data(
            TensorData::new(pixels, [n, 3, config.height, config.width]),
            device,
        );
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, config.max_words]), device);
        let scores = self.forward(pixels, ids);
        let values: Vec<f32> = scores
            .into_data()
            .try_to_vec()
            .map_err(|e| TaskError::TensorRead(format!("{e:?}")))?;
        Ok(values.into_iter().map(f64::from).collect())
    }

    /// Writes `dir/config.json` and `dir/model.safetensors`.
    ///
    /// # Errors
    /// I/O.
    pub fn save(
        &self,
        dir: &Path,
        objective: JudgeObjective,
        config: &JudgeNetConfig,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| TaskError::io(dir, e))?;
        let file = LearnedJudgeFile {
            objective,
            net: config.clone(),
            num_parameters: self.num_params(),
        };
        prefopt_core::write_atomic(
            &dir.join(JUDGE_CONFIG_FILE),
            &serde_json::to_vec_pretty(&file)?,
        )?;
        let path = dir.join(JUDGE_WEIGHTS_FILE);
        let mut store = SafetensorsStore::from_file(&path);
        self.save_into(&mut store).map_err(|e| TaskError::Image {
            path: path.clone(),
            message: format!("cannot write the weights: {e}"),
        })
    }
}

impl LoadedJudgeNet {
    /// Loads a learned judge directory written by `prefopt t2i train-judges`, checking that it
    /// was trained for `objective` and draws `width`×`height` images.
    ///
    /// # Errors
    /// A missing or unreadable file, another objective (the message names the reward kind the
    /// directory is for), another image size, missing or misshapen weights.
    pub fn load(
        dir: &Path,
        objective: JudgeObjective,
        size: (usize, usize),
        device: &Device,
    ) -> Result<Self> {
        let config_path = dir.join(JUDGE_CONFIG_FILE);
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| TaskError::io(&config_path, e))?;
        let file: LearnedJudgeFile = serde_json::from_str(&text)
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", config_path.display())))?;
        if file.objective != objective {
            return Err(TaskError::InvalidInput(format!(
                "{}: a {:?} network, for the reward kind `{}`, not `{}`",
                dir.display(),
                file.objective,
                file.objective.reward_kind(),
                objective.reward_kind()
            )));
        }
        if (file.net.width, file.net.height) != size {
            return Err(TaskError::InvalidInput(format!(
                "{}: trained on {}x{} images, the world draws {}x{}",
                dir.display(),
                file.net.width,
                file.net.height,
                size.0,
                size.1
            )));
        }
        let tokenizer = WorldTokenizer::new();
        if file.net.vocab_size != tokenizer.vocab_size() {
            return Err(TaskError::InvalidInput(format!(
                "{}: vocab_size {} but the world tokenizer has {} words",
                dir.display(),
                file.net.vocab_size,
                tokenizer.vocab_size()
            )));
        }
        let mut net = file.net.init(device)?;
        let path = dir.join(JUDGE_WEIGHTS_FILE);
        if !path.is_file() {
            return Err(TaskError::InvalidInput(format!(
                "{}: missing (train it with `prefopt t2i train-judges`)",
                path.display()
            )));
        }
        let mut store = SafetensorsStore::from_file(&path);
        let result = net.load_from(&mut store).map_err(|e| TaskError::Image {
            path: path.clone(),
            message: format!("cannot read the weights: {e}"),
        })?;
        if !result.errors.is_empty() || !result.missing.is_empty() {
            return Err(TaskError::Image {
                path,
                message: format!(
                    "weights do not match the config: missing {:?}, errors {:?}",
                    result.missing, result.errors
                ),
            });
        }
        Ok(Self {
            file,
            net,
            tokenizer,
            device: device.clone(),
        })
    }

    /// Logits of (caption, image) rows.
    ///
    /// # Errors
    /// As [`JudgeNet::score_host`].
    pub fn scores(&self, captions: &[&str], images: &[&RgbImage]) -> Result<Vec<f64>> {
        self.net.score_host(
            &self.file.net,
            &self.tokenizer,
            captions,
            images,
            &self.device,
        )
    }
}
