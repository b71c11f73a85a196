"""Perplexity of a Hugging Face model folder on a collapse token file, computed with transformers
exactly as docs/perplexity.md defines it: every document as BOS + tokens + EOS (one shared token
between documents where BOS is EOS), concatenated; non-overlapping windows of the context; every
token but the first predicted once.

Usage: hf_perplexity.py MODEL_DIR TOKEN_FILE BOS EOS CONTEXT
Prints {"tokens": N, "nll_sum": S, "perplexity": P} on one line."""
import json
import math
import struct
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def stream(path, bos, eos):
    b = open(path, "rb").read()
    _, _, width, n, d, _ = struct.unpack_from("<8sIIQQI", b, 0)
    tok = np.frombuffer(b, dtype="<u2" if width == 2 else "<u4", count=n, offset=64)
    off = np.frombuffer(b, dtype="<u8", count=d + 1, offset=64 + n * width)
    s = [eos] if bos == eos else []
    for k in range(d):
        s += ([] if bos == eos else [bos]) + tok[off[k]:off[k + 1]].tolist() + [eos]
    return s


def main():
    model_dir, path, bos, eos, context = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    s = stream(path, bos, eos)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    total, M = 0.0, len(s)
    with torch.no_grad():
        for i in range(0, M - 1, context):
            L = min(context, M - 1 - i)
            logits = model(torch.tensor([s[i:i + L]])).logits[0].double()
            targets = torch.tensor(s[i + 1:i + L + 1])
            total -= torch.log_softmax(logits, -1)[torch.arange(L), targets].sum().item()
    print(json.dumps({"tokens": M - 1, "nll_sum": total, "perplexity": math.exp(total / (M - 1))}))


if __name__ == "__main__":
    main()
