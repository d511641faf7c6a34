//! The procedural renderer: shape masks and seeded placement of a caption's objects.

use prefopt_core::SplitMix64;
use serde::{Deserialize, Serialize};

use super::caption::{Caption, Entity, Group, Layout};
use super::image::RgbImage;
use super::vocab::{BACKGROUND, Comparison, Position, Relation, ShapeKind, Size};
use super::world::WorldConfig;
use crate::{Result, TaskError};

/// Placement attempts (each a fresh layout of all objects) before giving up.
const ATTEMPTS: usize = 200;
/// Tries per object within one attempt.
const TRIES: usize = 64;

/// The filled pixels of `shape` in an `s × s` box, row-major.
pub fn shape_mask(shape: ShapeKind, s: usize) -> Vec<bool> {
    let half = s as f64 / 2.0;
    let mut mask = vec![false; s * s];
    for y in 0..s {
        for x in 0..s {
            let (dx, dy) = (x as f64 + 0.5 - half, y as f64 + 0.5 - half);
            let d2 = dx * dx + dy * dy;
            mask[y * s + x] = match shape {
                ShapeKind::Square => true,
                ShapeKind::Circle => d2 <= half * half,
                ShapeKind::Triangle => dx.abs() <= (y as f64 + 1.0) / 2.0,
                ShapeKind::Cross => {
                    let arm = (2 * (s / 6) + 1) as f64 / 2.0;
                    dx.abs() <= arm || dy.abs() <= arm
                }
                ShapeKind::Ring => {
                    let inner = half - (s as f64 / 4.0).round().max(2.0);
                    d2 <= half * half && d2 > inner * inner
                }
            };
        }
    }
    mask
}

/// One object of a rendered scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedObject {
    /// Colour and shape.
    pub entity: Entity,
    /// Its size.
    pub size: Size,
    /// Left column of its bounding box.
    pub x: usize,
    /// Top row of its bounding box.
    pub y: usize,
    /// Side of its bounding box in pixels.
    pub side: usize,
}

impl PlacedObject {
    /// The centre of its bounding box.
    pub fn centre(&self) -> (f64, f64) {
        let h = self.side as f64 / 2.0;
        (self.x as f64 + h, self.y as f64 + h)
    }
}

/// A rendered ground-truth scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// The caption it draws.
    pub caption: Caption,
    /// Its objects, in caption order.
    pub objects: Vec<PlacedObject>,
    /// The image.
    pub image: RgbImage,
}

/// What one object to place must satisfy.
struct Spec {
    entity: Entity,
    size: Option<Size>,
    position: Option<Position>,
    /// Relation to the object placed just before (`that` relation `this` is stored as the
    /// relation of the first to the second).
    after: Option<Relation>,
}

/// The centre range `[lo, hi]` (in pixels) the renderer uses for a position on one axis; the
/// checker's regions are wider, so renders pass with a margin.
fn axis_range(position: Option<Position>, horizontal: bool, len: f64) -> (f64, f64) {
    use Position as P;
    match (position, horizontal) {
        (Some(P::Left), true) | (Some(P::Top), false) => (0.0, 0.3 * len),
        (Some(P::Right), true) | (Some(P::Bottom), false) => (0.7 * len, len),
        (Some(P::Centre), _) => (0.45 * len - 0.5, 0.55 * len + 0.5),
        _ => (0.0, len),
    }
}

/// The top-left range `0..=max` for a box of `side` whose centre must lie in `[lo, hi]`.
fn start_range(lo: f64, hi: f64, side: usize, len: usize) -> Option<(usize, usize)> {
    let h = side as f64 / 2.0;
    let first = (lo - h).ceil().max(0.0) as usize;
    let last = ((hi - h).floor().min((len - side) as f64)).max(-1.0);
    (last >= first as f64).then_some((first, last as usize))
}

fn relation_holds(a: (f64, f64), relation: Relation, b: (f64, f64), w: f64, h: f64) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    match relation {
        Relation::LeftOf => dx >= 0.3 * w && dy.abs() <= 0.12 * h,
        Relation::RightOf => -dx >= 0.3 * w && dy.abs() <= 0.12 * h,
        Relation::Above => dy >= 0.3 * h && dx.abs() <= 0.12 * w,
        Relation::Below => -dy >= 0.3 * h && dx.abs() <= 0.12 * w,
    }
}

