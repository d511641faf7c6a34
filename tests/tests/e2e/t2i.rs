//! `prefopt t2i`: train a tiny pipeline, resume exactly, generate, check and score.

use std::path::{Path, PathBuf};

use crate::prefopt;

/// A tiny `t2i.toml` (1+1 blocks, width 32) writing into `out`.
pub(crate) fn tiny_config(dir: &Path, out: &Path) -> PathBuf {
    let path = dir.join("t2i.toml");
    let text = format!(
        r#"
[world]
width = 32
height = 32
big = 11
small = 7
max_objects = 4
gap = 2

[model]
num_layers = 1
num_single_layers = 1
num_attention_heads = 2
attention_head_dim = 16
axes_dims_rope = [4, 6, 6]
text_hidden_size = 32
text_layers = 1
text_heads = 2
joint_attention_dim = 32
pooled_projection_dim = 32

[training]
output_dir = "{}"
max_steps = 4
per_device_train_batch_size = 4
learning_rate = 1e-3
warmup_steps = 1
lr_scheduler_type = "cosine"
logging_steps = 1
save_steps = 2
seed = 3
"#,
        out.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn safetensors_bytes(run: &Path) -> Vec<u8> {
    let mut bytes =
        std::fs::read(run.join("transformer/diffusion_pytorch_model.safetensors")).unwrap();
    bytes.extend(std::fs::read(run.join("text_encoder/model.safetensors")).unwrap());
    bytes
}

pub(crate) fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn t2i_train_resume_generate_check_score() {
    let dir = tempfile::tempdir().unwrap();
    // An uninterrupted run.
    let full = dir.path().join("full");
    let config = tiny_config(dir.path(), &full);
    prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    let metrics = std::fs::read_to_string(full.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4, "{metrics}");

    // The same run stopped after step 2, then resumed.
    let split = dir.path().join("split");
    let config2 = tiny_config(dir.path(), &split);
    prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config2),
        "--set",
        "training.max_steps=4",
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    // Roll the output back to checkpoint-2 (what a run killed after step 2 leaves).
    for sub in ["checkpoint-4", "transformer", "text_encoder"] {
        std::fs::remove_dir_all(split.join(sub)).unwrap();
    }
    std::fs::remove_file(split.join("model_index.json")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    std::fs::write(split.join("metrics.jsonl"), lines[..2].join("\n") + "\n").unwrap();
    let err = prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config2),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("--resume"), "{err:#}");
    prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config2),
        "--resume",
        "--no-progress",
        "--no-plots",
    ])
    .unwrap();
    assert_eq!(
        safetensors_bytes(&full),
        safetensors_bytes(&split),
        "a resumed run must give the uninterrupted run's weights bit for bit"
    );
    assert_eq!(
        std::fs::read_to_string(split.join("metrics.jsonl")).unwrap(),
        metrics
    );

    // Suite → images → verdicts → UniGenBench score.
    let suite = dir.path().join("suite.csv");
    prefopt(&[
        "t2i",
        "suite",
        "--out",
        arg(&suite),
        "--prompts",
        "3",
        "--world",
        arg(&full),
    ])
    .unwrap();
    let images = dir.path().join("images");
    let gen_args = |out: &Path| {
        vec![
            "t2i".to_string(),
            "generate".into(),
            "--model".into(),
            arg(&full).into(),
            "--prompts".into(),
            arg(&suite).into(),
            "--out".into(),
            arg(out).into(),
            "--images-per-prompt".into(),
            "2".into(),
            "--steps".into(),
            "3".into(),
            "--seed".into(),
            "9".into(),
        ]
    };
    let args = gen_args(&images);
    prefopt(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    for name in ["0_0.png", "0_1.png", "2_1.png", "contact_sheet.png"] {
        assert!(images.join(name).is_file(), "{name} missing");
    }
    // Same seed, another batch size: the same images (noise is per image).
    let again = dir.path().join("again");
    let mut args = gen_args(&again);
    args.extend(["--batch-size".to_string(), "1".into()]);
    prefopt(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    assert_eq!(
        std::fs::read(images.join("1_1.png")).unwrap(),
        std::fs::read(again.join("1_1.png")).unwrap()
    );
    let verdicts = dir.path().join("verdicts.jsonl");
    prefopt(&[
        "t2i",
        "check",
        "--world",
        arg(&full),
        "--suite",
        arg(&suite),
        "--images",
        arg(&images),
        "--images-per-prompt",
        "2",
        "--verdicts",
        arg(&verdicts),
    ])
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&verdicts).unwrap().lines().count(),
        6
    );
    prefopt(&[
        "bench",
        "unigenbench",
        "score",
        "--suite",
        arg(&suite),
        "--verdicts",
        arg(&verdicts),
        "--images-per-prompt",
        "2",
    ])
    .unwrap();
}

#[test]
fn t2i_bad_input_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = tiny_config(dir.path(), &out);
    // A key outside the schema.
    let err = prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config),
        "--set",
        "model.depth=3",
        "--no-progress",
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("depth"), "{err:#}");
    // RoPE axes that do not add up to the head width.
    let err = prefopt(&[
        "t2i",
        "train",
        "--config",
        arg(&config),
        "--set",
        "model.axes_dims_rope=[4, 4, 4]",
        "--no-progress",
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("axes_dims_rope"), "{err:#}");
    // A caption outside the world's grammar, with its line number.
    let prompts = dir.path().join("prompts.txt");
    std::fs::write(&prompts, "a red square\na purple elephant\n").unwrap();
    let err = prefopt(&[
        "t2i",
        "generate",
        "--model",
        arg(&out),
        "--prompts",
        arg(&prompts),
        "--out",
        arg(&dir.path().join("img")),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("prompts.txt:2"), "{err:#}");
}

/// A `prefopt t2i train-judges` config for a tiny base: 4 + 2 captions, 3 images each, a tiny
/// network, `steps` updates.
pub(crate) fn tiny_judges_toml(base: &Path, out: &Path, steps: usize) -> String {
    format!(
        r#"
base_model = "{}"
output_dir = "{}"

[data]
train_prompts = 4
held_out_prompts = 2
images_per_prompt = 3
sampling_steps = 2
batch_size = 8

[net]
channels = 4
text_dim = 4
hidden = 8

[training]
steps = {steps}
batch_size = 4
"#,
        base.display(),
        out.display()
    )
}
