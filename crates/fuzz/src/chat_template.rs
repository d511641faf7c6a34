//! Chat templates (`prefopt_data::ChatTemplate`): compiling a template that came with a
//! downloaded tokenizer and rendering messages with it.

use std::collections::BTreeMap;

use prefopt_data::{ChatTemplate, ChatTemplateInputs, Message};

/// `data` is `template \0 messages`; each message line is `role\tcontent`. The template is
/// compiled and, when it compiles, rendered with and without the generation prompt.
pub fn chat_template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (source, messages) = text.split_once('\0').unwrap_or((&text, ""));
    let Ok(template) = ChatTemplate::new(source) else {
        return;
    };
    let messages: Vec<Message> = messages
        .lines()
        .map(|line| {
            let (role, content) = line.split_once('\t').unwrap_or(("user", line));
            Message::new(role, content)
        })
        .collect();
    let mut inputs = ChatTemplateInputs {
        special_tokens: BTreeMap::from([
            ("bos_token".to_string(), "<s>".to_string()),
            ("eos_token".to_string(), "</s>".to_string()),
        ]),
        ..ChatTemplateInputs::default()
    };
    let _ = template.render(&messages, &inputs);
    inputs.add_generation_prompt = true;
    let _ = template.render(&messages, &inputs);
}

const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const LLAMA3: &str = "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- system_message }}{{- \"<|eot_id|>\" }}{%- for message in messages %}{%- if (message.role == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

const TOOLS: &str = "{%- if tools %}{{ tools | tojson(indent=2) }}{%- endif %}{% for m in messages %}{% generation %}{{ m.content | tojson(ensure_ascii=True, sort_keys=True) }}{% endgeneration %}{{ strftime_now('%Y-%m-%d') }}{% endfor %}{% for i in range(3) %}{{ i }}{% endfor %}";

pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let messages = "system\tBe brief.\nuser\tHi\nassistant\tHello\nuser\t\"quoted\" {{ x }}";
    [CHATML, LLAMA3, TOOLS]
        .iter()
        .map(|t| format!("{t}\0{messages}").into_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    /// The seed templates compile and render their messages.
    #[test]
    fn the_seeds_render() {
        for seed in super::seeds() {
            let text = String::from_utf8(seed).unwrap();
            let (source, _) = text.split_once('\0').unwrap();
            let template = prefopt_data::ChatTemplate::new(source).unwrap();
            let messages = [prefopt_data::Message::new("user", "Hi")];
            let out = template
                .render(&messages, &prefopt_data::ChatTemplateInputs::default())
                .unwrap();
            assert!(out.contains("Hi"), "{out}");
        }
    }
}
