"""Reference fixtures for collapse's reader of Hugging Face model folders.

Usage: hf_model_fixtures.py OUT_DIR TOKENIZER_DIR

Builds, with a fixed seed, tiny random models of every supported family with transformers
(`*Config` + `save_pretrained`, safetensors) and writes what transformers computes with them.
Every model's vocabulary is that of the tokenizer in TOKENIZER_DIR (a tokenizer.json folder made
by hf_tokenizer_fixtures.py), whose files are copied into each model folder, so that a corpus
prepared with it fits every model. Everything is deterministic: two runs write the same files.

OUT_DIR/kinds.json     [{"name", "family", "context", "description"}, ...]; context: the
                       positions a window may hold (a sliding window bounds it)
OUT_DIR/K/             the model folder (config.json, model.safetensors or shards, the tokenizer)
OUT_DIR/K/expected.json
  tokens        [2, T] token ids
  logits        [2, T, V] fp32 logits of model(tokens)
  prompts       3 prompts of different lengths
  padded        the prompts left-padded with pad id 0 to one length, [3, L]
  last_logits   [3, V] logits at the last position of each padded row (attention_mask and
                position ids counting real tokens only, as generate() does)
  greedy        [3, N] tokens greedy decoding appends to the padded prompts
Exit 0: written (one summary line); 1: failure; 2: bad arguments; 77: torch, transformers or
tokenizers not importable."""
import json
import os
import shutil
import sys
import time

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

try:
    import torch
    import transformers
    from tokenizers import Tokenizer
    from safetensors.torch import load_file, save_file
    from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, GPTNeoXConfig,
                              GPTNeoXForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig,
                              MistralForCausalLM, OPTConfig, OPTForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)
except ImportError as error:
    print(f"hf_model_fixtures: cannot import {error.name or error}")
    sys.exit(77)

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

SEED = 20241206
VOCAB = None  # the tokenizer's, set by main()
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
T = 12
GREEDY_TOKENS = 6


def common(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64,
                bos_token_id=None, eos_token_id=None, pad_token_id=None)
    base.update(kw)
    return base


