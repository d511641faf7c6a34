//! The two jobs `prefopt bench unigenbench {judge,score}` runs, end to end through the library
//! calls the CLI makes (its argument parsing is tested in the CLI crate).

use prefopt_bench::unigenbench::{
    JudgeCommand, ScoreCommand, default_verdicts_path, judge_command, score_command,
};
use prefopt_bench::{ApiKey, ImageEncoding};

use crate::common::{good_answer, write_images, write_suite};
use prefopt_testkit::Server;

#[test]
fn judge_then_score_through_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let images = dir.path().join("images");
    write_images(&images, 6, 16);
    let server = Server::start(false, None, good_answer);

    let mut judge = JudgeCommand::new(&suite, &images, server.url(), "QwenVL");
    // The defaults are the official ones.
    assert_eq!(judge.run.verdicts, default_verdicts_path(&images));
    assert_eq!(judge.run.encoding, ImageEncoding::Jpeg(95));
    assert_eq!(
        (judge.client.max_tokens, judge.client.max_parse_retries),
        (4096, 10)
    );
    let verdicts = dir.path().join("out/verdicts.jsonl");
    judge.run.verdicts.clone_from(&verdicts);
    judge.run.workers = 3;
    judge.client.chat.api_key = ApiKey::from_env("PREFOPT_TEST_UNSET_KEY");
    let summary = judge_command(&judge).unwrap();
    assert_eq!((summary.judged, summary.failed), (24, 0));
    assert_eq!(server.arrivals(), 24);
    let line = summary.to_string();
    assert!(
        line.starts_with("judged 24 of 24 images this run (0 skipped"),
        "{line}"
    );

    let report = dir.path().join("report");
    let mut scoring = ScoreCommand::new(&suite, &verdicts);
    scoring.report = Some(report.clone());
    scoring.compare = Some("FLUX.1-dev".to_string());
    let outcome = score_command(&scoring).unwrap();
    assert!(outcome.markdown.contains("| **Overall** |"));
    assert!(outcome.written.contains(&report.join("report.json")));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["scores"]["coverage"]["judged"], 24);
    assert_eq!(json["comparison"]["model"], "FLUX.1-dev");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("| **Overall** |"), "{md}");
    assert_eq!(md, outcome.markdown);
    // A chart per dimension with several sub-dimensions present (Attribute, Action,
    // Compound; Relationship, Grammar and Layout have one each here) plus the overview.
    for name in ["primary", "attribute", "action", "compound"] {
        let img = image::open(report.join(format!("{name}.png"))).unwrap();
        assert_eq!(img.width(), 900, "{name}");
    }

    // Missing verdicts make it refuse unless allow_missing.
    std::fs::write(
        &verdicts,
        std::fs::read_to_string(&verdicts)
            .unwrap()
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    let scoring = ScoreCommand::new(&suite, &verdicts);
    let err = score_command(&scoring).unwrap_err().to_string();
    assert!(err.contains("1 of 24 images have no verdict"), "{err}");
    let mut scoring = scoring;
    scoring.options.allow_missing = true;
    let outcome = score_command(&scoring).unwrap();
    assert_eq!(outcome.scores.coverage.missing, 1);
    assert!(outcome.written.is_empty());
    // The `--json` output is one object {overall, primary, sub}.
    let json = outcome.scores.to_json();
    assert!(json["overall"].is_number() && json["primary"].is_object() && json["sub"].is_object());

    // An unknown leaderboard row is named.
    scoring.compare = Some("NoSuchModel".to_string());
    let err = score_command(&scoring).unwrap_err().to_string();
    assert!(err.contains("NoSuchModel"), "{err}");
}
