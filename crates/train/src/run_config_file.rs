//! A TOML run config (`run.toml`) plus `--set key=value` overrides → [`RunConfig`].
//!
//! Each top-level table is checked on its own type, so an unknown key is reported with its
//! table (`in [dpo]: unknown field `betta`, expected one of ...`) and an unknown table is named
//! too. Errors from a file name the file ([`Error::ConfigFile`]).

use std::path::Path;

use prefopt_objectives::dpo::DpoConfig;
use prefopt_objectives::lipo::LipoConfig;
use prefopt_objectives::nextquill::NextQuillConfig;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::lora_section::LoraSection;
use crate::personalization_section::PersonalizationSection;
use crate::run_config::{DataSection, ModelSection, ReferenceSection, RunConfig};
use crate::trainer_config::TrainerConfig;

/// The largest run config (TOML) [`load_table`] reads: 1 MiB, checked before reading.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The top-level tables a run config may have.
pub const SECTIONS: [&str; 9] = [
    "model",
    "data",
    "training",
    "reference",
    "dpo",
    "lipo",
    "personalization",
    "nextquill",
    "lora",
];

/// Reads `path`, applies `overrides` (`section.key=value`, value in TOML syntax, bare words
/// taken as strings), and checks every key.
///
/// # Errors
/// [`Error::ConfigFile`] naming `path` (unreadable, not TOML, an unknown table or key, a bad
/// value) or [`Error::Override`] naming a malformed override.
pub fn load_run_config(path: &Path, overrides: &[String]) -> Result<RunConfig> {
    let table = load_table(path, overrides)?;
    parse_tables(table).map_err(|e| Error::ConfigFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Reads the TOML file `path` as a table and applies `overrides` (`section.key=value`).
///
/// # Errors
/// [`Error::ConfigFile`] when the file cannot be read or is not TOML, [`Error::Override`]
/// for a malformed override.
pub fn load_table(path: &Path, overrides: &[String]) -> Result<Table> {
    let file_error = |reason: String| Error::ConfigFile {
        path: path.to_path_buf(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| file_error(format!("cannot read: {e}")))?
        .len();
    if len > MAX_CONFIG_BYTES {
        return Err(file_error(format!(
            "the file has {len} bytes, more than {MAX_CONFIG_BYTES} (the limit for a run config)"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    let mut table: Table =
        toml::from_str(&text).map_err(|e| file_error(format!("not valid TOML: {e}")))?;
    for item in overrides {
        apply_override(&mut table, item)?;
    }
    Ok(table)
}

/// Applies one `a.b.c=value` override.
///
/// # Errors
/// [`Error::Override`] when `item` has no `=`, an empty key part, or walks through a value
/// that is not a table.
pub fn apply_override(table: &mut Table, item: &str) -> Result<()> {
    let bad = |reason: String| Error::Override {
        item: item.to_string(),
        reason,
    };
    let Some((key, raw)) = item.split_once('=') else {
        return Err(bad("expected key=value (e.g. dpo.beta=0.2)".into()));
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad(format!("bad key `{key}`")));
    }
    let value = parse_value(raw.trim());
    let (last, parents) = parts.split_last().expect("split gives at least one part");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        current = match entry {
            Value::Table(t) => t,
            _ => return Err(bad(format!("`{part}` is not a table"))),
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// A TOML value, or the raw text as a string when it is not one (`--set model.path=/x`).
fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn section<T: DeserializeOwned + Default>(table: &mut Table, name: &str) -> Result<T> {
    let bad = |reason: String| Error::ConfigTable {
        table: name.to_string(),
        reason,
    };
    match table.remove(name) {
        None => Ok(T::default()),
        Some(Value::Table(t)) => Value::Table(t).try_into().map_err(|e| bad(e.to_string())),
        Some(other) => Err(bad(format!("must be a table, got {}", other.type_str()))),
    }
}

/// Turns the tables into a [`RunConfig`], naming unknown tables and keys.
///
/// # Errors
/// [`Error::ConfigTable`] naming the table that is unknown, not a table, or holds an unknown
/// key or a value of the wrong type.
pub fn parse_tables(mut table: Table) -> Result<RunConfig> {
    if let Some(unknown) = table.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        return Err(Error::ConfigTable {
            table: unknown.clone(),
            reason: format!(
                "unknown table: a run config has the tables {}",
                SECTIONS.map(|s| format!("[{s}]")).join(", ")
            ),
        });
    }
    let model: ModelSection = section(&mut table, "model")?;
    let data: DataSection = section(&mut table, "data")?;
    let training: TrainerConfig = section(&mut table, "training")?;
    let reference: ReferenceSection = section(&mut table, "reference")?;
    let dpo: DpoConfig = section(&mut table, "dpo")?;
    let lipo: LipoConfig = section(&mut table, "lipo")?;
    let personalization: PersonalizationSection = section(&mut table, "personalization")?;
    let nextquill: NextQuillConfig = section(&mut table, "nextquill")?;
    let lora: Option<LoraSection> = section(&mut table, "lora")?;
    Ok(RunConfig {
        model,
        data,
        training,
        reference,
        dpo,
        lipo,
        personalization,
        nextquill,
        lora,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_over_the_size_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_CONFIG_BYTES + 1)
            .unwrap();
        let err = load_table(&path, &[]).unwrap_err().to_string();
        assert!(
            err.contains("run.toml") && err.contains("more than 1048576"),
            "{err}"
        );
    }

    fn parse(text: &str, sets: &[&str]) -> Result<RunConfig> {
        let mut table: Table = toml::from_str(text).expect("test TOML parses");
        for s in sets {
            apply_override(&mut table, s)?;
        }
        parse_tables(table)
    }

    #[test]
    fn overrides_reach_every_table() {
        let c = parse(
            "[model]\npath = \"m\"\n[dpo]\nbeta = 0.1\nloss_type = \"sigmoid\"\n",
            &[
                "dpo.beta=0.2",
                "training.max_steps=7",
                "lipo.loss_type=\"list_mle\"",
                "data.train=/tmp/x.jsonl",
                "dpo.loss_type=[\"sigmoid\", \"sft\"]",
            ],
        )
        .unwrap();
        assert_eq!(c.dpo.beta, 0.2);
        assert_eq!(c.dpo.loss_type.len(), 2);
        assert_eq!(c.training.max_steps, 7);
        assert_eq!(c.data.train, Path::new("/tmp/x.jsonl"));
        assert_eq!(c.model.path, Path::new("m"));
        assert_eq!(
            serde_json::to_string(&c.lipo.loss_type).unwrap(),
            "\"list_mle\""
        );
    }

    #[test]
    fn unknown_keys_and_tables_are_named() {
        let e = parse("[dpo]\nbetta = 0.1\n", &[]).unwrap_err().to_string();
        assert!(e.contains("[dpo]") && e.contains("betta"), "{e}");
        let e = parse("[trainig]\nseed = 1\n", &[]).unwrap_err().to_string();
        assert!(e.contains("trainig"), "{e}");
        let e = parse("", &["training.learning_rat=1e-3"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[training]") && e.contains("learning_rat"),
            "{e}"
        );
        let e = parse("", &["dpo.beta"]).unwrap_err().to_string();
        assert!(e.contains("dpo.beta") && e.contains("key=value"), "{e}");
        let e = parse("dpo = 3\n", &[]).unwrap_err().to_string();
        assert!(e.contains("[dpo]") && e.contains("must be a table"), "{e}");
    }

    #[test]
    fn file_errors_name_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = load_run_config(&missing, &[]).unwrap_err().to_string();
        assert!(e.contains("nope.toml") && e.contains("cannot read"), "{e}");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[dpo\n").unwrap();
        let e = load_run_config(&bad, &[]).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml") && e.contains("not valid TOML"),
            "{e}"
        );
        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "[dpo]\nbetta = 0.1\n").unwrap();
        let e = load_run_config(&typo, &[]).unwrap_err().to_string();
        assert!(
            e.contains("typo.toml") && e.contains("[dpo]") && e.contains("betta"),
            "{e}"
        );
        let e = load_run_config(&typo, &["x.y".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--set `x.y`"), "{e}");
    }
}
