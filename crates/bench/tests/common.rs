//! Shared fixtures: a small synthetic suite, PNGs that encode their own (index, j), and a mock
//! judge that answers deterministically per (index, j, test point).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use prefopt_testkit::{Reply, Request};

/// The official data folder (`$PREFOPT_UNIGENBENCH_DIR`, else `../shared/data/unigenbench`),
/// or `None` with a visible SKIPPED line; under `CI=true` its absence fails the test.
pub fn data_dir() -> Option<PathBuf> {
    prefopt_testkit::external_data_dir(
        "PREFOPT_UNIGENBENCH_DIR",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/unigenbench"),
        "test_prompts_en.csv",
        "the UniGenBench suite and leaderboard tests",
    )
}

/// Test points of the synthetic prompts.
pub const PROMPTS: [&[&str]; 6] = [
    &["Style", "World Knowledge", "Attribute - Quantity"],
    &[
        "Action - Hand (Character/Anthropomorphic)",
        "Relationship - Composition",
    ],
    &[
        "Grammar - Negation",
        "Attribute - Color",
        "Attribute - Color",
        "Text Generation",
    ],
    &["Entity Layout - Two-Dimensional Space", "Logical Reasoning"],
    &[
        "Compound - Imagination",
        "Compound - Feature Matching",
        "Action - Animal",
    ],
    &["Style"],
];

/// Writes a 6-prompt English suite CSV and returns its path.
pub fn write_suite(dir: &Path) -> PathBuf {
    let mut csv = String::from("index,prompt_en,sub_dims_en\n");
    for (i, tps) in PROMPTS.iter().enumerate() {
        let descs: Vec<String> = tps.iter().map(|t| format!("desc of {t} #{i}")).collect();
        let json = serde_json::json!({
            "Primary Categories": "Art",
            "Secondary Categories": "Art-Graphic Art",
            "Subjects": "Animal",
            "Sentence Structure": "Descriptive",
            "Testpoints": tps,
            "Testpoint Description": descs,
        })
        .to_string();
        csv.push_str(&format!(
            "{i},\"Prompt number {i}, with a comma\",\"{}\"\n",
            json.replace('"', "\"\"")
        ));
    }
    let path = dir.join("suite.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// A flat-colour PNG whose colour encodes (index, j).
pub fn png_for(index: usize, j: usize, size: u32) -> Vec<u8> {
    let (r, g) = (30 + 40 * j as u8, 20 + 20 * index as u8);
    let img = image::RgbImage::from_pixel(size, size, image::Rgb([r, g, 90]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// Writes `{index}_{j}.png` for every prompt and j < 4.
pub fn write_images(dir: &Path, prompts: usize, size: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..prompts {
        for j in 0..4 {
            std::fs::write(dir.join(format!("{i}_{j}.png")), png_for(i, j, size)).unwrap();
        }
    }
}

/// The deterministic score the mock judge gives test point `k` of image (index, j).
pub fn expected_score(index: usize, j: usize, k: usize) -> u8 {
    u8::from(!(index * 7 + j * 3 + k).is_multiple_of(3))
}

/// What the mock judge sees in a request: (index, j, number of test points, text).
pub fn decode_request(req: &Request) -> (usize, usize, usize, String) {
    let body = req.json();
    let content = body["messages"][0]["content"].as_array().unwrap().clone();
    let text = content.iter().find(|c| c["type"] == "text").unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    let url = content.iter().find(|c| c["type"] == "image_url").unwrap()["image_url"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let b64 = url.split_once(";base64,").unwrap().1;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let p = img.get_pixel(0, 0);
    let j = ((f64::from(p[0]) - 30.0) / 40.0).round() as usize;
    let index = ((f64::from(p[1]) - 20.0) / 20.0).round() as usize;
    let list = text
        .split("<checkpoint>")
        .nth(1)
        .unwrap()
        .split("</checkpoint>")
        .next()
        .unwrap();
    let n = list.matches('\'').count() / 2;
    (index, j, n, text)
}

/// A correct answer for the request.
pub fn good_answer(req: &Request) -> Reply {
    let (index, j, n, _) = decode_request(req);
    let analysis: Vec<String> = (0..n)
        .map(|k| format!("'point {k}: it\\'s visible'"))
        .collect();
    let scores: Vec<String> = (0..n)
        .map(|k| expected_score(index, j, k).to_string())
        .collect();
    Reply::Answer(format!(
        "<description>\n<prompt>x</prompt>\n<analysis>[{}]</analysis>\n<score>[{}]</score>\n</description>",
        analysis.join(", "),
        scores.join(", ")
    ))
}
