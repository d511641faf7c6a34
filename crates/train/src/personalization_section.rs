//! `[personalization]`: the user-history data of a `nextquill` run, which objective trains on
//! it (NextQuill or one of its baselines), and how the held-out users are evaluated.
//!
//! ```toml
//! [personalization]
//! layout = "amazon"            # amazon (user_id / profile / data + item metadata) | lamp (input / output / profile)
//! meta = "meta.jsonl"          # amazon: the item metadata table (asin → title, description)
//! method = "nextquill"         # nextquill | context_sft | sft
//! test = "test.jsonl"          # held-out users: generate + ROUGE after training
//! max_new_tokens = 256
//! repetition_penalty = 1.0     # the authors' evaluation uses 1.2
//! generation_batch_size = 16
//!
//! [personalization.prompt]     # prefopt_data::PersonalOptions
//! max_history_items = 8
//! max_prompt_length = 2048
//! ```

use std::path::PathBuf;

use prefopt_data::{PersonalLayout, PersonalOptions};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use prefopt_core::invalid;

/// What a `nextquill` run trains, from the same data and config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PersonalMethod {
    /// NextQuill (`[nextquill]`): two aligned passes per example, with and without history.
    #[default]
    #[serde(rename = "nextquill")]
    NextQuill,
    /// The ContextSFT baseline: plain SFT with the history in the prompt.
    #[serde(rename = "context_sft")]
    ContextSft,
    /// The SFT baseline: plain SFT on the null-history prompt (the history is never seen).
    #[serde(rename = "sft")]
    Sft,
}

impl PersonalMethod {
    /// The config / report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NextQuill => "nextquill",
            Self::ContextSft => "context_sft",
            Self::Sft => "sft",
        }
    }

    /// Which prompt the method trains on and generates from.
    pub fn view(self) -> PromptView {
        match self {
            Self::NextQuill | Self::ContextSft => PromptView::History,
            Self::Sft => PromptView::Null,
        }
    }
}

/// Which rendering of a personalised example a prompt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptView {
    /// The user's history in the prompt.
    History,
    /// The null-history placeholder in its place.
    Null,
}

/// The data layouts of `[personalization] layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutName {
    /// NextQuill's Amazon review layout (needs `meta`).
    #[default]
    Amazon,
    /// LaMP / LongLaMP (`input`, `output`, `profile`).
    Lamp,
}

/// `[personalization]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalizationSection {
    /// Data layout of `data.train`, `data.eval` and `test`.
    pub layout: LayoutName,
    /// Item metadata JSONL (`asin`, `title`, `description`), required by `amazon`.
    pub meta: Option<PathBuf>,
    /// The objective: NextQuill or a baseline.
    pub method: PersonalMethod,
    /// Held-out users: after training, generate for each and score ROUGE-1/2/L and BLEU
    /// against the targets.
    pub test: Option<PathBuf>,
    /// Generation length limit for the test evaluation.
    pub max_new_tokens: usize,
    /// transformers' repetition penalty during the test generation (1.0 = off; the authors'
    /// evaluation script uses 1.2 with greedy decoding).
    pub repetition_penalty: f64,
    /// Prompts generated together.
    pub generation_batch_size: usize,
    /// History selection, rendering and token budget.
    pub prompt: PersonalOptions,
}

impl Default for PersonalizationSection {
    fn default() -> Self {
        Self {
            layout: LayoutName::Amazon,
            meta: None,
            method: PersonalMethod::NextQuill,
            test: None,
            max_new_tokens: 256,
            repetition_penalty: 1.0,
            generation_batch_size: 16,
            prompt: PersonalOptions::default(),
        }
    }
}

impl PersonalizationSection {
    /// The data crate's layout.
    pub fn data_layout(&self) -> Result<PersonalLayout> {
        match self.layout {
            LayoutName::Amazon => {
                let meta = self.meta.clone().ok_or_else(|| {
                    invalid::<crate::Error>(
                        "personalization.meta",
                        "is required by layout \"amazon\" (the item metadata JSONL)",
                    )
                })?;
                Ok(PersonalLayout::Amazon { meta })
            }
            LayoutName::Lamp => Ok(PersonalLayout::Lamp),
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        self.data_layout()?;
        if self.max_new_tokens == 0 {
            return Err(invalid("personalization.max_new_tokens", "must be >= 1"));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return Err(invalid(
                "personalization.repetition_penalty",
                "must be finite and > 0",
            ));
        }
        if self.generation_batch_size == 0 {
            return Err(invalid(
                "personalization.generation_batch_size",
                "must be >= 1",
            ));
        }
        if self.prompt.max_history_items == 0 {
            return Err(invalid(
                "personalization.prompt.max_history_items",
                "must be >= 1",
            ));
        }
        for (field, value) in [
            (
                "personalization.prompt.max_prompt_length",
                self.prompt.max_prompt_length,
            ),
            (
                "personalization.prompt.max_target_length",
                self.prompt.max_target_length,
            ),
        ] {
            if value == Some(0) {
                return Err(invalid(field, "must be >= 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_names_and_defaults() {
        let s: PersonalizationSection = toml::from_str(
            "layout = \"lamp\"\nmethod = \"context_sft\"\n[prompt]\nmax_history_items = 3\n",
        )
        .unwrap();
        assert_eq!(s.layout, LayoutName::Lamp);
        assert_eq!(s.method, PersonalMethod::ContextSft);
        assert_eq!(s.prompt.max_history_items, 3);
        assert_eq!(s.max_new_tokens, 256);
        s.validate().unwrap();
        for m in [
            PersonalMethod::NextQuill,
            PersonalMethod::ContextSft,
            PersonalMethod::Sft,
        ] {
            let text = serde_json::to_string(&m).unwrap();
            assert_eq!(text, format!("\"{}\"", m.as_str()));
        }
        assert!(toml::from_str::<PersonalizationSection>("metod = \"sft\"").is_err());
    }

    #[test]
    fn amazon_needs_its_metadata_table() {
        let e = PersonalizationSection::default().validate().unwrap_err();
        assert!(e.to_string().contains("personalization.meta"), "{e}");
        let mut s = PersonalizationSection {
            meta: Some("meta.jsonl".into()),
            ..Default::default()
        };
        s.validate().unwrap();
        s.prompt.max_prompt_length = Some(0);
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("max_prompt_length")
        );
    }
}
