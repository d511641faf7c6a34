//! Captions: the structured scene spec, its text and the parser of the closed grammar.
//!
//! ```text
//! caption    := body [ "with" "no" negated ]
//! body       := group [ "and" group ]
//!             | single relation single
//!             | "a" colour shape comparison "than" "a" colour shape
//! group      := count [size] colour noun [position]      (position only when count is "a")
//! single     := "a" [size] colour shape
//! count      := "a" | "two" | "three" | "four"           (noun plural unless "a")
//! size       := "big" | "small"
//! colour     := "red" | "green" | "blue" | "yellow" | "purple" | "cyan"
//! shape      := "square" | "circle" | "triangle" | "cross" | "ring"
//! position   := "on the left" | "on the right" | "at the top" | "at the bottom" | "in the centre"
//! relation   := "left of" | "right of" | "above" | "below"
//! comparison := "larger" | "smaller"
//! negated    := colour "shapes" | plural shape
//! ```
//!
//! Words are lower case and separated by white space; there is no punctuation. The two
//! entities of a caption must differ (in colour or shape), and the negated class must not name
//! one of them.

use serde::{Deserialize, Serialize};

use super::vocab::{
    COUNT_WORDS, Colour, Comparison, MAX_COUNT, Position, Relation, ShapeKind, Size,
};
use crate::{Result, TaskError};

/// A kind of object: colour and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    /// Its colour.
    pub colour: Colour,
    /// Its shape.
    pub shape: ShapeKind,
}

impl Entity {
    /// `colour shape` (singular) or `colour shapes`.
    pub fn phrase(self, count: usize) -> String {
        format!("{} {}", self.colour.word(), self.shape.noun(count))
    }
}

/// `count` objects of one entity, with an optional size and (for one object) position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// 1..=4.
    pub count: usize,
    /// Colour and shape.
    pub entity: Entity,
    /// The size every object of the group has, when the caption says it.
    pub size: Option<Size>,
    /// Where the object is (only with `count == 1`).
    pub position: Option<Position>,
}

impl Group {
    /// One object with no size or position.
    pub fn one(colour: Colour, shape: ShapeKind) -> Self {
        Self {
            count: 1,
            entity: Entity { colour, shape },
            size: None,
            position: None,
        }
    }

    /// `[size] colour noun`, without the count word or position.
    pub fn noun_phrase(&self) -> String {
        match self.size {
            Some(s) => format!("{} {}", s.word(), self.entity.phrase(self.count)),
            None => self.entity.phrase(self.count),
        }
    }

    fn text(&self) -> String {
        let mut s = format!("{} {}", COUNT_WORDS[self.count], self.noun_phrase());
        if let Some(p) = self.position {
            s.push(' ');
            s.push_str(&p.phrase());
        }
        s
    }
}

/// What the caption arranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// One or two groups joined by `and`.
    Groups(Vec<Group>),
    /// Two single objects in a spatial relation (`a` relation `b`).
    Relation {
        /// The first object (count 1, no position).
        a: Group,
        /// The relation of `a` to `b`.
        relation: Relation,
        /// The reference object (count 1, no position).
        b: Group,
    },
    /// Two single objects compared in size (`a` is larger/smaller than `b`); no size words.
    Comparison {
        /// The first object.
        a: Entity,
        /// How `a` compares to `b`.
        comparison: Comparison,
        /// The reference object.
        b: Entity,
    },
}

/// A class of objects that must be absent (`with no ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Negation {
    /// `with no <colour> shapes`
    Colour(Colour),
    /// `with no <shapes>`
    Shape(ShapeKind),
}

impl Negation {
    /// `no green shapes` / `no squares`.
    pub fn phrase(self) -> String {
        match self {
            Self::Colour(c) => format!("no {} shapes", c.word()),
            Self::Shape(s) => format!("no {}", s.plural()),
        }
    }

    /// Whether an object of `entity` belongs to the negated class.
    pub fn matches(self, entity: Entity) -> bool {
        match self {
            Self::Colour(c) => entity.colour == c,
            Self::Shape(s) => entity.shape == s,
        }
    }
}

/// A parsed caption: the scene spec the renderer draws and the checker tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caption {
    /// What is in the scene and how it is arranged.
    pub layout: Layout,
    /// A class that must be absent.
    pub negation: Option<Negation>,
}

impl Caption {
    /// Parses a caption of the grammar (module docs). Errors name the 1-based word and what
    /// was expected there.
    pub fn parse(text: &str) -> Result<Self> {
        Parser::new(text).caption()
    }

