//! A seeded grammar of short reviews of films and products.
//!
//! A review is a prompt, a short neutral prefix such as `review: the film was`, and a
//! completion that finishes it (` very good, but the ending was dull.`). Every review is
//! drawn with a [`Stance`], which decides which lexicon words its completion may use:
//!
//! | stance | completion |
//! |---|---|
//! | positive | a positive phrase (`[modifier] positive word`, or `not` + a mild negative word), sometimes a second positive or neutral sentence |
//! | negative | the mirror image |
//! | neutral | neutral descriptions only (`about two hours long`, `in black and white`) |
//! | mixed | a positive and a negative phrase joined by `, but the <aspect> was` (either order) |
//!
//! Prompts never contain a lexicon word, so the reward of a review is decided by its
//! completion alone, and a language model trained on the corpus has to choose the
//! sentiment itself.

use serde::{Deserialize, Serialize};

use prefopt_core::SplitMix64;

use super::lexicon::{MODIFIERS, NEGATIVE, NEUTRAL_PHRASES, POSITIVE};

/// What a generated review expresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stance {
    /// Praise only.
    Positive,
    /// Criticism only.
    Negative,
    /// No sentiment word at all.
    Neutral,
    /// Praise and criticism in one review.
    Mixed,
}

impl Stance {
    /// All stances, in a fixed order.
    pub const ALL: [Stance; 4] = [
        Stance::Positive,
        Stance::Negative,
        Stance::Neutral,
        Stance::Mixed,
    ];
}

/// One generated review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The neutral prefix, e.g. `review: the film was`.
    pub prompt: String,
    /// The rest, starting with a space, e.g. ` very good.`.
    pub completion: String,
    /// The stance it was drawn with.
    pub stance: Stance,
}

impl Review {
    /// `prompt + completion`.
    pub fn text(&self) -> String {
        format!("{}{}", self.prompt, self.completion)
    }
}

/// How often each stance is drawn (relative weights, normalised when sampling).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CorpusMix {
    /// Weight of positive reviews.
    pub positive: f64,
    /// Weight of negative reviews.
    pub negative: f64,
    /// Weight of neutral reviews.
    pub neutral: f64,
    /// Weight of mixed reviews.
    pub mixed: f64,
}

impl Default for CorpusMix {
    /// Mostly neutral and mixed (45 % + 25 %), with as many positive as negative reviews
    /// (15 % each), so a model fine-tuned on it starts near neutral.
    fn default() -> Self {
        Self {
            positive: 0.15,
            negative: 0.15,
            neutral: 0.45,
            mixed: 0.25,
        }
    }
}

impl CorpusMix {
    fn weights(&self) -> [f64; 4] {
        [self.positive, self.negative, self.neutral, self.mixed]
    }

    /// Checks that the weights are finite, non-negative and not all zero.
    pub fn validate(&self) -> crate::Result<()> {
        let w = self.weights();
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return Err(crate::TaskError::InvalidInput(format!(
                "corpus mix weights must be finite, non-negative and not all zero: {self:?}"
            )));
        }
        Ok(())
    }
}

const FILM_SUBJECTS: &[&str] = &[
    "film",
    "movie",
    "show",
    "plot",
    "script",
    "sequel",
    "documentary",
    "soundtrack",
    "finale",
    "episode",
];
const PRODUCT_SUBJECTS: &[&str] = &[
    "phone", "camera", "laptop", "blender", "keyboard", "chair", "lamp", "speaker", "charger",
    "kettle",
];
const FILM_ASPECTS: &[&str] = &[
    "ending",
    "pacing",
    "dialogue",
    "music",
    "acting",
    "story",
    "lead actor",
    "camera work",
];
const PRODUCT_ASPECTS: &[&str] = &[
    "screen", "price", "battery", "design", "sound", "setup", "handle", "cable",
];
const VERBS: &[&str] = &["was", "is", "felt", "seemed", "looked"];
/// Prompt templates: `{s}` is the subject, `{v}` a verb.
const PROMPT_TEMPLATES: &[&str] = &[
    "review: the {s} {v}",
    "review: i thought the {s} {v}",
    "review: honestly, the {s} {v}",
    "review: i found the {s}",
];

