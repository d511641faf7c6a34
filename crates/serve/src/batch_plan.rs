//! Which queued requests may share one `generate` call.
//!
//! [`CausalLm::generate`](prefopt_models::CausalLm::generate) decodes all rows of a batch
//! with one sampling configuration and one random stream: at each step the rows still running
//! draw from it in row order. So:
//!
//! - **greedy** requests (temperature 0) draw nothing: any of them can share a batch, and each
//!   answer is what the request would get alone;
//! - **seeded** sampled requests must not share a stream with anybody (row `r`'s draws would
//!   depend on how many rows run before it), so each runs as its own batch — its `n` choices
//!   together, from its own seed — and is answered exactly as a sequential run with that seed;
//! - **unseeded** sampled requests promise no particular answer, so those with the same
//!   temperature, top-p and top-k share a batch, sampled from a seed the server draws.
//!
//! A request's `max_tokens` may differ within a batch: the batch runs to the largest and each
//! row is cut to its own (a row's first `k` tokens do not depend on how long the batch runs).
//! Stop strings are applied to each row's text afterwards. Requests that set `ignore_eos` only
//! batch with others that do (the stop tokens are a setting of the whole batch).
//!
//! "What the request would get alone" assumes a row's logits do not depend on the other rows
//! of the batch. Prompts are left-padded with masked padding and positions counted over real
//! tokens, so this holds exactly in arithmetic; in floating point a kernel may sum in a
//! different order for another batch size. On the CPU backend the load test of this crate
//! (64 concurrent requests against a sequential run) finds the answers identical.

use crate::request::ChatRequest;

/// The batch a request can join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKey {
    /// Greedy decoding: one row per request, whatever `n` (its choices are all the same).
    Greedy {
        /// The requests' `ignore_eos`.
        ignore_eos: bool,
    },
    /// Unseeded sampling with these settings (`f64` bits, for exact equality).
    Shared {
        /// `temperature.to_bits()`.
        temperature: u64,
        /// `top_p.to_bits()`.
        top_p: u64,
        /// `top_k`.
        top_k: usize,
        /// `ignore_eos`.
        ignore_eos: bool,
    },
    /// A seeded sampled request: a batch of its own (the index of the request in the plan).
    Alone(usize),
}

impl BatchKey {
    /// The key of request `index`.
    pub fn of(request: &ChatRequest, index: usize) -> Self {
        if request.is_greedy() {
            Self::Greedy {
                ignore_eos: request.ignore_eos,
            }
        } else if request.seed.is_some() {
            Self::Alone(index)
        } else {
            Self::Shared {
                temperature: request.temperature.to_bits(),
                top_p: request.top_p.to_bits(),
                top_k: request.top_k,
                ignore_eos: request.ignore_eos,
            }
        }
    }
}

/// Rows a request adds to a batch: one when greedy, else its `n` choices.
pub fn rows(request: &ChatRequest) -> usize {
    if request.is_greedy() { 1 } else { request.n }
}

/// Splits `requests` (in arrival order) into batches of compatible requests, each batch's
/// members in arrival order, the batches ordered by their first member's arrival.
pub fn plan(requests: &[&ChatRequest]) -> Vec<(BatchKey, Vec<usize>)> {
    let mut groups: Vec<(BatchKey, Vec<usize>)> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let key = BatchKey::of(r, i);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_chat_request;

    fn req(extra: &str) -> ChatRequest {
        let body = format!(r#"{{"messages": [{{"role": "user", "content": "x"}}]{extra}}}"#);
        parse_chat_request(body.as_bytes(), 8).unwrap()
    }

    #[test]
    fn groups_compatible_requests() {
        let rs = [
            req(r#", "temperature": 0, "seed": 1"#),
            req(r#", "temperature": 0.7, "seed": 3, "n": 2"#),
            req(r#", "temperature": 0, "n": 4, "max_tokens": 9"#),
            req(r#", "temperature": 0.7"#),
            req(r#", "temperature": 0.7, "seed": 3"#),
            req(r#", "temperature": 0.7, "top_p": 0.9"#),
            req(r#", "temperature": 0.7, "n": 3"#),
            req(r#", "temperature": 0, "ignore_eos": true"#),
        ];
        let refs: Vec<&ChatRequest> = rs.iter().collect();
        let groups = plan(&refs);
        let members: Vec<Vec<usize>> = groups.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(
            members,
            vec![vec![0, 2], vec![1], vec![3, 6], vec![4], vec![5], vec![7]]
        );
        assert_eq!(groups[0].0, BatchKey::Greedy { ignore_eos: false });
        assert_eq!(groups[5].0, BatchKey::Greedy { ignore_eos: true });
        assert_eq!(groups[1].0, BatchKey::Alone(1));
        assert_eq!(rows(&rs[2]), 1, "greedy choices are identical: one row");
        assert_eq!(rows(&rs[1]), 2);
        assert_eq!(rows(&rs[6]), 3);
    }
}
