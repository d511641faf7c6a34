//! Host-side next-token selection: repetition penalty, temperature, top-k, top-p, seeded RNG.
//!
//! One decode step's logits are `[b, vocab]`, small enough to process on the host; doing it
//! here gives exact, backend-independent and reproducible sampling (burn has no categorical
//! sampler).

use prefopt_core::SplitMix64;

/// The knobs of one sampling step (the sampling fields of [`crate::GenerationConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Sample (true) or take the argmax (false, greedy).
    pub do_sample: bool,
    /// Softmax temperature when sampling (must be > 0).
    pub temperature: f64,
    /// Keep only the `top_k` most likely tokens, ties with the k-th kept (0 = off).
    pub top_k: usize,
    /// Nucleus sampling mass (1.0 = off).
    pub top_p: f64,
    /// transformers' repetition penalty over the `seen` tokens (1.0 = off).
    pub repetition_penalty: f64,
}

impl Default for SamplingParams {
    /// Greedy, every filter off (the [`crate::GenerationConfig`] defaults).
    fn default() -> Self {
        Self {
            do_sample: false,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
        }
    }
}

impl From<&crate::GenerationConfig> for SamplingParams {
    fn from(c: &crate::GenerationConfig) -> Self {
        Self {
            do_sample: c.do_sample,
            temperature: c.temperature,
            top_k: c.top_k,
            top_p: c.top_p,
            repetition_penalty: c.repetition_penalty,
        }
    }
}

/// transformers' `RepetitionPenaltyLogitsProcessor`: each token already present is divided by
/// the penalty if its logit is positive, multiplied if negative.
pub(crate) fn apply_repetition_penalty(logits: &mut [f32], seen: &[u32], penalty: f64) {
    if penalty == 1.0 {
        return;
    }
    let p = penalty as f32;
    let mut done = vec![false; logits.len()];
    for &t in seen {
        let t = t as usize;
        if t < logits.len() && !done[t] {
            done[t] = true;
            logits[t] = if logits[t] < 0.0 {
                logits[t] * p
            } else {
                logits[t] / p
            };
        }
    }
}

fn log_softmax_at(scores: &[f32], idx: usize) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lse = scores
        .iter()
        .map(|&s| ((s - max) as f64).exp())
        .sum::<f64>()
        .ln() as f32
        + max;
    scores[idx] - lse
}

/// Chooses the next token of one row. Returns `(token, logprob)` where `logprob` is
/// `log_softmax(raw_logits / temperature)[token]` (temperature 1 when greedy): the quantity
/// TRL's GRPO recomputes as the old policy's log-prob (no penalty, no truncation).
///
/// This is the sampler of [`CausalLm::generate`](crate::CausalLm::generate): when sampling
/// it draws exactly one `rng.next_f64()` per call (none when greedy), so a caller that visits
/// rows in the same order with the same seeded [`SplitMix64`] reproduces `generate`'s tokens.
///
/// # Shapes
/// - raw: `[vocab]`, one row's logits
/// - seen: the row's prompt and generated tokens so far (for the repetition penalty)
pub fn select_token(
    raw: &[f32],
    seen: &[u32],
    params: &SamplingParams,
    rng: &mut SplitMix64,
) -> (u32, f32) {
    let mut scores = raw.to_vec();
    apply_repetition_penalty(&mut scores, seen, params.repetition_penalty);
    let temperature = if params.do_sample {
        params.temperature
    } else {
        1.0
    };
    let token = if !params.do_sample {
        argmax(&scores)
    } else {
        sample(&mut scores, params, rng)
    };
    let scaled: Vec<f32> = raw.iter().map(|&x| x / temperature as f32).collect();
    (token as u32, log_softmax_at(&scaled, token))
}

/// First index of the maximum (ties go to the lowest id, as `torch.argmax`).
pub(crate) fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

fn sample(scores: &mut [f32], params: &SamplingParams, rng: &mut SplitMix64) -> usize {
    let t = params.temperature as f32;
    for s in scores.iter_mut() {
        *s /= t;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep = order.len();
    if params.top_k > 0 && params.top_k < keep {
        // transformers keeps every token tied with the k-th score.
        let kth = scores[order[params.top_k - 1]];
        keep = order.iter().take_while(|&&i| scores[i] >= kth).count();
    }
    let max = scores[order[0]];
    let mut probs: Vec<f64> = order[..keep]
        .iter()
        .map(|&i| ((scores[i] - max) as f64).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    for p in probs.iter_mut() {
        *p /= total;
    }
    if params.top_p < 1.0 {
        // Smallest prefix of the sorted distribution whose mass reaches top_p (at least one).
        let mut cum = 0.0;
        let mut n = 0;
        for &p in &probs {
            cum += p;
            n += 1;
            if cum >= params.top_p {
                break;
            }
        }
        probs.truncate(n.max(1));
        let total: f64 = probs.iter().sum();
        for p in probs.iter_mut() {
            *p /= total;
        }
    }
    let u = rng.next_f64();
    let mut cum = 0.0;
    for (j, &p) in probs.iter().enumerate() {
        cum += p;
        if u < cum {
            return order[j];
        }
    }
    order[probs.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(top_k: usize, top_p: f64) -> SamplingParams {
        SamplingParams {
            do_sample: true,
            temperature: 1.0,
            top_k,
            top_p,
            repetition_penalty: 1.0,
        }
    }

    #[test]
    fn repetition_penalty_follows_transformers() {
        let mut l = vec![2.0, -2.0, 1.0];
        apply_repetition_penalty(&mut l, &[0, 1, 1], 2.0);
        assert_eq!(l, vec![1.0, -4.0, 1.0]);
    }

    #[test]
    fn top_k_one_is_greedy() {
        let mut rng = SplitMix64::new(0);
        let raw = [0.1, 3.0, 2.9, -1.0];
        for _ in 0..50 {
            assert_eq!(select_token(&raw, &[], &params(1, 1.0), &mut rng).0, 1);
        }
    }

    #[test]
    fn top_p_excludes_tail() {
        // probs ~ [0.665, 0.245, 0.09]: top_p 0.8 keeps the first two only.
        let raw = [2.0, 1.0, 0.0];
        let mut rng = SplitMix64::new(3);
        let mut counts = [0usize; 3];
        for _ in 0..2000 {
            counts[select_token(&raw, &[], &params(0, 0.8), &mut rng).0 as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        let frac = counts[0] as f64 / 2000.0;
        // renormalised: 0.665 / 0.910 = 0.731
        assert!((frac - 0.731).abs() < 0.04, "{frac}");
    }

    #[test]
    fn sampling_frequencies_match_softmax_and_logprob_is_exact() {
        let raw = [0.0f32, 1.0];
        let mut rng = SplitMix64::new(11);
        let mut ones = 0;
        for _ in 0..4000 {
            let (tok, lp) = select_token(&raw, &[], &params(0, 1.0), &mut rng);
            let p1 = 1.0 / (1.0 + (-1f64).exp());
            let expect = if tok == 1 { p1.ln() } else { (1.0 - p1).ln() };
            assert!((lp as f64 - expect).abs() < 1e-6);
            ones += tok as usize;
        }
        let frac = ones as f64 / 4000.0;
        assert!((frac - 0.7311).abs() < 0.03, "{frac}");
    }

    #[test]
    fn same_seed_same_draws() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