/// A uniform float in [0, 1) from 53 random bits.
fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn pick<'a, T>(rng: &mut SplitMix64, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

/// The review grammar and its knobs. `Default` is the demo's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReviewGrammar {
    /// How often each stance is drawn.
    pub mix: CorpusMix,
    /// Probability that a sentiment word gets a modifier (`very`, `slightly`, ...).
    pub modifier_probability: f64,
    /// Probability that a positive or negative phrase is a negated opposite (`not bad`).
    pub negation_probability: f64,
    /// Probability of a second sentence about an aspect (`the music was ...`).
    pub second_sentence_probability: f64,
}

impl Default for ReviewGrammar {
    fn default() -> Self {
        Self {
            mix: CorpusMix::default(),
            modifier_probability: 0.35,
            negation_probability: 0.15,
            second_sentence_probability: 0.5,
        }
    }
}

#[derive(Clone, Copy)]
enum Domain {
    Film,
    Product,
}

impl Domain {
    fn subjects(self) -> &'static [&'static str] {
        match self {
            Domain::Film => FILM_SUBJECTS,
            Domain::Product => PRODUCT_SUBJECTS,
        }
    }

    fn aspects(self) -> &'static [&'static str] {
        match self {
            Domain::Film => FILM_ASPECTS,
            Domain::Product => PRODUCT_ASPECTS,
        }
    }
}

