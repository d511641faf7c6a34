//! Bad input gets a clear error naming the row or the file.

use prefopt_bench::{
    JudgeClientConfig, JudgeRunConfig, JudgeTemplate, Suite, SuiteOptions, judge_suite,
};

use crate::common::{good_answer, write_images, write_suite};
use prefopt_testkit::Server;

#[test]
fn csv_with_a_missing_column_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_dims.csv");
    std::fs::write(&path, "index,prompt_en\n0,a cat\n").unwrap();
    let err = Suite::load(&path, SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no_dims.csv") && err.contains("missing column `sub_dims_en`"),
        "{err}"
    );

    let path = dir.path().join("bad_index.csv");
    std::fs::write(&path, "index,prompt_zh,sub_dims_zh\nseven,猫,{}\n").unwrap();
    let err = Suite::load(&path, SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad_index.csv: line 2: `index` is `seven`"),
        "{err}"
    );

    let err = Suite::load(dir.path().join("absent.csv"), SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.csv"), "{err}");
}

#[test]
fn image_that_is_not_a_png_is_named_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let suite = Suite::load(write_suite(dir.path()), SuiteOptions::default()).unwrap();
    let images = dir.path().join("images");
    write_images(&images, suite.prompts.len(), 8);
    // A JPEG saved under a .png name.
    let mut jpeg = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    std::fs::write(images.join("3_2.png"), jpeg).unwrap();
    let server = Server::start(false, None, good_answer);
    let client = JudgeClientConfig::new(server.url(), "m").init().unwrap();
    let run = JudgeRunConfig::new(&images, dir.path().join("v.jsonl"));
    let template = JudgeTemplate::builtin(suite.language);
    let err = judge_suite(&suite, &template, &client, &run)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3_2.png: not a PNG (it is a JPEG)"), "{err}");
    assert_eq!(server.arrivals(), 0);

    // A missing image fails closed too, before any request.
    std::fs::remove_file(images.join("3_2.png")).unwrap();
    std::fs::remove_file(images.join("5_0.png")).unwrap();
    let err = judge_suite(&suite, &template, &client, &run)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 images missing") && err.contains("5_0.png"),
        "{err}"
    );
    assert_eq!(server.arrivals(), 0);
}

#[test]
fn bad_endpoint_and_protocol_config() {
    let err = JudgeClientConfig::new("localhost:8080", "m")
        .init()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`localhost:8080` must start with http://"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("protocol.json");
    std::fs::write(&path, r#"{"templat": "x"}"#).unwrap();
    let err = prefopt_bench::Protocol::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("protocol.json") && err.contains("templat"),
        "{err}"
    );
}
