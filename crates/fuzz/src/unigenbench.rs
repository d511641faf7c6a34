//! UniGenBench files: a suite CSV (`prefopt_bench::Suite::load`) and a verdict store
//! (`prefopt_bench::Verdicts::load`).

use prefopt_bench::{Suite, SuiteOptions, Verdicts};

use crate::scratch::file_with;

/// Loads `data` as a suite CSV, with and without the JSON repair (byte 0 picks).
pub fn unigenbench_suite(data: &[u8]) {
    let repair_json = data.first().is_some_and(|b| b & 1 == 1);
    let path = file_with("suite.csv", data);
    let _ = Suite::load(&path, SuiteOptions { repair_json });
}

/// Loads `data` as a verdict store (`verdicts.jsonl`).
pub fn unigenbench_verdicts(data: &[u8]) {
    let path = file_with("verdicts.jsonl", data);
    let _ = Verdicts::load(&path);
}

pub(crate) fn suite_seeds() -> Vec<Vec<u8>> {
    let row = |i: usize, tps: &str, descs: &str| {
        let json = format!(
            r#"{{"Primary Categories": "Art", "Secondary Categories": "Art-Graphic Art", "Subjects": "Animal", "Sentence Structure": "Descriptive", "Testpoints": [{tps}], "Testpoint Description": [{descs}]}}"#
        );
        format!(
            "{i},\"Prompt number {i}, with a comma\",\"{}\"\n",
            json.replace('"', "\"\"")
        )
    };
    let mut en = String::from("index,prompt_en,sub_dims_en\n");
    en += &row(0, r#""Style", "Attribute - Color""#, r#""a", "b""#);
    en += &row(1, r#""Grammar - Negation""#, r#""c""#);
    // The official files' missing comma between two strings (repaired with `repair_json`).
    en += &row(2, r#""Style" "Logical Reasoning""#, r#""d" "e""#);
    vec![en.into_bytes()]
}

pub(crate) fn verdict_seeds() -> Vec<Vec<u8>> {
    let line = |index: usize, image: usize| {
        format!(
            r#"{{"index":{index},"image":{image},"testpoints":["Style","Attribute - Color"],"scores":[1,0],"analysis":["ok","no"],"answer":"<score>[1, 0]</score>","error":null,"model":"judge"}}"#
        )
    };
    let full = format!("{}\n{}\n{}\n", line(0, 0), line(0, 1), line(1, 0));
    let torn = format!("{}\n{}", line(0, 0), &line(2, 3)[..40]);
    vec![full.into_bytes(), torn.into_bytes()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds load (the suite with the JSON repair), so mutations start inside the parsers.
    #[test]
    fn the_seeds_load() {
        for seed in suite_seeds() {
            let path = file_with("seed.csv", &seed);
            let suite = Suite::load(&path, SuiteOptions { repair_json: true }).unwrap();
            assert_eq!(suite.prompts.len(), 3);
        }
        let seeds = verdict_seeds();
        let path = file_with("seed.jsonl", &seeds[0]);
        assert_eq!(Verdicts::load(&path).unwrap().by_key.len(), 3);
        let path = file_with("seed.jsonl", &seeds[1]);
        assert!(Verdicts::load(&path).unwrap().truncated_tail);
    }
}
