//! Short-answer questions with known answers, generated from templates: capital cities,
//! arithmetic, unit conversions, antonyms and the colours of things. The pool is built family
//! by family, each family shuffled with the seed, then interleaved, so any prefix of it mixes
//! the families; the training and held-out questions are disjoint prefixes of that order.

use serde::{Deserialize, Serialize};

use prefopt_core::SplitMix64;

use crate::error::{Result, TaskError};

/// The template a question was generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionFamily {
    /// "What is the capital of France?"
    Capital,
    /// "What is 17 + 25?", "What is 6 times 7?"
    Arithmetic,
    /// "How many centimetres are in 3 metres?"
    UnitConversion,
    /// "What is the opposite of hot?"
    Antonym,
    /// "What colour is a ripe banana?"
    Colour,
}

/// One question with its accepted answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The question as the user asks it.
    pub question: String,
    /// Accepted answers (the first is the canonical one); matched as whole words after
    /// normalisation.
    pub answers: Vec<String>,
    /// Answers of the same family that are wrong here: a completion naming one of them
    /// hedges, and scores 0 (empty for numeric families, where other numbers are operands).
    pub distractors: Vec<String>,
    /// Which template.
    pub family: QuestionFamily,
}

const CAPITALS: [(&str, &str); 40] = [
    ("France", "Paris"),
    ("Germany", "Berlin"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Portugal", "Lisbon"),
    ("Japan", "Tokyo"),
    ("China", "Beijing"),
    ("Russia", "Moscow"),
    ("Egypt", "Cairo"),
    ("Kenya", "Nairobi"),
    ("Canada", "Ottawa"),
    ("Mexico", "Mexico City"),
    ("Peru", "Lima"),
    ("Argentina", "Buenos Aires"),
    ("Chile", "Santiago"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"),
    ("Poland", "Warsaw"),
    ("Austria", "Vienna"),
    ("Greece", "Athens"),
    ("Ireland", "Dublin"),
    ("Hungary", "Budapest"),
    ("Belgium", "Brussels"),
    ("the Netherlands", "Amsterdam"),
    ("Thailand", "Bangkok"),
    ("South Korea", "Seoul"),
    ("Vietnam", "Hanoi"),
    ("Indonesia", "Jakarta"),
    ("India", "New Delhi"),
    ("Iran", "Tehran"),
    ("Turkey", "Ankara"),
    ("Cuba", "Havana"),
    ("Colombia", "Bogota"),
    ("Ukraine", "Kyiv"),
    ("Czechia", "Prague"),
    ("Australia", "Canberra"),
    ("the United Kingdom", "London"),
    ("Switzerland", "Bern"),
];

const ANTONYMS: [(&str, &str); 36] = [
    ("hot", "cold"),
    ("big", "small"),
    ("fast", "slow"),
    ("up", "down"),
    ("light", "dark"),
    ("happy", "sad"),
    ("open", "closed"),
    ("early", "late"),
    ("full", "empty"),
    ("hard", "soft"),
    ("heavy", "light"),
    ("high", "low"),
    ("long", "short"),
    ("old", "young"),
    ("rich", "poor"),
    ("strong", "weak"),
    ("thick", "thin"),
    ("wet", "dry"),
    ("win", "lose"),
    ("push", "pull"),
    ("above", "below"),
    ("inside", "outside"),
    ("day", "night"),
    ("true", "false"),
    ("begin", "end"),
    ("buy", "sell"),
    ("loud", "quiet"),
    ("clean", "dirty"),
    ("cheap", "expensive"),
    ("friend", "enemy"),
    ("remember", "forget"),
    ("accept", "reject"),
    ("arrive", "leave"),
    ("asleep", "awake"),
    ("north", "south"),
    ("east", "west"),
];

const COLOURS: [(&str, &str); 20] = [
    ("a ripe banana", "yellow"),
    ("grass", "green"),
    ("a clear daytime sky", "blue"),
    ("snow", "white"),
    ("coal", "black"),
    ("a ripe tomato", "red"),
    ("a carrot", "orange"),
    ("a lemon", "yellow"),
    ("milk", "white"),
    ("a fire truck", "red"),
    ("a lime", "green"),
    ("an orange", "orange"),
    ("a crow", "black"),
    ("chocolate", "brown"),
    ("a strawberry", "red"),
    ("a polar bear", "white"),
    ("the sea on a sunny day", "blue"),
    ("a ripe aubergine", "purple"),
    ("a flamingo", "pink"),
    ("an elephant", "grey"),
];

const ALL_COLOURS: [&str; 11] = [
    "yellow", "green", "blue", "white", "black", "red", "orange", "brown", "purple", "pink", "grey",
];

/// `(unit question, factor)`: "How many {small} are in {n} {large}?" → n × factor.
const CONVERSIONS: [(&str, &str, u64); 6] = [
    ("centimetres", "metres", 100),
    ("minutes", "hours", 60),
    ("seconds", "minutes", 60),
    ("grams", "kilograms", 1000),
    ("millimetres", "centimetres", 10),
    ("hours", "days", 24),
];

fn question(
    question: String,
    answers: Vec<String>,
    distractors: Vec<String>,
    family: QuestionFamily,
) -> Question {
    Question {
        question,
        answers,
        distractors,
        family,
    }
}

fn capitals() -> Vec<Question> {
    CAPITALS
        .iter()
        .map(|&(country, capital)| {
            let others = CAPITALS
                .iter()
                .filter(|c| c.1 != capital)
                .map(|c| c.1.to_string())
                .collect();
            question(
                format!("What is the capital of {country}?"),
                vec![capital.into()],
                others,
                QuestionFamily::Capital,
            )
        })
        .collect()
}

fn antonyms() -> Vec<Question> {
    // Both directions, each word once as a question.
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for &(a, b) in &ANTONYMS {
        for (q, ans) in [(a, b), (b, a)] {
            if !pairs.iter().any(|p| p.0 == q) {
                pairs.push((q, ans));
            }
        }
    }
    pairs
        .iter()
        .map(|&(word, answer)| {
            let others = ANTONYMS
                .iter()
                .flat_map(|p| [p.0, p.1])
                .filter(|w| *w != answer && *w != word)
                .map(str::to_string)
                .collect();
            question(
                format!("What is the opposite of \"{word}\"?"),
                vec![answer.into()],
                others,
                QuestionFamily::Antonym,
            )
        })
        .collect()
}

fn colours() -> Vec<Question> {
    COLOURS
        .iter()
        .map(|&(thing, colour)| {
            let mut answers = vec![colour.to_string()];
            if colour == "grey" {
                answers.push("gray".into());
            }
            let others = ALL_COLOURS
                .iter()
                .filter(|c| **c != colour)
                .map(|c| c.to_string())
                .collect();
            question(
                format!("What colour is {thing}?"),
                answers,
                others,
                QuestionFamily::Colour,
            )
        })
        .collect()
}

fn arithmetic() -> Vec<Question> {
    let mut out = Vec::new();
    for a in (3..60).step_by(4) {
        for b in (2..40).step_by(5) {
            out.push(question(
                format!("What is {a} + {b}?"),
                vec![(a + b).to_string()],
                Vec::new(),
                QuestionFamily::Arithmetic,
            ));
            if a > b {
                out.push(question(
                    format!("What is {a} minus {b}?"),
                    vec![(a - b).to_string()],
                    Vec::new(),
                    QuestionFamily::Arithmetic,
                ));
            }
        }
    }
    for a in 2..13 {
        for b in 2..13 {
            if a <= b {
                out.push(question(
                    format!("What is {a} times {b}?"),
                    vec![(a * b).to_string()],
                    Vec::new(),
                    QuestionFamily::Arithmetic,
                ));
            }
        }
    }
    out
}

fn conversions() -> Vec<Question> {
    let mut out = Vec::new();
    for &(small, large, factor) in &CONVERSIONS {
        for n in 2..12u64 {
            out.push(question(
                format!("How many {small} are in {n} {large}?"),
                vec![(n * factor).to_string()],
                Vec::new(),
                QuestionFamily::UnitConversion,
            ));
        }
    }
    out
}

/// Every family's questions, each family shuffled with `seed`.
fn shuffled_families(seed: u64) -> [Vec<Question>; 5] {
    let mut rng = SplitMix64::new(seed);
    let mut families = [
        capitals(),
        arithmetic(),
        conversions(),
        antonyms(),
        colours(),
    ];
    for family in &mut families {
        rng.shuffle(family);
    }
    families
}

/// Round-robin over `families`: the first of each, then the second of each, ...
fn interleave(families: &[Vec<Question>]) -> Vec<Question> {
    let longest = families.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| families.iter().filter_map(move |f| f.get(i).cloned()))
        .collect()
}

/// Every distinct question, families interleaved in an order fixed by `seed`.
pub fn question_pool(seed: u64) -> Vec<Question> {
    interleave(&shuffled_families(seed))
}

/// `train` training and `eval` held-out questions (disjoint), deterministic for a `seed`.
/// Each family gives the held-out set its share of `eval` (proportional to its size), so
/// both sets hold every family; the held-out set does not depend on `train`.
pub fn split_questions(
    seed: u64,
    train: usize,
    eval: usize,
) -> Result<(Vec<Question>, Vec<Question>)> {
    let families = shuffled_families(seed);
    let total: usize = families.iter().map(Vec::len).sum();
    if train + eval > total {
        return Err(TaskError::InvalidInput(format!(
            "data.train_prompts + data.eval_prompts = {} exceeds the {total} distinct questions",
            train + eval
        )));
    }
    // Largest-remainder apportionment of `eval` over the families.
    let mut shares: Vec<usize> = families.iter().map(|f| eval * f.len() / total).collect();
    let mut remainders: Vec<(usize, usize)> = families
        .iter()
        .enumerate()
        .map(|(i, f)| (eval * f.len() % total, i))
        .collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let missing = eval - shares.iter().sum::<usize>();
    for &(_, i) in remainders.iter().take(missing) {
        shares[i] += 1;
    }
    let (held_out, training): (Vec<Vec<Question>>, Vec<Vec<Question>>) = families
        .iter()
        .zip(&shares)
        .map(|(f, &n)| (f[..n].to_vec(), f[n..].to_vec()))
        .unzip();
    let training = interleave(&training).into_iter().take(train).collect();
    Ok((training, interleave(&held_out)))
}
