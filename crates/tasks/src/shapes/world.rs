//! The world's configuration, random captions (with a held-out split) and training pairs.

use prefopt_core::SplitMix64;
use serde::{Deserialize, Serialize};

use super::caption::{Caption, Entity, Group, Layout, Negation};
use super::image::RgbImage;
use super::render::render;
use super::vocab::{Colour, Comparison, MAX_COUNT, Position, Relation, ShapeKind, Size};
use crate::{Result, TaskError};

/// Image and object sizes of a world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldConfig {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Side of a `big` object's bounding box (odd, so shapes are symmetric).
    pub big: usize,
    /// Side of a `small` object's bounding box (odd).
    pub small: usize,
    /// Most objects in one scene (random captions stay within it; rendering refuses more).
    pub max_objects: usize,
    /// Least empty pixels between two objects' bounding boxes.
    pub gap: usize,
}

impl Default for WorldConfig {
    /// 32×32 images, big 11 px, small 7 px, at most 4 objects, 2 px apart.
    fn default() -> Self {
        Self {
            width: 32,
            height: 32,
            big: 11,
            small: 7,
            max_objects: 4,
            gap: 2,
        }
    }
}

impl WorldConfig {
    /// Checks the sizes: sides 16..=512, odd object sizes with `small ≥ 5`, `big ≥ small + 4`,
    /// `big ≤ min side / 2`, `1 ≤ max_objects ≤ 8`, `1 ≤ gap ≤ 8`.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TaskError::InvalidInput(format!("shapes world config: {m}")));
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if !(16..=512).contains(&v) {
                return bad(format!("`{name}` = {v} is outside 16..=512"));
            }
        }
        for (name, v) in [("big", self.big), ("small", self.small)] {
            if v.is_multiple_of(2) {
                return bad(format!("`{name}` = {v} must be odd"));
            }
        }
        if self.small < 5 {
            return bad(format!("`small` = {} must be at least 5", self.small));
        }
        if self.big < self.small + 4 {
            return bad(format!(
                "`big` = {} must be at least `small` + 4 = {}",
                self.big,
                self.small + 4
            ));
        }
        if self.big > self.width.min(self.height) / 2 {
            return bad(format!(
                "`big` = {} is above half the smaller side ({})",
                self.big,
                self.width.min(self.height) / 2
            ));
        }
        if !(1..=8).contains(&self.max_objects) {
            return bad(format!(
                "`max_objects` = {} is outside 1..=8",
                self.max_objects
            ));
        }
        if !(1..=8).contains(&self.gap) {
            return bad(format!("`gap` = {} is outside 1..=8", self.gap));
        }
        Ok(())
    }

    /// The pixel side of `size`.
    pub fn side(&self, size: Size) -> usize {
        match size {
            Size::Big => self.big,
            Size::Small => self.small,
        }
    }
}

/// Which captions a generator yields: the held-out split is fixed by a hash of the caption
/// text (one caption in eight), so training data never holds a suite prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    /// Captions for training.
    Train,
    /// Captions kept for evaluation (the mini UniGenBench suite).
    HeldOut,
}

impl Split {
    /// The split of a caption text.
    pub fn of(text: &str) -> Self {
        // FNV-1a, 64 bit: stable across machines and versions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        if h.is_multiple_of(8) {
            Self::HeldOut
        } else {
            Self::Train
        }
    }
}

/// A caption with its rendered ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPair {
    /// The caption text.
    pub caption: String,
    /// A ground-truth render of it.
    pub image: RgbImage,
}

/// The shapes world: random captions, renders and the checker's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct World {
    /// Sizes.
    pub config: WorldConfig,
}