impl ReviewGrammar {
    /// Checks the mix and that every probability is in [0, 1].
    pub fn validate(&self) -> crate::Result<()> {
        self.mix.validate()?;
        for (name, p) in [
            ("modifier_probability", self.modifier_probability),
            ("negation_probability", self.negation_probability),
            (
                "second_sentence_probability",
                self.second_sentence_probability,
            ),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(crate::TaskError::InvalidInput(format!(
                    "{name} must be in [0, 1], got {p}"
                )));
            }
        }
        Ok(())
    }

    /// Number of distinct prompts the grammar can produce.
    pub fn prompt_count() -> usize {
        let subjects = FILM_SUBJECTS.len() + PRODUCT_SUBJECTS.len();
        PROMPT_TEMPLATES
            .iter()
            .map(|t| if t.contains("{v}") { VERBS.len() } else { 1 })
            .sum::<usize>()
            * subjects
    }

    fn domain(rng: &mut SplitMix64) -> Domain {
        if rng.below(2) == 0 {
            Domain::Film
        } else {
            Domain::Product
        }
    }

    fn prompt_in(rng: &mut SplitMix64, domain: Domain) -> String {
        let template = pick(rng, PROMPT_TEMPLATES);
        let subject = pick(rng, domain.subjects());
        let verb = pick(rng, VERBS);
        template.replace("{s}", subject).replace("{v}", verb)
    }

    /// Draws a prompt alone (the same distribution as the prompts of [`Self::sample`]).
    pub fn sample_prompt(&self, rng: &mut SplitMix64) -> String {
        let domain = Self::domain(rng);
        Self::prompt_in(rng, domain)
    }

    fn stance(&self, rng: &mut SplitMix64) -> Stance {
        let w = self.mix.weights();
        let mut u = unit(rng) * w.iter().sum::<f64>();
        for (stance, weight) in Stance::ALL.into_iter().zip(w) {
            if u < weight {
                return stance;
            }
            u -= weight;
        }
        // Rounding at the top end: the last stance with positive weight.
        Stance::ALL
            .into_iter()
            .zip(w)
            .rev()
            .find(|(_, weight)| *weight > 0.0)
            .map_or(Stance::Neutral, |(s, _)| s)
    }

    /// `[modifier] word`, for a word of `lexicon`.
    fn sentiment_word(&self, rng: &mut SplitMix64, lexicon: &[(&str, f64)]) -> String {
        let (word, _) = pick(rng, lexicon);
        if unit(rng) < self.modifier_probability {
            let (modifier, _) = pick(rng, MODIFIERS);
            format!("{modifier} {word}")
        } else {
            (*word).to_string()
        }
    }

    /// A phrase of the given polarity: `[modifier] word`, or `not` + a mild opposite word.
    fn polar_phrase(&self, rng: &mut SplitMix64, positive: bool) -> String {
        let (same, opposite) = if positive {
            (POSITIVE, NEGATIVE)
        } else {
            (NEGATIVE, POSITIVE)
        };
        if unit(rng) < self.negation_probability {
            let mild: Vec<(&str, f64)> = opposite
                .iter()
                .copied()
                .filter(|(_, w)| w.abs() <= 2.0)
                .collect();
            let (word, _) = pick(rng, &mild);
            format!("not {word}")
        } else {
            self.sentiment_word(rng, same)
        }
    }

    fn neutral_phrase(rng: &mut SplitMix64) -> String {
        (*pick(rng, NEUTRAL_PHRASES)).to_string()
    }

    fn phrase(&self, rng: &mut SplitMix64, stance: Stance, domain: Domain) -> String {
        match stance {
            Stance::Positive => self.polar_phrase(rng, true),
            Stance::Negative => self.polar_phrase(rng, false),
            Stance::Neutral => Self::neutral_phrase(rng),
            Stance::Mixed => {
                let first_positive = rng.below(2) == 0;
                let first = self.polar_phrase(rng, first_positive);
                let second = self.polar_phrase(rng, !first_positive);
                let aspect = pick(rng, domain.aspects());
                format!("{first}, but the {aspect} was {second}")
            }
        }
    }

    /// Draws one review.
    pub fn sample(&self, rng: &mut SplitMix64) -> Review {
        let stance = self.stance(rng);
        let domain = Self::domain(rng);
        let prompt = Self::prompt_in(rng, domain);
        let mut completion = format!(" {}", self.phrase(rng, stance, domain));
        if unit(rng) < self.second_sentence_probability {
            // The second sentence keeps the stance or is neutral (mixed reviews add a
            // neutral remark: they already hold both polarities).
            let second = match stance {
                Stance::Positive | Stance::Negative if rng.below(2) == 0 => stance,
                _ => Stance::Neutral,
            };
            let aspect = pick(rng, domain.aspects());
            let verb = pick(rng, VERBS);
            let phrase = self.phrase(rng, second, domain);
            completion.push_str(&format!(". the {aspect} {verb} {phrase}"));
        }
        completion.push('.');
        Review {
            prompt,
            completion,
            stance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentiment::lexicon::word_weight;

    #[test]
    fn prompts_carry_no_sentiment() {
        let mut rng = SplitMix64::new(3);
        let grammar = ReviewGrammar::default();
        for _ in 0..500 {
            let prompt = grammar.sample_prompt(&mut rng);
            assert!(prompt.starts_with("review: "), "{prompt}");
            for word in prompt.split([' ', ',', ':']) {
                assert_eq!(word_weight(word), 0.0, "{prompt}");
            }
        }
    }

    #[test]
    fn prompt_count_matches_the_templates() {
        // 3 templates with a verb (5 verbs) + 1 without, times 20 subjects
        assert_eq!(ReviewGrammar::prompt_count(), (3 * 5 + 1) * 20);
    }

    #[test]
    fn a_single_stance_mix_draws_only_that_stance() {
        for stance in Stance::ALL {
            let mut mix = CorpusMix {
                positive: 0.0,
                negative: 0.0,
                neutral: 0.0,
                mixed: 0.0,
            };
            match stance {
                Stance::Positive => mix.positive = 1.0,
                Stance::Negative => mix.negative = 1.0,
                Stance::Neutral => mix.neutral = 1.0,
                Stance::Mixed => mix.mixed = 1.0,
            }
            let grammar = ReviewGrammar {
                mix,
                ..Default::default()
            };
            let mut rng = SplitMix64::new(11);
            assert!((0..50).all(|_| grammar.sample(&mut rng).stance == stance));
        }
    }

    #[test]
    fn bad_knobs_are_rejected() {
        let grammar = ReviewGrammar {
            modifier_probability: 1.5,
            ..Default::default()
        };
        assert!(grammar.validate().is_err());
        let mut grammar = ReviewGrammar::default();
        grammar.mix.neutral = -1.0;
        assert!(grammar.validate().is_err());
        assert!(ReviewGrammar::default().validate().is_ok());
    }
}
