"""Baseline for generate_bench: Hugging Face transformers `generate()` on the same model, same
GPU, same work: batch B of documents from BOS, exactly N new tokens each (min = max new tokens),
top-p 0.9 sampling, bf16 on CUDA (fp32 on CPU), KV cache on. Prints one JSON line per batch size
with generated tokens per second.

  python3 benchmarks/generate_hf.py --model runs/gen-0-hf --batch 1 64 256 --new-tokens 128
  python3 benchmarks/generate_hf.py --preset small --batch 64     # random weights, same shape

--model takes an export folder (`collapse export`), loaded as LlamaForCausalLM.
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


def load(args, dtype):
    if args.model:
        return transformers.LlamaForCausalLM.from_pretrained(args.model, torch_dtype=dtype)
    p = PRESETS[args.preset]
    config = transformers.LlamaConfig(
        vocab_size=args.vocab, hidden_size=p["d_model"], intermediate_size=p["ffn"],
        num_hidden_layers=p["n_layer"], num_attention_heads=p["n_head"],
        num_key_value_heads=p["n_head"], max_position_embeddings=p["context"],
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).to(dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="export folder (collapse export)")
    parser.add_argument("--preset", choices=PRESETS, default="small")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    model = load(args, dtype).to(args.device).eval()
    for batch in args.batch:
        inputs = torch.full((batch, 1), 1, dtype=torch.long, device=args.device)  # BOS
        kwargs = dict(do_sample=True, top_p=0.9, max_new_tokens=args.new_tokens,
                      min_new_tokens=args.new_tokens, pad_token_id=3, use_cache=True)
        with torch.inference_mode():
            model.generate(inputs, **kwargs)  # warm-up
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.repeats):
                model.generate(inputs, **kwargs)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / args.repeats
        print(json.dumps({"impl": "hf-generate", "device": args.device, "batch": batch,
                          "new_tokens": args.new_tokens, "seconds": round(seconds, 4),
                          "tokens_per_s": round(batch * args.new_tokens / seconds, 1),
                          "transformers": transformers.__version__, "torch": torch.__version__}),
              flush=True)


if __name__ == "__main__":
    main()
