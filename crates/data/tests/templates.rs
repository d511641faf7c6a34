//! Chat templates typed in from public model repositories, rendered and compared with
//! the strings transformers produces (see `fixtures/templates/README.md` for sources).

use prefopt_data::{ChatTemplate, ChatTemplateInputs, Message, Tokenizer};

use crate::common::tiny_tokenizer;

fn with_template(name: &str) -> Tokenizer {
    let mut t = tiny_tokenizer();
    t.select_chat_template(name).unwrap();
    t
}

fn turns() -> Vec<Message> {
    vec![
        Message::new("user", "Hi"),
        Message::new("assistant", "Hello!"),
        Message::new("user", "Bye"),
    ]
}

#[test]
fn chatml_qwen2_is_the_default() {
    let t = tiny_tokenizer();
    assert_eq!(
        t.chat_template_names(),
        vec!["default", "features", "llama3", "mistral", "zephyr"]
    );
    assert_eq!(
        t.apply_chat_template(&turns(), true).unwrap(),
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
         <|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn llama3_trims_content_and_puts_bos_first() {
    let t = with_template("llama3");
    let out = t
        .apply_chat_template(&[Message::new("user", "  Hi \n")], false)
        .unwrap();
    assert_eq!(
        out,
        "<s><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
    );
}

#[test]
fn zephyr_relies_on_trim_and_lstrip_blocks() {
    let t = with_template("zephyr");
    assert_eq!(
        t.apply_chat_template(&turns(), true).unwrap(),
        "<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n<|user|>\nBye</s>\n<|assistant|>\n"
    );
}

#[test]
fn mistral_raise_exception_reaches_the_caller() {
    let t = with_template("mistral");
    assert_eq!(
        t.apply_chat_template(&turns(), false).unwrap(),
        "<s>[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]"
    );
    let err = t
        .apply_chat_template(&[Message::new("assistant", "first")], false)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Conversation roles must alternate"),
        "{err}"
    );
}

#[test]
fn features_template_uses_pycompat_loop_controls_and_strftime() {
    let t = with_template("features");
    let messages = vec![
        Message::new("system", "hidden"),
        Message::new("user", "  first words here "),
        Message::new("assistant", "ok"),
        Message::new("user", "STOP here"),
        Message::new("user", "never shown"),
    ];
    let mut inputs = ChatTemplateInputs {
        add_generation_prompt: true,
        ..Default::default()
    };
    inputs
        .extra
        .insert("date_string".into(), "01 Jan 2025".into());
    assert_eq!(
        t.render_chat(&messages, inputs).unwrap(),
        "date: 01 Jan 2025\nUSER: first words here\nASSISTANT: ok\nASSISTANT (re: first):"
    );
    // Without date_string the template calls strftime_now('%d %b %Y').
    let out = t
        .apply_chat_template(&[Message::new("user", "x")], false)
        .unwrap();
    let date = out.lines().next().unwrap().trim_start_matches("date: ");
    assert_eq!(date, prefopt_data::strftime_now("%d %b %Y"));
    let err = t
        .apply_chat_template(&[Message::new("tool", "x")], false)
        .unwrap_err();
    assert!(err.to_string().contains("unknown role: tool"), "{err}");
}

#[test]
fn message_extra_fields_reach_the_template() {
    let template = ChatTemplate::new(
        "{% for m in messages %}{{ m.role }}:{{ m.name }}:{{ m.tool_calls | tojson }}{% endfor %}",
    )
    .unwrap();
    let mut m = Message::new("assistant", "");
    m.extra.insert("name".into(), "calc".into());
    m.extra
        .insert("tool_calls".into(), serde_json::json!([{"id": 1}]));
    let out = template
        .render(&[m], &ChatTemplateInputs::default())
        .unwrap();
    assert_eq!(out, "assistant:calc:[{\"id\": 1}]");
}

#[test]
fn conversational_data_without_template_is_a_clear_error() {
    let t = Tokenizer::from_files(&prefopt_data::TokenizerFiles {
        tokenizer_json: crate::common::fixtures().join("tiny_tokenizer/tokenizer.json"),
        ..Default::default()
    })
    .unwrap();
    assert!(t.chat_template().is_none());
    assert!(t.bos().is_none() && t.pad().is_none());
    let err = t.apply_chat_template(&turns(), true).unwrap_err();
    assert!(err.to_string().contains("no chat template"), "{err}");
    // Without tokenizer_config.json the post-processor still adds <s>.
    assert_eq!(t.encode("hi", true).unwrap()[0], 1);
}

#[test]
fn add_bos_token_flags_are_ignored_like_transformers_5() {
    // transformers 5.24 on this fixture with add_bos_token=false, add_eos_token=true in
    // tokenizer_config.json: tok("hi").input_ids == [1, 116, 117] (the post-processor's
    // BOS, no EOS), because tokenization_utils_base.py drops both flags when
    // tokenizer.json exists.
    let dir = tempfile::tempdir().unwrap();
    let src = crate::common::fixtures().join("tiny_tokenizer");
    for f in [
        "tokenizer.json",
        "special_tokens_map.json",
        "generation_config.json",
    ] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("tokenizer_config.json")).unwrap()).unwrap();
    config["add_bos_token"] = false.into();
    config["add_eos_token"] = true.into();
    std::fs::write(dir.path().join("tokenizer_config.json"), config.to_string()).unwrap();
    let t = Tokenizer::from_dir(dir.path()).unwrap();
    assert_eq!(t.encode("hi", true).unwrap(), vec![1, 116, 117]);
    assert_eq!(t.stop_token_ids(), &[2, 4, 7]);
    // A changed file changes the fingerprint used in cache keys.
    assert_ne!(t.fingerprint(), tiny_tokenizer().fingerprint());
}
