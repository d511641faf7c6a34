//! The real-model run's task: the reward, the questions and their split, the config, and an
//! end-to-end smoke of the pipeline on a tiny Llama (a tokenizer trained on the questions, a
//! few SFT steps so the base answers correctly some of the time). The real run on
//! SmolLM2-135M-Instruct and its numbers are in `docs/real-models.md`.

use std::collections::HashSet;

use burn::prelude::Device;
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_tasks::{
    AlignMethodConfig, AlignObjective, BASE_METHOD, ConciseAnswerReward, FineTuning,
    QuestionFamily, RealModelConfig, RealModelReport, TinyLlamaConfig, TokenizerTrainingConfig,
    question_pool, render_prompt, run_real_model, split_questions, train_tokenizer, win_rate,
    write_jsonl,
};
use prefopt_train::{
    DataSection, LrSchedulerType, Method, ModelSection, RunConfig, TrainOptions, TrainerConfig,
    train,
};

fn capital_of_france() -> prefopt_tasks::Question {
    question_pool(7)
        .into_iter()
        .find(|q| q.question == "What is the capital of France?")
        .unwrap()
}

#[test]
fn correct_and_concise_beats_correct_and_verbose_beats_wrong() {
    let r = ConciseAnswerReward::default();
    let q = capital_of_france();
    let concise = r.score(&q, "Paris.");
    let sentence = r.score(&q, "The capital of France is Paris.");
    let verbose = r.score(
        &q,
        "That is a great question! France is a country in Western Europe, and its capital \
         and largest city is Paris, which is famous for the Eiffel Tower.",
    );
    let wrong = r.score(&q, "Lyon.");
    assert_eq!(concise, 1.0);
    assert_eq!(sentence, 1.0); // six words: still concise
    assert!(verbose > 0.0 && verbose < 0.5, "{verbose}");
    assert_eq!(wrong, 0.0);
    assert!(concise > verbose && verbose > wrong);
}

#[test]
fn empty_off_topic_and_hedging_answers_score_zero() {
    let r = ConciseAnswerReward::default();
    let q = capital_of_france();
    for completion in [
        "",
        "   ",
        "I like turtles.",
        "Sure!",
        "Parisian",                         // not the word Paris
        "Paris, London or Berlin.",         // hedging over capitals
        "It is either Paris or Madrid.",    // hedging
        "The capital of France is lovely.", // no answer
    ] {
        assert_eq!(r.score(&q, completion), 0.0, "{completion:?}");
    }
}

#[test]
fn numbers_are_matched_as_whole_words_after_normalisation() {
    let r = ConciseAnswerReward::default();
    let pool = question_pool(7);
    let q = pool
        .iter()
        .find(|q| q.question == "How many grams are in 3 kilograms?")
        .unwrap();
    assert_eq!(q.answers, ["3000"]);
    assert_eq!(r.score(q, "3,000 grams."), 1.0);
    assert_eq!(r.score(q, "3000"), 1.0);
    assert_eq!(r.score(q, "30000"), 0.0);
    assert_eq!(r.score(q, "300"), 0.0);
    let sum = pool
        .iter()
        .find(|q| q.question == "What is 7 + 2?")
        .unwrap();
    assert_eq!(r.score(sum, "7 + 2 = 9"), 1.0);
    assert_eq!(r.score(sum, "19"), 0.0);
    // Conciseness: 8 words keep the reward, 16 halve it.
    let eight = "the answer you are looking for is 9";
    assert_eq!(r.score(sum, eight), 1.0);
    let sixteen = format!("{eight} {eight}");
    assert_eq!(r.score(sum, &sixteen), 0.5);
}

