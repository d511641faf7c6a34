//! The list of fuzz targets: a name, the function that parses one input, and its seeds.

/// One parser under fuzzing.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name `cargo xtask fuzz --target` takes.
    pub name: &'static str,
    /// Parses one input; must neither panic nor hang, whatever the bytes.
    pub run: fn(&[u8]),
    /// Valid (or nearly valid) inputs that [`crate::mutate`] starts from.
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: [Target; 21] = [
    Target {
        name: "gguf",
        run: crate::gguf,
        seeds: crate::gguf::seeds,
    },
    Target {
        name: "safetensors",
        run: crate::safetensors,
        seeds: crate::safetensors::seeds,
    },
    Target {
        name: "jsonl_preference",
        run: crate::jsonl_preference,
        seeds: crate::jsonl::preference_seeds,
    },
    Target {
        name: "jsonl_ranked",
        run: crate::jsonl_ranked,
        seeds: crate::jsonl::ranked_seeds,
    },
    Target {
        name: "jsonl_sft",
        run: crate::jsonl_sft,
        seeds: crate::jsonl::sft_seeds,
    },
    Target {
        name: "jsonl_prompts",
        run: crate::jsonl_prompts,
        seeds: crate::jsonl::prompt_seeds,
    },
    Target {
        name: "jsonl_lamp",
        run: crate::jsonl_lamp,
        seeds: crate::jsonl::lamp_seeds,
    },
    Target {
        name: "jsonl_amazon",
        run: crate::jsonl_amazon,
        seeds: crate::jsonl::amazon_seeds,
    },
    Target {
        name: "unigenbench_suite",
        run: crate::unigenbench_suite,
        seeds: crate::unigenbench::suite_seeds,
    },
    Target {
        name: "unigenbench_verdicts",
        run: crate::unigenbench_verdicts,
        seeds: crate::unigenbench::verdict_seeds,
    },
    Target {
        name: "run_config",
        run: crate::run_config,
        seeds: crate::run_config::run_config_seeds,
    },
    Target {
        name: "grpo_config",
        run: crate::grpo_config,
        seeds: crate::run_config::grpo_config_seeds,
    },
    Target {
        name: "chat_template",
        run: crate::chat_template,
        seeds: crate::chat_template::seeds,
    },
    Target {
        name: "bench_answer",
        run: crate::bench_answer,
        seeds: crate::judge_answer::bench_seeds,
    },
    Target {
        name: "llm_judge_answer",
        run: crate::llm_judge_answer,
        seeds: crate::judge_answer::llm_judge_seeds,
    },
    Target {
        name: "chat_reply",
        run: crate::chat_reply,
        seeds: crate::chat_reply::seeds,
    },
    Target {
        name: "serve_request",
        run: crate::serve_request,
        seeds: crate::serve_request::seeds,
    },
    Target {
        name: "shapes_caption",
        run: crate::shapes_caption,
        seeds: crate::text_to_image::caption_seeds,
    },
    Target {
        name: "flux_config",
        run: crate::flux_config,
        seeds: crate::text_to_image::flux_config_seeds,
    },
    Target {
        name: "t2i_config",
        run: crate::t2i_config,
        seeds: crate::text_to_image::t2i_config_seeds,
    },
    Target {
        name: "t2i_grpo_config",
        run: crate::t2i_grpo_config,
        seeds: crate::text_to_image::t2i_grpo_config_seeds,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// Seeds given as text.
pub(crate) fn text_seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}
