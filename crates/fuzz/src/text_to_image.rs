//! Text-to-image inputs: shapes-world captions (`prefopt_tasks::shapes::Caption::parse`, what
//! `prefopt t2i generate --prompts` and the checker read), diffusers transformer configs
//! (`prefopt_models::FluxConfig::from_json_file`), and the `prefopt t2i train` / `t2i grpo`
//! TOML configs.

use prefopt_models::FluxConfig;
use prefopt_tasks::shapes::Caption;
use prefopt_tasks::shapes_grpo::ShapesGrpoConfig;
use prefopt_tasks::shapes_t2i::T2iConfig;

use crate::scratch::file_with;
use crate::target::text_seeds;

/// Parses `data` as a caption of the shapes world.
pub fn shapes_caption(data: &[u8]) {
    let _ = Caption::parse(&String::from_utf8_lossy(data));
}

/// Reads `data` as a diffusers `transformer/config.json`.
pub fn flux_config(data: &[u8]) {
    let path = file_with("config.json", data);
    let _ = FluxConfig::from_json_file(&path);
}

/// Loads `data` as a `prefopt t2i train` config.
pub fn t2i_config(data: &[u8]) {
    let path = file_with("t2i.toml", data);
    let _ = T2iConfig::load(&path, &[]);
}

/// Loads `data` as a `prefopt t2i grpo` config.
pub fn t2i_grpo_config(data: &[u8]) {
    let path = file_with("t2i-grpo.toml", data);
    let _ = ShapesGrpoConfig::load(&path, &[]);
}

pub(crate) fn caption_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        "a big red circle on the left and two small blue squares with no green shapes",
        "a small yellow cross above a purple ring",
        "a cyan triangle larger than a red square",
        "four green rings with no circles",
    ])
}

pub(crate) fn flux_config_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        include_str!("../../models/tests/fixtures/flux/tiny/config.json"),
        include_str!("../../models/tests/fixtures/flux/tiny-guidance/config.json"),
    ])
}

pub(crate) fn t2i_config_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[include_str!("../../../docs/studies/t2i-base.toml")])
}

pub(crate) fn t2i_grpo_config_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        include_str!("../../../docs/studies/t2i-pref-grpo.toml"),
        include_str!("../../../docs/studies/t2i-grpo-learned-scorer.toml"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds parse, so the targets fuzz more than their error paths.
    #[test]
    fn the_seeds_parse() {
        for seed in caption_seeds() {
            Caption::parse(std::str::from_utf8(&seed).unwrap()).unwrap();
        }
        for seed in flux_config_seeds() {
            FluxConfig::from_json_file(file_with("config.json", &seed)).unwrap();
        }
        for seed in t2i_config_seeds() {
            T2iConfig::load(&file_with("t2i.toml", &seed), &[]).unwrap();
        }
        for seed in t2i_grpo_config_seeds() {
            ShapesGrpoConfig::load(&file_with("t2i-grpo.toml", &seed), &[]).unwrap();
        }
    }
}
