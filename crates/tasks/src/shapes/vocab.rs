//! The world's closed word classes: colours (with their palette), shape kinds, sizes,
//! positions in the frame, relations between two objects and size comparisons.

use serde::{Deserialize, Serialize};

/// The background colour of every scene (black).
pub const BACKGROUND: [u8; 3] = [0, 0, 0];

/// One of the six palette colours. The palette is chosen so that every pair of colours (and
/// each colour and the background) is at least 160 apart in RGB, which the checker's nearest-
/// colour classification relies on under noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Colour {
    /// `red`
    Red,
    /// `green`
    Green,
    /// `blue`
    Blue,
    /// `yellow`
    Yellow,
    /// `purple`
    Purple,
    /// `cyan`
    Cyan,
}

impl Colour {
    /// All colours, in palette order.
    pub const ALL: [Self; 6] = [
        Self::Red,
        Self::Green,
        Self::Blue,
        Self::Yellow,
        Self::Purple,
        Self::Cyan,
    ];

    /// The caption word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Green => "green",
            Self::Blue => "blue",
            Self::Yellow => "yellow",
            Self::Purple => "purple",
            Self::Cyan => "cyan",
        }
    }

    /// The exact RGB value the renderer paints.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Self::Red => [220, 40, 40],
            Self::Green => [40, 200, 50],
            Self::Blue => [30, 60, 240],
            Self::Yellow => [240, 220, 30],
            Self::Purple => [190, 50, 210],
            Self::Cyan => [30, 220, 220],
        }
    }

    /// Parses a caption word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.word() == word)
    }
}

/// One of the five shape kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ShapeKind {
    /// A filled square.
    Square,
    /// A filled disk.
    Circle,
    /// A filled isosceles triangle pointing up.
    Triangle,
    /// A plus sign (arms a third of the size wide).
    Cross,
    /// An annulus (a disk with a round hole).
    Ring,
}

impl ShapeKind {
    /// All kinds.
    pub const ALL: [Self; 5] = [
        Self::Square,
        Self::Circle,
        Self::Triangle,
        Self::Cross,
        Self::Ring,
    ];

    /// The singular caption word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Square => "square",
            Self::Circle => "circle",
            Self::Triangle => "triangle",
            Self::Cross => "cross",
            Self::Ring => "ring",
        }
    }

    /// The plural caption word.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Square => "squares",
            Self::Circle => "circles",
            Self::Triangle => "triangles",
            Self::Cross => "crosses",
            Self::Ring => "rings",
        }
    }

    /// The singular (`count == 1`) or plural word.
    pub fn noun(self, count: usize) -> &'static str {
        if count == 1 {
            self.word()
        } else {
            self.plural()
        }
    }

    /// Parses a singular word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.word() == word)
    }

    /// Parses a plural word.
    pub fn from_plural(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.plural() == word)
    }
}

/// Object size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Size {
    /// `big`: [`WorldConfig::big`](super::WorldConfig::big) pixels across.
    Big,
    /// `small`: [`WorldConfig::small`](super::WorldConfig::small) pixels across.
    Small,
}

impl Size {
    /// Both sizes.
    pub const ALL: [Self; 2] = [Self::Big, Self::Small];

    /// The caption word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Big => "big",
            Self::Small => "small",
        }
    }

    /// Parses a caption word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.word() == word)
    }
}

/// Where a single object is in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Position {
    /// `on the left`: centroid in the left 40% of the width.
    Left,
    /// `on the right`: centroid in the right 40% of the width.
    Right,
    /// `at the top`: centroid in the top 40% of the height.
    Top,
    /// `at the bottom`: centroid in the bottom 40% of the height.
    Bottom,
    /// `in the centre`: centroid within 15% of the size of the frame's centre on both axes.
    Centre,
}

impl Position {
    /// All positions.
    pub const ALL: [Self; 5] = [
        Self::Left,
        Self::Right,
        Self::Top,
        Self::Bottom,
        Self::Centre,
    ];

    /// The caption words.
    pub fn words(self) -> [&'static str; 3] {
        match self {
            Self::Left => ["on", "the", "left"],
            Self::Right => ["on", "the", "right"],
            Self::Top => ["at", "the", "top"],
            Self::Bottom => ["at", "the", "bottom"],
            Self::Centre => ["in", "the", "centre"],
        }
    }

    /// The caption phrase.
    pub fn phrase(self) -> String {
        self.words().join(" ")
    }
}

/// A spatial relation between two objects (`a` relation `b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Relation {
    /// `left of`
    LeftOf,
    /// `right of`
    RightOf,
    /// `above`
    Above,
    /// `below`
    Below,
}

impl Relation {
    /// All relations.
    pub const ALL: [Self; 4] = [Self::LeftOf, Self::RightOf, Self::Above, Self::Below];

    /// The caption words.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Self::LeftOf => &["left", "of"],
            Self::RightOf => &["right", "of"],
            Self::Above => &["above"],
            Self::Below => &["below"],
        }
    }

    /// The caption phrase.
    pub fn phrase(self) -> String {
        self.words().join(" ")
    }
}

/// A size comparison between two objects (`a` comparison `than` `b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// `larger than`
    Larger,
    /// `smaller than`
    Smaller,
}

impl Comparison {
    /// Both comparisons.
    pub const ALL: [Self; 2] = [Self::Larger, Self::Smaller];

    /// The comparative word (followed by `than`).
    pub fn word(self) -> &'static str {
        match self {
            Self::Larger => "larger",
            Self::Smaller => "smaller",
        }
    }

    /// Parses the comparative word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.word() == word)
    }
}

/// The count words, index = count (`a` for one).
pub const COUNT_WORDS: [&str; 5] = ["", "a", "two", "three", "four"];

/// The largest count a caption can ask for.
pub const MAX_COUNT: usize = 4;
