//! Judge answers: UniGenBench's `<analysis>`/`<score>` Python lists
//! (`prefopt_bench::parse_answer`) and the pairwise LLM judge's verdict extraction
//! (`prefopt_rl::LlmJudge::parse`).

use std::sync::OnceLock;

use prefopt_rl::{LlmJudge, LlmJudgeConfig};

use crate::target::text_seeds;

/// Parses `data` as a UniGenBench answer for 1 to 8 test points (picked by byte 0).
pub fn bench_answer(data: &[u8]) {
    let testpoints = data.first().map_or(1, |b| usize::from(b % 8) + 1);
    let text = String::from_utf8_lossy(data.get(1..).unwrap_or_default());
    let _ = prefopt_bench::parse_answer(&text, testpoints);
}

/// Parses `data` as a pairwise judge's reply with the default answer regex and markers.
pub fn llm_judge_answer(data: &[u8]) {
    static JUDGE: OnceLock<LlmJudge> = OnceLock::new();
    let judge = JUDGE.get_or_init(|| {
        LlmJudgeConfig::default()
            .init()
            .expect("the default judge config is valid")
    });
    let _ = judge.parse(&String::from_utf8_lossy(data));
}

pub(crate) fn bench_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        "\x01<analysis>['The cat is red.', \"No dog\"]</analysis>\n<score>[1, 0]</score>",
        "\x00<analysis>[\"it's \\\"fine\\\"\\n\"]</analysis><score>[True]</score>",
        "\x02<analysis>['a', 'b', None]</analysis><score>[1.0, 0.0, False]</score>",
    ])
}

pub(crate) fn llm_judge_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        "Thinking...\n<answer>Response 1 is better</answer>",
        "<answer> 2 IS BETTER </answer> trailing",
        "<answer></answer><answer>1 is better</answer>",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds are answers that parse.
    #[test]
    fn the_seeds_parse() {
        for seed in bench_seeds() {
            let text = String::from_utf8_lossy(&seed[1..]).to_string();
            prefopt_bench::parse_answer(&text, usize::from(seed[0] % 8) + 1).unwrap();
        }
        let judge = LlmJudgeConfig::default().init().unwrap();
        for seed in &llm_judge_seeds()[..2] {
            let parsed = judge.parse(&String::from_utf8_lossy(seed));
            assert!(
                matches!(parsed, prefopt_rl::ParsedAnswer::Verdict(_)),
                "{parsed:?}"
            );
        }
    }
}
