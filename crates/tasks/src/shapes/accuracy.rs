//! The checker's accuracy on ground-truth renders, clean and corrupted.

use std::collections::BTreeMap;
use std::path::Path;

use prefopt_core::SplitMix64;
use serde::Serialize;

use super::caption::{Caption, Entity, Group, Layout};
use super::checker::Checker;
use super::noise::Corruption;
use super::render::render;
use super::testpoint::{Dimension, TestPoint};
use super::vocab::{Colour, Comparison, Position, Relation, ShapeKind, Size};
use super::world::World;
use crate::Result;

/// Right/total test points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Test points judged right (every test point of a ground-truth render should pass).
    pub right: u64,
    /// Test points judged.
    pub total: u64,
}

impl Tally {
    /// Percentage right (`NaN` when empty).
    pub fn percent(self) -> f64 {
        100.0 * self.right as f64 / self.total as f64
    }
}

/// The checker's accuracy under one corruption.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyRow {
    /// The corruption.
    pub corruption: Corruption,
    /// What is measured: `true` test points (should pass) or `false` ones (should fail).
    pub truth: bool,
    /// All test points.
    pub overall: Tally,
    /// Per sub-dimension.
    pub by_dimension: BTreeMap<Dimension, Tally>,
}

/// Renders `n` random captions (both splits) from `seed`, applies `corruption` and checks
/// every test point; on a ground-truth render each should pass, so a pass counts as right.
pub fn checker_accuracy(
    world: &World,
    n: usize,
    seed: u64,
    corruption: Corruption,
) -> Result<AccuracyRow> {
    measure(world, n, seed, corruption, true)
}

/// The checker's specificity: for the same scenes as [`checker_accuracy`], each
/// [`perturbations`] caption's changed test point is false of the scene, so a fail counts as
/// right.
pub fn checker_specificity(
    world: &World,
    n: usize,
    seed: u64,
    corruption: Corruption,
) -> Result<AccuracyRow> {
    measure(world, n, seed, corruption, false)
}

/// Tallies test points that are `truth` of their scene: the caption's own (true) or the
/// changed one of each perturbation (false).
fn measure(
    world: &World,
    n: usize,
    seed: u64,
    corruption: Corruption,
    truth: bool,
) -> Result<AccuracyRow> {
    let checker = Checker::new(world.config)?;
    let mut rng = SplitMix64::for_stream(seed, 0xacc);
    let mut noise = SplitMix64::for_stream(seed, 0x2015e);
    let mut row = AccuracyRow {
        truth,
        corruption,
        overall: Tally::default(),
        by_dimension: BTreeMap::new(),
    };
    for _ in 0..n {
        let caption = world.random_caption(&mut rng);
        let scene = render(&caption, &world.config, &mut rng)?;
        let image = corruption.apply(&scene.image, &mut noise);
        let found = checker.detect(&image, Path::new("<render>"))?;
        let points: Vec<TestPoint> = if truth {
            caption.test_points()
        } else {
            perturbations(&caption)
                .into_iter()
                .flat_map(|(d, p)| {
                    p.test_points()
                        .into_iter()
                        .filter(move |t| t.dimension == d)
                })
                .collect()
        };
        for tp in &points {
            let right = u64::from(checker.verdict(tp, &found).passed == truth);
            for t in [
                &mut row.overall,
                row.by_dimension.entry(tp.dimension).or_default(),
            ] {
                t.right += right;
                t.total += 1;
            }
        }
    }
    Ok(row)
}

