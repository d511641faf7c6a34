//! Loading an official UniGenBench prompt CSV into a [`Suite`].
//!
//! The CSV has three columns: `index`, `prompt_en`/`prompt_zh` and `sub_dims_en`/`sub_dims_zh`,
//! the last a JSON object stored as a string (keys in research file §3.2). The language is told
//! by the column names.
//!
//! `test_prompts_en_long.csv` row index 509 has invalid JSON (a comma is missing between two
//! strings of its `Testpoints` list). Loading refuses it with an error that names the row and
//! the repair; with [`SuiteOptions::repair_json`] the loader inserts the missing comma, records
//! what it did in [`Suite::repairs`] and logs a warning. Nothing is dropped silently.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::unigenbench::dimension::SubDimension;
use crate::unigenbench::theme::{SubTheme, Theme};
use crate::{Error, Result};

/// Prompt language of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Language {
    /// English (`prompt_en`, `sub_dims_en`).
    English,
    /// Chinese (`prompt_zh`, `sub_dims_zh`).
    Chinese,
}

impl Language {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::English => ("prompt_en", "sub_dims_en"),
            Self::Chinese => ("prompt_zh", "sub_dims_zh"),
        }
    }

    /// JSON keys: (theme, sub-theme, subject, sentence structure, test points, descriptions).
    fn keys(self) -> [&'static str; 6] {
        match self {
            Self::English => [
                "Primary Categories",
                "Secondary Categories",
                "Subjects",
                "Sentence Structure",
                "Testpoints",
                "Testpoint Description",
            ],
            Self::Chinese => [
                "一级垂类",
                "二级垂类",
                "主体",
                "句式",
                "考点",
                "考点对应描述",
            ],
        }
    }
}

/// One test point of one prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestPoint {
    /// The string exactly as written in the CSV.
    pub raw: String,
    /// The sub-dimension it names.
    pub sub: SubDimension,
    /// The prompt-specific description (`Testpoint Description` / `考点对应描述`).
    pub description: String,
}

/// One prompt of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prompt {
    /// The `index` column (0..600 in the official files; the same ids across languages).
    pub index: usize,
    /// The prompt text.
    pub text: String,
    /// Primary theme.
    pub theme: Theme,
    /// Sub-theme, normalised.
    pub sub_theme: SubTheme,
    /// The raw sub-theme label as written.
    pub sub_theme_raw: String,
    /// `Subjects` / `主体`, as written.
    pub subject: String,
    /// `Sentence Structure` / `句式`, as written.
    pub sentence_structure: String,
    /// Test points in CSV order (the judge's score list follows this order).
    pub testpoints: Vec<TestPoint>,
}

/// A JSON repair the loader applied, kept so reports can list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repair {
    /// The row's `index` column.
    pub index: usize,
    /// 1-based line of the record in the file.
    pub line: u64,
    /// What was done.
    pub description: String,
}

/// The largest suite CSV [`Suite::load`] reads (64 MiB), checked before reading it.
pub const MAX_SUITE_BYTES: u64 = 64 * 1024 * 1024;

/// The longest row (prompt, test points and descriptions) of a suite CSV (1 MiB).
pub const MAX_SUITE_ROW_BYTES: usize = 1024 * 1024;

/// Options for [`Suite::load`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SuiteOptions {
    /// Apply the documented JSON repair (insert the comma missing between two adjacent strings)
    /// to rows whose JSON does not parse, instead of refusing the file.
    pub repair_json: bool,
}

/// A loaded prompt suite.
#[derive(Debug, Clone, Serialize)]
pub struct Suite {
    /// The CSV file.
    pub path: PathBuf,
    /// Prompt language.
    pub language: Language,
    /// Prompts in file order.
    pub prompts: Vec<Prompt>,
    /// Repairs applied while loading.
    pub repairs: Vec<Repair>,
}

