//! `prefopt serve` request bodies (`prefopt_serve::parse_chat_request`).

use crate::target::text_seeds;

/// Parses `data` as a `/v1/chat/completions` body with at most 4 choices per request.
pub fn serve_request(data: &[u8]) {
    let _ = prefopt_serve::parse_chat_request(data, 4);
}

pub(crate) fn seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        r#"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":16,"temperature":0.7,"top_p":0.9,"n":2,"seed":3,"stop":["\n","END"]}"#,
        r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_completion_tokens":4,"stop":"x","stream":false}"#,
        r#"{"messages":[{"role":"user","content":"Hi"}],"temperature":0}"#,
    ])
}

#[cfg(test)]
mod tests {
    /// The seeds are valid requests.
    #[test]
    fn the_seeds_parse() {
        for seed in super::seeds() {
            prefopt_serve::parse_chat_request(&seed, 4).unwrap();
        }
    }
}
