//! A word-level tokenizer for captions: the grammar is closed, so every word has an id.

use super::vocab::{COUNT_WORDS, Colour, Comparison, Position, Relation, ShapeKind, Size};
use crate::{Result, TaskError};

/// The padding id.
pub const PAD_ID: u32 = 0;

/// Caption words → ids (`0` is padding; words from 1 in a fixed order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldTokenizer {
    words: Vec<&'static str>,
}

impl Default for WorldTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl WorldTokenizer {
    /// The vocabulary of the grammar.
    pub fn new() -> Self {
        let mut words: Vec<&'static str> = vec!["<pad>"];
        let mut add = |w: &'static str| {
            if !words.contains(&w) {
                words.push(w);
            }
        };
        COUNT_WORDS[1..].iter().for_each(|w| add(w));
        Size::ALL.iter().for_each(|s| add(s.word()));
        Colour::ALL.iter().for_each(|c| add(c.word()));
        for s in ShapeKind::ALL {
            add(s.word());
            add(s.plural());
        }
        Position::ALL
            .iter()
            .flat_map(|p| p.words())
            .for_each(&mut add);
        Relation::ALL
            .iter()
            .flat_map(|r| r.words())
            .for_each(|w| add(w));
        Comparison::ALL.iter().for_each(|c| add(c.word()));
        ["than", "and", "with", "no", "shapes"]
            .into_iter()
            .for_each(add);
        Self { words }
    }

    /// Number of ids, padding included.
    pub fn vocab_size(&self) -> usize {
        self.words.len()
    }

    /// The words, index = id (`<pad>` first).
    pub fn words(&self) -> &[&'static str] {
        &self.words
    }

    /// The id of a word.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.words.iter().position(|w| *w == word).map(|i| i as u32)
    }

    /// Word ids of `text`, unpadded.
    ///
    /// # Errors
    /// A word outside the vocabulary (named, with its 1-based position).
    pub fn ids(&self, text: &str) -> Result<Vec<u32>> {
        self.encode(text, MAX_CAPTION_WORDS.max(text.split_whitespace().count()))
            .map(|(mut ids, mask)| {
                ids.truncate(mask.iter().filter(|m| **m).count());
                ids
            })
    }

    /// Word ids of `text` padded with [`PAD_ID`] to `max_len`, and the mask (true on words).
    ///
    /// # Errors
    /// A word outside the vocabulary (named, with its 1-based position) or more than
    /// `max_len` words.
    pub fn encode(&self, text: &str, max_len: usize) -> Result<(Vec<u32>, Vec<bool>)> {
        let mut ids = Vec::with_capacity(max_len);
        for (i, w) in text.split_whitespace().enumerate() {
            if i >= max_len {
                return Err(TaskError::Caption {
                    caption: text.to_string(),
                    word: i + 1,
                    message: format!("more than {max_len} words"),
                });
            }
            ids.push(
                self.id(w)
                    .filter(|id| *id != PAD_ID)
                    .ok_or_else(|| TaskError::Caption {
                        caption: text.to_string(),
                        word: i + 1,
                        message: format!("`{w}` is not a word of the shapes world"),
                    })?,
            );
        }
        let mask = (0..max_len).map(|i| i < ids.len()).collect();
        ids.resize(max_len, PAD_ID);
        Ok((ids, mask))
    }

    /// The words of `ids`, padding dropped (unknown ids become `<unk>`).
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter()
            .filter(|id| **id != PAD_ID)
            .map(|id| self.words.get(*id as usize).copied().unwrap_or("<unk>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The most words a caption of the grammar has (two positioned, sized groups and a negation).
pub const MAX_CAPTION_WORDS: usize = 19;
