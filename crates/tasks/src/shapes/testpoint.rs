//! Test points: what a caption asks of an image, each tagged with an official UniGenBench
//! sub-dimension (one test point per sub-dimension per caption, as in the official suite).

use serde::{Deserialize, Serialize};

use super::caption::{Caption, Entity, Group, Layout, Negation};
use super::vocab::{COUNT_WORDS, Colour, Comparison, Position, Relation, ShapeKind, Size};

/// The UniGenBench sub-dimensions the shapes world expresses, with their official test-point
/// strings (exactly as `prefopt_bench::SubDimension::parse` reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dimension {
    /// `Attribute - Color`: each named colour is present.
    Color,
    /// `Attribute - Shape`: each named shape is present.
    Shape,
    /// `Attribute - Size`: each sized entity is present at that size.
    Size,
    /// `Attribute - Quantity`: each group of two or more has exactly that many objects.
    Quantity,
    /// `Entity Layout - Two-Dimensional Space`: positions in the frame and relations.
    Layout2d,
    /// `Relationship - Comparison`: one object larger/smaller than another.
    Comparison,
    /// `Compound - Feature Matching`: with two entities, each colour is bound to its shape.
    FeatureMatching,
    /// `Grammar - Negation`: the `with no ...` class is absent.
    Negation,
}

impl Dimension {
    /// All, in the order test points are listed.
    pub const ALL: [Self; 8] = [
        Self::Color,
        Self::Shape,
        Self::Size,
        Self::Quantity,
        Self::Layout2d,
        Self::Comparison,
        Self::FeatureMatching,
        Self::Negation,
    ];

    /// The official English test-point string (the suite CSV's `Testpoints`).
    pub fn testpoint(self) -> &'static str {
        match self {
            Self::Color => "Attribute - Color",
            Self::Shape => "Attribute - Shape",
            Self::Size => "Attribute - Size",
            Self::Quantity => "Attribute - Quantity",
            Self::Layout2d => "Entity Layout - Two-Dimensional Space",
            Self::Comparison => "Relationship - Comparison",
            Self::FeatureMatching => "Compound - Feature Matching",
            Self::Negation => "Grammar - Negation",
        }
    }

    /// The primary dimension's name (as `prefopt_bench::PrimaryDimension::name`).
    pub fn primary(self) -> &'static str {
        match self {
            Self::Color | Self::Shape | Self::Size | Self::Quantity => "Attribute",
            Self::Layout2d => "Layout",
            Self::Comparison => "Relationship",
            Self::FeatureMatching => "Compound",
            Self::Negation => "Grammar",
        }
    }

    /// Parses an official test-point string.
    pub fn from_testpoint(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.testpoint() == s)
    }
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.testpoint())
    }
}

/// One checkable fact; a test point passes when all its atoms hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Atom {
    /// Some object has this colour.
    HasColour(Colour),
    /// Some object has this shape.
    HasShape(ShapeKind),
    /// Some object of the entity exists.
    Present(Entity),
    /// Some object of the entity has this size.
    EntitySize(Entity, Size),
    /// Exactly this many objects of the entity.
    Count(Entity, usize),
    /// Some object of the entity is at this position.
    At(Entity, Position),
    /// The largest object of the first entity is in the relation to the largest of the second.
    Related(Entity, Relation, Entity),
    /// The largest object of the first entity compares so to the largest of the second.
    Compared(Entity, Comparison, Entity),
    /// No object of the class.
    Absent(Negation),
}

/// A test point of a caption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestPoint {
    /// Its sub-dimension.
    pub dimension: Dimension,
    /// The prompt-specific description (the suite CSV's `Testpoint Description`).
    pub description: String,
    /// The facts it checks, all of which must hold.
    pub atoms: Vec<Atom>,
}

impl TestPoint {
    /// The official test-point string.
    pub fn testpoint(&self) -> &'static str {
        self.dimension.testpoint()
    }
}

struct Builder {
    points: Vec<(Dimension, Vec<String>, Vec<Atom>)>,
}

impl Builder {
    fn add(&mut self, d: Dimension, description: String, atom: Atom) {
        match self.points.iter_mut().find(|(x, _, _)| *x == d) {
            Some((_, desc, atoms)) => {
                if !desc.contains(&description) {
                    desc.push(description);
                }
                atoms.push(atom);
            }
            None => self.points.push((d, vec![description], vec![atom])),
        }
    }
}

impl Caption {
    /// The caption's test points, one per sub-dimension it exercises, in [`Dimension::ALL`]
    /// order.
    pub fn test_points(&self) -> Vec<TestPoint> {
        let mut b = Builder { points: Vec::new() };
        let groups: Vec<Group> = match &self.layout {
            Layout::Groups(groups) => groups.clone(),
            Layout::Relation { a, b, .. } => vec![*a, *b],
            Layout::Comparison { a, b, .. } => {
                vec![Group::one(a.colour, a.shape), Group::one(b.colour, b.shape)]
            }
        };
        for g in &groups {
            let e = g.entity;
            b.add(
                Dimension::Color,
                e.phrase(g.count),
                Atom::HasColour(e.colour),
            );
            b.add(
                Dimension::Shape,
                e.shape.noun(g.count).to_string(),
                Atom::HasShape(e.shape),
            );
            if let Some(size) = g.size {
                b.add(Dimension::Size, g.noun_phrase(), Atom::EntitySize(e, size));
            }
            if g.count > 1 {
                b.add(
                    Dimension::Quantity,
                    format!("{} {}", COUNT_WORDS[g.count], e.phrase(g.count)),
                    Atom::Count(e, g.count),
                );
            }
            if let Some(p) = g.position {
                b.add(
                    Dimension::Layout2d,
                    format!("{} {}", e.phrase(1), p.phrase()),
                    Atom::At(e, p),
                );
            }
        }
        match &self.layout {
            Layout::Relation { a, relation, b: r } => b.add(
                Dimension::Layout2d,
                format!(
                    "{} {} {}",
                    a.entity.phrase(1),
                    relation.phrase(),
                    r.entity.phrase(1)
                ),
                Atom::Related(a.entity, *relation, r.entity),
            ),
            Layout::Comparison {
                a,
                comparison,
                b: r,
            } => b.add(
                Dimension::Comparison,
                format!("{} {} than {}", a.phrase(1), comparison.word(), r.phrase(1)),
                Atom::Compared(*a, *comparison, *r),
            ),
            Layout::Groups(_) => {}
        }
        if groups.len() == 2 {
            let text = groups
                .iter()
                .map(|g| format!("{} {}", COUNT_WORDS[g.count], g.entity.phrase(g.count)))
                .collect::<Vec<_>>()
                .join(" and ");
            for g in &groups {
                b.add(
                    Dimension::FeatureMatching,
                    text.clone(),
                    Atom::Present(g.entity),
                );
            }
        }
        if let Some(n) = self.negation {
            b.add(Dimension::Negation, n.phrase(), Atom::Absent(n));
        }
        let mut points: Vec<TestPoint> = b
            .points
            .into_iter()
            .map(|(dimension, desc, atoms)| TestPoint {
                dimension,
                description: desc.join(", "),
                atoms,
            })
            .collect();
        points.sort_by_key(|p| p.dimension);
        points
    }
}
