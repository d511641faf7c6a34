//! ROUGE and BLEU against the Python packages (`rouge_score` 0.1.2, `sacrebleu` 2.6.0): values
//! from `fixtures/text_metrics_reference.json`, written by
//! `fixtures/gen_text_metrics_reference.py` (which records versions and seed), plus invariants.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use prefopt_core::text_metrics::is_python_whitespace;
use prefopt_core::{
    Bleu, CoreError, RougeScore, bleu_tokenize, corpus_bleu, corpus_rouge, rouge, rouge_tokenize,
};
use prefopt_testkit::{Tolerance, assert_close};

const ROUGE_TOL: f64 = 1e-9;
const BLEU_TOL: f64 = 1e-6;

fn reference() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/text_metrics_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn pairs(doc: &Value) -> &[Value] {
    doc["pairs"].as_array().unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| s(t).to_owned())
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn check_rouge(name: &str, what: &str, got: RougeScore, want: &Value) {
    assert_close(
        &format!("{name}: {what}.precision"),
        got.precision,
        f(&want["precision"]),
        Tolerance::abs(ROUGE_TOL),
    );
    assert_close(
        &format!("{name}: {what}.recall"),
        got.recall,
        f(&want["recall"]),
        Tolerance::abs(ROUGE_TOL),
    );
    assert_close(
        &format!("{name}: {what}.fmeasure"),
        got.fmeasure,
        f(&want["fmeasure"]),
        Tolerance::abs(ROUGE_TOL),
    );
}

fn check_bleu(name: &str, got: &Bleu, want: &Value) {
    assert_close(
        &format!("{name}: score"),
        got.score,
        f(&want["score"]),
        Tolerance::abs(BLEU_TOL),
    );
    assert_close(
        &format!("{name}: bp"),
        got.bp,
        f(&want["bp"]),
        Tolerance::abs(BLEU_TOL),
    );
    for n in 0..4 {
        assert_close(
            &format!("{name}: precisions[{n}]"),
            got.precisions[n],
            f(&want["precisions"][n]),
            Tolerance::abs(BLEU_TOL),
        );
        assert_eq!(
            got.counts[n] as u64,
            want["counts"][n].as_u64().unwrap(),
            "{name}: counts[{n}]"
        );
        assert_eq!(
            got.totals[n] as u64,
            want["totals"][n].as_u64().unwrap(),
            "{name}: totals[{n}]"
        );
    }
    assert_eq!(
        got.sys_len as u64,
        want["sys_len"].as_u64().unwrap(),
        "{name}: sys_len"
    );
    assert_eq!(
        got.ref_len as u64,
        want["ref_len"].as_u64().unwrap(),
        "{name}: ref_len"
    );
}

#[test]
fn fixture_covers_the_cases() {
    let doc = reference();
    let p = pairs(&doc);
    assert!(p.len() >= 30, "{} pairs", p.len());
    assert_eq!(s(&doc["versions"]["rouge_score"]), "0.1.2");
    assert_eq!(s(&doc["versions"]["sacrebleu"]), "2.6.0");
    assert!(s(&doc["bleu_settings"]).contains("tok:13a|smooth:exp"));
}

#[test]
fn rouge_tokens_match_rouge_score() {
    let doc = reference();
    for p in pairs(&doc) {
        let name = s(&p["name"]);
        assert_eq!(
            rouge_tokenize(s(&p["prediction"])),
            strings(&p["rouge_tokens_prediction"]),
            "{name}"
        );
        assert_eq!(
            rouge_tokenize(s(&p["reference"])),
            strings(&p["rouge_tokens_reference"]),
            "{name}"
        );
    }
}

/// Every Unicode scalar value: only ASCII letters/digits and the characters the fixture lists
/// (those Python lowercases to ASCII) produce a token.
#[test]
fn rouge_tokenizer_agrees_on_every_character() {
    let doc = reference();
    let special: HashMap<u32, Vec<String>> = doc["rouge_tokenizer_non_ascii_alnum_sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["codepoint"].as_u64().unwrap() as u32,
                strings(&e["tokens"]),
            )
        })
        .collect();
    assert_eq!(special.len(), 2, "İ and the Kelvin sign");
    let mut buf = [0u8; 4];
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        if c.is_ascii_alphanumeric() {
            continue;
        }
        let got = rouge_tokenize(c.encode_utf8(&mut buf));
        let want = special.get(&(c as u32)).cloned().unwrap_or_default();
        assert_eq!(got, want, "U+{:04X}", c as u32);
    }
}

