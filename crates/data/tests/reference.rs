//! Agreement with transformers 5.24 / TRL 1.16 on the tiny tokenizer
//! (`tests/fixtures/reference/transformers.json`, written by
//! `scripts/reference_transformers.py`; versions are recorded in the file).

use serde_json::Value;

use prefopt_data::{
    ChatTemplateInputs, DatasetOptions, Message, Tokenizer, load_preference_dataset,
};

use crate::common::{fixtures, jsonl, tiny_tokenizer};

fn reference() -> Value {
    let path = fixtures().join("reference/transformers.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn special_ids_match() {
    let r = reference();
    let t = tiny_tokenizer();
    assert_eq!(
        Some(t.bos().unwrap().id),
        r["special"]["bos_token_id"].as_u64().map(|x| x as u32)
    );
    assert_eq!(
        Some(t.eos().unwrap().id),
        r["special"]["eos_token_id"].as_u64().map(|x| x as u32)
    );
    // transformers leaves pad unset; TRL then pads with EOS, which is our fallback.
    assert!(r["special"]["pad_token_id"].is_null());
    assert_eq!(t.pad().unwrap().id, t.eos().unwrap().id);
}

#[test]
fn encode_matches_transformers() {
    let r = reference();
    let t = tiny_tokenizer();
    let cases = r["encode"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let special = case["add_special_tokens"].as_bool().unwrap();
        assert_eq!(
            t.encode(text, special).unwrap(),
            ids(&case["ids"]),
            "{text:?} special={special}"
        );
    }
}

#[test]
fn every_template_matches_apply_chat_template() {
    let r = reference();
    let base = tiny_tokenizer();
    let cases = r["chat"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for case in cases {
        let name = case["template"].as_str().unwrap();
        let mut t: Tokenizer = base.clone();
        t.select_chat_template(name).unwrap();
        let messages: Vec<Message> = serde_json::from_value(case["messages"].clone()).unwrap();
        let mut inputs = ChatTemplateInputs {
            add_generation_prompt: case["add_generation_prompt"].as_bool().unwrap(),
            ..Default::default()
        };
        if name == "features" {
            inputs.tools = Some(vec![serde_json::json!({
                "name": "get_weather", "description": "Weather <today> & 'tomorrow'",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
            })]);
            inputs
                .extra
                .insert("date_string".into(), Value::from("26 Jul 2024"));
        }
        let text = t.render_chat(&messages, inputs).unwrap();
        assert_eq!(text, case["text"].as_str().unwrap(), "template {name}");
        assert_eq!(
            t.encode(&text, false).unwrap(),
            ids(&case["ids"]),
            "template {name}"
        );
    }
}

#[test]
fn dpo_tokenization_matches_trl() {
    let r = reference();
    let think = std::fs::read_to_string(fixtures().join("think_prompt.jinja")).unwrap();
    let cases = [
        ("pairs_standard.jsonl", false, 0),
        ("pairs_conversational.jsonl", false, 0),
        // "Say h" + "ello": the merge "he" crosses the prompt boundary.
        ("pairs_prefix_mismatch.jsonl", false, 1),
        // The generation prompt's empty think block is missing from the full conversation.
        ("pairs_conversational.jsonl+think_prompt", true, 2),
    ];
    for (key, use_think, mismatches) in cases {
        let mut t = tiny_tokenizer();
        if use_think {
            t.set_chat_template(think.trim_end_matches('\n')).unwrap();
        }
        let file = key.split('+').next().unwrap();
        let data =
            load_preference_dataset(&jsonl(file), &t, &DatasetOptions::default(), None).unwrap();
        let expected = r["dpo"][key].as_array().unwrap();
        assert_eq!(data.len(), expected.len(), "{key}");
        for (got, want) in data.examples.iter().zip(expected) {
            assert_eq!(got.prompt_ids, ids(&want["prompt_ids"]), "{key}");
            assert_eq!(got.chosen_ids, ids(&want["chosen_ids"]), "{key}");
            assert_eq!(got.rejected_ids, ids(&want["rejected_ids"]), "{key}");
        }
        assert_eq!(data.report.tokenize.prefix_mismatches, mismatches, "{key}");
    }
}
