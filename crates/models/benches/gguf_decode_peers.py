"""Peers of `cargo bench -p prefopt-models --bench causal_lm -- --gguf FILE` (issue 20): greedy
decode of 128 new tokens at batch 1 and batch 8 after a 16-token prompt (the same ids as
benches/causal_lm.rs: row r, position i -> (r*31 + i*7) % 500 + 3), EOS ignored, median of 3
timed runs after a warm-up, on the same GGUF file. Prints `<side> <metric> <value>` lines.

  --side llama.cpp      llama-cpp-python's low-level API (the library llama.cpp builds, CPU,
                        2 threads): one sequence id per batch row, the prompt rows decoded in
                        one batch, then one token per row per step; argmax of each row's logits.
  --side transformers   AutoModelForCausalLM.from_pretrained(dir, gguf_file=name): the weights
                        dequantized to float32, `generate` with greedy decoding, SDPA attention.

Each side runs in its own process so its peak RSS (`ru_maxrss`) is its own.
"""

import argparse
import os
import platform
import resource
import statistics
import time

PROMPT, NEW, REPEATS = 16, 128, 3


def prompts(batch):
    return [[(r * 31 + i * 7) % 500 + 3 for i in range(PROMPT)] for r in range(batch)]


def timed(fn):
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def llama_cpp_side(path, threads):
    import ctypes

    import llama_cpp
    import numpy as np

    llama_cpp.llama_backend_init()
    mparams = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(path.encode(), mparams)
    assert model, f"llama.cpp could not load {path}"
    cparams = llama_cpp.llama_context_default_params()
    cparams.n_ctx = 8 * (PROMPT + NEW) + 64
    cparams.n_batch = 8 * PROMPT
    cparams.n_ubatch = 8 * PROMPT
    cparams.n_seq_max = 8
    cparams.n_threads = threads
    cparams.n_threads_batch = threads
    ctx = llama_cpp.llama_init_from_model(model, cparams)
    assert ctx, "llama.cpp could not create a context"
    vocab = llama_cpp.llama_model_get_vocab(model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    batch = llama_cpp.llama_batch_init(8 * PROMPT, 0, 1)

    def fill(items):
        """items: (token, position, sequence, wants logits)"""
        for i, (tok, pos, seq, logits) in enumerate(items):
            batch.token[i] = tok
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = 1 if logits else 0
        batch.n_tokens = len(items)
        assert llama_cpp.llama_decode(ctx, batch) == 0, "llama_decode failed"

    def argmax(i):
        row = llama_cpp.llama_get_logits_ith(ctx, i)
        return int(np.ctypeslib.as_array(row, shape=(n_vocab,)).argmax())

    def decode(rows):
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        fill([(tok, pos, r, pos == PROMPT - 1)
              for r, row in enumerate(rows) for pos, tok in enumerate(row)])
        nxt = [argmax(r * PROMPT + PROMPT - 1) for r in range(len(rows))]
        out = [[t] for t in nxt]
        for step in range(1, NEW):
            fill([(nxt[r], PROMPT + step - 1, r, True) for r in range(len(rows))])
            nxt = [argmax(r) for r in range(len(rows))]
            for r, t in enumerate(nxt):
                out[r].append(t)
        assert all(len(o) == NEW for o in out)
        return out

    rates = {b: b * NEW / timed(lambda b=b: decode(prompts(b))) for b in (1, 8)}
    llama_cpp.llama_batch_free(batch)
    print(f"llama.cpp versions llama-cpp-python={llama_cpp.__version__} threads={threads} "
          f"python={platform.python_version()}")
    return rates


def transformers_side(path, threads):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), torch_dtype=torch.float32,
        attn_implementation="sdpa")
    model.eval()

    def decode(rows):
        ids = torch.tensor(rows)
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW,
                                 min_new_tokens=NEW, do_sample=False, pad_token_id=0)
        assert out.shape[1] == PROMPT + NEW

    rates = {b: b * NEW / timed(lambda b=b: decode(prompts(b))) for b in (1, 8)}
    print(f"transformers versions torch={torch.__version__} "
          f"transformers={transformers.__version__} threads={torch.get_num_threads()} "
          f"python={platform.python_version()}")
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--side", required=True, choices=["llama.cpp", "transformers"])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    side = llama_cpp_side if args.side == "llama.cpp" else transformers_side
    rates = side(args.model, args.threads)
    print(f"{args.side} decode_b1_tokens_per_s {rates[1]:.1f}")
    print(f"{args.side} decode_b8_tokens_per_s {rates[8]:.1f}")
    print(f"{args.side} peak_rss_mib {peak_rss_mib():.0f}")


if __name__ == "__main__":
    main()
