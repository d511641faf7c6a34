//! The controlled personalization task: determinism, the Amazon layout, user-disjoint
//! splits, what the query and the history determine, tokenization, and the oracles.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use prefopt_tasks::personalization::{
    PersonalizationTaskConfig, PersonalizationWorld, Split, TextStyle, generate_world,
    generic_part_of_query,
    lexicon::{ASPECTS, PROMPT_LABELS},
    oracle_with_history, oracle_without_history, parse_review_text, render_prompt,
    style_from_history, write_personalization_task,
};
use prefopt_tasks::personalization_study::run::{row_label, run_dir_name};
use prefopt_tasks::{ArmRun, PersonalizationStudyConfig};
use serde_json::Value;

use crate::determinism::files;

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn all_rows(world: &PersonalizationWorld) -> impl Iterator<Item = &prefopt_tasks::UserRow> {
    Split::ALL.into_iter().flat_map(|s| world.split(s))
}

#[test]
fn personalization_files_are_byte_identical_for_a_seed() {
    let (one, two, other) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let config = PersonalizationTaskConfig::smoke();
    let a = write_personalization_task(&config, one.path()).unwrap();
    let b = write_personalization_task(&config, two.path()).unwrap();
    let reseeded = PersonalizationTaskConfig {
        seed: config.seed + 1,
        ..config
    };
    write_personalization_task(&reseeded, other.path()).unwrap();
    let (fa, fb, fc) = (files(one.path()), files(two.path()), files(other.path()));
    let names: Vec<&str> = fa.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "eval.jsonl",
            "meta.jsonl",
            "model/config.json",
            "model/generation_config.json",
            "model/special_tokens_map.json",
            "model/tokenizer.json",
            "model/tokenizer_config.json",
            "test.jsonl",
            "train.jsonl",
            "users.json",
        ]
    );
    assert_eq!(fa, fb, "two runs with the same seed differ");
    assert_eq!(a.stats, b.stats);
    for name in ["train.jsonl", "test.jsonl", "meta.jsonl", "users.json"] {
        assert_ne!(fa[name], fc[name], "{name} ignores the seed");
    }
    // The in-memory world is the same as the files.
    let world = generate_world(&config);
    let train: Vec<prefopt_tasks::UserRow> = std::fs::read_to_string(&a.train)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(train, world.train);
    assert_eq!(generate_world(&config), world);
}

#[test]
fn personalization_rows_have_exactly_the_amazon_keys() {
    let dir = tempfile::tempdir().unwrap();
    let config = PersonalizationTaskConfig::smoke();
    let files = write_personalization_task(&config, dir.path()).unwrap();
    for (path, n) in [
        (&files.train, config.train_users),
        (&files.eval, config.eval_users),
        (&files.test, config.test_users),
    ] {
        let rows = jsonl(path);
        assert_eq!(rows.len(), n);
        for row in &rows {
            assert_eq!(keys(row), ["data", "profile", "user_id"]);
            assert_eq!(keys(&row["data"]), ["asin", "rating", "text", "title"]);
            let profile = row["profile"].as_array().unwrap();
            assert!(profile.len() >= config.min_history);
            for review in profile {
                assert_eq!(
                    keys(review),
                    ["asin", "rating", "text", "timestamp", "title"]
                );
                assert!((1..=5).contains(&review["rating"].as_u64().unwrap()));
            }
        }
    }
    let meta = jsonl(&files.meta);
    assert_eq!(meta.len(), 48);
    assert!(
        meta.iter()
            .all(|m| keys(m) == ["asin", "description", "title"])
    );
    let users: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&files.users).unwrap()).unwrap();
    assert_eq!(users.len(), config.total_users());
    assert_eq!(
        keys(&users[0]),
        ["adjectives", "aspect", "signoff", "user_id"]
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(&files.model_config).unwrap()).unwrap();
    assert_eq!(model["max_position_embeddings"], 512);
    assert_eq!(model["vocab_size"], files.tokenizer.vocab_size);
}

#[test]
fn personalization_splits_are_user_disjoint() {
    let world = generate_world(&PersonalizationTaskConfig::default());
    let ids = |split: Split| -> BTreeSet<&str> {
        world
            .split(split)
            .iter()
            .map(|r| r.user_id.as_str())
            .collect()
    };
    let (train, eval, test) = (ids(Split::Train), ids(Split::Eval), ids(Split::Test));
    assert_eq!((train.len(), eval.len(), test.len()), (400, 32, 64));
    assert!(train.is_disjoint(&eval) && train.is_disjoint(&test) && eval.is_disjoint(&test));
    let users: BTreeSet<&str> = world.users.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(users.len(), 496);
    assert!(all_rows(&world).all(|r| users.contains(r.user_id.as_str())));
}

