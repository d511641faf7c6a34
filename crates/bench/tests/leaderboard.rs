//! The scorer reproduces the Sept-2025 leaderboard rows (research file §3.8(a)) from verdict
//! files built to match their per-sub-dimension fractions over the Aug-2025 suite.

use prefopt_bench::{
    Aggregation, Leaderboard, LeaderboardRow, PrimaryDimension, Report, ScoreOptions, SubDimension,
    Suite, SuiteOptions, Verdict, VerdictWriter, Verdicts, compare, score,
};

use crate::common::data_dir;

/// For each sub-dimension with n instances, the k with 100·k/n nearest the published value, or
/// `None` if no k is within rounding (0.005) of it.
fn counts(suite: &Suite, row: &LeaderboardRow) -> Vec<(SubDimension, Option<usize>)> {
    SubDimension::ALL
        .iter()
        .map(|&s| {
            let n = suite.count(s) * 4;
            let v = row.sub(s).unwrap();
            let k = (v * n as f64 / 100.0).round() as usize;
            let exact = (100.0 * k as f64 / n as f64 - v).abs() <= 0.005 + 1e-9;
            (s, exact.then_some(k))
        })
        .collect()
}

/// Writes a verdict file whose first k instances of each sub-dimension are judged 1.
fn write_verdicts(suite: &Suite, row: &LeaderboardRow, path: &std::path::Path) {
    let mut left: std::collections::BTreeMap<SubDimension, usize> = counts(suite, row)
        .into_iter()
        .map(|(s, k)| (s, k.unwrap()))
        .collect();
    let mut w = VerdictWriter::append(path).unwrap();
    for p in &suite.prompts {
        for j in 0..4 {
            let scores = p
                .testpoints
                .iter()
                .map(|t| {
                    let k = left.get_mut(&t.sub).unwrap();
                    let s = u8::from(*k > 0);
                    *k = k.saturating_sub(1);
                    s
                })
                .collect();
            w.write(&Verdict {
                index: p.index,
                image: j,
                testpoints: p.testpoints.iter().map(|t| t.raw.clone()).collect(),
                scores: Some(scores),
                analysis: None,
                answer: None,
                error: None,
                model: Some("constructed".to_string()),
            })
            .unwrap();
        }
    }
}

#[test]
fn september_2025_rows_reproduce_to_0_01() {
    let Some(dir) = data_dir() else { return };
    let suite = Suite::load(
        dir.join("v2025-08-28/test_prompts_en.csv"),
        SuiteOptions::default(),
    )
    .unwrap();
    let board = Leaderboard::september_2025();
    let tmp = tempfile::tempdir().unwrap();
    for model in ["FLUX.1-dev", "Pref-GRPO", "Qwen-Image"] {
        let row = board.row(model).unwrap();
        let path = tmp.path().join(format!("{model}.jsonl"));
        write_verdicts(&suite, row, &path);
        let verdicts = Verdicts::load(&path).unwrap();
        let report = score(&suite, &verdicts, ScoreOptions::default()).unwrap();
        assert_eq!(report.coverage.judged, 2400);
        let cmp = compare(&report, row);
        // 1 overall + 10 primaries + 27 subs.
        assert_eq!(cmp.lines.len(), 38);
        assert!(cmp.max_abs_diff() <= 0.01, "{model}: {:?}", cmp.lines);
        assert!((report.overall - row.overall).abs() <= 0.01, "{model}");
        // The report lists the comparison with its source.
        let md = Report::new(&suite, &report, Some((row, &board.source))).markdown();
        assert!(md.contains(&format!("Comparison with published {model}")));
    }
    // FLUX.1-dev Attribute: micro 67.84 (published) vs the paper's macro form 69.45 (research
    // file §3.6).
    let row = board.row("FLUX.1-dev").unwrap();
    let path = tmp.path().join("FLUX.1-dev.jsonl");
    let verdicts = Verdicts::load(&path).unwrap();
    let macro_report = score(
        &suite,
        &verdicts,
        ScoreOptions {
            aggregation: Aggregation::Macro,
            ..ScoreOptions::default()
        },
    )
    .unwrap();
    let attr = macro_report
        .primary_percent(PrimaryDimension::Attribute)
        .unwrap();
    assert!((attr - 69.45).abs() < 0.01, "{attr}");
    assert!((row.primary(PrimaryDimension::Attribute).unwrap() - 67.84).abs() < 1e-9);
}

#[test]
fn gpt_4o_row_is_not_whole_instance_fractions() {
    let Some(dir) = data_dir() else { return };
    let suite = Suite::load(
        dir.join("v2025-08-28/test_prompts_en.csv"),
        SuiteOptions::default(),
    )
    .unwrap();
    let board = Leaderboard::september_2025();
    let row = board.row("GPT-4o").unwrap();
    assert!(row.exception.is_some());
    let inexact: Vec<SubDimension> = counts(&suite, row)
        .into_iter()
        .filter(|(_, k)| k.is_none())
        .map(|(s, _)| s)
        .collect();
    assert_eq!(inexact.len(), 20, "{inexact:?}");
    assert!(inexact.contains(&SubDimension::Style));
    // The other three rows are exact fractions everywhere.
    for model in ["FLUX.1-dev", "Pref-GRPO", "Qwen-Image"] {
        assert!(
            counts(&suite, board.row(model).unwrap())
                .iter()
                .all(|(_, k)| k.is_some())
        );
    }
}
