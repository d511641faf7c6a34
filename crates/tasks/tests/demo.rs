//! The whole demo pipeline on a tiny configuration (a few dozen reviews, one optimizer step
//! or two per stage): every stage runs and the result files are written with finite numbers.
//! The numbers of a real run are in `docs/demo.md`.

use burn::prelude::Device;
use prefopt_tasks::{DemoConfig, DemoReport, KlEstimate, best_of_k_kl, run_demo, summary_table};

#[test]
fn smoke_config_runs_every_stage_and_writes_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let config = DemoConfig::smoke();
    let report = run_demo(&config, dir.path(), &Device::flex()).unwrap();

    let k = config.sampling.k;
    let m = config.sampling.eval_samples_per_prompt;
    let prompts = config.data.eval_prompts;
    let methods: Vec<&str> = report
        .methods
        .iter()
        .map(|m| m.row.method.as_str())
        .collect();
    assert_eq!(methods, ["SFT", "DPO", "LiPO-λ", "best-of-4"]);
    let n: Vec<usize> = report.methods.iter().map(|m| m.row.n).collect();
    assert_eq!(n, [prompts * m * k, prompts * m, prompts * m, prompts * m]);
    for method in &report.methods {
        let row = &method.row;
        assert!((-1.0..=1.0).contains(&row.mean_reward), "{row:?}");
        assert!(row.std_reward.is_finite() && method.reward_std_error.is_finite());
        assert!(
            method.mean_tokens >= 1.0 && method.mean_tokens <= 12.0,
            "{method:?}"
        );
    }
    assert_eq!(report.methods[0].row.kl_to_sft, None);
    for policy in &report.methods[1..3] {
        let kl = policy.row.kl_to_sft.unwrap();
        assert!(kl.is_finite(), "{policy:?}");
        assert!(
            matches!(policy.kl_estimate, KlEstimate::MonteCarlo { std_error } if std_error.is_finite())
        );
    }
    assert_eq!(report.methods[3].row.kl_to_sft, Some(best_of_k_kl(k)));
    // Best-of-K picks the best of the SFT pools, so it cannot be below their mean.
    assert!(report.methods[3].row.mean_reward >= report.methods[0].row.mean_reward);
    assert_eq!(report.preference_data.prompts, config.data.train_prompts);
    assert!(report.preference_data.pairs >= 1);
    assert!(
        report.preference_data.mean_chosen_reward > report.preference_data.mean_rejected_reward
    );

    // Files: the table, the JSON (round trip), the plot, the three stage models.
    let md = std::fs::read_to_string(dir.path().join("results.md")).unwrap();
    assert!(md.contains(&summary_table(&report.rows())));
    let json = std::fs::read_to_string(dir.path().join("results.json")).unwrap();
    let back: DemoReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.table, report.table);
    assert_eq!(back.methods.len(), 4);
    let png = std::fs::read(dir.path().join("reward_kl.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    for stage in ["sft", "dpo", "lipo"] {
        assert!(
            dir.path().join(stage).join("model.safetensors").is_file(),
            "{stage}"
        );
    }
    let stages: Vec<&str> = report.timings.iter().map(|t| t.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "prepare", "sft", "sample", "dpo", "lipo", "evaluate", "report"
        ]
    );
}

/// The rest of the LiPO family (`lipo_family`) adds one row each after LiPO-λ, trained on the
/// same lists from the SFT model and evaluated like the others.
#[test]
fn lipo_family_rows_run_after_lipo_lambda() {
    use prefopt_tasks::AlignObjective;
    let dir = tempfile::tempdir().unwrap();
    let config = DemoConfig {
        lipo_family: vec![
            AlignObjective::PairHinge,
            AlignObjective::ListMle,
            AlignObjective::Softmax,
            AlignObjective::PointMse,
        ],
        ..DemoConfig::smoke()
    };
    let report = run_demo(&config, dir.path(), &Device::flex()).unwrap();
    let methods: Vec<&str> = report
        .methods
        .iter()
        .map(|m| m.row.method.as_str())
        .collect();
    assert_eq!(
        methods,
        [
            "SFT",
            "DPO",
            "LiPO-λ",
            "LiPO pair-hinge",
            "LiPO list-MLE",
            "LiPO softmax",
            "LiPO point-MSE",
            "best-of-4"
        ]
    );
    let m = config.sampling.eval_samples_per_prompt * config.data.eval_prompts;
    for row in &report.methods[1..7] {
        assert_eq!(row.row.n, m, "{row:?}");
        assert!(row.row.kl_to_sft.unwrap().is_finite(), "{row:?}");
        assert!(row.row.mean_reward.is_finite(), "{row:?}");
    }
    for stage in [
        "lipo-pair-hinge",
        "lipo-list-mle",
        "lipo-softmax",
        "lipo-point-mse",
    ] {
        assert!(
            dir.path().join(stage).join("model.safetensors").is_file(),
            "{stage}"
        );
    }
    let stages: Vec<&str> = report.timings.iter().map(|t| t.stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "prepare",
            "sft",
            "sample",
            "dpo",
            "lipo",
            "lipo-pair-hinge",
            "lipo-list-mle",
            "lipo-softmax",
            "lipo-point-mse",
            "evaluate",
            "report"
        ]
    );
    let md = std::fs::read_to_string(dir.path().join("results.md")).unwrap();
    assert!(md.contains("LiPO point-MSE"), "{md}");
}

/// The KL estimate scores sampled ids with a full forward; at temperature 1 that must equal
/// the sum of the log-probs generation recorded step by step through the KV cache.
#[test]
fn sequence_logprobs_match_the_sampling_logprobs() {
    use prefopt_models::{CausalLm, GenerationConfig, LlamaConfig};
    let config = LlamaConfig::from_hf_str(
        r#"{"model_type":"llama","vocab_size":40,"hidden_size":16,"intermediate_size":32,
            "num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,
            "eos_token_id":1,"pad_token_id":2}"#,
        "<memory>",
    )
    .unwrap();
    let model = CausalLm::init_random(config, 3, &Device::flex()).unwrap();
    let prompts = vec![vec![0, 5, 6, 7], vec![0, 9], vec![0, 11, 12]];
    let generation = GenerationConfig::new()
        .with_max_new_tokens(6)
        .with_do_sample(true)
        .with_seed(5);
    let out = model.generate(&prompts, &generation).unwrap();
    let rows: Vec<(&[u32], &[u32])> = prompts
        .iter()
        .zip(&out.tokens)
        .map(|(p, c)| (p.as_slice(), c.as_slice()))
        .collect();
    for batch_rows in [1, 3] {
        let scored = prefopt_tasks::sequence_logprobs(&model, rows.clone(), 2, batch_rows).unwrap();
        for (s, lp) in scored.iter().zip(&out.logprobs) {
            let sampled: f64 = lp.iter().map(|&x| f64::from(x)).sum();
            assert!((s - sampled).abs() < 1e-4, "{s} vs {sampled}");
        }
    }
}