#[test]
fn python_whitespace_is_isspace() {
    let doc = reference();
    let want: Vec<u32> = doc["python_whitespace_codepoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let got: Vec<u32> = (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|&c| is_python_whitespace(c))
        .map(|c| c as u32)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn rouge_matches_rouge_score() {
    let doc = reference();
    for p in pairs(&doc) {
        let name = s(&p["name"]);
        let got = rouge(s(&p["prediction"]), s(&p["reference"]));
        check_rouge(name, "rouge1", got.rouge1, &p["rouge"]["rouge1"]);
        check_rouge(name, "rouge2", got.rouge2, &p["rouge"]["rouge2"]);
        check_rouge(name, "rougeL", got.rouge_l, &p["rouge"]["rougeL"]);
    }
}

#[test]
fn corpus_rouge_is_the_mean_and_within_the_bootstrap_interval() {
    let doc = reference();
    let preds: Vec<&str> = pairs(&doc).iter().map(|p| s(&p["prediction"])).collect();
    let refs: Vec<&str> = pairs(&doc).iter().map(|p| s(&p["reference"])).collect();
    let c = corpus_rouge(&preds, &refs).unwrap();
    assert_eq!(c.n, preds.len());
    let mean = &doc["corpus"]["rouge_mean_fmeasure"];
    let boot = &doc["corpus"]["rouge_bootstrap_fmeasure"];
    for (key, got) in [
        ("rouge1", c.rouge1),
        ("rouge2", c.rouge2),
        ("rougeL", c.rouge_l),
    ] {
        assert_close(
            &format!("corpus: {key}"),
            got,
            f(&mean[key]),
            Tolerance::abs(ROUGE_TOL),
        );
        // evaluate's aggregate is the bootstrap median; the mean lies inside its 95% interval
        // and, on these 32 pairs, within 0.01 of the median.
        assert!(
            f(&boot[key]["low"]) < got && got < f(&boot[key]["high"]),
            "{key}"
        );
        assert!((got - f(&boot[key]["mid"])).abs() < 0.01, "{key}");
    }
}

#[test]
fn bleu_tokens_match_sacrebleu_13a() {
    let doc = reference();
    for p in pairs(&doc) {
        let name = s(&p["name"]);
        assert_eq!(
            bleu_tokenize(s(&p["prediction"])),
            strings(&p["bleu_tokens_prediction"]),
            "{name}"
        );
        assert_eq!(
            bleu_tokenize(s(&p["reference"])),
            strings(&p["bleu_tokens_reference"]),
            "{name}"
        );
    }
}

#[test]
fn bleu_matches_sacrebleu_per_pair() {
    let doc = reference();
    for p in pairs(&doc) {
        let name = s(&p["name"]);
        let got = corpus_bleu(&[s(&p["prediction"])], &[s(&p["reference"])]).unwrap();
        check_bleu(name, &got, &p["bleu"]);
    }
}

#[test]
fn bleu_matches_sacrebleu_on_corpora() {
    let doc = reference();
    let all = pairs(&doc);
    let corpus = |pick: &dyn Fn(&Value) -> bool| -> Bleu {
        let chosen: Vec<&Value> = all.iter().filter(|p| pick(p)).collect();
        let preds: Vec<&str> = chosen.iter().map(|p| s(&p["prediction"])).collect();
        let refs: Vec<String> = chosen
            .iter()
            .map(|p| s(&p["reference"]).to_owned())
            .collect();
        corpus_bleu(&preds, &refs).unwrap()
    };
    check_bleu("all pairs", &corpus(&|_| true), &doc["corpus"]["bleu"]);
    let first10: Vec<&str> = all[..10].iter().map(|p| s(&p["name"])).collect();
    check_bleu(
        "first 10",
        &corpus(&|p| first10.contains(&s(&p["name"]))),
        &doc["corpus"]["bleu_first10"],
    );
    check_bleu(
        "long",
        &corpus(&|p| s(&p["name"]).contains("long")),
        &doc["corpus"]["bleu_long"],
    );
}

#[test]
fn corpus_inputs_are_checked() {
    let empty: [&str; 0] = [];
    for result in [
        corpus_rouge(&["a"], &["a", "b"]).map(|_| ()),
        corpus_rouge(&empty, &empty).map(|_| ()),
        corpus_bleu(&["a", "b"], &["a"]).map(|_| ()),
        corpus_bleu(&empty, &empty).map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(CoreError::TextMetric(_))),
            "{result:?}"
        );
    }
}

