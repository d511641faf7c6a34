#!/usr/bin/env python3
"""Write tiny GGUF tokenizers and transformers' encodings of a varied text set on them.

Run from the repository root (deterministic; needs gguf, numpy, transformers, tokenizers):

    /work/venv/bin/python crates/data/scripts/make_gguf_tokenizer.py

Writes into crates/data/tests/fixtures/gguf/ (GGUFWriter, arch `llama`, no tensors):
  bpe.gguf         byte-level BPE (`tokenizer.ggml.model` = gpt2, pre `smollm`): three CONTROL
                   tokens, a USER_DEFINED `<think>`, the 256 byte symbols, merges of common
                   pairs, digits, a multi-byte letter and runs of spaces; bos/eos/pad/unk ids,
                   add_bos_token false, a ChatML chat template.
  bpe_llama3.gguf  the same vocabulary with pre `llama-bpe` (Llama 3's split regex) and
                   add_bos_token true.
  spm.gguf         SentencePiece-style (`llama`): `<unk>`/`<s>`/`</s>`, 256 `<0xNN>` byte tokens,
                   `▁` pieces with scores and no merges (they are derived from the scores), add_bos.
  reference.json   per file: `AutoTokenizer.from_pretrained(dir, gguf_file=...)` ids of every
                   text with and without special tokens, the decoded text, the special tokens,
                   and the chat template rendered for a conversation; library versions.
"""

import json
import os
import shutil
import tempfile
from importlib.metadata import version

import gguf
from transformers.convert_slow_tokenizer import bytes_to_unicode  # GPT-2's byte alphabet

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "gguf")

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TEXTS = [
    "Hello world",
    "the theater in the thin air",
    "  two leading spaces",
    "trailing spaces   ",
    "tabs\tand\nnewlines\n\n\nend",
    "digits 1234567890, 3.14159 and 42nd",
    "unicode: grüße, 世界, emoji 🎉, Ελληνικά",
    "<|im_start|>user\nhi there<|im_end|>\n",
    "a<|im_end|>b<|endoftext|>",
    "<think>reasoning</think> answer",
    "don't you're I'll WE'VE",
    "mixed CASE and under_scores",
    "   \t  \n  ",
    "",
    " ",
    "\n",
]

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4"},
    {"role": "user", "content": "And 3+3?"},
]


def bpe_vocab():
    b2u = bytes_to_unicode()
    spell = lambda s: "".join(b2u[b] for b in (s if isinstance(s, bytes) else s.encode("utf-8")))
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens = specials + ["<think>"] + [b2u[b] for b in range(256)]
    types = [3, 3, 3, 4] + [1] * 256
    merges = []
    for left, right in [
        ("h", "e"), (" ", "t"), (" t", "he"), ("t", "he"), ("i", "n"), ("e", "r"), (" ", "a"),
        ("t", "h"), (" t", "h"), (" th", "e"), ("e", "a"), ("a", "t"), ("at", "er"), (" ", " "),
        ("  ", " "), ("  ", "  "), ("1", "2"), ("12", "3"), ("4", "2"), ("\n", "\n"),
        (b"\xc3", b"\xbc"), (b"\xc3", b"\x9f"), ("ü", "ß"), ("'", "s"), ("'", "t"), ("'", "re"), ("r", "e"), ("o", "u"), (" ", "w"),
        (" w", "or"), ("o", "r"), ("l", "d"), ("He", "l"), ("H", "e"), ("Hel", "lo"), ("l", "o"),
    ]:
        merges.append(f"{spell(left)} {spell(right)}")
        merged = spell(left) + spell(right)
        if merged not in tokens:
            tokens.append(merged)
            types.append(1)
    return tokens, types, merges


def spm_vocab():
    pieces = ["▁", "▁t", "h", "e", "he", "▁the", "▁a", "a", "t", "▁th", "i", "s", "is", "▁is",
              "▁H", "el", "l", "o", "lo", "llo", "▁Hello", "▁w", "or", "▁wor", "ld", "▁world",
              "▁in", "n", "r", "er", "at", "▁2", "2", "▁▁", "d", "g", "ü", "ß"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    for i, p in enumerate(pieces):
        tokens.append(p)
        types.append(1)
        scores.append(-float(i) - 1.0)
    return tokens, types, scores


def write_bpe(path, pre, add_bos):
    tokens, types, merges = bpe_vocab()
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("prefopt.fixture.generator", "crates/data/scripts/make_gguf_tokenizer.py")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_vocab_size(len(tokens))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(add_bos)
    w.add_chat_template(CHATML)
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_spm(path):
    tokens, types, scores = spm_vocab()
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("prefopt.fixture.generator", "crates/data/scripts/make_gguf_tokenizer.py")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores(scores)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_chat_template(CHATML.replace("<|im_start|>", "<s>").replace("<|im_end|>", "</s>"))
    finish(w)


def main():
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    os.makedirs(OUT, exist_ok=True)
    reference = {
        "generator": "crates/data/scripts/make_gguf_tokenizer.py",
        "versions": {"gguf": version("gguf"), "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "texts": TEXTS,
        "conversation": CONVERSATION,
        "files": {},
    }
    write_bpe(os.path.join(OUT, "bpe.gguf"), "smollm", False)
    write_bpe(os.path.join(OUT, "bpe_llama3.gguf"), "llama-bpe", True)
    write_spm(os.path.join(OUT, "spm.gguf"))
    for name in ["bpe.gguf", "bpe_llama3.gguf", "spm.gguf"]:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(OUT, name), os.path.join(tmp, name))
            tok = AutoTokenizer.from_pretrained(tmp, gguf_file=name)
        entry = {
            "special_tokens": {k: getattr(tok, k) for k in ["bos_token", "eos_token", "pad_token", "unk_token"]},
            "vocab_size": len(tok),
            "ids": [tok(t).input_ids for t in TEXTS],
            "ids_no_special": [tok(t, add_special_tokens=False).input_ids for t in TEXTS],
            "chat": tok.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True),
        }
        entry["decoded"] = [tok.decode(ids, skip_special_tokens=False) for ids in entry["ids_no_special"]]
        reference["files"][name] = entry
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
