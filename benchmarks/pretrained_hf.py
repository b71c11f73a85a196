"""Baseline for benchmarks/pretrained_bench.cpp: the same folder in transformers on the same
machine. Loading (from_pretrained, twice: the second from a warm page cache), the peak resident
memory after loading, fine-tuning steps (forward, backward, AdamW lr 5e-5 on random tokens, after
one warm-up step) and generation (ROWS documents from token 0, exactly NEW_TOKENS each, plain
sampling, KV cache). Prints one JSON line with pretrained_bench's keys.

  python3 benchmarks/pretrained_hf.py MODEL_DIR [BATCH CONTEXT STEPS ROWS NEW_TOKENS]
"""
import json
import resource
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    model_dir = sys.argv[1]
    batch, context, steps, rows, new_tokens = (int(a) for a in (sys.argv[2:7] or (4, 256, 3, 8, 64)))
    out = {"model": model_dir, "threads": torch.get_num_threads()}
    start = time.perf_counter()
    AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    out["load_first_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    out["load_warm_s"] = time.perf_counter() - start
    out["peak_rss_after_load_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["parameters"] = sum(p.numel() for p in model.parameters())
    vocab = model.config.vocab_size

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    gen = torch.Generator().manual_seed(0)

    def step():
        tokens = torch.randint(vocab, (batch, context + 1), generator=gen)
        logits = model(tokens[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    train_s = time.perf_counter() - start
    out.update(train_batch=batch, train_context=context, train_ms_per_step=1000 * train_s / steps,
               train_tokens_per_s=steps * batch * context / train_s)

    model.eval()
    prompt = torch.zeros((rows, 1), dtype=torch.long)
    kwargs = dict(do_sample=True, top_k=0, top_p=1.0, min_new_tokens=new_tokens, max_new_tokens=new_tokens,
                  pad_token_id=0, eos_token_id=1)
    with torch.no_grad():
        model.generate(prompt, **kwargs)
        start = time.perf_counter()
        generated = model.generate(prompt, **kwargs)
    out.update(generate_rows=rows,
               generate_tokens_per_s=(generated.shape[1] - 1) * rows / (time.perf_counter() - start))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
