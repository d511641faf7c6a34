//! Implicit prompts: rows with only `chosen` and `rejected`, whose shared beginning is the
//! prompt (Anthropic HH-RLHF's layout).
//!
//! This follows TRL's `extract_prompt`: the prompt is the longest common prefix of the two
//! (characters for text, whole messages for conversations); for text, when the character
//! before the split is a space, the split moves one to the left so the space starts both
//! completions. One deliberate difference: when one side is a prefix of the other, TRL's
//! Python loop leaves the split one before the end of the shorter side; here it is the full
//! length of the shorter side.

use crate::records::{Content, Message, PreferenceRecord};

/// Index of the first difference of two sequences (the shorter length if none).
fn common_prefix_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Splits text `chosen`/`rejected` into (prompt, chosen, rejected).
pub fn split_text(chosen: &str, rejected: &str) -> (String, String, String) {
    let c: Vec<char> = chosen.chars().collect();
    let r: Vec<char> = rejected.chars().collect();
    let mut idx = common_prefix_len(&c, &r);
    if idx > 0 && idx < c.len().min(r.len()) && c[idx - 1] == ' ' {
        idx -= 1;
    }
    let prompt: String = c[..idx].iter().collect();
    (prompt, c[idx..].iter().collect(), r[idx..].iter().collect())
}

/// Splits conversations into (prompt messages, chosen messages, rejected messages).
pub fn split_messages(
    chosen: &[Message],
    rejected: &[Message],
) -> (Vec<Message>, Vec<Message>, Vec<Message>) {
    let idx = common_prefix_len(chosen, rejected);
    (
        chosen[..idx].to_vec(),
        chosen[idx..].to_vec(),
        rejected[idx..].to_vec(),
    )
}

/// Builds a [`PreferenceRecord`] from implicit-prompt `chosen` and `rejected`.
pub fn extract_prompt(chosen: Content, rejected: Content) -> Result<PreferenceRecord, String> {
    match (chosen, rejected) {
        (Content::Text(c), Content::Text(r)) => {
            let (prompt, chosen, rejected) = split_text(&c, &r);
            Ok(PreferenceRecord {
                prompt: Content::Text(prompt),
                chosen: Content::Text(chosen),
                rejected: Content::Text(rejected),
            })
        }
        (Content::Conversation(c), Content::Conversation(r)) => {
            let (prompt, chosen, rejected) = split_messages(&c, &r);
            if prompt.is_empty() {
                return Err(
                    "implicit prompt: `chosen` and `rejected` share no leading messages".into(),
                );
            }
            if chosen.is_empty() || rejected.is_empty() {
                return Err(
                    "implicit prompt: one of `chosen`/`rejected` is a prefix of the other".into(),
                );
            }
            Ok(PreferenceRecord {
                prompt: Content::Conversation(prompt),
                chosen: Content::Conversation(chosen),
                rejected: Content::Conversation(rejected),
            })
        }
        _ => Err("`chosen` and `rejected` must both be strings or both message lists".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_split_reassembles_both_sides(a in "[ ab\\n]{0,12}", b in "[ ab\\n]{0,12}") {
            let (p, c, r) = split_text(&a, &b);
            prop_assert_eq!(format!("{p}{c}"), a.clone());
            prop_assert_eq!(format!("{p}{r}"), b.clone());
            // The prompt is a common prefix; the split is at the first difference, or one
            // before it when that character is a space.
            let first_diff = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
            let n = p.chars().count();
            prop_assert!(n == first_diff || (n + 1 == first_diff && p.chars().count() < a.chars().count().min(b.chars().count())));
        }
    }

    #[test]
    fn text_split_moves_the_space_to_the_completions() {
        // The HH-RLHF shape; TRL's extract_prompt gives the same three strings.
        let (p, c, r) = split_text(
            "\n\nHuman: Hi?\n\nAssistant: Hello there",
            "\n\nHuman: Hi?\n\nAssistant: Go away",
        );
        assert_eq!(p, "\n\nHuman: Hi?\n\nAssistant:");
        assert_eq!(c, " Hello there");
        assert_eq!(r, " Go away");
    }

    #[test]
    fn text_split_handles_multibyte_characters() {
        let (p, c, r) = split_text("héllo wörld", "héllo wärld");
        assert_eq!(
            (p.as_str(), c.as_str(), r.as_str()),
            ("héllo w", "örld", "ärld")
        );
    }

    #[test]
    fn message_split() {
        let u = Message::new("user", "2+2?");
        let a = Message::new("assistant", "4");
        let b = Message::new("assistant", "5");
        let rec = extract_prompt(
            Content::Conversation(vec![u.clone(), a.clone()]),
            Content::Conversation(vec![u.clone(), b.clone()]),
        )
        .unwrap();
        assert_eq!(rec.prompt, Content::Conversation(vec![u]));
        assert_eq!(rec.chosen, Content::Conversation(vec![a]));
        assert_eq!(rec.rejected, Content::Conversation(vec![b]));
    }
}
