//! The checker: finds the objects in an image and gives a pass/fail verdict per test point.
//!
//! 1. Every pixel takes the palette colour whose line from the background passes nearest in
//!    RGB, or the background when it lies less than halfway along that line (so an edge blurred
//!    into the background keeps its hue); then a pixel whose 8 neighbours hold at least 6 of
//!    one other class takes that class (removes isolated noise without eroding corners).
//! 2. Objects are the 8-connected components of each colour class with at least a quarter of a
//!    small object's box in area.
//! 3. Shape: the nearest prototype (each shape rendered at each size, sharp and box-blurred,
//!    through the same steps) in
//!    a descriptor of the component's bounding box: the filled fraction of each cell of a 3×3
//!    grid and the fraction enclosed as holes. Size: `big` when the box's longer side is at
//!    least halfway between the two sizes.
//! 4. Positions and relations use centroids; comparisons the longer box side (≥ 1.2 times).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::caption::{Caption, Entity, Negation};
use super::image::RgbImage;
use super::noise::box_blur;
use super::render::shape_mask;
use super::testpoint::{Atom, Dimension, TestPoint};
use super::vocab::{BACKGROUND, Colour, Comparison, Position, Relation, ShapeKind, Size};
use super::world::WorldConfig;
use crate::{Result, TaskError};

/// Weight of the hole fraction in the shape descriptor.
const HOLE_WEIGHT: f64 = 3.0;
/// Neighbours (of 8) of another class that relabel a pixel.
const RELABEL: usize = 6;
/// How much longer the larger object's side must be in a comparison.
const COMPARISON_RATIO: f64 = 1.2;

/// An object the checker found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Colour class and classified shape.
    pub entity: Entity,
    /// Classified size.
    pub size: Size,
    /// Pixels in the component.
    pub area: usize,
    /// Longer side of the bounding box.
    pub extent: usize,
    /// Centroid `(x, y)` in pixels (pixel centres at `i + 0.5`).
    pub centroid: (f64, f64),
}

/// The verdict on one test point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointVerdict {
    /// Its sub-dimension.
    pub dimension: Dimension,
    /// Whether every atom holds.
    pub passed: bool,
    /// One line per atom: what was asked and what was found.
    pub analysis: String,
}

type Descriptor = [f64; 10];

/// A checker for one world configuration (holds the shape prototypes).
#[derive(Debug, Clone)]
pub struct Checker {
    config: WorldConfig,
    prototypes: Vec<(ShapeKind, Descriptor)>,
}

struct Component {
    pixels: Vec<(usize, usize)>,
    bbox: (usize, usize, usize, usize),
}

impl Checker {
    /// Builds the prototypes of `config` (validated).
    pub fn new(config: WorldConfig) -> Result<Self> {
        config.validate()?;
        let mut prototypes = Vec::new();
        for shape in ShapeKind::ALL {
            for size in Size::ALL {
                let s = config.side(size);
                let pad = 2;
                let n = s + 2 * pad;
                let mask = shape_mask(shape, s);
                let mut labels = vec![0u8; n * n];
                for y in 0..s {
                    for x in 0..s {
                        if mask[y * s + x] {
                            labels[(y + pad) * n + x + pad] = 1;
                        }
                    }
                }
                // The sharp render and its 3×3 box blur, each through the same labelling.
                let sharp = RgbImage::from_raw(
                    n,
                    n,
                    labels
                        .iter()
                        .flat_map(|l| if *l == 1 { [255u8; 3] } else { [0u8; 3] })
                        .collect(),
                )?;
                for img in [box_blur(&sharp), sharp] {
                    let labels: Vec<u8> = img
                        .as_raw()
                        .chunks(3)
                        .map(|p| u8::from(p[0] >= 128))
                        .collect();
                    let labels = relabel(&labels, n, n);
                    let comps = components(&labels, n, n, 1);
                    let c = comps
                        .into_iter()
                        .max_by_key(|c| c.pixels.len())
                        .ok_or_else(|| {
                            TaskError::InvalidInput(format!(
                                "the {} prototype is empty",
                                shape.word()
                            ))
                        })?;
                    prototypes.push((shape, descriptor(&c)));
                }
            }
        }
        Ok(Self { config, prototypes })
    }