#[test]
fn questions_are_deterministic_and_the_split_is_disjoint() {
    assert_eq!(question_pool(7), question_pool(7));
    assert_ne!(question_pool(7), question_pool(8));
    let pool = question_pool(7);
    let distinct: HashSet<&str> = pool.iter().map(|q| q.question.as_str()).collect();
    assert_eq!(distinct.len(), pool.len(), "duplicate questions");
    assert!(pool.len() >= 400, "{}", pool.len());
    for q in &pool {
        assert!(!q.answers.is_empty());
        // A question's own answer is never one of its distractors.
        for a in &q.answers {
            assert!(!q.distractors.contains(a), "{q:?}");
        }
    }

    let (train, eval) = split_questions(7, 300, 100).unwrap();
    assert_eq!((train.len(), eval.len()), (300, 100));
    assert_eq!(
        split_questions(7, 300, 100).unwrap(),
        (train.clone(), eval.clone())
    );
    let eval_set: HashSet<&str> = eval.iter().map(|q| q.question.as_str()).collect();
    assert!(
        train
            .iter()
            .all(|q| !eval_set.contains(q.question.as_str()))
    );
    // Every family is in both sets; the held-out set does not depend on the training size.
    for family in [
        QuestionFamily::Capital,
        QuestionFamily::Arithmetic,
        QuestionFamily::UnitConversion,
        QuestionFamily::Antonym,
        QuestionFamily::Colour,
    ] {
        assert!(train.iter().any(|q| q.family == family), "{family:?}");
        assert!(eval.iter().any(|q| q.family == family), "{family:?}");
    }
    assert_eq!(split_questions(7, 10, 100).unwrap().1, eval);
    let err = split_questions(7, 10_000, 100).unwrap_err();
    assert!(err.to_string().contains("train_prompts"), "{err}");
}

#[test]
fn win_rate_counts_ties_as_half() {
    // Two prompts; the policy has 1 sample each, the base 2.
    assert_eq!(win_rate(&[1.0, 0.0], &[0.5, 0.5, 0.0, 0.0], 2), 0.75);
    assert_eq!(win_rate(&[0.0, 0.0], &[1.0, 1.0, 1.0, 1.0], 2), 0.0);
    assert!(win_rate(&[], &[], 0).is_nan());
}

