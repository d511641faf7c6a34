//! The mini UniGenBench suite end to end: write a suite, render ground truth, check, score
//! with prefopt-bench's own loader and scorer.

use prefopt_bench::{PrimaryDimension, ScoreOptions, SubDimension, Suite, SuiteOptions, Verdicts};
use prefopt_core::SplitMix64;
use prefopt_tasks::shapes::{
    Checker, RgbImage, World, check_dir, check_suite, read_suite, render, suite_image_path,
    write_suite, write_verdicts,
};

#[test]
fn suite_renders_check_and_score_near_100() {
    let dir = tempfile::tempdir().unwrap();
    let world = World::default();
    let csv = dir.path().join("shapes_suite.csv");
    let prompts = write_suite(&csv, &world, 60, 42).unwrap();
    assert_eq!(prompts.len(), 60);
    // The same seed writes the same bytes; bench loads it unchanged.
    let again = dir.path().join("again.csv");
    write_suite(&again, &world, 60, 42).unwrap();
    assert_eq!(std::fs::read(&csv).unwrap(), std::fs::read(&again).unwrap());
    let suite = Suite::load(&csv, SuiteOptions::default()).unwrap();
    assert_eq!(suite.prompts.len(), 60);
    assert_eq!(suite.prompts[0].text, prompts[0].caption.text());
    assert_eq!(read_suite(&csv).unwrap(), prompts);

    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let per_prompt = 2;
    let mut rng = SplitMix64::new(5);
    for p in &prompts {
        for j in 0..per_prompt {
            let scene = render(&p.caption, &world.config, &mut rng).unwrap();
            scene
                .image
                .write_png(&suite_image_path(&images, p.index, j))
                .unwrap();
        }
    }
    let checker = Checker::new(world.config).unwrap();
    let verdicts_path = dir.path().join("verdicts.jsonl");
    // check → verdict JSONL → prefopt-bench's loader and scorer.
    let score = || {
        let lines = check_dir(&checker, &prompts, &images, per_prompt).unwrap();
        write_verdicts(&verdicts_path, &lines).unwrap();
        let verdicts = Verdicts::load(&verdicts_path).unwrap();
        let options = ScoreOptions {
            images_per_prompt: per_prompt,
            ..ScoreOptions::default()
        };
        prefopt_bench::score(&suite, &verdicts, options).unwrap()
    };
    let report = score();
    assert!(report.overall >= 98.0, "{}", report.to_json());
    assert!(report.primary_percent(PrimaryDimension::Attribute).unwrap() >= 98.0);
    assert!(report.sub_percent(SubDimension::AttributeColor).is_some());
    assert!(report.primary_percent(PrimaryDimension::Style).is_none());

    // Black images fail almost everything: the scores can go down.
    for p in &prompts {
        for j in 0..per_prompt {
            RgbImage::filled(32, 32, [0, 0, 0])
                .write_png(&suite_image_path(&images, p.index, j))
                .unwrap();
        }
    }
    let blank = score();
    assert!(blank.overall < 30.0, "{}", blank.to_json());

    // The one-call form the CLI uses gives the same verdicts.
    let via_suite = dir.path().join("via_suite.jsonl");
    let summary = check_suite(&csv, &images, per_prompt, &world.config, &via_suite).unwrap();
    assert_eq!((summary.prompts, summary.images), (60, 120));
    assert_eq!(
        std::fs::read(&via_suite).unwrap(),
        std::fs::read(&verdicts_path).unwrap()
    );
    assert!(summary.passed < summary.testpoints / 3, "{summary:?}");

    // A missing image and a wrong-size image are named.
    std::fs::remove_file(suite_image_path(&images, 3, 1)).unwrap();
    let err = check_dir(&checker, &prompts, &images, per_prompt)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3_1.png"), "{err}");
    RgbImage::filled(64, 32, [0, 0, 0])
        .write_png(&suite_image_path(&images, 3, 1))
        .unwrap();
    let err = check_dir(&checker, &prompts, &images, per_prompt)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3_1.png") && err.contains("64×32"), "{err}");
}
