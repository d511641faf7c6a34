//! Training pairs of the shapes world as flow-matching batches.

use prefopt_core::SplitMix64;
use prefopt_train::{FlowBatch, FlowData};

use crate::shapes::{World, WorldTokenizer};
use crate::shapes_t2i::pixels::image_to_pixels;

/// The world's ground-truth renders of random training-split captions; the batch of a step
/// depends only on `(seed, step, micro)`.
#[derive(Debug, Clone)]
pub struct WorldFlowData {
    world: World,
    tokenizer: WorldTokenizer,
    seed: u64,
}

impl WorldFlowData {
    /// Batches of `world` drawn from `seed`.
    pub fn new(world: World, seed: u64) -> Self {
        Self {
            world,
            tokenizer: WorldTokenizer::new(),
            seed,
        }
    }
}

impl FlowData for WorldFlowData {
    fn batch(
        &self,
        step: u64,
        micro: usize,
        size: usize,
    ) -> Result<FlowBatch, Box<dyn std::error::Error + Send + Sync>> {
        let seed = SplitMix64::for_stream(self.seed ^ 0x5_4A9E5, step).next_u64() ^ micro as u64;
        let (w, h) = (self.world.config.width, self.world.config.height);
        let mut prompts = Vec::with_capacity(size);
        let mut pixels = Vec::with_capacity(size * 3 * w * h);
        for pair in self.world.training_pairs(seed).take(size) {
            let pair = pair?;
            prompts.push(self.tokenizer.ids(&pair.caption)?);
            image_to_pixels(&pair.image, &mut pixels);
        }
        Ok(FlowBatch {
            shape: [prompts.len(), 3, h, w],
            prompts,
            pixels,
        })
    }
}
