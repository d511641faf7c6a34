//! A TOML run config (`run.toml`) plus `--set key=value` overrides → [`RunConfig`].
//!
//! Each top-level table is checked on its own type, so an unknown key is reported with its
//! table (`unknown key in [dpo]: unknown field `betta`, expected one of ...`) and an unknown
//! table is named too.

use std::path::Path;

use anyhow::{Context, bail};
use prefopt_objectives::dpo::DpoConfig;
use prefopt_objectives::lipo::LipoConfig;
use prefopt_objectives::nextquill::NextQuillConfig;
use prefopt_train::{
    DataSection, ModelSection, PersonalizationSection, ReferenceSection, RunConfig, TrainerConfig,
};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// The top-level tables a run config may have.
pub const SECTIONS: [&str; 8] = [
    "model",
    "data",
    "training",
    "reference",
    "dpo",
    "lipo",
    "personalization",
    "nextquill",
];

/// Reads `path`, applies `overrides` (`section.key=value`, value in TOML syntax, bare words
/// taken as strings), and checks every key.
pub fn load_run_config(path: &Path, overrides: &[String]) -> anyhow::Result<RunConfig> {
    let table = load_table(path, overrides)?;
    parse_tables(table).with_context(|| format!("config `{}`", path.display()))
}

/// Reads the TOML file `path` as a table and applies `overrides` (`section.key=value`).
pub fn load_table(path: &Path, overrides: &[String]) -> anyhow::Result<Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config `{}`", path.display()))?;
    let mut table: Table = toml::from_str(&text)
        .with_context(|| format!("config `{}` is not valid TOML", path.display()))?;
    for item in overrides {
        apply_override(&mut table, item)?;
    }
    Ok(table)
}

/// Applies one `a.b.c=value` override.
pub fn apply_override(table: &mut Table, item: &str) -> anyhow::Result<()> {
    let Some((key, raw)) = item.split_once('=') else {
        bail!("--set expects key=value (e.g. dpo.beta=0.2), got `{item}`");
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("--set: bad key `{key}`");
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
            _ => bail!("--set {key}: `{part}` is not a table"),
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

fn section<T: DeserializeOwned + Default>(table: &mut Table, name: &str) -> anyhow::Result<T> {
    match table.remove(name) {
        None => Ok(T::default()),
        Some(Value::Table(t)) => Value::Table(t)
            .try_into()
            .map_err(|e| anyhow::anyhow!("in [{name}]: {e}")),
        Some(other) => bail!("`{name}` must be a table, got {}", other.type_str()),
    }
}

/// Turns the tables into a [`RunConfig`], naming unknown tables and keys.
pub fn parse_tables(mut table: Table) -> anyhow::Result<RunConfig> {
    if let Some(unknown) = table.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
        bail!(
            "unknown key `{unknown}`: a run config has the tables {}",
            SECTIONS.map(|s| format!("[{s}]")).join(", ")
        );
    }
    let model: ModelSection = section(&mut table, "model")?;
    let data: DataSection = section(&mut table, "data")?;
    let training: TrainerConfig = section(&mut table, "training")?;
    let reference: ReferenceSection = section(&mut table, "reference")?;
    let dpo: DpoConfig = section(&mut table, "dpo")?;
    let lipo: LipoConfig = section(&mut table, "lipo")?;
    let personalization: PersonalizationSection = section(&mut table, "personalization")?;
    let nextquill: NextQuillConfig = section(&mut table, "nextquill")?;
    Ok(RunConfig {
        model,
        data,
        training,
        reference,
        dpo,
        lipo,
        personalization,
        nextquill,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, sets: &[&str]) -> anyhow::Result<RunConfig> {
        let mut table: Table = toml::from_str(text)?;
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
        assert!(parse("", &["dpo.beta"]).is_err());
    }
}
