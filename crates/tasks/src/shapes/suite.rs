//! The mini UniGenBench suite: a prompt CSV in the official layout and checker verdicts in the
//! UniGenBench verdict JSONL format, so `prefopt bench unigenbench score` scores them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::caption::Caption;
use super::checker::Checker;
use super::image::RgbImage;
use super::world::{Split, World};
use crate::{Result, TaskError};

/// The `Primary Categories` of every shapes prompt (flat geometric graphics).
pub const SUITE_THEME: &str = "Art";
/// The `Secondary Categories` of every shapes prompt.
pub const SUITE_SUB_THEME: &str = "Graphic Art";
/// The `Subjects` of every shapes prompt.
pub const SUITE_SUBJECT: &str = "Other Entity";
/// The `Sentence Structure` of every shapes prompt.
pub const SUITE_SENTENCE: &str = "Descriptive";
/// The largest suite CSV [`read_suite`] opens (64 MiB; the official suites are under 1 MiB).
pub const MAX_SUITE_BYTES: u64 = 64 << 20;
/// The `model` field of the checker's verdicts.
pub const CHECKER_MODEL: &str = "prefopt-shapes-checker";

/// One prompt of a suite: its `index` and caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuitePrompt {
    /// The `index` column.
    pub index: usize,
    /// The caption.
    pub caption: Caption,
}

/// `n` distinct held-out captions from `seed`, indexed 0..n.
pub fn mini_suite(world: &World, n: usize, seed: u64) -> Result<Vec<SuitePrompt>> {
    Ok(world
        .captions(seed, n, Split::HeldOut, true)?
        .into_iter()
        .enumerate()
        .map(|(index, caption)| SuitePrompt { index, caption })
        .collect())
}

/// The suite CSV (`index,prompt_en,sub_dims_en`, the last a JSON object with the official
/// keys) as bytes.
pub fn suite_csv(prompts: &[SuitePrompt]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| TaskError::InvalidInput(format!("writing the suite CSV: {e}"));
    w.write_record(["index", "prompt_en", "sub_dims_en"])
        .map_err(csv_err)?;
    for p in prompts {
        let points = p.caption.test_points();
        let dims = serde_json::json!({
            "Primary Categories": SUITE_THEME,
            "Secondary Categories": SUITE_SUB_THEME,
            "Subjects": SUITE_SUBJECT,
            "Sentence Structure": SUITE_SENTENCE,
            "Testpoints": points.iter().map(|t| t.testpoint()).collect::<Vec<_>>(),
            "Testpoint Description": points.iter().map(|t| t.description.as_str()).collect::<Vec<_>>(),
        });
        w.write_record([
            p.index.to_string(),
            p.caption.text(),
            serde_json::to_string(&dims)?,
        ])
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| TaskError::InvalidInput(format!("writing the suite CSV: {e}")))
}

/// Writes [`mini_suite`]`(world, n, seed)` to `path` atomically and returns its prompts.
pub fn write_suite(path: &Path, world: &World, n: usize, seed: u64) -> Result<Vec<SuitePrompt>> {
    let prompts = mini_suite(world, n, seed)?;
    prefopt_core::write_atomic(path, &suite_csv(&prompts)?)?;
    Ok(prompts)
}

/// Reads a shapes suite CSV: every prompt must parse as a caption and its `Testpoints` must be
/// the caption's (errors name the file and line).
pub fn read_suite(path: &Path) -> Result<Vec<SuitePrompt>> {
    let len = std::fs::metadata(path)
        .map_err(|e| TaskError::io(path, e))?
        .len();
    if len > MAX_SUITE_BYTES {
        return Err(TaskError::InvalidInput(format!(
            "{}: {len} bytes is above the {MAX_SUITE_BYTES}-byte limit for a suite CSV",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| TaskError::io(path, e))?;
    let bad = |line: u64, m: String| {
        TaskError::InvalidInput(format!("{}: line {line}: {m}", path.display()))
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[..]);
    let headers = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(1, format!("missing column `{name}`")))
    };
    let (ci, cp, cd) = (col("index")?, col("prompt_en")?, col("sub_dims_en")?);
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let line = n as u64 + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        let field = |i: usize| rec.get(i).unwrap_or("");
        let index: usize = field(ci)
            .trim()
            .parse()
            .map_err(|_| bad(line, format!("`index` is `{}`", field(ci))))?;
        let caption = Caption::parse(field(cp)).map_err(|e| bad(line, e.to_string()))?;
        let dims: serde_json::Value =
            serde_json::from_str(field(cd)).map_err(|e| bad(line, format!("sub_dims_en: {e}")))?;
        let listed: Vec<&str> = dims
            .get("Testpoints")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let ours: Vec<&str> = caption
            .test_points()
            .iter()
            .map(|t| t.testpoint())
            .collect();
        if listed != ours {
            return Err(bad(
                line,
                format!("the test points {listed:?} are not the caption's {ours:?}"),
            ));
        }
        out.push(SuitePrompt { index, caption });
    }
    Ok(out)
}

