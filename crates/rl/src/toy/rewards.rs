//! The toy task's rewards and comparators, and the names `prefopt grpo` knows them by.
//!
//! The reward-hacking study (`docs/reward-hacking.md`) scores an 8-character completion c:
//! - task score   q(c)     = min(#`h`, 2) / 2 (two `h` are enough; it saturates),
//! - ground truth gt(c)    = q(c) − frac(`x`) (`x` is bad),
//! - proxy        proxy(c) = 0.01 · (q(c) + 0.25 · frac(`x`)): the task signal plus a small
//!   exploitable bonus for `x`, at a scale that makes within-group differences tiny.

use crate::judge::Verdict;
use crate::online::RewardRegistry;

use super::char_fraction;

/// The proxy's scale.
pub const HACK_PROXY_SCALE: f64 = 0.01;
/// The proxy's bonus per unit of `x` fraction (before the scale).
pub const HACK_BONUS: f64 = 0.25;

/// q(c) = min(#`h`, 2) / 2.
pub fn hack_task_score(completion: &str) -> f64 {
    completion.chars().filter(|&c| c == 'h').count().min(2) as f64 / 2.0
}

/// gt(c) = q(c) − frac(`x`).
pub fn hack_ground_truth(completion: &str) -> f64 {
    hack_task_score(completion) - char_fraction(completion, 'x')
}

/// proxy(c) = 0.01 · (q(c) + 0.25 · frac(`x`)).
pub fn hack_proxy(completion: &str) -> f64 {
    HACK_PROXY_SCALE * (hack_task_score(completion) + HACK_BONUS * char_fraction(completion, 'x'))
}

/// Registers the toy rewards and comparators:
///
/// | name | pointwise reward | comparator (higher wins, equal ties) |
/// |---|---|---|
/// | `toy_h_fraction` | fraction of `h` (the `grpo_toy` ground truth) | more `h` |
/// | `toy_task` | q(c) | higher q |
/// | `toy_x_fraction` | fraction of `x` | — |
/// | `toy_ground_truth` | gt(c) | higher gt |
/// | `toy_proxy` | proxy(c) | — |
pub fn register_toy_rewards(registry: &mut RewardRegistry) {
    type Score = fn(&str) -> f64;
    // (name, score, also a comparator)
    let scores: [(&str, Score, bool); 5] = [
        ("toy_h_fraction", |c| char_fraction(c, 'h'), true),
        ("toy_task", hack_task_score, true),
        ("toy_x_fraction", |c| char_fraction(c, 'x'), false),
        ("toy_ground_truth", hack_ground_truth, true),
        ("toy_proxy", hack_proxy, false),
    ];
    for (name, score, comparator) in scores {
        registry.register_fn(name, move |_, c| Some(score(c)));
        if comparator {
            registry.register_comparator_fn(name, move |_, a, b| {
                Verdict::from_scores(score(a), score(b))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_scores() {
        assert_eq!(hack_task_score("hxhh"), 1.0);
        assert_eq!(hack_ground_truth("hxhh"), 0.75);
        assert!((hack_proxy("hxhh") - 0.01 * (1.0 + 0.25 * 0.25)).abs() < 1e-15);
        let mut r = RewardRegistry::new();
        register_toy_rewards(&mut r);
        assert_eq!(
            r.names(),
            vec![
                "toy_ground_truth",
                "toy_h_fraction",
                "toy_proxy",
                "toy_task",
                "toy_x_fraction"
            ]
        );
        assert_eq!(
            r.comparator_names(),
            vec!["toy_ground_truth", "toy_h_fraction", "toy_task"]
        );
    }
}