fn specs(caption: &Caption) -> Vec<Spec> {
    let from_group = |g: &Group| {
        let g = *g;
        (0..g.count).map(move |_| Spec {
            entity: g.entity,
            size: g.size,
            position: g.position,
            after: None,
        })
    };
    match &caption.layout {
        Layout::Groups(groups) => groups.iter().flat_map(from_group).collect(),
        Layout::Relation { a, relation, b } => {
            let mut v: Vec<Spec> = from_group(a).chain(from_group(b)).collect();
            v[1].after = Some(*relation);
            v
        }
        Layout::Comparison { a, comparison, b } => {
            let (sa, sb) = match comparison {
                Comparison::Larger => (Size::Big, Size::Small),
                Comparison::Smaller => (Size::Small, Size::Big),
            };
            vec![
                Spec {
                    entity: *a,
                    size: Some(sa),
                    position: None,
                    after: None,
                },
                Spec {
                    entity: *b,
                    size: Some(sb),
                    position: None,
                    after: None,
                },
            ]
        }
    }
}

/// Renders a ground-truth scene of `caption`: objects drawn on the black background at seeded
/// positions that satisfy every position and relation with a margin, at least
/// [`WorldConfig::gap`] pixels apart; unspecified sizes are drawn at random.
///
/// # Errors
/// An invalid caption or config, more objects than [`WorldConfig::max_objects`], or no layout
/// found in 200 attempts (the caption asks for more than the frame holds).
pub fn render(caption: &Caption, config: &WorldConfig, rng: &mut SplitMix64) -> Result<Scene> {
    config.validate()?;
    caption.validate()?;
    if caption.object_count() > config.max_objects {
        return Err(TaskError::InvalidInput(format!(
            "caption {:?} has {} objects; the world holds at most {}",
            caption.text(),
            caption.object_count(),
            config.max_objects
        )));
    }
    let specs = specs(caption);
    let (w, h) = (config.width, config.height);
    'attempt: for _ in 0..ATTEMPTS {
        let mut placed: Vec<PlacedObject> = Vec::with_capacity(specs.len());
        for spec in &specs {
            let size = spec
                .size
                .unwrap_or_else(|| Size::ALL[rng.below(2) as usize]);
            let side = config.side(size);
            let (xl, xh) = axis_range(spec.position, true, w as f64);
            let (yl, yh) = axis_range(spec.position, false, h as f64);
            let (Some((x0, x1)), Some((y0, y1))) =
                (start_range(xl, xh, side, w), start_range(yl, yh, side, h))
            else {
                continue 'attempt;
            };
            let mut ok = None;
            for _ in 0..TRIES {
                let x = x0 + rng.below((x1 - x0 + 1) as u64) as usize;
                let y = y0 + rng.below((y1 - y0 + 1) as u64) as usize;
                let obj = PlacedObject {
                    entity: spec.entity,
                    size,
                    x,
                    y,
                    side,
                };
                let g = config.gap;
                let clear = placed.iter().all(|p| {
                    x >= p.x + p.side + g
                        || p.x >= x + side + g
                        || y >= p.y + p.side + g
                        || p.y >= y + side + g
                });
                let related = match (spec.after, placed.last()) {
                    (Some(r), Some(prev)) => {
                        relation_holds(prev.centre(), r, obj.centre(), w as f64, h as f64)
                    }
                    _ => true,
                };
                if clear && related {
                    ok = Some(obj);
                    break;
                }
            }
            match ok {
                Some(obj) => placed.push(obj),
                None => continue 'attempt,
            }
        }
        let mut image = RgbImage::filled(w, h, BACKGROUND);
        for obj in &placed {
            let mask = shape_mask(obj.entity.shape, obj.side);
            let rgb = obj.entity.colour.rgb();
            for dy in 0..obj.side {
                for dx in 0..obj.side {
                    if mask[dy * obj.side + dx] {
                        image.set(obj.x + dx, obj.y + dy, rgb);
                    }
                }
            }
        }
        return Ok(Scene {
            caption: caption.clone(),
            objects: placed,
            image,
        });
    }
    Err(TaskError::InvalidInput(format!(
        "no layout of {:?} fits a {w}×{h} frame in {ATTEMPTS} attempts",
        caption.text()
    )))
}
