//! The shapes world's checker as image rewards (pointwise and pairwise), and the
//! `prefopt t2i grpo` config.

use burn::prelude::Device;
use prefopt_core::SplitMix64;
use prefopt_rl::{FlowGrpoEnv, PairwiseJudge, RewardFn, Verdict};
use prefopt_tasks::shapes::{
    BACKGROUND, MAX_CAPTION_WORDS, RgbImage, Split, World, WorldConfig, WorldTokenizer,
    perturbations, render,
};
use prefopt_tasks::shapes_grpo::{
    CheckerJudge, CheckerPassRate, JudgeFitSection, JudgeNetConfig, JudgeObjective, JudgeSample,
    JudgeTrainingConfig, LearnedScorer, MllmJudgeSpec, ShapesGrpoConfig, ShapesGrpoEnv,
    ShapesRewardKind, ShapesRewardSpec, build_rewards, fit_both, fit_judge_net, label_samples,
    labelled_pairs,
};
use prefopt_testkit::{Reply, Server};

fn pairs(n: usize) -> Vec<(String, RgbImage)> {
    let world = World::new(WorldConfig::default()).unwrap();
    world
        .training_pairs(4)
        .take(n)
        .map(|p| {
            let p = p.unwrap();
            (p.caption, p.image)
        })
        .collect()
}

#[test]
fn ground_truth_beats_a_blank_image() {
    let config = WorldConfig::default();
    let reward = CheckerPassRate::new("pass", config).unwrap();
    let judge = CheckerJudge::new(config, 0.0).unwrap();
    let blank = RgbImage::filled(config.width, config.height, [255, 255, 255]);
    let pairs = pairs(40);
    let prompts: Vec<&str> = pairs.iter().map(|(c, _)| c.as_str()).collect();
    let truth: Vec<&RgbImage> = pairs.iter().map(|(_, i)| i).collect();
    let scores = reward.score(&prompts, &truth).unwrap();
    let perfect = scores.iter().filter(|s| **s == Some(1.0)).count();
    assert!(perfect >= 39, "ground truth passes everything: {scores:?}");
    let blanks = vec![&blank; pairs.len()];
    let blank_scores = reward.score(&prompts, &blanks).unwrap();
    let mut decided = 0;
    for ((caption, image), (s_true, s_blank)) in pairs.iter().zip(scores.iter().zip(&blank_scores))
    {
        assert!((0.0..=1.0).contains(&s_blank.unwrap()));
        let v = judge.judge(caption, image, &blank).unwrap();
        let w = judge.judge(caption, &blank, image).unwrap();
        assert_eq!(v, w.flipped(), "the checker judge has no position bias");
        if s_true > s_blank {
            assert_eq!(v, Verdict::First, "{caption}");
            decided += 1;
        } else {
            assert_eq!(v, Verdict::Tie, "{caption}");
        }
        assert_eq!(judge.judge(caption, image, image).unwrap(), Verdict::Tie);
    }
    assert!(
        decided > 30,
        "most captions fail on a blank image ({decided})"
    );
    // With a tie band, gaps inside it tie.
    let lenient = CheckerJudge::new(config, 0.5).unwrap();
    for ((caption, image), (s_true, s_blank)) in pairs.iter().zip(scores.iter().zip(&blank_scores))
    {
        let gap = s_true.unwrap() - s_blank.unwrap();
        let want = if gap > 0.5 {
            Verdict::First
        } else {
            Verdict::Tie
        };
        assert_eq!(
            lenient.judge(caption, image, &blank).unwrap(),
            want,
            "{caption}"
        );
    }
    // A caption outside the grammar is an error, not a score.
    assert!(reward.score(&["a purple dragon"], &[&blank]).is_err());
}

