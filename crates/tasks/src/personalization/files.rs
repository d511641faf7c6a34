//! Writing the task: the Amazon-layout JSONL splits, the item metadata, the latent
//! preferences, a tokenizer trained on everything a prompt or target can contain, and the
//! model's `config.json`.
//!
//! ```text
//! <dir>/train.jsonl, eval.jsonl, test.jsonl   {"user_id", "profile": [{"asin", "rating",
//!                                             "title", "text", "timestamp"}…], "data":
//!                                             {"asin", "rating", "title", "text"}}
//! <dir>/pretrain.jsonl                        the same layout, pretraining users (if any)
//! <dir>/meta.jsonl                            {"asin", "title", "description"}
//! <dir>/users.json                            [{"user_id", "aspect", "adjectives", "signoff"}…]
//! <dir>/model/tokenizer.json, tokenizer_config.json, special_tokens_map.json,
//!             config.json, generation_config.json
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::PersonalizationTaskConfig;
use super::lexicon::{
    ADJECTIVES, ASPECTS, BRANDS, CATEGORIES, COLOURS, FILLERS, MATERIALS, MAX_HISTORY,
    PROMPT_LABELS, RATING_WORDS, SIGNOFFS,
};
use super::world::{Item, PersonalizationWorld, ProfileReview, Split, UserRow, generate_world};
use crate::error::{Result, TaskError};
use crate::jsonl_writer::{write_json, write_jsonl};
use crate::tokenizer_training::{TokenizerTrainingConfig, TrainedTokenizer, train_tokenizer};

/// What [`write_personalization_task`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalizationFiles {
    /// The directory everything is in.
    pub dir: PathBuf,
    /// `train.jsonl`.
    pub train: PathBuf,
    /// `eval.jsonl`.
    pub eval: PathBuf,
    /// `test.jsonl`.
    pub test: PathBuf,
    /// `meta.jsonl`.
    pub meta: PathBuf,
    /// `pretrain.jsonl`, when the config asks for pretraining users.
    pub pretrain: Option<PathBuf>,
    /// The model directory: tokenizer files and `config.json`; save the weights here.
    pub model_dir: PathBuf,
    /// `users.json`.
    pub users: PathBuf,
    /// `model_dir/config.json`.
    pub model_config: PathBuf,
    /// The tokenizer (vocabulary size, special ids).
    pub tokenizer: TrainedTokenizer,
    /// Token counts through the saved tokenizer.
    pub stats: PersonalizationStats,
}

/// Token counts of the written task, measured with the saved tokenizer (no special tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalizationStats {
    /// Rows of train, eval, test.
    pub rows: [usize; 3],
    /// Items in `meta.jsonl`.
    pub items: usize,
    /// Tokenizer vocabulary, special tokens included.
    pub vocab_size: usize,
    /// Mean tokens of a target review text.
    pub target_tokens_mean: f64,
    /// Most tokens of a target review text.
    pub target_tokens_max: usize,
    /// Mean tokens of one rendered history entry (`[Review i]` and its five labelled
    /// fields, as in [`render_prompt`]).
    pub history_entry_tokens_mean: f64,
    /// Most tokens of a prompt rendered by [`render_prompt`] with the whole history.
    pub prompt_tokens_max: usize,
    /// Tokens per whitespace-separated word over every title, description and review text
    /// (each as it follows a label, i.e. after a space); 1.0 when every word is one token.
    pub tokens_per_word: f64,
}

/// Generates the world of `config` and writes it into `dir` (created if needed).
///
/// Fails on an invalid config, an I/O error, or when the longest rendered prompt plus its
/// target does not fit `config.model.max_position_embeddings`.
pub fn write_personalization_task(
    config: &PersonalizationTaskConfig,
    dir: &Path,
) -> Result<PersonalizationFiles> {
    config.validate()?;
    let world = generate_world(config);
    let path = |name: &str| dir.join(name);
    for split in Split::ALL {
        write_jsonl(
            &path(&format!("{}.jsonl", split.name())),
            world.split(split),
        )?;
    }
    let pretrain = if world.pretrain.is_empty() {
        None
    } else {
        write_jsonl(&path("pretrain.jsonl"), &world.pretrain)?;
        Some(path("pretrain.jsonl"))
    };
    write_jsonl(&path("meta.jsonl"), &world.items)?;
    write_json(&path("users.json"), &world.users)?;

    let model_dir = dir.join("model");
    let training = TokenizerTrainingConfig {
        vocab_size: config.vocab_size,
        model_max_length: config.model.max_position_embeddings,
        ..Default::default()
    };
    let tokenizer = train_tokenizer(tokenizer_corpus(&world), &training, &model_dir)?;
    let model_config = config
        .model
        .write(&model_dir, tokenizer.vocab_size, &tokenizer.special)?;
    let loaded = prefopt_data::Tokenizer::from_dir(&model_dir)?;
    let stats = measure(&world, &loaded)?;
    // BOS + prompt + target + EOS must fit the positions.
    let longest = stats.prompt_tokens_max + stats.target_tokens_max + 2;
    if longest > config.model.max_position_embeddings {
        return Err(TaskError::InvalidInput(format!(
            "the longest prompt + target has {longest} tokens, more than \
             max_position_embeddings {}",
            config.model.max_position_embeddings
        )));
    }
    tracing::info!(
        dir = %dir.display(),
        rows = ?stats.rows,
        vocab = stats.vocab_size,
        target_tokens_mean = stats.target_tokens_mean,
        prompt_tokens_max = stats.prompt_tokens_max,
        tokens_per_word = stats.tokens_per_word,
        "wrote the personalization task"
    );
    Ok(PersonalizationFiles {
        dir: dir.to_path_buf(),
        train: path("train.jsonl"),
        eval: path("eval.jsonl"),
        test: path("test.jsonl"),
        meta: path("meta.jsonl"),
        pretrain,
        model_dir,
        users: path("users.json"),
        model_config,
        tokenizer,
        stats,
    })
}