#[test]
fn personalization_pretraining_users_are_new_users_and_change_no_split() {
    let plain = PersonalizationTaskConfig::smoke();
    let with = PersonalizationTaskConfig {
        pretrain_users: 50,
        ..plain
    };
    let (a, b) = (generate_world(&plain), generate_world(&with));
    assert!(a.pretrain.is_empty());
    assert_eq!(b.pretrain.len(), 50);
    for split in Split::ALL {
        assert_eq!(a.split(split), b.split(split), "{split:?}");
    }
    assert_eq!(b.users[..a.users.len()], a.users[..]);
    assert_eq!(b.users.len(), a.users.len() + 50);
    let split_ids: BTreeSet<&str> = all_rows(&b).map(|r| r.user_id.as_str()).collect();
    let pretrain_ids: BTreeSet<&str> = b.pretrain.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(pretrain_ids.len(), 50);
    assert!(split_ids.is_disjoint(&pretrain_ids));
    // Same generative process: every pretraining review parses, the target continues the
    // user's sign-off.
    for row in &b.pretrain {
        let target = parse_review_text(&row.data.text).unwrap();
        let past = parse_review_text(&row.profile[0].text).unwrap();
        assert_eq!(target.style.signoff, past.style.signoff);
    }

    let dir = tempfile::tempdir().unwrap();
    let files = write_personalization_task(&with, dir.path()).unwrap();
    let path = files.pretrain.unwrap();
    assert_eq!(path, dir.path().join("pretrain.jsonl"));
    assert_eq!(jsonl(&path).len(), 50);
    let none = tempfile::tempdir().unwrap();
    let files = write_personalization_task(&plain, none.path()).unwrap();
    assert!(files.pretrain.is_none() && !none.path().join("pretrain.jsonl").exists());
}

#[test]
fn personalization_study_configs_in_docs_parse_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/studies");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("personalization-") && name.ends_with(".toml") {
            let config = PersonalizationStudyConfig::from_toml_file(&path)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            if name.contains("smollm2") {
                // A pretrained checkpoint (given by --base-model) reading English reviews.
                assert_eq!(config.base_steps, 0, "{name}");
                assert_eq!(config.task.text, TextStyle::Natural, "{name}");
                assert!(config.prompt.system_prompt.is_some(), "{name}");
            } else {
                assert!(config.base_steps > 0, "{name}");
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked, 9,
        "the nine configurations of docs/personalization.md"
    );
}

#[test]
fn personalization_generic_part_follows_from_the_query_and_personal_part_from_the_user() {
    let world = generate_world(&PersonalizationTaskConfig::default());
    // (target item, rating, review title) → generic part: one value per query, across users.
    let mut by_query: HashMap<(String, u8, String), BTreeSet<String>> = HashMap::new();
    let mut categories_seen = BTreeSet::new();
    for row in all_rows(&world) {
        let parts = parse_review_text(&row.data.text).unwrap();
        assert_eq!(
            Some(parts.generic.clone()),
            generic_part_of_query(row.data.rating, &row.data.title)
        );
        let item = world.item(&row.data.asin).unwrap();
        assert!(parts.generic.contains(item.category()));
        categories_seen.insert(item.category().to_owned());
        by_query
            .entry((
                row.data.asin.clone(),
                row.data.rating,
                row.data.title.clone(),
            ))
            .or_default()
            .insert(parts.generic);
        // The personal part is the user's: always the sign-off, and aspect/adjective from
        // the lexicon.
        let prefs = world.preferences(&row.user_id).unwrap();
        assert_eq!(parts.style.signoff, prefs.signoff);
        assert!(ASPECTS.contains(&parts.style.aspect.as_str()));
    }
    assert!(by_query.values().all(|g| g.len() == 1));
    assert_eq!(categories_seen.len(), 12);
    // Users differ in what the query cannot show: many distinct personal parts.
    let signoffs: BTreeSet<&str> = world.users.iter().map(|u| u.signoff.as_str()).collect();
    assert_eq!(signoffs.len(), 10);
}

