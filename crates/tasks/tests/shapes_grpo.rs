//! The shapes world's checker as image rewards (pointwise and pairwise), and the
//! `prefopt t2i grpo` config.

use prefopt_rl::{FlowGrpoEnv, PairwiseJudge, RewardFn, Verdict};
use prefopt_tasks::shapes::{RgbImage, World, WorldConfig};
use prefopt_tasks::shapes_grpo::{
    CheckerJudge, CheckerPassRate, ShapesGrpoConfig, ShapesGrpoEnv, ShapesRewardKind,
    ShapesRewardSpec, build_rewards,
};

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
        },
    ];
    let set = build_rewards(&specs, config, 4).unwrap();
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
    assert!(build_rewards(&dup, config, 4).is_err());
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
    let env = ShapesGrpoEnv::new(&config, world, dir.path().join("eval")).unwrap();
    assert_eq!(env.prompts().len(), 5);
    assert!(env.prompts().iter().all(|p| !p.ids.is_empty()));
    let (w, h) = (WorldConfig::default().width, WorldConfig::default().height);
    let images = env.decode(&vec![0.0; 2 * 3 * w * h], [2, 3, h, w]).unwrap();
    assert_eq!(images.len(), 2);
    assert!(env.decode(&[0.0; 7], [2, 3, h, w]).is_err());
}
