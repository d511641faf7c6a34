//! The clap-ready API the `prefopt` binary mounts, run end to end.

use clap::{CommandFactory, Parser};
use prefopt_bench::cli::{UnigenbenchArgs, run};

use crate::common::{good_answer, write_images, write_suite};
use crate::server::Server;

/// How the lead mounts it: `prefopt bench unigenbench ...`.
#[derive(Debug, Parser)]
struct Bench {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    Unigenbench(UnigenbenchArgs),
}

fn parse(args: &[&str]) -> UnigenbenchArgs {
    let BenchCommand::Unigenbench(a) =
        Bench::try_parse_from(["bench", "unigenbench"].iter().chain(args))
            .unwrap()
            .command;
    a
}

#[test]
fn judge_then_score_through_the_cli() {
    Bench::command().debug_assert();
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let images = dir.path().join("images");
    write_images(&images, 6, 16);
    let verdicts = dir.path().join("out/verdicts.jsonl");
    let server = Server::start(false, None, good_answer);
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (suite_s, images_s, verdicts_s, url) = (s(&suite), s(&images), s(&verdicts), server.url());
    run(parse(&[
        "judge",
        "--suite",
        &suite_s,
        "--images",
        &images_s,
        "--endpoint",
        &url,
        "--model",
        "QwenVL",
        "--verdicts",
        &verdicts_s,
        "--workers",
        "3",
        "--no-progress",
        "--api-key-env",
        "PREFOPT_TEST_UNSET_KEY",
    ]))
    .unwrap();
    assert_eq!(server.arrivals(), 24);

    let report = dir.path().join("report");
    let report_s = s(&report);
    run(parse(&[
        "score",
        "--suite",
        &suite_s,
        "--verdicts",
        &verdicts_s,
        "--report",
        &report_s,
        "--compare",
        "FLUX.1-dev",
    ]))
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["scores"]["coverage"]["judged"], 24);
    assert_eq!(json["comparison"]["model"], "FLUX.1-dev");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("| **Overall** |"), "{md}");
    // A chart per dimension with several sub-dimensions present (Attribute, Action,
    // Compound; Relationship, Grammar and Layout have one each here) plus the overview.
    for name in ["primary", "attribute", "action", "compound"] {
        let img = image::open(report.join(format!("{name}.png"))).unwrap();
        assert_eq!(img.width(), 900, "{name}");
    }

    // --json is one object; missing verdicts make it refuse unless --allow-missing.
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
    let err = run(parse(&[
        "score",
        "--suite",
        &suite_s,
        "--verdicts",
        &verdicts_s,
        "--json",
    ]))
    .unwrap_err()
    .to_string();
    assert!(err.contains("1 of 24 images have no verdict"), "{err}");
    run(parse(&[
        "score",
        "--suite",
        &suite_s,
        "--verdicts",
        &verdicts_s,
        "--json",
        "--allow-missing",
    ]))
    .unwrap();
}