/// A NextQuill-style prompt (§2.3 of the report, without chat markup): the target item's
/// title and description, up to [`MAX_HISTORY`] past reviews newest first (or `None` when
/// `with_history` is false or the profile is empty), the output rating and title.
/// The tokenizer is trained on these; the training pipeline may render its own with the
/// same [`PROMPT_LABELS`].
pub fn render_prompt(row: &UserRow, items: &[Item], with_history: bool) -> String {
    let (title, description) = item_fields(items, &row.data.asin);
    let mut out = format!("Item Title: {title}\nItem Description: {description}\n");
    out.push_str("[User's Past Reviews]:\n");
    if with_history && !row.profile.is_empty() {
        let mut profile: Vec<&ProfileReview> = row.profile.iter().collect();
        profile.sort_by_key(|r| std::cmp::Reverse(r.timestamp));
        for (i, review) in profile.iter().take(MAX_HISTORY).enumerate() {
            out.push_str(&render_history_entry(i + 1, review, items));
        }
    } else {
        out.push_str("None\n");
    }
    let _ = writeln!(
        out,
        "Output Review Rating: {}\nOutput Review Title: {}",
        row.data.rating, row.data.title
    );
    out
}

fn render_history_entry(number: usize, review: &ProfileReview, items: &[Item]) -> String {
    let (title, description) = item_fields(items, &review.asin);
    format!(
        "[Review {number}]\nItem Title: {title}\nItem Description: {description}\n\
         Review Rating: {}\nReview Title: {}\nReview Text: {}\n",
        review.rating, review.title, review.text
    )
}

fn item_fields<'a>(items: &'a [Item], asin: &str) -> (&'a str, &'a str) {
    items
        .iter()
        .find(|item| item.asin == asin)
        .map_or(("", ""), |item| (&item.title, &item.description))
}

/// Every text the tokenizer should know: rendered prompts with and without history, the
/// targets on their own, item metadata and the labels.
fn tokenizer_corpus(world: &PersonalizationWorld) -> Vec<String> {
    let mut texts: Vec<String> = PROMPT_LABELS.iter().map(|l| (*l).to_owned()).collect();
    texts.extend((1..=MAX_HISTORY).map(|i| format!("[Review {i}]")));
    // Every lexicon word twice (a merge needs two occurrences), so a small world still
    // learns the whole vocabulary.
    let lexicon = lexicon_words().join(" ");
    texts.extend([lexicon.clone(), lexicon]);
    for item in &world.items {
        texts.push(format!("Item Title: {}", item.title));
        texts.push(format!("Item Description: {}", item.description));
    }
    for split in Split::ALL {
        for row in world.split(split) {
            texts.push(render_prompt(row, &world.items, true));
            texts.push(render_prompt(row, &world.items, false));
            texts.push(row.data.text.clone());
        }
    }
    texts
}

fn lexicon_words() -> Vec<&'static str> {
    [
        &CATEGORIES[..],
        &BRANDS,
        &COLOURS,
        &MATERIALS,
        &ASPECTS,
        &ADJECTIVES,
        &SIGNOFFS,
        &RATING_WORDS,
        &FILLERS,
    ]
    .concat()
}

fn measure(
    world: &PersonalizationWorld,
    tokenizer: &prefopt_data::Tokenizer,
) -> Result<PersonalizationStats> {
    let count = |text: &str| -> Result<usize> { Ok(tokenizer.encode(text, false)?.len()) };
    let (mut target_sum, mut target_max, mut targets) = (0usize, 0usize, 0usize);
    let (mut entry_sum, mut entries, mut prompt_max) = (0usize, 0usize, 0usize);
    let (mut words, mut word_tokens) = (0usize, 0usize);
    let mut add_text = |text: &str| -> Result<()> {
        words += text.split_whitespace().count();
        word_tokens += count(&format!(" {text}"))?;
        Ok(())
    };
    for item in &world.items {
        add_text(&item.title)?;
        add_text(&item.description)?;
    }
    for split in Split::ALL {
        for row in world.split(split) {
            let target = count(&row.data.text)?;
            target_sum += target;
            target_max = target_max.max(target);
            targets += 1;
            prompt_max = prompt_max.max(count(&render_prompt(row, &world.items, true))?);
            for (i, review) in row.profile.iter().enumerate() {
                entry_sum += count(&render_history_entry(i + 1, review, &world.items))?;
                entries += 1;
                add_text(&review.title)?;
                add_text(&review.text)?;
            }
            add_text(&row.data.title)?;
            add_text(&row.data.text)?;
        }
    }
    let mean = |sum: usize, n: usize| sum as f64 / n.max(1) as f64;
    Ok(PersonalizationStats {
        rows: Split::ALL.map(|s| world.split(s).len()),
        items: world.items.len(),
        vocab_size: tokenizer.vocab_size(),
        target_tokens_mean: mean(target_sum, targets),
        target_tokens_max: target_max,
        history_entry_tokens_mean: mean(entry_sum, entries),
        prompt_tokens_max: prompt_max,
        tokens_per_word: mean(word_tokens, words),
    })
}