    /// The world configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// The objects in `image`. `what` names the image in errors (a path or a description).
    ///
    /// # Errors
    /// When the image is not `width × height` of the world.
    pub fn detect(&self, image: &RgbImage, what: &Path) -> Result<Vec<Detection>> {
        let (w, h) = (self.config.width, self.config.height);
        if image.width() != w || image.height() != h {
            return Err(TaskError::Image {
                path: what.to_path_buf(),
                message: format!(
                    "the image is {}×{}; the shapes world checks {w}×{h} images",
                    image.width(),
                    image.height()
                ),
            });
        }
        let mut labels = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                labels[y * w + x] = classify(image.get(x, y));
            }
        }
        let labels = relabel(&labels, w, h);
        let min_area = self.config.small * self.config.small / 4;
        let threshold = (self.config.big + self.config.small) as f64 / 2.0;
        let mut out = Vec::new();
        for (k, colour) in Colour::ALL.into_iter().enumerate() {
            for c in components(&labels, w, h, k as u8 + 1) {
                if c.pixels.len() < min_area {
                    continue;
                }
                let d = descriptor(&c);
                let shape = self
                    .prototypes
                    .iter()
                    .min_by(|a, b| distance(&a.1, &d).total_cmp(&distance(&b.1, &d)))
                    .map_or(ShapeKind::Square, |p| p.0);
                let (x0, y0, x1, y1) = c.bbox;
                let extent = (x1 - x0 + 1).max(y1 - y0 + 1);
                let n = c.pixels.len() as f64;
                let cx = c.pixels.iter().map(|p| p.0 as f64 + 0.5).sum::<f64>() / n;
                let cy = c.pixels.iter().map(|p| p.1 as f64 + 0.5).sum::<f64>() / n;
                out.push(Detection {
                    entity: Entity { colour, shape },
                    size: if extent as f64 >= threshold {
                        Size::Big
                    } else {
                        Size::Small
                    },
                    area: c.pixels.len(),
                    extent,
                    centroid: (cx, cy),
                });
            }
        }
        Ok(out)
    }

    /// Verdicts on `caption`'s test points (in [`Caption::test_points`] order) for `image`.
    pub fn check(
        &self,
        image: &RgbImage,
        caption: &Caption,
        what: &Path,
    ) -> Result<Vec<PointVerdict>> {
        let found = self.detect(image, what)?;
        Ok(caption
            .test_points()
            .iter()
            .map(|tp| self.verdict(tp, &found))
            .collect())
    }

    /// The verdict on one test point given the detections.
    pub fn verdict(&self, tp: &TestPoint, found: &[Detection]) -> PointVerdict {
        let mut passed = true;
        let mut lines = Vec::with_capacity(tp.atoms.len());
        for atom in &tp.atoms {
            let (ok, line) = self.atom(*atom, found);
            passed &= ok;
            lines.push(format!("{}: {line}", if ok { "yes" } else { "no" }));
        }
        PointVerdict {
            dimension: tp.dimension,
            passed,
            analysis: lines.join("; "),
        }
    }

    fn atom(&self, atom: Atom, found: &[Detection]) -> (bool, String) {
        let (w, h) = (self.config.width as f64, self.config.height as f64);
        let of = |e: Entity| found.iter().filter(move |d| d.entity == e);
        let largest = |e: Entity| of(e).max_by_key(|d| (d.area, d.extent));
        match atom {
            Atom::HasColour(c) => {
                let n = found.iter().filter(|d| d.entity.colour == c).count();
                (n > 0, format!("{n} {} object(s)", c.word()))
            }
            Atom::HasShape(s) => {
                let n = found.iter().filter(|d| d.entity.shape == s).count();
                (n > 0, format!("{n} {}", s.noun(n)))
            }
            Atom::Present(e) => {
                let n = of(e).count();
                (n > 0, format!("{n} {}", e.phrase(n)))
            }
            Atom::EntitySize(e, size) => {
                let sizes: Vec<&str> = of(e).map(|d| d.size.word()).collect();
                (
                    sizes.contains(&size.word()),
                    format!("{} wanted {}, found {sizes:?}", e.phrase(1), size.word()),
                )
            }
            Atom::Count(e, n) => {
                let k = of(e).count();
                (k == n, format!("{n} {} wanted, {k} found", e.phrase(n)))
            }
            Atom::At(e, p) => {
                let at: Vec<(f64, f64)> = of(e).map(|d| d.centroid).collect();
                let ok = at.iter().any(|c| in_region(*c, p, w, h));
                (
                    ok,
                    format!("{} {} wanted, centroids {at:.1?}", e.phrase(1), p.phrase()),
                )
            }
            Atom::Related(a, r, b) => match (largest(a), largest(b)) {
                (Some(da), Some(db)) => {
                    let ok = related(da.centroid, r, db.centroid, w, h);
                    (
                        ok,
                        format!(
                            "{} at {:.1?} {} {} at {:.1?}",
                            a.phrase(1),
                            da.centroid,
                            r.phrase(),
                            b.phrase(1),
                            db.centroid
                        ),
                    )
                }
                _ => (false, missing(a, b, largest(a).is_none())),
            },
            Atom::Compared(a, cmp, b) => match (largest(a), largest(b)) {
                (Some(da), Some(db)) => {
                    let (ea, eb) = (da.extent as f64, db.extent as f64);
                    let ok = match cmp {
                        Comparison::Larger => ea >= COMPARISON_RATIO * eb,
                        Comparison::Smaller => eb >= COMPARISON_RATIO * ea,
                    };
                    (
                        ok,
                        format!(
                            "{} {ea} px {} than {} {eb} px",
                            a.phrase(1),
                            cmp.word(),
                            b.phrase(1)
                        ),
                    )
                }
                _ => (false, missing(a, b, largest(a).is_none())),
            },
            Atom::Absent(n) => {
                let k = found
                    .iter()
                    .filter(|d| match n {
                        Negation::Colour(c) => d.entity.colour == c,
                        Negation::Shape(s) => d.entity.shape == s,
                    })
                    .count();
                (k == 0, format!("{} wanted, {k} found", n.phrase()))
            }
        }
    }
}