    /// The caption text (`parse(c.text()) == c`).
    pub fn text(&self) -> String {
        let mut s = match &self.layout {
            Layout::Groups(groups) => groups
                .iter()
                .map(Group::text)
                .collect::<Vec<_>>()
                .join(" and "),
            Layout::Relation { a, relation, b } => {
                format!("{} {} {}", a.text(), relation.phrase(), b.text())
            }
            Layout::Comparison { a, comparison, b } => format!(
                "a {} {} than a {}",
                a.phrase(1),
                comparison.word(),
                b.phrase(1)
            ),
        };
        if let Some(n) = self.negation {
            s.push_str(" with ");
            s.push_str(&n.phrase());
        }
        s
    }

    /// The distinct entities the caption names, in caption order.
    pub fn entities(&self) -> Vec<Entity> {
        match &self.layout {
            Layout::Groups(groups) => groups.iter().map(|g| g.entity).collect(),
            Layout::Relation { a, b, .. } => vec![a.entity, b.entity],
            Layout::Comparison { a, b, .. } => vec![*a, *b],
        }
    }

    /// Number of objects the scene holds.
    pub fn object_count(&self) -> usize {
        match &self.layout {
            Layout::Groups(groups) => groups.iter().map(|g| g.count).sum(),
            Layout::Relation { .. } | Layout::Comparison { .. } => 2,
        }
    }

