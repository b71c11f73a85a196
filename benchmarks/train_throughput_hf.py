"""Baseline for train_throughput_bench: the same model shape as transformers' LlamaForCausalLM,
trained the same way (AdamW, bf16 autocast on CUDA, fp32 on CPU, random tokens, vocab 8192), in
plain PyTorch from Python, eagerly or with --compile (torch.compile of the model; the warm-up
steps, which include the compilation, are reported as warmup_s). Prints one JSON line per
configuration with tokens per second.

  python3 benchmarks/train_throughput_hf.py --preset tiny --batch 16 --device cpu --steps 20
  python3 benchmarks/train_throughput_hf.py --preset small --batch 64 --compile      # on a GPU
"""
import argparse
import json
import time

import torch
import transformers

PRESETS = {  # must match ModelConfig::preset in src/model/model_config.cpp
    "tiny": dict(n_layer=2, n_head=4, d_model=128, ffn=384, context=128),
    "small": dict(n_layer=6, n_head=6, d_model=384, ffn=1024, context=256),
    "base": dict(n_layer=12, n_head=12, d_model=768, ffn=2048, context=1024),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=PRESETS, default="tiny")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--compile-backend", default="inductor",
                        help="torch.compile backend (default inductor; 'eager' only traces, which "
                             "checks this path in seconds on a CPU)")
    args = parser.parse_args()

    p = PRESETS[args.preset]
    config = transformers.LlamaConfig(
        vocab_size=8192, hidden_size=p["d_model"], intermediate_size=p["ffn"],
        num_hidden_layers=p["n_layer"], num_attention_heads=p["n_head"],
        num_key_value_heads=p["n_head"], max_position_embeddings=p["context"],
        tie_word_embeddings=True, attn_implementation="sdpa")
    device = torch.device(args.device)
    model = transformers.LlamaForCausalLM(config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    forward = torch.compile(model, backend=args.compile_backend) if args.compile else model
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 8192, (args.batch, p["context"] + 1), generator=generator).to(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = forward(tokens[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 8192), tokens[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    start = time.perf_counter()
    for _ in range(3):  # warm-up; with --compile, the compilation happens here
        step()
    sync()
    warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    mode = f"compile:{args.compile_backend}" if args.compile else "eager"
    print(json.dumps({"preset": args.preset, "batch": args.batch, "device": str(device), "mode": mode,
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "warmup_s": warmup_s, "ms_per_step": 1000 * seconds / args.steps,
                      "tokens_per_s": args.steps * args.batch * p["context"] / seconds}))


if __name__ == "__main__":
    main()