#[test]
fn reward_set_mixes_pass_rate_and_win_rate() {
    let config = WorldConfig::default();
    let specs = vec![
        ShapesRewardSpec::default(),
        ShapesRewardSpec {
            name: "pass".into(),
            weight: 0.5,
            kind: ShapesRewardKind::CheckerPassRate,
            tie_band: 0.0,
            ..Default::default()
        },
    ];
    let device = Device::flex();
    let set = build_rewards(&specs, config, 4, &device).unwrap();
    let (caption, image) = pairs(1).remove(0);
    let blank = RgbImage::filled(config.width, config.height, [255, 255, 255]);
    let prompts = [caption.as_str(); 4];
    let images = [&image, &blank, &blank, &image];
    let columns = set.score(&prompts, &images).unwrap();
    let win: Vec<f64> = columns[0].values.iter().map(|v| v.unwrap()).collect();
    assert_eq!(win, vec![5.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 5.0 / 6.0]);
    assert_eq!(columns[1].weight, 0.5);
    let mut dup = specs.clone();
    dup[1].name = dup[0].name.clone();
    assert!(build_rewards(&dup, config, 4, &device).is_err());
}

#[test]
fn config_defaults_errors_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grpo.toml");
    std::fs::write(
        &path,
        "base_model = \"base\"\n[training]\noutput_dir = \"out\"\nmax_steps = 3\n\
         [grpo]\ngroup_size = 4\n[[rewards]]\nkind = \"checker_pass_rate\"\nname = \"p\"\n",
    )
    .unwrap();
    let config = ShapesGrpoConfig::load(&path, &["grpo.prompts_per_step=3".into()]).unwrap();
    // Keys left out of a given table keep the Pref-GRPO defaults.
    assert_eq!(config.training.learning_rate, 1e-5);
    assert_eq!(config.training.weight_decay, 1e-4);
    assert_eq!(config.training.gradient_accumulation_steps, 4);
    assert_eq!(config.grpo.clip_range, 1e-4);
    assert_eq!(config.grpo.prompts_per_step, 3);
    assert_eq!(config.base_model, dir.path().join("base"));
    for (text, key) in [
        ("[grpo]\ngroup_sise = 4\n", "group_sise"),
        ("[training]\nlearnig_rate = 1.0\n", "learnig_rate"),
        ("[[rewards]]\nname = \"x\"\nkind = \"clip\"\n", "clip"),
        ("[[rewards]]\nname = \"x\"\ntie_band = 1.5\n", "tie_band"),
        ("[grpo]\ngroup_size = 1\n", "group_size"),
        ("[prompts]\ntrain_prompts = 0\n", "train_prompts"),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = ShapesGrpoConfig::load(&path, &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }

    let mut config = ShapesGrpoConfig::default();
    config.prompts.train_prompts = 5;
    config.prompts.eval_prompts = 0;
    let world = World::new(WorldConfig::default()).unwrap();
    let device = Device::flex();
    let env = ShapesGrpoEnv::new(&config, world, dir.path().join("eval"), &device).unwrap();
    assert_eq!(env.prompts().len(), 5);
    assert!(env.prompts().iter().all(|p| !p.ids.is_empty()));
    let (w, h) = (WorldConfig::default().width, WorldConfig::default().height);
    let images = env.decode(&vec![0.0; 2 * 3 * w * h], [2, 3, h, w]).unwrap();
    assert_eq!(images.len(), 2);
    assert!(env.decode(&[0.0; 7], [2, 3, h, w]).is_err());
}

/// Checker-labelled samples with varied pass rates, without a trained pipeline: per caption
/// its ground-truth render, renders of two perturbed captions, and an empty image.
fn labelled_renders(captions: usize, seed: u64) -> Vec<JudgeSample> {
    let config = WorldConfig::default();
    let world = World::new(config).unwrap();
    let mut rng = SplitMix64::new(seed);
    let mut rows = Vec::new();
    for (i, caption) in world
        .captions(seed, captions, Split::Train, true)
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let text = caption.text();
        rows.push((
            i,
            text.clone(),
            render(&caption, &config, &mut rng).unwrap().image,
        ));
        for (_, other) in perturbations(&caption).into_iter().take(2) {
            rows.push((
                i,
                text.clone(),
                render(&other, &config, &mut rng).unwrap().image,
            ));
        }
        rows.push((
            i,
            text,
            RgbImage::filled(config.width, config.height, BACKGROUND),
        ));
    }
    label_samples(config, rows).unwrap()
}