#[test]
fn personalization_histories_are_time_ordered_and_distinct() {
    let config = PersonalizationTaskConfig::default();
    let world = generate_world(&config);
    let mut lengths = BTreeSet::new();
    for row in all_rows(&world) {
        let n = row.profile.len();
        assert!((config.min_history..=config.max_history).contains(&n));
        lengths.insert(n);
        assert!(
            row.profile
                .windows(2)
                .all(|w| w[0].timestamp < w[1].timestamp)
        );
        let asins: BTreeSet<&str> = row
            .profile
            .iter()
            .map(|r| r.asin.as_str())
            .chain([row.data.asin.as_str()])
            .collect();
        assert_eq!(asins.len(), n + 1, "items repeat for {}", row.user_id);
        // The prompt shows the history newest first.
        let prompt = render_prompt(row, &world.items, true);
        let newest = &row.profile[n - 1].text;
        let oldest = &row.profile[0].text;
        assert!(prompt.find(newest.as_str()) <= prompt.find(oldest.as_str()));
        assert!(render_prompt(row, &world.items, false).contains("[User's Past Reviews]:\nNone\n"));
    }
    // Every length in 3..=6 occurs.
    assert_eq!(lengths, (3..=6).collect());
}

#[test]
fn personalization_words_are_single_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let config = PersonalizationTaskConfig::smoke();
    let files = write_personalization_task(&config, dir.path()).unwrap();
    let tokenizer = prefopt_data::Tokenizer::from_dir(&files.model_dir).unwrap();
    assert!(files.tokenizer.vocab_size <= config.vocab_size);
    let world = generate_world(&config);
    let mut texts: Vec<&str> = Vec::new();
    for item in &world.items {
        texts.extend([item.title.as_str(), item.description.as_str()]);
    }
    for row in all_rows(&world) {
        for review in &row.profile {
            texts.extend([review.title.as_str(), review.text.as_str()]);
        }
        texts.extend([row.data.title.as_str(), row.data.text.as_str()]);
    }
    for text in texts {
        let words = text.split_whitespace().count();
        // As it follows a label (leading space).
        let form = format!(" {text}");
        let ids = tokenizer.encode(&form, false).unwrap();
        assert_eq!(ids.len(), words, "{form:?} → {ids:?}");
        assert_eq!(tokenizer.decode(&ids, false).unwrap(), form);
    }
    // Targets are tokenized on their own (no leading space): still one token per word.
    for row in all_rows(&world) {
        let ids = tokenizer.encode(&row.data.text, false).unwrap();
        assert_eq!(ids.len(), row.data.text.split_whitespace().count());
    }
    assert_eq!(files.stats.tokens_per_word, 1.0);
    // Labels: a few tokens each (measured: "[User's Past Reviews]:" is 6 —
    // `[`, `User`, `'s`, ` Past`, ` Reviews`, `]:` —, the others 1–4; `[Review i]` 4–5).
    for label in PROMPT_LABELS {
        let n = tokenizer.encode(label, false).unwrap().len();
        assert!(n <= 6, "{label} has {n} tokens");
    }
    for i in 1..=8 {
        let label = format!("[Review {i}]");
        let n = tokenizer.encode(&label, false).unwrap().len();
        assert!(n <= 5, "{label} has {n} tokens");
    }
}

#[test]
fn personalization_oracle_recovers_the_latent_preferences() {
    let world = generate_world(&PersonalizationTaskConfig::default());
    let (mut aspect_hits, mut adjective_hits, mut users) = (0, 0, 0);
    let (mut exact_with, mut exact_without) = (0, 0);
    for row in all_rows(&world) {
        let prefs = world.preferences(&row.user_id).unwrap();
        let style = style_from_history(&row.profile).unwrap();
        assert_eq!(style.signoff, prefs.signoff, "{}", row.user_id);
        aspect_hits += usize::from(style.aspect == prefs.aspect);
        adjective_hits += usize::from(prefs.adjectives.contains(&style.adjective));
        users += 1;
        let with = oracle_with_history(row);
        let without = oracle_without_history(row, &world.train_style);
        let generic = &parse_review_text(&row.data.text).unwrap().generic;
        assert!(with.starts_with(generic.as_str()) && without.starts_with(generic.as_str()));
        assert!(with.ends_with(&format!(" {} .", prefs.signoff)));
        exact_with += usize::from(with == row.data.text);
        exact_without += usize::from(without == row.data.text);
    }
    let aspect_rate = aspect_hits as f64 / users as f64;
    let adjective_rate = adjective_hits as f64 / users as f64;
    // Measured (seed 0): aspect 0.970, adjective 0.980, exact targets 194 / 496 with
    // history and 0 / 496 without.
    assert!(aspect_rate >= 0.9, "aspect recovered for {aspect_rate}");
    assert!(
        adjective_rate >= 0.9,
        "adjective recovered for {adjective_rate}"
    );
    // The history is worth something: the ceiling matches far more targets than the floor.
    assert!(
        exact_with > 3 * exact_without.max(1),
        "{exact_with} vs {exact_without}"
    );
}

