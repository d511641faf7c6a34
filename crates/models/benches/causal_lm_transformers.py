"""transformers side of `cargo bench -p prefopt-models --bench causal_lm` (same config and
workload as benches/causal_lm.rs). Prints `transformers <metric> <value>` lines.

`--config smollm2-135m`: SmolLM2-135M-Instruct's shape, random weights, greedy decode of 128 new
tokens at batch 1 and 8 after a 16-token prompt, and the process's peak RSS."""

import argparse
import platform
import resource
import statistics
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

CONFIG = dict(vocab_size=512, hidden_size=128, intermediate_size=352, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
              max_position_embeddings=1024, tie_word_embeddings=False, eos_token_id=2)
DECODE_BATCH, DECODE_PROMPT, DECODE_NEW = 4, 16, 64
TRAIN_BATCH, TRAIN_SEQ = 8, 128
REPEATS = 5
SMOLLM2 = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
               num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5,
               rope_theta=100000.0, max_position_embeddings=8192, tie_word_embeddings=True,
               eos_token_id=2)


def timed(fn, repeats=REPEATS):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def versions():
    return (f"transformers versions torch={torch.__version__} "
            f"transformers={transformers.__version__} threads={torch.get_num_threads()} "
            f"python={platform.python_version()}")


def smollm2():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2)).float()
    model.config._attn_implementation = "sdpa"
    model.eval()
    rates = {}
    for batch in (1, 8):
        prompts = torch.tensor([[(r * 31 + i * 7) % 500 + 3 for i in range(DECODE_PROMPT)]
                                for r in range(batch)])

        def decode():
            with torch.no_grad():
                out = model.generate(prompts, attention_mask=torch.ones_like(prompts),
                                     max_new_tokens=128, min_new_tokens=128,
                                     do_sample=False, pad_token_id=0)
            assert out.shape[1] == DECODE_PROMPT + 128

        rates[batch] = batch * 128 / timed(decode, repeats=3)
    print(versions())
    print(f"transformers decode_b1_tokens_per_s {rates[1]:.1f}")
    print(f"transformers decode_b8_tokens_per_s {rates[8]:.1f}")
    print(f"transformers peak_rss_mib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="tiny", choices=["tiny", "smollm2-135m"])
    if parser.parse_args().config == "smollm2-135m":
        smollm2()
        return
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**CONFIG)).float()
    model.config._attn_implementation = "sdpa"
    prompts = torch.tensor([[(r * 31 + i * 7) % 500 + 3 for i in range(DECODE_PROMPT)]
                            for r in range(DECODE_BATCH)])
    model.eval()

    def decode():
        with torch.no_grad():
            out = model.generate(prompts, attention_mask=torch.ones_like(prompts),
                                 max_new_tokens=DECODE_NEW, min_new_tokens=DECODE_NEW,
                                 do_sample=False, pad_token_id=0)
        assert out.shape[1] == DECODE_PROMPT + DECODE_NEW

    decode_tps = DECODE_BATCH * DECODE_NEW / timed(decode)

    model.train()
    b, t = TRAIN_BATCH, TRAIN_SEQ
    ids = torch.tensor([(i * 13) % 500 + 3 for i in range(b * t)]).reshape(b, t)
    comp = torch.tensor([1.0 if i % t >= t // 2 else 0.0 for i in range(b * t)]).reshape(b, t)

    def step():
        model.zero_grad(set_to_none=True)
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[:, :-1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        summed = (logp * comp[:, 1:]).sum(-1)
        summed.mean().backward()

    train_tps = b * t / timed(step)
    print(versions())
    print(f"transformers decode_tokens_per_s {decode_tps:.1f}")
    print(f"transformers fwd_bwd_tokens_per_s {train_tps:.1f}")


if __name__ == "__main__":
    main()