fn tiny_net() -> JudgeNetConfig {
    let config = WorldConfig::default();
    JudgeNetConfig::new(
        config.width,
        config.height,
        WorldTokenizer::new().vocab_size(),
        MAX_CAPTION_WORDS,
    )
    .with_channels(8)
    .with_text_dim(8)
    .with_hidden(16)
}

#[test]
fn learned_scorer_and_judge_fit_beat_chance_and_load_as_rewards() {
    let samples = labelled_renders(64, 5);
    let split = samples.iter().position(|s| s.prompt == 48).unwrap();
    let (train, held_out) = samples.split_at(split);
    let rates: Vec<f64> = samples.iter().map(|s| s.pass_rate).collect();
    assert!(rates.contains(&1.0) && rates.iter().any(|r| *r < 0.5));
    let pairs = labelled_pairs(train, 0.0);
    assert_eq!(pairs.len(), 48 * 6, "all within-caption pairs of 4 images");
    let fit = JudgeFitSection {
        steps: 200,
        batch_size: 16,
        learning_rate: 3e-3,
        ..JudgeFitSection::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let net = tiny_net();
    let (scorer, judge) = fit_both(&net, train, held_out, &fit, dir.path(), &device).unwrap();
    assert_eq!(
        scorer.num_parameters, judge.num_parameters,
        "the same capacity"
    );
    for report in [&scorer, &judge] {
        assert!(
            report.loss_last < report.loss_first - 0.05,
            "{:?}: {} → {}",
            report.objective,
            report.loss_first,
            report.loss_last
        );
        assert!(report.held_out.decided_pairs >= 50, "{report:?}");
        assert!(
            report.held_out.pair_accuracy > 0.65,
            "{:?} beats chance (½) on held-out pairs: {report:?}",
            report.objective
        );
        assert!(report.path.join("model.safetensors").is_file());
    }
    assert!(scorer.held_out.pearson > 0.3, "{scorer:?}");

    // Both load as GRPO rewards; the judge's win rates average ½ per group.
    let specs = vec![
        ShapesRewardSpec {
            name: "scorer".into(),
            kind: ShapesRewardKind::LearnedScorer,
            path: Some(scorer.path.clone()),
            ..Default::default()
        },
        ShapesRewardSpec {
            name: "judge".into(),
            kind: ShapesRewardKind::LearnedJudgeWinRate,
            path: Some(judge.path.clone()),
            ..Default::default()
        },
    ];
    let set = build_rewards(&specs, WorldConfig::default(), 4, &device).unwrap();
    let group = &held_out[..4];
    let prompts: Vec<&str> = group.iter().map(|s| s.caption.as_str()).collect();
    let images: Vec<&RgbImage> = group.iter().map(|s| &s.image).collect();
    let columns = set.score(&prompts, &images).unwrap();
    let scores: Vec<f64> = columns[0].values.iter().map(|v| v.unwrap()).collect();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
    let wins: Vec<f64> = columns[1].values.iter().map(|v| v.unwrap()).collect();
    assert!(
        (wins.iter().sum::<f64>() / 4.0 - 0.5).abs() < 1e-9,
        "{wins:?}"
    );
    // The loaded scorer gives what the fitted network gave.
    let loaded = LearnedScorer::load(
        "s",
        &scorer.path,
        (WorldConfig::default().width, WorldConfig::default().height),
        &device,
    )
    .unwrap();
    let again = loaded.score(&prompts, &images).unwrap();
    assert_eq!(again, columns[0].values);

    // A directory of the other objective is refused, naming the kind it is for.
    let mut swapped = specs.clone();
    swapped[0].path = Some(judge.path.clone());
    let err = build_rewards(&swapped, WorldConfig::default(), 4, &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("learned_judge_win_rate"), "{err}");
}

#[test]
fn judge_data_pairs_follow_the_tie_band() {
    let samples = labelled_renders(3, 9);
    for band in [0.0, 0.4] {
        for p in labelled_pairs(&samples, band) {
            let (a, b) = (&samples[p.first], &samples[p.second]);
            assert_eq!(a.prompt, b.prompt);
            let gap = a.pass_rate - b.pass_rate;
            let want = if gap.abs() <= band {
                0.5
            } else if gap > 0.0 {
                1.0
            } else {
                0.0
            };
            assert_eq!(p.target, want);
        }
    }
}

fn image_uris(body: &serde_json::Value) -> Vec<String> {
    body["messages"][0]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "image_url")
        .map(|c| c["image_url"]["url"].as_str().unwrap().to_owned())
        .collect()
}