    /// Checks the rules the grammar alone does not enforce; `word` positions point at the
    /// caption as a whole (0) since a built caption has no text yet.
    pub fn validate(&self) -> Result<()> {
        let err = |message: String| {
            Err(TaskError::Caption {
                caption: self.text(),
                word: 0,
                message,
            })
        };
        let entities = self.entities();
        if let [a, b] = entities[..]
            && a == b
        {
            return err(format!(
                "both objects are {}: the two entities of a caption must differ in colour or shape",
                a.phrase(1)
            ));
        }
        if let Layout::Groups(groups) = &self.layout {
            if groups.is_empty() || groups.len() > 2 {
                return err(format!("{} groups; a caption has one or two", groups.len()));
            }
            for g in groups {
                if g.count == 0 || g.count > MAX_COUNT {
                    return err(format!("count {} is outside 1..={MAX_COUNT}", g.count));
                }
                if g.position.is_some() && g.count != 1 {
                    return err("a position is only allowed on a single object".to_string());
                }
            }
            if let [a, b] = &groups[..]
                && a.position.is_some()
                && a.position == b.position
            {
                return err("both groups have the same position".to_string());
            }
        }
        if let Layout::Relation { a, b, .. } = &self.layout
            && [a, b].iter().any(|g| g.count != 1 || g.position.is_some())
        {
            return err("a relation joins two single objects without positions".to_string());
        }
        if let Some(n) = self.negation
            && let Some(e) = entities.iter().find(|e| n.matches(**e))
        {
            return err(format!(
                "`with {}` contradicts the {} the caption asks for",
                n.phrase(),
                e.phrase(1)
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Caption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

struct Parser<'a> {
    text: &'a str,
    words: Vec<&'a str>,
    at: usize,
}

fn list<T: Copy>(all: &[T], word: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|x| word(*x)).collect::<Vec<_>>().join(", ")
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            words: text.split_whitespace().collect(),
            at: 0,
        }
    }

    fn error<T>(&self, word: usize, message: String) -> Result<T> {
        Err(TaskError::Caption {
            caption: self.text.to_string(),
            word,
            message,
        })
    }

    /// An error at the current word: "`w`: expected ..." or "the caption ends; expected ...".
    fn expected<T>(&self, what: &str) -> Result<T> {
        match self.words.get(self.at) {
            Some(w) => self.error(self.at + 1, format!("`{w}` is not {what}")),
            None => self.error(
                self.at + 1,
                format!("the caption ends here; expected {what}"),
            ),
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.at).copied()
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, word: &str) -> Result<()> {
        if self.eat(word) {
            Ok(())
        } else {
            self.expected(&format!("`{word}`"))
        }
    }

    fn caption(mut self) -> Result<Caption> {
        if self.words.is_empty() {
            return self.error(0, "the caption is empty".to_string());
        }
        let first = self.group()?;
        let layout = if let Some(relation) = self.relation() {
            let at = self.at;
            let b = self.group()?;
            for (g, start) in [(&first, 1), (&b, at + 1)] {
                if g.count != 1 || g.position.is_some() {
                    return self.error(
                        start,
                        "a relation joins two single objects (`a ...`) without positions"
                            .to_string(),
                    );
                }
            }
            Layout::Relation {
                a: first,
                relation,
                b,
            }
        } else if let Some(comparison) = self.peek().and_then(Comparison::from_word) {
            if first.count != 1 || first.size.is_some() || first.position.is_some() {
                return self.error(
                    self.at + 1,
                    "a comparison joins two single objects (`a <colour> <shape>`) without \
                     size words or positions"
                        .to_string(),
                );
            }
            self.at += 1;
            self.expect("than")?;
            let at = self.at;
            let b = self.group()?;
            if b.count != 1 || b.size.is_some() || b.position.is_some() {
                return self.error(
                    at + 1,
                    "a comparison joins two single objects (`a <colour> <shape>`) without \
                     size words or positions"
                        .to_string(),
                );
            }
            Layout::Comparison {
                a: first.entity,
                comparison,
                b: b.entity,
            }
        } else if self.eat("and") {
            let second = self.group()?;
            Layout::Groups(vec![first, second])
        } else {
            Layout::Groups(vec![first])
        };
        let negation = if self.eat("with") {
            self.expect("no")?;
            Some(self.negated()?)
        } else {
            None
        };
        if self.at < self.words.len() {
            return self.expected("`and`, a relation, `larger`/`smaller`, `with` or the end");
        }
        let caption = Caption { layout, negation };
        caption.validate().map_err(|e| match e {
            TaskError::Caption { message, .. } => TaskError::Caption {
                caption: self.text.to_string(),
                word: 0,
                message,
            },
            other => other,
        })?;
        Ok(caption)
    }

    fn relation(&mut self) -> Option<Relation> {
        let rest = &self.words[self.at.min(self.words.len())..];
        let r = Relation::ALL
            .into_iter()
            .find(|r| rest.starts_with(r.words()))?;
        self.at += r.words().len();
        Some(r)
    }

    fn group(&mut self) -> Result<Group> {
        let count = match self.peek() {
            Some(w) => COUNT_WORDS
                .iter()
                .skip(1)
                .position(|c| *c == w)
                .map(|i| i + 1),
            None => None,
        };
        let Some(count) = count else {
            return self.expected("a count (a, two, three, four)");
        };
        self.at += 1;
        let size = self.peek().and_then(Size::from_word);
        if size.is_some() {
            self.at += 1;
        }
        let Some(colour) = self.peek().and_then(Colour::from_word) else {
            let what = if size.is_some() {
                "a colour"
            } else {
                "a size (big, small) or a colour"
            };
            return self.expected(&format!("{what} ({})", list(&Colour::ALL, Colour::word)));
        };
        self.at += 1;
        let word = self.peek();
        let shape = if count == 1 {
            word.and_then(ShapeKind::from_word)
        } else {
            word.and_then(ShapeKind::from_plural)
        };
        let Some(shape) = shape else {
            let (form, words) = if count == 1 {
                ("a singular shape", list(&ShapeKind::ALL, ShapeKind::word))
            } else {
                ("a plural shape", list(&ShapeKind::ALL, ShapeKind::plural))
            };
            return self.expected(&format!("{form} after `{}` ({words})", COUNT_WORDS[count]));
        };
        self.at += 1;
        let position = self.position()?;
        if position.is_some() && count != 1 {
            return self.error(
                self.at - 2,
                "a position is only allowed on a single object (`a ...`)".to_string(),
            );
        }
        Ok(Group {
            count,
            entity: Entity { colour, shape },
            size,
            position,
        })
    }

    fn position(&mut self) -> Result<Option<Position>> {
        let Some(first) = self.peek() else {
            return Ok(None);
        };
        let candidates: Vec<Position> = Position::ALL
            .into_iter()
            .filter(|p| p.words()[0] == first)
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        self.at += 1;
        self.expect("the")?;
        let word = self.peek();
        match candidates.iter().find(|p| Some(p.words()[2]) == word) {
            Some(p) => {
                self.at += 1;
                Ok(Some(*p))
            }
            None => self.expected(&format!(
                "a position after `{first} the` ({})",
                candidates
                    .iter()
                    .map(|p| p.words()[2])
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn negated(&mut self) -> Result<Negation> {
        let word = self.peek();
        if let Some(c) = word.and_then(Colour::from_word) {
            self.at += 1;
            self.expect("shapes")?;
            return Ok(Negation::Colour(c));
        }
        if let Some(s) = word.and_then(ShapeKind::from_plural) {
            self.at += 1;
            return Ok(Negation::Shape(s));
        }
        self.expected(&format!(
            "a colour followed by `shapes`, or a plural shape ({})",
            list(&ShapeKind::ALL, ShapeKind::plural)
        ))
    }
}
