//! TOML run configs: the offline run file (`prefopt_train::load_run_config`) and the GRPO
//! file (`prefopt_train::load_table` then `prefopt_rl::GrpoFile::from_table` and its
//! validation).

use prefopt_rl::GrpoFile;

use crate::scratch::file_with;
use crate::target::text_seeds;

/// Loads `data` as an offline run config (`prefopt dpo/sft/lipo --config`).
pub fn run_config(data: &[u8]) {
    let path = file_with("run.toml", data);
    let _ = prefopt_train::load_run_config(&path, &[]);
}

/// Loads `data` as a GRPO config (`prefopt grpo --config`) and validates its `[grpo]` table.
pub fn grpo_config(data: &[u8]) {
    let path = file_with("grpo.toml", data);
    let Ok(table) = prefopt_train::load_table(&path, &[]) else {
        return;
    };
    if let Ok(file) = GrpoFile::from_table(table) {
        let _ = file.grpo.init();
    }
}

pub(crate) fn run_config_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[
        r#"[model]
path = "model"

[data]
train = "pairs.jsonl"
eval = "pairs.jsonl"
max_length = 64

[training]
output_dir = "out"
learning_rate = 1e-3
num_train_epochs = 1
per_device_train_batch_size = 2
gradient_accumulation_steps = 2
save_steps = 2
seed = 3

[dpo]
beta = 0.1
loss_type = ["sigmoid", "sft"]
loss_weights = [1.0, 0.5]
"#,
        r#"[model]
path = "model"

[data]
train = "lists.jsonl"

[training]
output_dir = "out"

[lipo]
loss_type = "lambda"
beta = 0.05
"#,
    ])
}

pub(crate) fn grpo_config_seeds() -> Vec<Vec<u8>> {
    text_seeds(&[r#"[model]
path = "world/policy"
output_dir = "out"

[data]
prompts = "world/prompts.jsonl"

[grpo]
learning_rate = 1e-2
lr_scheduler_type = "constant"
prompts_per_step = 4
seed = 7
max_steps = 6
save_steps = 3

[grpo.loss]
num_generations = 8
max_completion_length = 8

[[grpo.rewards]]
name = "toy_h_fraction"
weight = 1.0
"#])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds are valid configs, so mutations start deep inside the parsers.
    #[test]
    fn the_seeds_parse() {
        for seed in run_config_seeds() {
            let path = file_with("seed.toml", &seed);
            prefopt_train::load_run_config(&path, &[]).unwrap();
        }
        for seed in grpo_config_seeds() {
            let path = file_with("seed.toml", &seed);
            let table = prefopt_train::load_table(&path, &[]).unwrap();
            GrpoFile::from_table(table).unwrap().grpo.init().unwrap();
        }
    }
}
