"""Loads a `collapse export` folder with Hugging Face transformers' LlamaForCausalLM and compares
its fp32 logits with ours. Usage: hf_parity.py EXPORT_DIR REFERENCE.safetensors, where the
reference holds "tokens" [B, T] int64 and "logits" [B, T, V] float32 computed by collapse.
Exit 0: max |difference| < 1e-4; 1: larger; 77: transformers/safetensors not importable (skip)."""
import json
import sys

try:
    import torch
    import transformers
    from safetensors.torch import load_file
except ImportError as error:  # the test reports a skip, naming what is missing
    print(f"cannot import: {error}")
    sys.exit(77)

export_dir, reference_file = sys.argv[1], sys.argv[2]
model = transformers.LlamaForCausalLM.from_pretrained(
    export_dir, torch_dtype=torch.float32, attn_implementation="eager")
model.eval()
reference = load_file(reference_file)
with torch.no_grad():
    logits = model(reference["tokens"]).logits
difference = (logits - reference["logits"]).abs().max().item()
print(json.dumps({"transformers": transformers.__version__, "max_abs_diff": difference}))
sys.exit(0 if difference < 1e-4 else 1)