#[test]
fn config_defaults_round_trip_and_bad_values_are_named() {
    let config = RealModelConfig::default();
    config.validate().unwrap();
    let text = toml::to_string(&config).unwrap();
    assert_eq!(RealModelConfig::from_toml_str(&text).unwrap(), config);
    let names: Vec<String> = config.methods.iter().map(AlignMethodConfig::name).collect();
    for expected in ["DPO (LoRA)", "LiPO-λ (LoRA)", "DPO (full)", "LiPO-λ (full)"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    let err = RealModelConfig::from_toml_str("[sampling]\nk = 1\n").unwrap_err();
    assert!(err.to_string().contains("sampling.k"), "{err}");
    let err = RealModelConfig::from_toml_str("[reward]\nmax_wrods = 3\n").unwrap_err();
    assert!(err.to_string().contains("max_wrods"), "{err}");
    let err = RealModelConfig::from_toml_str(
        "[[methods]]\nobjective = \"dpo\"\ntuning = \"lora\"\nstage = { learning_rate = -1.0 }\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("methods[0].stage.learning_rate"),
        "{err}"
    );
    let config = RealModelConfig::load(None, Some("m.gguf".as_ref()), Some(3)).unwrap();
    assert_eq!((config.seed, config.model.to_str()), (3, Some("m.gguf")));
}

/// A tiny Llama with a tokenizer trained on the questions, SFT'd a few steps on a mix of
/// concise and verbose correct answers, so its samples differ in reward.
fn tiny_base(dir: &std::path::Path, seed: u64) -> std::path::PathBuf {
    let model_dir = dir.join("base");
    let pool = question_pool(seed);
    let verbose = |a: &str| format!(" Well, the answer to this question is {a}, as you may know.");
    let mut texts: Vec<String> = pool.iter().map(|q| q.question.clone()).collect();
    texts.extend(pool.iter().map(|q| verbose(&q.answers[0])));
    let tiny = TinyLlamaConfig {
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        num_key_value_heads: 2,
        ..TinyLlamaConfig::default()
    };
    let tokenizer = train_tokenizer(
        texts,
        &TokenizerTrainingConfig {
            vocab_size: 400,
            model_max_length: tiny.max_position_embeddings,
            ..Default::default()
        },
        &model_dir,
    )
    .unwrap();
    let config_path = tiny
        .write(&model_dir, tokenizer.vocab_size, &tokenizer.special)
        .unwrap();
    let device = Device::flex();
    let llama = LlamaConfig::from_hf_json(&config_path).unwrap();
    CausalLm::init_random(llama, seed, &device)
        .unwrap()
        .save_hf(&model_dir)
        .unwrap();

    let loaded = prefopt_data::Tokenizer::from_dir(&model_dir).unwrap();
    // The questions the pipeline samples (the smoke config's split).
    let (train_questions, _) = split_questions(seed, 24, 4).unwrap();
    let rows: Vec<serde_json::Value> = train_questions
        .iter()
        .flat_map(|q| {
            let prompt = render_prompt(&loaded, &q.question).unwrap();
            let answer = &q.answers[0];
            [
                serde_json::json!({ "prompt": prompt, "completion": format!(" {answer}.") }),
                serde_json::json!({ "prompt": prompt, "completion": verbose(answer) }),
            ]
        })
        .collect();
    let sft_file = dir.join("sft.jsonl");
    write_jsonl(&sft_file, rows).unwrap();
    let sft_dir = dir.join("sft");
    let config = RunConfig {
        model: ModelSection {
            path: model_dir.clone(),
            ..ModelSection::default()
        },
        data: DataSection {
            train: sft_file,
            max_length: Some(96),
            ..DataSection::default()
        },
        training: TrainerConfig {
            output_dir: sft_dir.clone(),
            learning_rate: 1e-2,
            lr_scheduler_type: LrSchedulerType::Constant,
            num_train_epochs: 40.0,
            per_device_train_batch_size: 16,
            seed,
            save_steps: u64::MAX / 2,
            ..TrainerConfig::default()
        },
        ..RunConfig::default()
    };
    let options = TrainOptions {
        resume: false,
        progress: false,
        no_plots: true,
    };
    train(config.init(Method::Sft).unwrap(), &device, &options).unwrap();
    sft_dir
}

#[test]
fn smoke_pipeline_on_a_tiny_llama_writes_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_base(dir.path(), 7);
    let mut config = RealModelConfig::from_toml_str(
        r#"
        seed = 7
        [data]
        train_prompts = 24
        eval_prompts = 4
        [sampling]
        k = 4
        max_new_tokens = 16
        eval_samples_per_prompt = 2
        batch_rows = 32
        [lora]
        r = 2
        lora_alpha = 4.0
        target_modules = ["q_proj", "v_proj"]
        "#,
    )
    .unwrap();
    config.model = base;
    // Two LoRA rows and one full row: every kind of stage, two steps or fewer each.
    let stage = |objective, tuning| AlignMethodConfig {
        objective,
        tuning,
        stage: prefopt_tasks::AlignStageConfig {
            batch_size: 16,
            learning_rate: 1e-3,
            ..Default::default()
        },
    };
    config.methods = vec![
        stage(AlignObjective::Dpo, FineTuning::Lora),
        stage(AlignObjective::ListMle, FineTuning::Lora),
        stage(AlignObjective::LipoLambda, FineTuning::Full),
    ];
    let out = dir.path().join("out");
    let report = run_real_model(&config, &out, &Device::flex()).unwrap();

    let names: Vec<&str> = report
        .methods
        .iter()
        .map(|m| m.summary.row.method.as_str())
        .collect();
    assert_eq!(
        names,
        [
            BASE_METHOD,
            "DPO (LoRA)",
            "LiPO list-MLE (LoRA)",
            "LiPO-λ (full)",
            "best-of-4"
        ]
    );
    let n: Vec<usize> = report.methods.iter().map(|m| m.summary.row.n).collect();
    assert_eq!(n, [4 * 2 * 4, 4 * 2, 4 * 2, 4 * 2, 4 * 2]);
    assert!(report.preference_data.pairs >= 1);
    assert!(
        report.preference_data.mean_chosen_reward > report.preference_data.mean_rejected_reward
    );
    for row in &report.methods {
        let r = &row.summary.row;
        assert!((0.0..=1.0).contains(&r.mean_reward), "{r:?}");
        assert!((0.0..=1.0).contains(&row.win_rate), "{row:?}");
    }
    assert_eq!(report.methods[0].win_rate, 0.5);
    // Best-of-K picks the best of the base's own pools, so it is never below the base.
    assert!(report.methods[4].summary.row.mean_reward >= report.methods[0].summary.row.mean_reward);
    for row in &report.methods[1..4] {
        assert!(row.summary.row.kl_to_sft.unwrap().is_finite(), "{row:?}");
        let cost = row.training.as_ref().unwrap();
        assert!(cost.steps >= 1 && cost.seconds_per_step > 0.0, "{cost:?}");
    }
    for sub in ["dpo-lora", "list-mle-lora", "lipo-lambda-full"] {
        assert!(out.join(sub).join("model.safetensors").is_file(), "{sub}");
    }
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    let back: RealModelReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.table, report.table);
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains(&report.table));
    let png = std::fs::read(out.join("reward_kl.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}
