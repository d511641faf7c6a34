#!/usr/bin/env python3
"""transformers' tokenizer of the real SmolLM2-135M-Instruct GGUF on a varied text set.

Needs the model (`cargo xtask fetch-models`; PREFOPT_MODELS_DIR, default
~/.cache/prefopt/models):

    /work/venv/bin/python crates/data/scripts/reference_gguf_smollm2_tokenizer.py

Writes crates/data/tests/fixtures/gguf/smollm2_reference.json: for every text (the tiny
fixtures' set plus SmolLM2's own special tokens, code, digits and long unicode runs) the ids of
`AutoTokenizer.from_pretrained(dir, gguf_file=...)` with and without special tokens and the
decoded text; the special tokens; the chat template rendered for a conversation with and
without a system message; library versions.
"""

import json
import os
import sys
from importlib.metadata import version

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_gguf_tokenizer import CONVERSATION, TEXTS  # noqa: E402

NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(HERE, "..", "tests", "fixtures", "gguf", "smollm2_reference.json")

EXTRA = [
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "<repo_name>prefopt<file_sep>src/lib.rs<gh_stars>100<|endoftext|>",
    "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n",
    "    indented    code\twith\t\ttabs",
    "Numbers: 0 00 007 1,000,000 3.14e-10 -42 +7 12345678901234567890",
    "Ünïcödé ñ ç ø å ß Æ œ — “quotes” ‘single’ … €100 ¥200 £300",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "emoji: 😀😃😄 👩‍💻 🇫🇷 ❤️",
    "\r\n windows\r\nline endings\r\n",
    "     ",
    "a" * 50 + " " + "ab" * 20,
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
]


def main():
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    directory = os.environ.get("PREFOPT_MODELS_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "prefopt", "models")
    if not os.path.isfile(os.path.join(directory, NAME)):
        sys.exit(f"{NAME} not found in {directory}: run `cargo xtask fetch-models` first")
    tok = AutoTokenizer.from_pretrained(directory, gguf_file=NAME)
    texts = TEXTS + EXTRA
    without_system = [m for m in CONVERSATION if m["role"] != "system"]
    reference = {
        "generator": "crates/data/scripts/reference_gguf_smollm2_tokenizer.py",
        "model": NAME,
        "versions": {"gguf": version("gguf"), "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "texts": texts,
        "special_tokens": {k: getattr(tok, k) for k in ["bos_token", "eos_token", "pad_token", "unk_token"]},
        "vocab_size": len(tok),
        "ids": [tok(t).input_ids for t in texts],
        "ids_no_special": [tok(t, add_special_tokens=False).input_ids for t in texts],
        "conversation": CONVERSATION,
        "chat": tok.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True),
        "conversation_without_system": without_system,
        "chat_without_system": tok.apply_chat_template(without_system, tokenize=False, add_generation_prompt=True),
    }
    reference["decoded"] = [tok.decode(ids, skip_special_tokens=False) for ids in reference["ids_no_special"]]
    with open(OUT, "w") as f:
        json.dump(reference, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