fn text(words: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    let seps = prop::sample::select(vec![" ", " ", " ", ", ", ". ", "! ", "\n", " - ", "'"]);
    prop::collection::vec((prop::sample::select(words), seps), 0..max)
        .prop_map(|ws| ws.into_iter().map(|(w, sep)| format!("{w}{sep}")).collect())
}

const WORDS: &[&str] = &[
    "the", "The", "cat", "CAT", "sat", "on", "mat", "a", "dog", "ran", "3.14", "1,000", "e-mail",
    "café", "don't", "x", "y", "42",
];
const UNRELATED: &[&str] = &["zq0", "zq1", "zq2", "zq3"];

proptest! {
    #[test]
    fn scores_stay_in_range(pred in text(WORDS, 30), refr in text(WORDS, 30)) {
        let r = rouge(&pred, &refr);
        for s in [r.rouge1, r.rouge2, r.rouge_l] {
            for v in [s.precision, s.recall, s.fmeasure] {
                prop_assert!((0.0..=1.0).contains(&v), "{v} for {pred:?} / {refr:?}");
            }
        }
        let b = corpus_bleu(&[&pred], &[&refr]).unwrap();
        // sacreBLEU itself can land at 100 + 4e-14 for identical text.
        prop_assert!(b.score >= 0.0 && b.score <= 100.0 + 1e-9, "{}", b.score);
        prop_assert!((0.0..=1.0).contains(&b.bp));
    }

    #[test]
    fn identical_strings_score_one_and_hundred(t in text(WORDS, 30)) {
        let r = rouge(&t, &t);
        if !rouge_tokenize(&t).is_empty() {
            prop_assert_eq!(r.rouge1.fmeasure, 1.0);
            prop_assert_eq!(r.rouge_l.fmeasure, 1.0);
        }
        if rouge_tokenize(&t).len() >= 2 {
            prop_assert_eq!(r.rouge2.fmeasure, 1.0);
        }
        let b = corpus_bleu(&[&t], &[&t]).unwrap();
        if bleu_tokenize(&t).len() >= 4 {
            prop_assert!((b.score - 100.0).abs() < 1e-9, "{}", b.score);
        } else {
            // Fewer than 4 tokens: no 4-gram, so sacreBLEU's corpus BLEU is 0.
            prop_assert_eq!(b.score, 0.0);
        }
    }

    #[test]
    fn rouge_f_is_symmetric(a in text(WORDS, 30), b in text(WORDS, 30)) {
        let ab = rouge(&a, &b);
        let ba = rouge(&b, &a);
        for (x, y) in [(ab.rouge1, ba.rouge1), (ab.rouge2, ba.rouge2), (ab.rouge_l, ba.rouge_l)] {
            prop_assert!((x.fmeasure - y.fmeasure).abs() < 1e-12);
            prop_assert_eq!(x.precision, y.recall);
            prop_assert_eq!(x.recall, y.precision);
        }
    }

    #[test]
    fn unrelated_tokens_never_raise_rouge1_precision(
        pred in text(WORDS, 30),
        refr in text(WORDS, 30),
        extra in prop::collection::vec(prop::sample::select(UNRELATED), 1..10),
    ) {
        let before = rouge(&pred, &refr).rouge1;
        let after = rouge(&format!("{pred} {}", extra.join(" ")), &refr).rouge1;
        prop_assert!(after.precision <= before.precision);
        prop_assert_eq!(after.recall, before.recall);
    }
}
