//! A controlled task with a verifiable reward, for tests, examples and benchmarks.
//!
//! A tiny random-init Llama over a 32-token vocabulary whose tokens print as one character each
//! (`_` pad = 0, `$` EOS = 1, then `a`–`z`, `0`–`3`); prompts are random letter strings; the
//! ground-truth reward of a completion is the fraction of its characters equal to a target
//! character. GRPO on it should raise that fraction within a few dozen steps on a CPU.
//!
//! | file | what |
//! |---|---|
//! | `toy.rs` | the model, the prompts, the alphabet, the target-fraction reward |
//! | `toy/files.rs` | [`write_toy_world`]: the model in HF layout with a one-character-per-token `tokenizer.json`, and `prompts.jsonl`, for `prefopt grpo` |
//! | `toy/rewards.rs` | the reward-hacking study's score, ground truth and biased proxy, and [`register_toy_rewards`]: every toy reward and comparator by name |

mod files;
mod rewards;

pub use files::{ToyWorld, ToyWorldFiles, toy_tokenizer_json, write_toy_world};
pub use rewards::{
    HACK_BONUS, HACK_PROXY_SCALE, hack_ground_truth, hack_proxy, hack_task_score,
    register_toy_rewards,
};

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{CausalLm, LlamaConfig};

use crate::error::Result;
use crate::reward::FnReward;

/// One character per token id.
pub const TOY_ALPHABET: &str = "_$abcdefghijklmnopqrstuvwxyz0123";
/// Vocabulary size (32).
pub const TOY_VOCAB: usize = 32;
/// Padding token id (`_`).
pub const TOY_PAD: u32 = 0;
/// End-of-sequence token id (`$`).
pub const TOY_EOS: u32 = 1;

/// The config of the toy model: Llama, vocab 32, `hidden` wide (4 heads, 2 KV heads, so
/// `hidden` must be a multiple of 8), `layers` deep, MLP 2 × hidden, untied head, EOS 1, pad 0.
///
/// # Errors
/// A model-config error for impossible sizes.
pub fn toy_config(hidden: usize, layers: usize) -> Result<LlamaConfig> {
    let json = format!(
        r#"{{"model_type":"llama","vocab_size":{TOY_VOCAB},"hidden_size":{hidden},
            "intermediate_size":{inter},"num_hidden_layers":{layers},"num_attention_heads":4,
            "num_key_value_heads":2,"eos_token_id":{TOY_EOS},"pad_token_id":{TOY_PAD},
            "max_position_embeddings":512,"tie_word_embeddings":false}}"#,
        inter = 2 * hidden,
    );
    Ok(LlamaConfig::from_hf_str(&json, "<toy>")?)
}

/// A seeded random-init toy model (normal weights, std 0.02) on `device`.
///
/// # Errors
/// A model error for impossible sizes.
pub fn toy_model(hidden: usize, layers: usize, seed: u64, device: &Device) -> Result<CausalLm> {
    Ok(CausalLm::init_random(
        toy_config(hidden, layers)?,
        seed,
        device,
    )?)
}

/// `n` seeded prompts of 3–6 letters (token ids 2..=27, never pad or EOS).
pub fn toy_prompts(n: usize, seed: u64) -> Vec<Vec<u32>> {
    toy_prompts_of_length(n, 3, 6, seed)
}

/// `n` seeded prompts of `min_len..=max_len` letters (token ids 2..=27).
pub fn toy_prompts_of_length(n: usize, min_len: usize, max_len: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let span = (max_len - min_len + 1) as u64;
            let len = min_len + (rng.next_u64() % span) as usize;
            (0..len).map(|_| 2 + (rng.next_u64() % 26) as u32).collect()
        })
        .collect()
}

/// The character of a token id (`?` outside the vocabulary).
pub fn toy_char(id: u32) -> char {
    TOY_ALPHABET.chars().nth(id as usize).unwrap_or('?')
}

/// The token id of a character of [`TOY_ALPHABET`].
pub fn toy_token(c: char) -> Option<u32> {
    TOY_ALPHABET.chars().position(|x| x == c).map(|i| i as u32)
}

/// Token ids → text, one character per token.
pub fn toy_detokenize(ids: &[u32]) -> String {
    ids.iter().map(|&t| toy_char(t)).collect()
}

/// Fraction of the characters of `completion` equal to `target` (0 for an empty completion).
pub fn char_fraction(completion: &str, target: char) -> f64 {
    let n = completion.chars().count();
    if n == 0 {
        return 0.0;
    }
    completion.chars().filter(|&c| c == target).count() as f64 / n as f64
}

/// The ground-truth reward "fraction of `target` characters", named `name`.
pub fn target_fraction_reward(
    name: &str,
    target: char,
) -> FnReward<impl Fn(&str, &str) -> Option<f64> + Send + Sync> {
    FnReward::new(name, move |_: &str, c: &str| Some(char_fraction(c, target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_round_trips_and_fraction_counts() {
        assert_eq!(TOY_ALPHABET.chars().count(), TOY_VOCAB);
        assert_eq!(toy_token('h'), Some(9));
        assert_eq!(toy_detokenize(&[9, 2, 9, 1]), "hah$");
        assert_eq!(char_fraction("hah", 'h'), 2.0 / 3.0);
        assert_eq!(char_fraction("", 'h'), 0.0);
        let p = toy_prompts(5, 1);
        assert!(p.iter().all(|x| (3..=6).contains(&x.len())));
        assert!(p.iter().flatten().all(|&t| (2..28).contains(&t)));
        assert_eq!(p, toy_prompts(5, 1));
    }
}