impl Suite {
    /// Loads an official suite CSV. Errors name the file and the row (`index` column and line).
    pub fn load(path: impl AsRef<Path>, options: SuiteOptions) -> Result<Self> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len > MAX_SUITE_BYTES {
            return Err(Error::Csv {
                path: path.to_path_buf(),
                message: format!(
                    "the file has {len} bytes, more than {MAX_SUITE_BYTES} (the limit for a \
                     suite CSV; the official ones have under 2 MB)"
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_csv_bytes(path, &bytes, options)
    }

    /// Parses CSV bytes; `path` is only used in messages.
    pub fn from_csv_bytes(path: &Path, bytes: &[u8], options: SuiteOptions) -> Result<Self> {
        let csv_err = |message: String| Error::Csv {
            path: path.to_path_buf(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| csv_err(format!("cannot read the header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let language = if col("prompt_en").is_some() || col("sub_dims_en").is_some() {
            Language::English
        } else if col("prompt_zh").is_some() || col("sub_dims_zh").is_some() {
            Language::Chinese
        } else {
            return Err(csv_err(format!(
                "missing columns: expected `index`, `prompt_en`, `sub_dims_en` (or the `_zh` \
                 pair); the header has {:?}",
                headers.iter().collect::<Vec<_>>()
            )));
        };
        let (prompt_col, dims_col) = language.columns();
        let find = |name: &str| {
            col(name).ok_or_else(|| {
                csv_err(format!(
                    "missing column `{name}`; the header has {:?}",
                    headers.iter().collect::<Vec<_>>()
                ))
            })
        };
        let (i_index, i_prompt, i_dims) = (find("index")?, find(prompt_col)?, find(dims_col)?);

        let mut prompts = Vec::new();
        let mut repairs = Vec::new();
        let mut seen = BTreeSet::new();
        for (n, record) in reader.records().enumerate() {
            let record = record.map_err(|e| csv_err(format!("record {}: {e}", n + 1)))?;
            let line = record.position().map_or(n as u64 + 2, |p| p.line());
            if record.as_byte_record().as_slice().len() > MAX_SUITE_ROW_BYTES {
                return Err(csv_err(format!(
                    "line {line}: the row is longer than {MAX_SUITE_ROW_BYTES} bytes (the limit \
                     for one prompt and its test points)"
                )));
            }
            let field = |i: usize, name: &str| {
                record.get(i).ok_or_else(|| {
                    csv_err(format!("line {line}: the record has no `{name}` field"))
                })
            };
            let index_raw = field(i_index, "index")?;
            let index: usize = index_raw.trim().parse().map_err(|_| {
                csv_err(format!(
                    "line {line}: `index` is `{index_raw}`, not a non-negative integer"
                ))
            })?;
            if !seen.insert(index) {
                return Err(csv_err(format!("line {line}: duplicate row index {index}")));
            }
            let text = field(i_prompt, prompt_col)?.to_string();
            let dims = field(i_dims, dims_col)?;
            let row_err = |message: String, hint: String| Error::RowJson {
                path: path.to_path_buf(),
                index,
                line,
                column: dims_col.to_string(),
                message,
                hint,
            };
            let json: serde_json::Value = match serde_json::from_str(dims) {
                Ok(v) => v,
                Err(e) => {
                    let repaired = insert_missing_commas(dims);
                    let fixed = (repaired != dims)
                        .then(|| serde_json::from_str::<serde_json::Value>(&repaired).ok())
                        .flatten();
                    match (fixed, options.repair_json) {
                        (Some(v), true) => {
                            let description = "inserted the comma missing between two \
                                               adjacent strings of a JSON list"
                                .to_string();
                            tracing::warn!(
                                file = %path.display(), index, line,
                                "repaired broken JSON: {description}"
                            );
                            repairs.push(Repair {
                                index,
                                line,
                                description,
                            });
                            v
                        }
                        (Some(_), false) => {
                            return Err(row_err(
                                e.to_string(),
                                "; a comma is missing between two adjacent strings: load with \
                                 the documented repair (`--repair-json`, \
                                 `SuiteOptions { repair_json: true }`) to insert it"
                                    .to_string(),
                            ));
                        }
                        (None, _) => return Err(row_err(e.to_string(), String::new())),
                    }
                }
            };
            prompts.push(parse_row(path, index, line, language, text, &json)?);
        }
        if prompts.is_empty() {
            return Err(csv_err("no rows".to_string()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            language,
            prompts,
            repairs,
        })
    }

    /// The prompt with `index`, if any.
    pub fn prompt(&self, index: usize) -> Option<&Prompt> {
        self.prompts.iter().find(|p| p.index == index)
    }

    /// Total number of test points (per image).
    pub fn testpoint_count(&self) -> usize {
        self.prompts.iter().map(|p| p.testpoints.len()).sum()
    }

    /// Number of test-point instances of `sub` per image.
    pub fn count(&self, sub: SubDimension) -> usize {
        self.prompts
            .iter()
            .flat_map(|p| &p.testpoints)
            .filter(|t| t.sub == sub)
            .count()
    }
}

fn parse_row(
    path: &Path,
    index: usize,
    line: u64,
    language: Language,
    text: String,
    json: &serde_json::Value,
) -> Result<Prompt> {
    let [k_theme, k_sub, k_subject, k_sentence, k_tp, k_desc] = language.keys();
    let bad = |message: String| Error::RowJson {
        path: path.to_path_buf(),
        index,
        line,
        column: language.columns().1.to_string(),
        message,
        hint: String::new(),
    };
    let string = |key: &str| -> Result<String> {
        json.get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(format!("missing string key `{key}`")))
    };
    let list = |key: &str| -> Result<Vec<String>> {
        json.get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| bad(format!("missing list key `{key}`")))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("`{key}` holds a non-string: {v}")))
            })
            .collect()
    };
    let unknown = |kind: &'static str, label: &str| Error::UnknownLabel {
        path: path.to_path_buf(),
        index,
        kind,
        label: label.to_string(),
    };
    let theme_raw = string(k_theme)?;
    let theme = Theme::parse(&theme_raw).ok_or_else(|| unknown("theme", &theme_raw))?;
    let sub_theme_raw = string(k_sub)?;
    let sub_theme = SubTheme::parse(theme, &sub_theme_raw)
        .ok_or_else(|| unknown("sub-theme", &sub_theme_raw))?;
    let raw_tps = list(k_tp)?;
    let descs = list(k_desc)?;
    if raw_tps.len() != descs.len() {
        return Err(bad(format!(
            "{} test points but {} descriptions",
            raw_tps.len(),
            descs.len()
        )));
    }
    if raw_tps.is_empty() {
        return Err(bad("no test points".to_string()));
    }
    let testpoints = raw_tps
        .into_iter()
        .zip(descs)
        .map(|(raw, description)| {
            let sub = SubDimension::parse(&raw).ok_or_else(|| unknown("test point", &raw))?;
            Ok(TestPoint {
                raw,
                sub,
                description,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Prompt {
        index,
        text,
        theme,
        sub_theme,
        sub_theme_raw,
        subject: string(k_subject)?,
        sentence_structure: string(k_sentence)?,
        testpoints,
    })
}

/// The documented repair: inserts a comma wherever a JSON string literal is followed, after
/// white space only, by another string literal (`"a" "b"` → `"a", "b"`). Text inside strings is
/// left alone. Well-formed JSON never has two adjacent strings, so this only touches the defect.
pub fn insert_missing_commas(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 4);
    let mut in_string = false;
    let mut escaped = false;
    let mut pending_ws = String::new();
    let mut after_string = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                after_string = true;
            }
            continue;
        }
        if after_string && c.is_whitespace() {
            pending_ws.push(c);
            continue;
        }
        if after_string && c == '"' {
            out.push(',');
        }
        out.push_str(&pending_ws);
        pending_ws.clear();
        after_string = false;
        out.push(c);
        if c == '"' {
            in_string = true;
        }
    }
    out.push_str(&pending_ws);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_inserts_only_between_adjacent_strings() {
        assert_eq!(
            insert_missing_commas(r#"{"a": ["x" "y", "z\" \"w"]}"#),
            r#"{"a": ["x", "y", "z\" \"w"]}"#
        );
        let ok = r#"{"a": ["x", "y"], "b": "c"}"#;
        assert_eq!(insert_missing_commas(ok), ok);
    }

    proptest::proptest! {
        #[test]
        fn repair_restores_a_dropped_comma(
            items in proptest::collection::vec("[a-zA-Z \\-,\\[\\]\"\\\\]{0,12}", 2..6),
            drop in 0usize..5,
        ) {
            let json = serde_json::to_string(&items).unwrap();
            // Valid JSON is left alone.
            proptest::prop_assert_eq!(insert_missing_commas(&json), json.clone());
            // Dropping the comma after element `drop` is undone.
            let drop = drop % (items.len() - 1);
            let mut parts: Vec<String> = items.iter().map(|i| serde_json::to_string(i).unwrap()).collect();
            let joined = {
                let mut s = String::from("[");
                for (k, p) in parts.drain(..).enumerate() {
                    if k > 0 {
                        s.push_str(if k == drop + 1 { " " } else { ", " });
                    }
                    s.push_str(&p);
                }
                s.push(']');
                s
            };
            let repaired: Vec<String> = serde_json::from_str(&insert_missing_commas(&joined)).unwrap();
            proptest::prop_assert_eq!(repaired, items);
        }
    }

    const HEADER: &str = "index,prompt_en,sub_dims_en\n";

    fn row(index: usize, dims: &str) -> String {
        format!("{index},\"a prompt\",\"{}\"\n", dims.replace('"', "\"\""))
    }

    #[test]
    fn broken_row_is_reported_then_repaired() {
        let good = r#"{"Primary Categories": "Art", "Secondary Categories": "Art-Graphic Art", "Subjects": "Animal", "Sentence Structure": "Descriptive", "Testpoints": ["Style", "World Knowledge"], "Testpoint Description": ["ink", "pyramids"]}"#;
        let broken = good.replace(r#""Style", "World"#, r#""Style" "World"#);
        let csv = format!("{HEADER}{}{}", row(0, good), row(7, &broken));
        let path = Path::new("mem.csv");
        let err = Suite::from_csv_bytes(path, csv.as_bytes(), SuiteOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row index 7") && err.contains("line 3"),
            "{err}"
        );
        assert!(err.contains("--repair-json"), "{err}");
        let suite = Suite::from_csv_bytes(path, csv.as_bytes(), SuiteOptions { repair_json: true })
            .unwrap();
        assert_eq!(suite.repairs.len(), 1);
        assert_eq!(suite.repairs[0].index, 7);
        assert_eq!(suite.prompts[1].testpoints.len(), 2);
        assert_eq!(
            suite.prompts[1].testpoints[1].sub,
            SubDimension::WorldKnowledge
        );
        assert_eq!(suite.prompts[0].sub_theme, SubTheme::GraphicArt);
    }

    #[test]
    fn missing_column_is_named() {
        let csv = "index,prompt_en\n0,hello\n";
        let err =
            Suite::from_csv_bytes(Path::new("x.csv"), csv.as_bytes(), SuiteOptions::default())
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("x.csv") && err.contains("`sub_dims_en`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_testpoint_names_the_row() {
        let dims = r#"{"Primary Categories": "Art", "Secondary Categories": "Other", "Subjects": "Animal", "Sentence Structure": "Descriptive", "Testpoints": ["Colour"], "Testpoint Description": ["red"]}"#;
        let csv = format!("{HEADER}{}", row(42, dims));
        let err =
            Suite::from_csv_bytes(Path::new("x.csv"), csv.as_bytes(), SuiteOptions::default())
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("row index 42") && err.contains("`Colour`"),
            "{err}"
        );
    }
}
