//! Judge-client throughput against the loopback server with an instant canned answer, so the
//! time measured is the client's own overhead (template, image re-encoding, base64, JSON, HTTP,
//! answer parsing, verdict writing) plus a near-zero server cost.
//!
//! `cargo bench -p prefopt-bench --bench judge_client` (results go in docs/benchmarks.md).
#![allow(clippy::print_stdout, missing_docs)]

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use prefopt_bench::{
    ImageEncoding, JudgeClientConfig, JudgeRunConfig, JudgeTemplate, Suite, SuiteOptions,
    image_data_uri, judge_suite,
};
use prefopt_testkit::{Reply, Server};

/// A suite of `n` prompts with 3 test points each.
fn write_suite(dir: &Path, n: usize) -> Suite {
    let mut csv = String::from("index,prompt_en,sub_dims_en\n");
    for i in 0..n {
        let json = serde_json::json!({
            "Primary Categories": "Art", "Secondary Categories": "Graphic Art",
            "Subjects": "Animal", "Sentence Structure": "Descriptive",
            "Testpoints": ["Style", "Attribute - Color", "Relationship - Composition"],
            "Testpoint Description": ["ink painting", "a red panda", "among bamboo"],
        })
        .to_string();
        csv.push_str(&format!(
            "{i},\"In the style of classical ink painting, a red panda sits among bamboo, \
             prompt {i}.\",\"{}\"\n",
            json.replace('"', "\"\"")
        ));
    }
    let path = dir.join("suite.csv");
    std::fs::write(&path, csv).unwrap();
    Suite::load(&path, SuiteOptions::default()).unwrap()
}

/// Smooth gradient images (photo-like compressibility), `{i}_{j}.png`.
fn write_images(dir: &Path, n: usize, size: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let img = image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb([
            (x * 255 / size) as u8,
            (y * 255 / size) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    for i in 0..n {
        for j in 0..4 {
            std::fs::write(dir.join(format!("{i}_{j}.png")), &png).unwrap();
        }
    }
}

const ANSWER: &str = "<description>\n<prompt>p</prompt>\n<checkpoint>[]</checkpoint>\n<analysis>['The image is an ink painting with visible brush strokes.', 'The panda is red as described.', 'Bamboo stalks surround the panda.']</analysis>\n<score>[1, 1, 0]</score>\n</description>";

fn run(label: &str, prompts: usize, size: u32, workers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path(), prompts);
    let images = dir.path().join("images");
    write_images(&images, prompts, size);
    let server = Server::start(false, None, |_| Reply::Answer(ANSWER.to_string()));
    let mut c = JudgeClientConfig::new(server.url(), "QwenVL");
    c.chat.timeout = Duration::from_secs(30);
    let client = c.init().unwrap();
    let mut config = JudgeRunConfig::new(&images, dir.path().join("v.jsonl"));
    config.workers = workers;
    let template = JudgeTemplate::builtin(suite.language);
    let summary = judge_suite(&suite, &template, &client, &config).unwrap();
    assert_eq!(summary.judged, prompts * 4);
    println!(
        "  ({} connections for {} requests)",
        server.connections(),
        server.arrivals()
    );
    let n = summary.judged as f64;
    println!(
        "{label:<34} workers {workers:>2}: {:>5} requests in {:>7.3} s = {:>8.1} req/s; \
         {:>8.3} ms wall per request, {:>8.3} ms worker-time per request",
        summary.judged,
        summary.seconds,
        n / summary.seconds,
        1e3 * summary.seconds / n,
        1e3 * summary.seconds * workers as f64 / n,
    );
}

fn encode_only(size: u32, reps: usize) {
    let dir = tempfile::tempdir().unwrap();
    write_images(dir.path(), 1, size);
    let path = dir.path().join("0_0.png");
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(image_data_uri(&path, ImageEncoding::Jpeg(95)).unwrap());
    }
    println!(
        "image -> JPEG q95 data URI, {size}x{size}: {:.3} ms per image (1 thread)",
        1e3 * t.elapsed().as_secs_f64() / reps as f64
    );
}

/// The client's CPU work per request without the network: render the judge text, build and
/// serialise the JSON body (64x64 image URI), parse a canned answer.
fn stages(reps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path(), 1);
    write_images(dir.path(), 1, 64);
    let uri = image_data_uri(&dir.path().join("0_0.png"), ImageEncoding::Jpeg(95)).unwrap();
    let template = JudgeTemplate::builtin(suite.language);
    let client = JudgeClientConfig::new("http://127.0.0.1:9/v1", "QwenVL")
        .init()
        .unwrap();
    let t = Instant::now();
    for _ in 0..reps {
        let text = template.render(&suite.prompts[0]);
        let body = client.request_body(&text, &uri);
        std::hint::black_box(serde_json::to_vec(&body).unwrap());
        std::hint::black_box(prefopt_bench::parse_answer(ANSWER, 3).unwrap());
    }
    println!(
        "render + JSON body + answer parse (no I/O): {:.1} us per request (1 thread)",
        1e6 * t.elapsed().as_secs_f64() / reps as f64
    );
}

fn main() {
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    stages(20_000);
    encode_only(64, 200);
    encode_only(1024, 10);
    run("64x64 images (HTTP/JSON overhead)", 600, 64, 1);
    run("64x64 images (HTTP/JSON overhead)", 600, 64, 16);
    run("1024x1024 images (with re-encoding)", 20, 1024, 1);
    run("1024x1024 images (with re-encoding)", 40, 1024, 16);
}
