//! OpenAI-compatible chat-completion replies (`prefopt_core::chat_client::reply_content`, the
//! body parsing of every HTTP judge).

use crate::target::text_seeds;

/// Extracts `choices[0].message.content` from `data` taken as a reply body.
pub fn chat_reply(data: &[u8]) {
    let _ = prefopt_core::chat_client::reply_content(&String::from_utf8_lossy(data));
}

pub(crate) fn seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"<answer>1 is better</answer>"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        r#"{"choices":[{"message":{"content":null}}]}"#,
        r#"{"error":{"message":"overloaded","code":503}}"#,
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_seed_is_a_reply() {
        let text = String::from_utf8(super::seeds().remove(0)).unwrap();
        let content = prefopt_core::chat_client::reply_content(&text).unwrap();
        assert_eq!(content, "<answer>1 is better</answer>");
    }
}