fn pick<T: Copy>(rng: &mut SplitMix64, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn chance(rng: &mut SplitMix64, p: f64) -> bool {
    rng.next_f64() < p
}

impl World {
    /// A world with `config` (validated).
    pub fn new(config: WorldConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self { config })
    }

    fn entity(rng: &mut SplitMix64) -> Entity {
        Entity {
            colour: pick(rng, &Colour::ALL),
            shape: pick(rng, &ShapeKind::ALL),
        }
    }

    fn two_entities(rng: &mut SplitMix64) -> (Entity, Entity) {
        let a = Self::entity(rng);
        loop {
            let b = Self::entity(rng);
            if b != a {
                return (a, b);
            }
        }
    }

    fn size(rng: &mut SplitMix64) -> Option<Size> {
        chance(rng, 0.5).then(|| pick(rng, &Size::ALL))
    }

    /// One random caption of either split that renders in this world.
    pub fn random_caption(&self, rng: &mut SplitMix64) -> Caption {
        loop {
            let c = self.draw_caption(rng);
            if render(&c, &self.config, &mut rng.clone()).is_ok() {
                return c;
            }
        }
    }

    fn draw_caption(&self, rng: &mut SplitMix64) -> Caption {
        let max = self.config.max_objects;
        let kind = rng.below(100);
        let layout = if kind < 35 || max < 2 {
            let count = 1 + rng.below(max.min(MAX_COUNT) as u64) as usize;
            let e = Self::entity(rng);
            Layout::Groups(vec![Group {
                count,
                entity: e,
                size: Self::size(rng),
                position: (count == 1 && chance(rng, 0.5)).then(|| pick(rng, &Position::ALL)),
            }])
        } else if kind < 65 {
            let (a, b) = Self::two_entities(rng);
            let ca = 1 + rng.below((max - 1).min(3) as u64) as usize;
            let cb = 1 + rng.below((max - ca).min(3) as u64) as usize;
            let pa = (ca == 1 && chance(rng, 0.4)).then(|| pick(rng, &Position::ALL));
            // The centre leaves no room for a second placed object of the big size.
            let pb = (cb == 1 && chance(rng, 0.4))
                .then(|| pick(rng, &Position::ALL))
                .filter(|p| {
                    Some(*p) != pa && *p != Position::Centre && pa != Some(Position::Centre)
                });
            Layout::Groups(vec![
                Group {
                    count: ca,
                    entity: a,
                    size: Self::size(rng),
                    position: pa,
                },
                Group {
                    count: cb,
                    entity: b,
                    size: Self::size(rng),
                    position: pb,
                },
            ])
        } else if kind < 85 {
            let (a, b) = Self::two_entities(rng);
            let group = |e: Entity, rng: &mut SplitMix64| Group {
                size: Self::size(rng),
                ..Group::one(e.colour, e.shape)
            };
            Layout::Relation {
                a: group(a, rng),
                relation: pick(rng, &Relation::ALL),
                b: group(b, rng),
            }
        } else {
            let (a, b) = Self::two_entities(rng);
            Layout::Comparison {
                a,
                comparison: pick(rng, &Comparison::ALL),
                b,
            }
        };
        let mut caption = Caption {
            layout,
            negation: None,
        };
        if chance(rng, 0.25) {
            let entities = caption.entities();
            for _ in 0..16 {
                let n = if chance(rng, 0.5) {
                    Negation::Colour(pick(rng, &Colour::ALL))
                } else {
                    Negation::Shape(pick(rng, &ShapeKind::ALL))
                };
                if !entities.iter().any(|e| n.matches(*e)) {
                    caption.negation = Some(n);
                    break;
                }
            }
        }
        caption
    }

    /// `n` random captions of `split` from `seed` (distinct texts when `distinct`).
    ///
    /// # Errors
    /// When `distinct` and the generator cannot find `n` distinct captions in `1000 · n` draws.
    pub fn captions(
        &self,
        seed: u64,
        n: usize,
        split: Split,
        distinct: bool,
    ) -> Result<Vec<Caption>> {
        let mut rng = SplitMix64::for_stream(seed, split as u64);
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(n);
        let mut draws = 0usize;
        while out.len() < n {
            draws += 1;
            if draws > 1000 * n.max(1) {
                return Err(TaskError::InvalidInput(format!(
                    "found only {} distinct {split:?} captions of the {n} asked for",
                    out.len()
                )));
            }
            let c = self.random_caption(&mut rng);
            let text = c.text();
            if Split::of(&text) != split || (distinct && !seen.insert(text)) {
                continue;
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Training pairs from `seed`: random training-split captions with a ground-truth render
    /// each; an endless, deterministic stream (take what you need).
    pub fn training_pairs(&self, seed: u64) -> impl Iterator<Item = Result<TrainingPair>> + '_ {
        let mut rng = SplitMix64::for_stream(seed, 0x7261_696e);
        std::iter::from_fn(move || {
            loop {
                let c = self.random_caption(&mut rng);
                let text = c.text();
                if Split::of(&text) != Split::Train {
                    continue;
                }
                return Some(
                    render(&c, &self.config, &mut rng).map(|scene| TrainingPair {
                        caption: text,
                        image: scene.image,
                    }),
                );
            }
        })
    }
}