/// The colour class of a pixel: 0 for the background, `k + 1` for `Colour::ALL[k]`.
///
/// Each palette colour `c` spans a line from the background to `c`; the pixel takes the
/// colour whose line passes nearest, and is background when its position along that line is
/// below one half. A blurred edge (a colour mixed with the background) keeps its hue.
fn classify(p: [u8; 3]) -> u8 {
    let p = p.map(f64::from);
    let bg = BACKGROUND.map(f64::from);
    let mut best = (f64::INFINITY, 0u8);
    for (k, colour) in Colour::ALL.into_iter().enumerate() {
        let c = colour.rgb().map(f64::from);
        let dir = [c[0] - bg[0], c[1] - bg[1], c[2] - bg[2]];
        let rel = [p[0] - bg[0], p[1] - bg[1], p[2] - bg[2]];
        let norm2 = dir.iter().map(|d| d * d).sum::<f64>();
        let alpha = (rel.iter().zip(&dir).map(|(r, d)| r * d).sum::<f64>() / norm2).clamp(0.0, 1.0);
        let residual: f64 = (0..3).map(|i| (rel[i] - alpha * dir[i]).powi(2)).sum();
        if residual < best.0 {
            best = (residual, if alpha >= 0.5 { k as u8 + 1 } else { 0 });
        }
    }
    best.1
}

fn missing(a: Entity, b: Entity, a_missing: bool) -> String {
    format!(
        "no {} found",
        if a_missing { a.phrase(1) } else { b.phrase(1) }
    )
}

/// Whether a centroid is in the checker's region for `p` (wider than the renderer's).
pub fn in_region(c: (f64, f64), p: Position, w: f64, h: f64) -> bool {
    match p {
        Position::Left => c.0 < 0.4 * w,
        Position::Right => c.0 > 0.6 * w,
        Position::Top => c.1 < 0.4 * h,
        Position::Bottom => c.1 > 0.6 * h,
        Position::Centre => (c.0 - w / 2.0).abs() <= 0.15 * w && (c.1 - h / 2.0).abs() <= 0.15 * h,
    }
}

