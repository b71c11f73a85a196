"""Random-weight Hugging Face model folders at real configs, for benchmarks/pretrained_bench.cpp
and benchmarks/pretrained_hf.py: GPT-2 124M (GPT2Config's defaults) and OPT-125m (OPTConfig's
defaults), fp32 model.safetensors, seeded. No download: the configs are transformers' defaults,
which are those models' shapes.

  python3 benchmarks/pretrained_models.py /tmp/pretrained   # writes gpt2-124m/ and opt-125m/
"""
import os
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, OPTConfig, OPTForCausalLM


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/pretrained"
    for name, model_class, config in (("gpt2-124m", GPT2LMHeadModel, GPT2Config()),
                                      ("opt-125m", OPTForCausalLM, OPTConfig())):
        torch.manual_seed(0)
        model = model_class(config).eval()
        model.save_pretrained(os.path.join(out, name), safe_serialization=True)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params / 1e6:.1f}M parameters in {os.path.join(out, name)}")


if __name__ == "__main__":
    main()
