#!/usr/bin/env python3
"""Reference outputs of transformers and TRL on prefopt-data's fixtures.

    /work/venv/bin/python crates/data/scripts/reference_transformers.py

Loads tests/fixtures/tiny_tokenizer with transformers' AutoTokenizer and writes
tests/fixtures/reference/transformers.json with:
  * `encode`: ids of texts with add_special_tokens True/False;
  * `chat`: apply_chat_template text and ids for every named template of the fixture;
  * `dpo`: TRL DPOTrainer's tokenized train set, keyed by fixture (`+think_prompt`: with
    tests/fixtures/think_prompt.jinja as the chat template) (prompt_ids/chosen_ids/rejected_ids) for the
    preference fixtures, from a real DPOTrainer built around a tiny random Llama (the model is
    only needed to construct the trainer; seed fixed, weights irrelevant to the ids).
No network access; library versions are recorded in the output.
"""
import json
import os
import sys
import tempfile

import tokenizers
import torch
import transformers
import trl
from datasets import load_dataset
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from trl import DPOConfig, DPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures")
TOK_DIR = os.path.join(FIXTURES, "tiny_tokenizer")
OUT = os.path.join(FIXTURES, "reference", "transformers.json")

TEXTS = ["the hello", "The sky is blue.</s>", "  two  spaces\nand a newline", "<|im_start|>user\nhé"]
CONVERSATIONS = [
    [{"role": "user", "content": "Hi there"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "  What is 2+2? "},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ],
]
TOOLS = [{"name": "get_weather", "description": "Weather <today> & 'tomorrow'",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}}]


def main():
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(TOK_DIR)
    out = {
        "generator": "crates/data/scripts/reference_transformers.py",
        "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "trl": trl.__version__,
                     "torch": torch.__version__},
        "seed": 0,
        "special": {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                    "pad_token_id": tok.pad_token_id},
        "encode": [],
        "chat": [],
        "dpo": {},
    }
    for text in TEXTS:
        for special in (True, False):
            out["encode"].append({"text": text, "add_special_tokens": special,
                                  "ids": tok(text, add_special_tokens=special)["input_ids"]})
    names = [t["name"] for t in json.load(open(os.path.join(TOK_DIR, "tokenizer_config.json")))["chat_template"]]
    for name in names:
        for messages in CONVERSATIONS:
            if name == "mistral" and messages[0]["role"] == "system":
                continue  # the template raises on system messages (tested separately)
            for gen in (True, False):
                kwargs = {"chat_template": name, "add_generation_prompt": gen}
                if name == "features":
                    kwargs.update(tools=TOOLS, date_string="26 Jul 2024")
                text = tok.apply_chat_template(messages, tokenize=False, **kwargs)
                ids = tok.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)["input_ids"]
                out["chat"].append({"template": name, "messages": messages, "add_generation_prompt": gen,
                                    "text": text, "ids": list(ids)})
    config = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256)
    model = LlamaForCausalLM(config)
    default_tok = AutoTokenizer.from_pretrained(TOK_DIR)
    default_tok.chat_template = [t for t in json.load(open(os.path.join(TOK_DIR, "tokenizer_config.json")))["chat_template"] if t["name"] == "default"][0]["template"]
    with open(os.path.join(FIXTURES, "think_prompt.jinja"), encoding="utf-8") as f:
        think_template = f.read().rstrip("\n")
    runs = [("pairs_standard.jsonl", None), ("pairs_conversational.jsonl", None),
            ("pairs_prefix_mismatch.jsonl", None),
            # A template whose generation prompt (an empty think block, like Qwen3/Gemma) is
            # absent from the rendered full conversation: the prompt is not a token prefix.
            ("pairs_conversational.jsonl+think_prompt", think_template)]
    default_template = default_tok.chat_template
    for key, template in runs:
        name = key.split("+")[0]
        default_tok.chat_template = template or default_template
        data = load_dataset("json", data_files=os.path.join(FIXTURES, "jsonl", name), split="train")
        with tempfile.TemporaryDirectory() as tmp:
            args = DPOConfig(output_dir=tmp, report_to=[], max_length=None, use_cpu=True,
                             dataset_num_proc=None)
            trainer = DPOTrainer(model=model, ref_model=LlamaForCausalLM(config), args=args, train_dataset=data,
                                 processing_class=default_tok)
            rows = trainer.train_dataset
            out["dpo"][key] = [{k: rows[i][k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
                                for i in range(len(rows))]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
