//! Statistics of the default SFT corpus through the ground-truth reward.

use prefopt_tasks::{ReviewGrammar, Stance, corpus_stats, generate_reviews, reward};

#[test]
fn default_corpus_is_near_neutral_with_a_spread() {
    for seed in [0, 1, 2] {
        let reviews = generate_reviews(&ReviewGrammar::default(), seed, 4000).unwrap();
        let stats = corpus_stats(&reviews);
        let r = &stats.reward;
        // Symmetric mix and a balanced lexicon: the mean is 0 up to sampling noise
        // (std ≈ 0.42 over 4000 samples → standard error ≈ 0.007).
        assert!(r.mean.abs() < 0.04, "seed {seed}: mean {}", r.mean);
        assert!(r.std > 0.3 && r.std < 0.6, "seed {seed}: std {}", r.std);
        // Both tails exist, so best-of-K sampling can find positive completions.
        assert!(r.max > 0.9 && r.min < -0.9, "seed {seed}: {r:?}");
        assert!(
            (0.15..0.35).contains(&r.fraction_positive),
            "seed {seed}: {r:?}"
        );
        // Mostly neutral or mixed (70 % expected).
        let count = |s: Stance| stats.stances.iter().find(|(x, _)| *x == s).unwrap().1;
        let calm = count(Stance::Neutral) + count(Stance::Mixed);
        assert!(
            calm as f64 / 4000.0 > 0.65,
            "seed {seed}: {:?}",
            stats.stances
        );
        assert!((3.0..12.0).contains(&stats.mean_completion_words));
    }
}

#[test]
fn stance_decides_the_sign_of_the_reward() {
    let reviews = generate_reviews(&ReviewGrammar::default(), 3, 2000).unwrap();
    for review in &reviews {
        let r = reward(&review.completion);
        let ok = match review.stance {
            Stance::Positive => r > 0.0,
            Stance::Negative => r < 0.0,
            Stance::Neutral => r == 0.0,
            Stance::Mixed => r.abs() < 1.0,
        };
        assert!(ok, "{:?} {:?} → {r}", review.stance, review.text());
        // the prompt carries no sentiment, so scoring prompt + completion agrees
        assert_eq!(reward(&review.text()), r, "{:?}", review.text());
        assert!(review.completion.starts_with(' ') && review.completion.ends_with('.'));
    }
}
