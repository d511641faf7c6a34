//! [`TextStyle`]: how the world's texts are written — the compact token form the tiny models
//! of the controlled study read (`great kettle . the price is sturdy . peace out .`), or
//! plain English sentences a pretrained model reads (`Great kettle. The price is sturdy.
//! Peace out.`). Both carry the same words; [`compact_form`] maps either back to the compact
//! one, which is what the review parser reads.

use serde::{Deserialize, Serialize};

/// The written form of titles, descriptions and reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextStyle {
    /// Lower-case words with ` .` between sentences (the tiny models' vocabulary).
    #[default]
    Compact,
    /// Sentence case with `. ` between sentences: the same words as English text.
    Natural,
}

impl TextStyle {
    /// `compact` (a text in the compact form) written in this style.
    pub fn render(self, compact: &str) -> String {
        match self {
            Self::Compact => compact.to_owned(),
            Self::Natural => natural(compact),
        }
    }
}

/// Sentence case: each ` . `-separated sentence starts with a capital and ends with `.`; a
/// text without a final ` .` (a title) is capitalised only.
fn natural(compact: &str) -> String {
    let trimmed = compact.trim();
    let Some(body) = trimmed.strip_suffix(" .").or(trimmed.strip_suffix('.')) else {
        return capitalised(trimmed);
    };
    body.split(" . ")
        .map(|sentence| format!("{}.", capitalised(sentence.trim())))
        .collect::<Vec<_>>()
        .join(" ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The compact form of a text in either style (or of a model's output): lower case, every
/// `.`, `!` and `?` a separate ` .` token, commas, colons, semicolons, quotes and brackets
/// dropped, single spaces. Compact text maps to itself.
pub fn compact_form(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(c, '.' | '!' | '?') {
            spaced.push_str(" . ");
        } else if matches!(c, ',' | ';' | ':' | '"' | '(' | ')') {
            spaced.push(' ');
        } else {
            spaced.extend(c.to_lowercase());
        }
    }
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_sentences_and_back() {
        let compact = "great kettle . the price is sturdy . cheers from ohio .";
        let natural = TextStyle::Natural.render(compact);
        assert_eq!(
            natural,
            "Great kettle. The price is sturdy. Cheers from ohio."
        );
        assert_eq!(compact_form(&natural), compact);
        assert_eq!(compact_form(compact), compact);
        assert_eq!(TextStyle::Compact.render(compact), compact);
        assert_eq!(TextStyle::Natural.render("acme kettle"), "Acme kettle");
        assert_eq!(TextStyle::Natural.render("red steel ."), "Red steel.");
        assert_eq!(
            compact_form("  Great KETTLE!  The price is (really) sturdy, ok?Peace out"),
            "great kettle . the price is really sturdy ok . peace out"
        );
        assert_eq!(TextStyle::Natural.render(""), "");
    }
}