/// Perturbed captions of a scene, each with the dimension whose test point becomes false:
/// a colour or shape the scene lacks, the other size, another count, the opposite position or
/// relation, the flipped comparison, and the two entities' colours swapped.
pub fn perturbations(caption: &Caption) -> Vec<(Dimension, Caption)> {
    let entities = caption.entities();
    let mut out = Vec::new();
    let mut push = |d: Dimension, c: Caption| {
        if c.validate().is_ok() {
            out.push((d, c));
        }
    };
    let edit = |f: &dyn Fn(&mut Caption) -> bool| {
        let mut c = caption.clone();
        f(&mut c).then_some(c)
    };
    let first_entity = |c: &mut Caption, f: &dyn Fn(&mut Entity)| match &mut c.layout {
        Layout::Groups(g) => f(&mut g[0].entity),
        Layout::Relation { a, .. } => f(&mut a.entity),
        Layout::Comparison { a, .. } => f(a),
    };
    if let Some(colour) = Colour::ALL
        .into_iter()
        .find(|c| entities.iter().all(|e| e.colour != *c))
        && let Some(c) = edit(&|c| {
            first_entity(c, &|e| e.colour = colour);
            true
        })
    {
        push(Dimension::Color, c);
    }
    if let Some(shape) = ShapeKind::ALL
        .into_iter()
        .find(|s| entities.iter().all(|e| e.shape != *s))
        && let Some(c) = edit(&|c| {
            first_entity(c, &|e| e.shape = shape);
            true
        })
    {
        push(Dimension::Shape, c);
    }
    let with_group = |f: &dyn Fn(&mut Group) -> bool| {
        edit(&|c| match &mut c.layout {
            Layout::Groups(g) => g.iter_mut().any(f),
            Layout::Relation { a, b, .. } => f(a) || f(b),
            Layout::Comparison { .. } => false,
        })
    };
    if let Some(c) = with_group(&|g| match g.size {
        Some(s) => {
            g.size = Some(if s == Size::Big {
                Size::Small
            } else {
                Size::Big
            });
            true
        }
        None => false,
    }) {
        push(Dimension::Size, c);
    }
    if let Some(c) = with_group(&|g| {
        if g.count >= 2 {
            g.count = if g.count == 4 { 3 } else { g.count + 1 };
            true
        } else {
            false
        }
    }) {
        push(Dimension::Quantity, c);
    }
    if let Some(c) = with_group(&|g| match g.position {
        Some(p) => {
            g.position = Some(match p {
                Position::Left => Position::Right,
                Position::Right => Position::Left,
                Position::Top => Position::Bottom,
                Position::Bottom => Position::Top,
                Position::Centre => Position::Left,
            });
            true
        }
        None => false,
    }) {
        push(Dimension::Layout2d, c);
    }
    let mut flipped = caption.clone();
    match &mut flipped.layout {
        Layout::Relation { relation, .. } => {
            *relation = match relation {
                Relation::LeftOf => Relation::RightOf,
                Relation::RightOf => Relation::LeftOf,
                Relation::Above => Relation::Below,
                Relation::Below => Relation::Above,
            };
            push(Dimension::Layout2d, flipped);
        }
        Layout::Comparison { comparison, .. } => {
            *comparison = match comparison {
                Comparison::Larger => Comparison::Smaller,
                Comparison::Smaller => Comparison::Larger,
            };
            push(Dimension::Comparison, flipped);
        }
        Layout::Groups(_) => {}
    }
    if let [a, b] = entities[..]
        && a.colour != b.colour
        && a.shape != b.shape
    {
        let mut c = caption.clone();
        let (ea, eb) = match &mut c.layout {
            Layout::Groups(g) => {
                let (first, second) = g.split_at_mut(1);
                (&mut first[0].entity, &mut second[0].entity)
            }
            Layout::Relation { a, b, .. } => (&mut a.entity, &mut b.entity),
            Layout::Comparison { a, b, .. } => (a, b),
        };
        std::mem::swap(&mut ea.colour, &mut eb.colour);
        push(Dimension::FeatureMatching, c);
    }
    out
}

/// A markdown table: one row per corruption, columns overall and each sub-dimension (% right,
/// with the test-point count in the header).
pub fn accuracy_table(rows: &[AccuracyRow]) -> String {
    let mut out = String::from("| test points | image | overall |");
    for d in Dimension::ALL {
        out.push_str(&format!(" {} |", d.testpoint()));
    }
    out.push_str("\n|---|---|---:|");
    for _ in Dimension::ALL {
        out.push_str("---:|");
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.2} ({}) |",
            if r.truth {
                "true (should pass)"
            } else {
                "false (should fail)"
            },
            r.corruption.label(),
            r.overall.percent(),
            r.overall.total
        ));
        for d in Dimension::ALL {
            match r.by_dimension.get(&d) {
                Some(t) => out.push_str(&format!(" {:.2} ({}) |", t.percent(), t.total)),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}