fn mllm_spec(server: &Server) -> MllmJudgeSpec {
    MllmJudgeSpec {
        base_url: server.url(),
        max_retries: 2,
        initial_backoff_ms: 1,
        max_backoff_ms: 2,
        timeout_ms: 5_000,
        workers: 2,
        ..MllmJudgeSpec::default()
    }
}

#[test]
fn mllm_judge_request_parsing_and_failures() {
    let config = WorldConfig::default();
    let (caption, truth) = pairs(1).remove(0);
    let blank = RgbImage::filled(config.width, config.height, BACKGROUND);
    // The judge prefers the image whose JPEG is larger (the one with shapes); request 1 gets a
    // malformed answer, request 0 a 500 first.
    let server = Server::start(true, None, |r| {
        if r.n == 0 {
            return Reply::Status(500, "overloaded".into());
        }
        if r.n == 2 {
            return Reply::Answer("<think>hmm</think> Image 1 is better".into());
        }
        let uris = image_uris(&r.json());
        let better = if uris[0].len() >= uris[1].len() { 1 } else { 2 };
        Reply::Answer(format!(
            "<think>scores</think><answer>Image {better} is better</answer>"
        ))
    });
    let judge = mllm_spec(&server).init().unwrap();
    assert_eq!(
        judge.judge(&caption, &truth, &blank).unwrap(),
        Verdict::First
    );
    assert_eq!(
        judge.judge(&caption, &truth, &blank).unwrap(),
        Verdict::Tie,
        "a malformed answer is a tie"
    );
    assert_eq!(
        judge.judge(&caption, &blank, &truth).unwrap(),
        Verdict::Second
    );
    let counters: std::collections::BTreeMap<_, _> = judge.counters().into_iter().collect();
    assert_eq!(counters["judge/unparsable"], 1);
    assert_eq!(counters["judge/retries"], 1);
    assert_eq!(counters["judge/attempts"], 4);

    let requests = server.recorded();
    let body = requests[1].json();
    assert_eq!(requests[1].path, "/v1/chat/completions");
    assert_eq!(body["model"], "UnifiedReward");
    assert_eq!(body["max_tokens"], 2048);
    let content = body["messages"][0]["content"].as_array().unwrap();
    assert_eq!(content.len(), 3, "[image_1, image_2, text]");
    assert_eq!(content[2]["type"], "text");
    let text = content[2]["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Text Caption: [{caption}]")),
        "{text}"
    );
    assert!(text.contains("<answer>"), "{text}");
    let uris = image_uris(&body);
    assert_eq!(uris.len(), 2);
    for uri in &uris {
        let b64 = uri.strip_prefix("data:image/jpeg;base64,").expect(uri);
        assert!(b64.len() > 100);
    }

    // Through the win-rate reward: a group of 4, all C(4, 2) pairs, mean ½.
    let specs = vec![ShapesRewardSpec {
        name: "mllm".into(),
        kind: ShapesRewardKind::MllmJudgeWinRate,
        judge: Some(mllm_spec(&server)),
        ..Default::default()
    }];
    let set = build_rewards(&specs, config, 4, &Device::flex()).unwrap();
    let before = server.arrivals();
    let images = [&truth, &blank, &blank, &truth];
    let columns = set.score(&[caption.as_str(); 4], &images).unwrap();
    assert_eq!(server.arrivals() - before, 6);
    let wins: Vec<f64> = columns[0].values.iter().map(|v| v.unwrap()).collect();
    // Equal-length images go to image 1 (the lower index): 0 beats 1, 2, 3; 1 beats 2; 3
    // beats 1 and 2.
    assert_eq!(wins, vec![1.0, 1.0 / 3.0, 0.0, 2.0 / 3.0]);

    // A failing endpoint is an error after the retries, never a dropped score.
    let dead = Server::start(true, None, |_| Reply::Status(503, "down".into()));
    let judge = mllm_spec(&dead).init().unwrap();
    let err = judge.judge(&caption, &truth, &blank).unwrap_err();
    assert!(
        matches!(err, prefopt_rl::Error::Endpoint { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(dead.arrivals(), 3);
    let specs = vec![ShapesRewardSpec {
        judge: Some(mllm_spec(&dead)),
        ..specs[0].clone()
    }];
    let set = build_rewards(&specs, config, 4, &Device::flex()).unwrap();
    assert!(set.score(&[caption.as_str(); 4], &images).is_err());
}

#[test]
fn new_reward_keys_are_validated_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grpo.toml");
    for (text, key) in [
        (
            "[[rewards]]\nname = \"x\"\nkind = \"learned_scorer\"\n",
            "path",
        ),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"learned_judge_win_rate\"\n",
            "path",
        ),
        ("[[rewards]]\nname = \"x\"\npath = \"judge\"\n", "path"),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"mllm_judge_win_rate\"\n",
            "judge",
        ),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"learned_judge_win_rate\"\npath = \"j\"\ntie_band = 0.6\n",
            "tie_band",
        ),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"learned_scorer\"\npath = \"j\"\ntie_band = 0.1\n",
            "tie_band",
        ),
        (
            "[[rewards]]\nname = \"x\"\n[rewards.judge]\nmodel = \"m\"\n",
            "judge",
        ),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"mllm_judge_win_rate\"\ntie_band = 0.2\n[rewards.judge]\nmodel = \"m\"\n",
            "tie_band",
        ),
        (
            "[[rewards]]\nname = \"x\"\nkind = \"mllm_judge_win_rate\"\n[rewards.judge]\nmodle = \"m\"\n",
            "modle",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = ShapesGrpoConfig::load(&path, &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    // Settings of the judge itself, named `judge.<key>`.
    for (spec, key) in [
        (
            MllmJudgeSpec {
                model: String::new(),
                ..Default::default()
            },
            "judge.model",
        ),
        (
            MllmJudgeSpec {
                template: "no placeholder".into(),
                ..Default::default()
            },
            "judge.template",
        ),
        (
            MllmJudgeSpec {
                jpeg_quality: 0,
                ..Default::default()
            },
            "judge.jpeg_quality",
        ),
        (
            MllmJudgeSpec {
                base_url: "localhost:8080".into(),
                ..Default::default()
            },
            "judge.base_url",
        ),
        (
            MllmJudgeSpec {
                api_key_env: Some("PREFOPT_TASKS_SURELY_UNSET_KEY".into()),
                ..Default::default()
            },
            "judge.api_key_env",
        ),
    ] {
        let err = spec.init().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    // The train-judges config.
    let path = dir.path().join("judges.toml");
    for (text, key) in [
        ("[data]\nimages_per_prompt = 1\n", "data.images_per_prompt"),
        ("[data]\nheld_out_prompts = 0\n", "data.held_out_prompts"),
        (
            "[training]\nlearning_rate = 0.0\n",
            "training.learning_rate",
        ),
        ("[training]\ntie_band = 1.0\n", "training.tie_band"),
        ("[net]\nchanels = 4\n", "chanels"),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = JudgeTrainingConfig::load(&path, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    std::fs::write(&path, "base_model = \"b\"\n[training]\nsteps = 7\n").unwrap();
    let config = JudgeTrainingConfig::load(&path, &["data.seed=4".into()]).unwrap();
    assert_eq!(config.training.steps, 7);
    assert_eq!(config.data.seed, 4);
    assert_eq!(config.base_model, dir.path().join("b"));
    assert_eq!(config.data.images_per_prompt, 8);
}

#[test]
fn both_objectives_start_from_the_same_weights() {
    let samples = labelled_renders(4, 3);
    let device = Device::flex();
    let fit = JudgeFitSection {
        steps: 1,
        batch_size: 4,
        learning_rate: 1e-12,
        ..JudgeFitSection::default()
    };
    let net = tiny_net();
    let captions: Vec<&str> = samples.iter().map(|s| s.caption.as_str()).collect();
    let images: Vec<&RgbImage> = samples.iter().map(|s| &s.image).collect();
    let scores = |objective| {
        let fitted = fit_judge_net(objective, &net, &samples, &fit, &device).unwrap();
        fitted
            .net
            .score_host(&net, &WorldTokenizer::new(), &captions, &images, &device)
            .unwrap()
    };
    let a = scores(JudgeObjective::Pointwise);
    let b = scores(JudgeObjective::Pairwise);
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-4),
        "{a:?} vs {b:?}"
    );
    let fit = JudgeFitSection { seed: 1, ..fit };
    let other = fit_judge_net(JudgeObjective::Pointwise, &net, &samples, &fit, &device)
        .unwrap()
        .net
        .score_host(&net, &WorldTokenizer::new(), &captions, &images, &device)
        .unwrap();
    assert!(
        a.iter().zip(&other).any(|(x, y)| (x - y).abs() > 1e-3),
        "the seed matters"
    );
}

#[test]
fn the_study_config_in_docs_loads_with_its_judges_and_grpo_files() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/studies/t2i-pref-grpo-study.toml");
    let config = prefopt_tasks::shapes_grpo::PrefGrpoStudyConfig::load(&path, &[]).unwrap();
    assert_eq!(config.seeds, vec![0, 1, 2]);
    let arms: Vec<&str> = config.arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        arms,
        [
            "grpo_learned_scorer",
            "pref_grpo_learned_judge",
            "pref_grpo_checker_judge",
            "grpo_checker_pass_rate"
        ]
    );
    assert!(config.needs_judges());
    let out = std::path::Path::new("study_out");
    let run = config.run_config(&config.arms[0], 2, out).unwrap();
    assert_eq!(run.training.seed, 2);
    assert_eq!(run.training.max_steps, 60);
    assert_eq!(run.training.gradient_accumulation_steps, 16);
    assert_eq!(run.prompts.eval_prompts, 64);
    assert_eq!(
        run.rewards[0].path.as_deref(),
        Some(out.join("judges/scorer").as_path()),
        "a learned reward without a path uses the study's own judges"
    );
    assert_eq!(run.rewards.last().unwrap().name, "ground_truth");
    assert_eq!(run.rewards.last().unwrap().weight, 0.0);
    let err =
        prefopt_tasks::shapes_grpo::PrefGrpoStudyConfig::load(&path, &["seeds=[1, 1]".into()])
            .unwrap_err();
    assert!(err.to_string().contains("seeds"), "{err}");

    // The stable-regime run: the same arms plus the sign-flipped oracle, at half the rate
    // with the KL to the base.
    let stable = path.with_file_name("t2i-pref-grpo-study-stable.toml");
    let config = prefopt_tasks::shapes_grpo::PrefGrpoStudyConfig::load(&stable, &[]).unwrap();
    assert_eq!(config.seeds, vec![0, 1, 2]);
    assert_eq!(config.arms.len(), 5);
    let control = config.arms.last().unwrap();
    assert_eq!(control.name, "grpo_anti_checker");
    let run = config.run_config(control, 0, out).unwrap();
    assert_eq!(run.rewards[0].weight, -1.0);
    assert_eq!(run.training.learning_rate, 5e-5);
    assert_eq!(run.grpo.kl_beta, 0.04);
}