/// One line of the UniGenBench verdict JSONL (the fields `prefopt_bench::Verdict` reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictLine {
    /// The prompt's `index`.
    pub index: usize,
    /// Image number `j` (file `{index}_{j}.png`).
    pub image: usize,
    /// The prompt's test points, as in the CSV.
    pub testpoints: Vec<String>,
    /// 1 (pass) or 0 per test point.
    pub scores: Option<Vec<u8>>,
    /// The checker's finding per test point.
    pub analysis: Option<Vec<String>>,
    /// A one-line summary.
    pub answer: Option<String>,
    /// [`CHECKER_MODEL`].
    pub model: Option<String>,
}

/// The UniGenBench image path `dir/{index}_{j}.png`.
pub fn suite_image_path(dir: &Path, index: usize, j: usize) -> PathBuf {
    dir.join(format!("{index}_{j}.png"))
}

/// Checks `images/{index}_{j}.png` for every prompt and `j < images_per_prompt`.
///
/// # Errors
/// A missing or unreadable image, an image that is not 8-bit RGB or not the world's size
/// (each names the file).
pub fn check_dir(
    checker: &Checker,
    prompts: &[SuitePrompt],
    images: &Path,
    images_per_prompt: usize,
) -> Result<Vec<VerdictLine>> {
    let mut out = Vec::with_capacity(prompts.len() * images_per_prompt);
    for p in prompts {
        let points = p.caption.test_points();
        for j in 0..images_per_prompt {
            let path = suite_image_path(images, p.index, j);
            let image = RgbImage::read_png(&path)?;
            let verdicts = checker.check(&image, &p.caption, &path)?;
            let passed = verdicts.iter().filter(|v| v.passed).count();
            out.push(VerdictLine {
                index: p.index,
                image: j,
                testpoints: points.iter().map(|t| t.testpoint().to_string()).collect(),
                scores: Some(verdicts.iter().map(|v| u8::from(v.passed)).collect()),
                analysis: Some(verdicts.iter().map(|v| v.analysis.clone()).collect()),
                answer: Some(format!("{passed}/{} test points pass", verdicts.len())),
                model: Some(CHECKER_MODEL.to_string()),
            });
        }
    }
    Ok(out)
}

/// Writes verdict lines as JSONL, atomically.
pub fn write_verdicts(path: &Path, lines: &[VerdictLine]) -> Result<()> {
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend(serde_json::to_vec(l)?);
        bytes.push(b'\n');
    }
    prefopt_core::write_atomic(path, &bytes)?;
    Ok(())
}

/// What [`check_suite`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckSummary {
    /// Prompts in the suite.
    pub prompts: usize,
    /// Images checked.
    pub images: usize,
    /// Test points judged.
    pub testpoints: usize,
    /// Test points that passed.
    pub passed: usize,
}

/// Reads the suite CSV, checks `images/{index}_{j}.png` for `j < images_per_prompt` in a
/// world with `config`, and writes the verdict JSONL to `verdicts` (what `prefopt t2i check`
/// does).
pub fn check_suite(
    suite: &Path,
    images: &Path,
    images_per_prompt: usize,
    config: &super::world::WorldConfig,
    verdicts: &Path,
) -> Result<CheckSummary> {
    let prompts = read_suite(suite)?;
    let checker = Checker::new(*config)?;
    let lines = check_dir(&checker, &prompts, images, images_per_prompt)?;
    write_verdicts(verdicts, &lines)?;
    let scores = lines.iter().flat_map(|l| l.scores.iter().flatten());
    let (testpoints, passed) = scores.fold((0, 0), |(n, p), s| (n + 1, p + usize::from(*s)));
    Ok(CheckSummary {
        prompts: prompts.len(),
        images: lines.len(),
        testpoints,
        passed,
    })
}
