"""Perplexity of Hugging Face model folders on a collapse token file, computed with transformers.

Usage: hf_perplexity.py TOKEN_FILE BOS EOS STRIDE MODEL_DIR:CONTEXT [MODEL_DIR:CONTEXT ...]

STRIDE 0: the documented definition (docs/perplexity.md): every document as BOS + tokens + EOS
(one shared token between documents where BOS is EOS), concatenated; non-overlapping windows of
CONTEXT tokens; every token but the first predicted once.

STRIDE S > 0: the sliding-window loop of transformers' perplexity guide
(https://huggingface.co/docs/transformers/perplexity), as written there: the documents' tokens
joined with no boundary tokens but what the model folder's tokenizer adds around one text
(tokenizer("x") vs tokenizer("x", add_special_tokens=False)); windows of CONTEXT tokens beginning
every S tokens; labels -100 before the last trg_len = end - previous end positions; the loss
transformers computes from those labels. One departure: the guide weights each window's mean
loss by (valid labels - 1), which is its scored-token count only for the first window; here it
is weighted by the tokens it averages (every scored token counts once, the guide's formula).

Prints one JSON object per model, in order: {"model", "tokens", "nll_sum", "perplexity"}."""
import json
import math
import struct
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def documents(path):
    b = open(path, "rb").read()
    _, _, width, n, d, _ = struct.unpack_from("<8sIIQQI", b, 0)
    tok = np.frombuffer(b, dtype="<u2" if width == 2 else "<u4", count=n, offset=64)
    off = np.frombuffer(b, dtype="<u8", count=d + 1, offset=64 + n * width)
    return [tok[off[k]:off[k + 1]].tolist() for k in range(d)]


def documented(model, docs, bos, eos, context):
    s = [eos] if bos == eos else []
    for doc in docs:
        s += ([] if bos == eos else [bos]) + doc + [eos]
    total, M = 0.0, len(s)
    for i in range(0, M - 1, context):
        L = min(context, M - 1 - i)
        logits = model(torch.tensor([s[i:i + L]])).logits[0].double()
        targets = torch.tensor(s[i + 1:i + L + 1])
        total -= torch.log_softmax(logits, -1)[torch.arange(L), targets].sum().item()
    return M - 1, total


def guide(model, model_dir, docs, context, stride):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    plain, added = tokenizer("x", add_special_tokens=False).input_ids, tokenizer("x").input_ids
    at = next(i for i in range(len(added) - len(plain) + 1) if added[i:i + len(plain)] == plain)
    ids = added[:at] + [t for doc in docs for t in doc] + added[at + len(plain):]
    input_ids = torch.tensor([ids])
    seq_len = input_ids.size(1)
    nll_sum, n_tokens, prev_end_loc = 0.0, 0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + context, seq_len)
        trg_len = end_loc - prev_end_loc
        window = input_ids[:, begin_loc:end_loc]
        target_ids = window.clone()
        target_ids[:, :-trg_len] = -100
        loss = model(window, labels=target_ids).loss.double().item()  # mean over the scored labels
        scored = (target_ids[:, 1:] != -100).sum().item()            # after the internal shift
        nll_sum += loss * scored
        n_tokens += scored
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return n_tokens, nll_sum


def main():
    path, bos, eos, stride = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    docs = documents(path)
    for spec in sys.argv[5:]:
        model_dir, context = spec.rsplit(":", 1)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        with torch.no_grad():
            if stride == 0:
                tokens, total = documented(model, docs, bos, eos, int(context))
            else:
                tokens, total = guide(model, model_dir, docs, int(context), stride)
        print(json.dumps({"model": model_dir, "tokens": tokens, "nll_sum": total,
                          "perplexity": math.exp(total / tokens)}), flush=True)


if __name__ == "__main__":
    main()