#[test]
fn personalization_default_task_fits_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let config = PersonalizationTaskConfig::default();
    let files = write_personalization_task(&config, dir.path()).unwrap();
    let stats = &files.stats;
    assert_eq!(stats.rows, [400, 32, 64]);
    assert_eq!(stats.tokens_per_word, 1.0);
    // Every merge with two occurrences fits: 606 tokens measured with tokenizers 0.23.3
    // in Python on a similar corpus, so 640 is the cap.
    assert!(stats.vocab_size <= 640 && stats.vocab_size > 512);
    // A target is the generic sentence "{rating word} {category} ." (3 tokens) plus
    // "the A is J ." (5) and a 2–3 word sign-off with its " ." (3–4): 11–12 tokens.
    assert!((11.0..=12.0).contains(&stats.target_tokens_mean));
    assert_eq!(stats.target_tokens_max, 12);
    assert!(stats.prompt_tokens_max + stats.target_tokens_max + 2 <= 512);
}

#[test]
fn committed_study_runs_are_what_the_study_reads_back() {
    // docs/studies/results/<config>/<run>/study_run.json is what a study keeps instead of
    // rerunning (docs/personalization.md: copying them into the output directory continues
    // the study): each must parse, sit in the directory its arm, tuning and seed name, and
    // belong to its configuration; and every configuration's whole study is committed.
    for config in [
        "personalization-smollm2-lora",
        "personalization-smollm2-full",
        "personalization-smollm2-full-sft",
        "personalization-smollm2-full-paper-lr",
    ] {
        check_committed_study(config);
    }
}

fn check_committed_study(name: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/studies");
    let config =
        PersonalizationStudyConfig::from_toml_file(&docs.join(format!("{name}.toml"))).unwrap();
    let results = docs.join("results").join(name);
    let mut checked = 0;
    for entry in std::fs::read_dir(&results).unwrap_or_else(|e| panic!("{name}: {e}")) {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue; // the study's results.md and results.json
        }
        let run_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("study_run.json"))
            .unwrap_or_else(|e| panic!("{name}/{run_name}: {e}"));
        let run: ArmRun =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}/{run_name}: {e}"));
        assert_eq!(run_name, run_dir_name(run.arm, run.tuning, run.seed));
        assert!(config.arms.contains(&run.arm), "{name}/{run_name}");
        assert!(config.seeds.contains(&run.seed), "{name}/{run_name}");
        assert_eq!(
            run.tuning.is_some(),
            run.arm.trains(),
            "{name}/{run_name}: tuning"
        );
        if let Some(tuning) = run.tuning {
            assert!(config.tuning.contains(&tuning), "{name}/{run_name}");
        }
        assert_eq!(
            run.eval.examples, config.task.test_users,
            "{name}/{run_name}"
        );
        checked += 1;
    }
    // The whole study: the untrained rows once (every seed starts from the same weights),
    // every trained arm for every seed and tuning.
    let whole: usize = config
        .arms
        .iter()
        .map(|arm| {
            let seeds = if arm.trains() { config.seeds.len() } else { 1 };
            arm.tunings(&config.tuning).len() * seeds
        })
        .sum();
    assert_eq!(checked, whole, "{name}: committed runs");
    // And the table the study wrote from them: one row per arm and tuning.
    let text = std::fs::read_to_string(results.join("results.md")).unwrap();
    let table = text.split("History use").next().unwrap();
    let labels: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(" | ").next())
        .collect();
    for arm in &config.arms {
        for tuning in arm.tunings(&config.tuning) {
            let label = row_label(*arm, tuning, &config.tuning);
            assert!(
                labels.contains(&label.as_str()),
                "{name}: no row {label} in results.md"
            );
        }
    }
}