/// Whether `a` is in `relation` to `b`: offset along the relation's axis of at least a tenth
/// of the frame and larger than the offset across it.
pub fn related(a: (f64, f64), relation: Relation, b: (f64, f64), w: f64, h: f64) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    match relation {
        Relation::LeftOf => dx >= 0.1 * w && dx > dy.abs(),
        Relation::RightOf => -dx >= 0.1 * w && -dx > dy.abs(),
        Relation::Above => dy >= 0.1 * h && dy > dx.abs(),
        Relation::Below => -dy >= 0.1 * h && -dy > dx.abs(),
    }
}

fn relabel(labels: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = labels.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut counts = [0usize; 8];
            for (dx, dy) in NEIGHBOURS {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                let l = if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    0
                } else {
                    labels[ny as usize * w + nx as usize]
                };
                counts[l as usize] += 1;
            }
            let own = labels[y * w + x];
            if let Some((l, _)) = counts
                .iter()
                .enumerate()
                .find(|(l, n)| *l as u8 != own && **n >= RELABEL)
            {
                out[y * w + x] = l as u8;
            }
        }
    }
    out
}

const NEIGHBOURS: [(isize, isize); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

fn components(labels: &[u8], w: usize, h: usize, label: u8) -> Vec<Component> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    for start in 0..w * h {
        if seen[start] || labels[start] != label {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut pixels = Vec::new();
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            pixels.push((x, y));
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for (dx, dy) in NEIGHBOURS {
                let (nx, ny) = (x as isize + dx, y as isize + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if !seen[j] && labels[j] == label {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        out.push(Component {
            pixels,
            bbox: (x0, y0, x1, y1),
        });
    }
    out
}

/// Filled fraction of each 3×3 grid cell of the bounding box, then the weighted hole fraction.
fn descriptor(c: &Component) -> Descriptor {
    let (x0, y0, x1, y1) = c.bbox;
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut inside = vec![false; bw * bh];
    for &(x, y) in &c.pixels {
        inside[(y - y0) * bw + x - x0] = true;
    }
    let mut filled = [0f64; 9];
    let mut total = [0f64; 9];
    for y in 0..bh {
        for x in 0..bw {
            let cell = (3 * y / bh) * 3 + 3 * x / bw;
            total[cell] += 1.0;
            if inside[y * bw + x] {
                filled[cell] += 1.0;
            }
        }
    }
    // Holes: pixels outside the component that the bounding box's border cannot reach.
    let mut reached = vec![false; bw * bh];
    let mut stack: Vec<usize> = (0..bw * bh)
        .filter(|i| {
            let (x, y) = (i % bw, i / bw);
            (x == 0 || y == 0 || x == bw - 1 || y == bh - 1) && !inside[*i]
        })
        .collect();
    for &i in &stack {
        reached[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = ((i % bw) as isize, (i / bw) as isize);
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= bw as isize || ny >= bh as isize {
                continue;
            }
            let j = ny as usize * bw + nx as usize;
            if !reached[j] && !inside[j] {
                reached[j] = true;
                stack.push(j);
            }
        }
    }
    let holes = (0..bw * bh).filter(|i| !inside[*i] && !reached[*i]).count();
    let mut d = [0f64; 10];
    for k in 0..9 {
        d[k] = if total[k] > 0.0 {
            filled[k] / total[k]
        } else {
            0.0
        };
    }
    d[9] = HOLE_WEIGHT * holes as f64 / (bw * bh) as f64;
    d
}

fn distance(a: &Descriptor, b: &Descriptor) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Verdicts on `caption`'s test points for `image` in a world with `config` (builds a
/// [`Checker`]; keep one to check many images).
pub fn check_image(
    image: &RgbImage,
    caption: &Caption,
    config: &WorldConfig,
) -> Result<Vec<PointVerdict>> {
    Checker::new(*config)?.check(image, caption, Path::new("<image>"))
}