def small(**kw):
    """Shared shape of the non-Llama families, in their own key names."""
    base = dict(vocab_size=VOCAB, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    base.update(kw)
    return base


def kinds():
    """(name, description, model class, config, save_pretrained options)."""
    return [
        ("llama-gqa-llama3-rope",
         "llama: 2 key/value heads for 4 query heads, head_dim 24 (not hidden/heads), rope_type "
         "llama3, tied embeddings; fp32",
         LlamaForCausalLM,
         LlamaConfig(**common(num_key_value_heads=2, head_dim=24, tie_word_embeddings=True,
                              rope_theta=500000.0,
                              rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                            "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                            "original_max_position_embeddings": 16})),
         {}),
        ("llama-bias-linear-rope-bf16",
         "llama: attention_bias and mlp_bias, rope_type linear (factor 2), untied; saved in bf16",
         LlamaForCausalLM,
         LlamaConfig(**common(attention_bias=True, mlp_bias=True, tie_word_embeddings=False,
                              rope_scaling={"rope_type": "linear", "factor": 2.0})),
         {"dtype": torch.bfloat16}),
        ("qwen2-mqa-sharded",
         "qwen2: q/k/v biases, one key/value head, untied; weights in shards with an index",
         Qwen2ForCausalLM,
         Qwen2Config(**common(num_key_value_heads=1, tie_word_embeddings=False)),
         {"max_shard_size": "200KB"}),
        ("mistral-window-fp16",
         "mistral: sliding_window 16 (collapse's context), 2 key/value heads; saved in fp16",
         MistralForCausalLM,
         MistralConfig(**common(num_key_value_heads=2, sliding_window=16)),
         {"dtype": torch.float16}),
        ("gpt2-tied",
         "gpt2: learned positions, LayerNorm, gelu_new, fused c_attn stored as Conv1D, tied; fp32",
         GPT2LMHeadModel,
         GPT2Config(**small(n_embd=64, n_layer=2, n_head=4, n_inner=None, n_positions=64)),
         {}),
        ("opt-pre-norm",
         "opt: learned positions offset by 2, ReLU, pre-LayerNorm (OPT-125m's layout); fp16",
         OPTForCausalLM,
         OPTConfig(**small(hidden_size=64, ffn_dim=96, num_hidden_layers=2, num_attention_heads=4,
                           max_position_embeddings=160, word_embed_proj_dim=64)),
         {"dtype": torch.float16}),
        ("opt-post-norm-projected",
         "opt: post-LayerNorm with project_in/project_out, embedding width 32 (OPT-350m's "
         "layout), untied; fp32",
         OPTForCausalLM,
         OPTConfig(**small(hidden_size=64, ffn_dim=96, num_hidden_layers=2, num_attention_heads=4,
                           max_position_embeddings=64, word_embed_proj_dim=32,
                           do_layer_norm_before=False, tie_word_embeddings=False)),
         {}),
        ("gpt-neox-parallel-partial-rope",
         "gpt_neox: parallel residual, rotary on 25% of each head (Pythia's layout), fused "
         "query_key_value interleaved per head, untied; fp32",
         GPTNeoXForCausalLM,
         GPTNeoXConfig(**small(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                               num_attention_heads=4, max_position_embeddings=64,
                               rotary_pct=0.25, use_parallel_residual=True)),
         {}),
        ("gpt-neox-sequential-bf16",
         "gpt_neox: sequential residual, rotary on half of each head, tied; saved in bf16",
         GPTNeoXForCausalLM,
         GPTNeoXConfig(**small(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                               num_attention_heads=2, max_position_embeddings=64, rotary_pct=0.5,
                               use_parallel_residual=False, tie_word_embeddings=True)),
         {"dtype": torch.bfloat16}),
    ]


def save(model_class, config, directory, options, tokenizer_dir):
    torch.manual_seed(SEED)
    model = model_class(config).eval()
    with torch.no_grad():  # visible biases: transformers initialises them at zero
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0.0, 0.5)
    dtype = options.get("dtype")
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(directory, max_shard_size=options.get("max_shard_size", "10GB"))
    for f in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(tokenizer_dir, f), os.path.join(directory, f))


def expected(directory, rng):
    # What collapse must compute: the saved weights (rounded to their stored dtype) in fp32.
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    tokens = torch.randint(0, VOCAB, (2, T), generator=rng)
    prompts = [torch.randint(1, VOCAB, (n,), generator=rng).tolist() for n in (5, 9, 3)]
    width = max(len(p) for p in prompts)
    padded = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = model(tokens).logits
        last = model(padded, attention_mask=mask, position_ids=positions).logits[:, -1, :]
        out = model.generate(padded, attention_mask=mask, max_new_tokens=GREEDY_TOKENS,
                             min_new_tokens=GREEDY_TOKENS, do_sample=False, pad_token_id=0,
                             eos_token_id=None)
    return {"tokens": tokens.tolist(), "logits": logits.tolist(), "prompts": prompts,
            "padded": padded.tolist(), "last_logits": last.tolist(),
            "greedy": out[:, width:].tolist()}


def generate(out, tokenizer_dir):
    os.makedirs(out, exist_ok=True)
    listed = []
    rng = torch.Generator().manual_seed(SEED)
    for name, description, model_class, config, options in kinds():
        directory = os.path.join(out, name)
        shutil.rmtree(directory, ignore_errors=True)
        save(model_class, config, directory, options, tokenizer_dir)
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump(expected(directory, rng), f)
        window = getattr(config, "sliding_window", None)
        context = min(config.max_position_embeddings, window or config.max_position_embeddings)
        listed.append({"name": name, "family": config.model_type, "context": context,
                       "description": description})
    # The same bf16 Llama with config.json as transformers 4 wrote it: rope_theta and
    # rope_scaling {"type": ...} instead of rope_parameters.
    source, directory = os.path.join(out, "llama-bias-linear-rope-bf16"), os.path.join(out, "llama-v4-config")
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(source, directory)
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope["rope_theta"]
    config["rope_scaling"] = {"type": rope["rope_type"], "factor": rope["factor"]}
    config["transformers_version"] = "4.40.0"
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    listed.append({"name": "llama-v4-config", "family": "llama", "context": 64,
                   "description": "llama-bias-linear-rope-bf16 with transformers 4's rope_theta "
                                  "and rope_scaling {\"type\": \"linear\"} (same expected outputs)"})
    # GPT-2 as the Hub's gpt2 stores it: saved from the base model (no "transformer." prefix),
    # with the attention's causal-mask buffers, and config.json as transformers 4 wrote it.
    source, directory = os.path.join(out, "gpt2-tied"), os.path.join(out, "gpt2-hub-layout")
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(source, directory)
    weights = os.path.join(directory, "model.safetensors")
    tensors = {}
    for name, tensor in load_file(weights).items():
        tensors[name.removeprefix("transformer.")] = tensor
        if name.endswith(".attn.c_proj.bias"):
            layer = name.removeprefix("transformer.").removesuffix(".c_proj.bias")
            tensors[layer + ".bias"] = torch.tril(torch.ones(1, 1, 64, 64, dtype=torch.uint8))
    save_file(tensors, weights, metadata={"format": "pt"})
    # transformers must read it too: its logits are the same as gpt2-tied's.
    check = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    with open(os.path.join(directory, "expected.json")) as f:
        tokens = torch.tensor(json.load(f)["tokens"])
    reference = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()
    with torch.no_grad():
        if not torch.equal(check(tokens).logits, reference(tokens).logits):
            raise RuntimeError("transformers reads gpt2-hub-layout differently from gpt2-tied")
    listed.append({"name": "gpt2-hub-layout", "family": "gpt2", "context": 64,
                   "description": "gpt2-tied saved without the transformer. prefix and with "
                                  "h.N.attn.bias mask buffers, as the Hub's gpt2 (same outputs)"})
    with open(os.path.join(out, "kinds.json"), "w") as f:
        json.dump(listed, f, indent=2)
    return listed


def main():
    global VOCAB
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, tokenizer_dir = sys.argv[1], sys.argv[2]
    start = time.monotonic()
    try:
        VOCAB = Tokenizer.from_file(os.path.join(tokenizer_dir, "tokenizer.json")).get_vocab_size(with_added_tokens=True)
        listed = generate(out, tokenizer_dir)
    except Exception as error:
        print(f"hf_model_fixtures: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"hf_model_fixtures: {len(listed)} models in {sys.argv[1]} (torch {torch.__version__}, "
          f"transformers {transformers.__version__}; {time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
