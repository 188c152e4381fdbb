#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/).

The seeds are committed; run this again only to regenerate them after the
formats change: python3 tests/fuzz/make_corpus.py (standard library only).
Crash reproducers found later are added by hand as corpus/<target>/regress-*.
"""
import json
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


def put(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / name).write_bytes(data)


def selected(selector, body):
    return bytes([selector]) + (body.encode() if isinstance(body, str) else body)


# --- configuration -----------------------------------------------------------
put("config_host", "shipped.yaml", (ROOT / "config/citadel.yaml").read_bytes())
put("config_host", "minimal.yaml", "plugins_dir: plugins\nmodels_dir: models.d\n")
put("config_host", "admin.yaml",
    "admin:\n  socket: run/a.sock\n  mode: \"0660\"\n  allowed_uids: [0, root]\n"
    "  allowed_gids: [0]\n  max_line_bytes: 64\nplugins_dir: plugins\nmodels_dir: models.d\n")
put("config_host", "http.yaml",
    "http:\n  listen: \"[::1]:0\"\n  max_body_bytes: 1\n  max_tokens_limit: 1\n  idle_timeout_s: 1\n"
    "devices: [cpu, cuda:0]\ngpu_memory_utilization: 1.0\nswap_space_gb: 0.5\nplugins_dir: plugins\n"
    "models_dir: models.d\nwatchdog_s: 86400\n")
put("config_host", "bad.yaml", "admin: [1, 2\nhttp: {listen: 5}\nunknown_key: &a *a\n")
put("config_model", "shipped.yaml", (ROOT / "config/models.d/smollm2.yaml").read_bytes())
put("config_model", "echo.yaml",
    "name: m\nplugin: echo\ndevice: cpu\ncache:\n  size_mb: 8\n  reserved_mb: 4\n  eviction: arc\n"
    "  gc_threshold: 0.5\nscheduler:\n  max_queue: 1\n  max_batch_requests: 2\n"
    "  max_step_tokens: 3\noptions:\n  a: [1, {b: null}]\n  c: \"x\"\n")
put("config_model", "errors.yaml", "name: \"bad name!\"\nplugin: missing\ncache: 5\noptions: [1]\n")
put("config_model", "anchors.yaml", "base: &b {size_mb: 8}\nname: m\nplugin: echo\ncache: *b\n")
put("plugin_manifest", "llm-gptq.yaml", (ROOT / "plugins/llm-gptq/plugin.yaml").read_bytes()
    .replace(b"name: llm-gptq", b"name: echo"))
put("plugin_manifest", "echo.yaml",
    "name: echo\nversion: 2.0.0\nlibrary: echo.so\ndescription: x\n"
    "defaults:\n  cache:\n    size_mb: 16\n    eviction: size_aware_lru\n  options:\n    k: {n: [1, 2]}\n")
put("plugin_manifest", "errors.yaml", "name: other\nlibrary: /nonexistent.so\ndefaults: {cache: {size_mb: -1}}\n")

# --- admin socket --------------------------------------------------------------
put("admin_protocol", "commands.jsonl",
    '{"cmd":"echo","id":1,"lines":2}\n{"cmd":"help","id":"two"}\n\n{"cmd":"fail"}\n'
    '{"cmd":"throw","id":[1]}\n{"cmd":"drop"}\r\n{"cmd":"nope"}\n')
put("admin_protocol", "malformed.jsonl",
    '{"cmd":\n[1,2]\n{"id":3}\n{"cmd":""}\n{"cmd":5}\n   \t\n{"cmd":"echo","x":"' + "y" * 300 + '"}\n'
    '{"cmd":"echo"}')
put("admin_protocol", "long-unterminated.jsonl", '{"cmd":"echo"}\n' + "z" * 600)

# --- HTTP ----------------------------------------------------------------------
def http_post(path, body, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}")

chat = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                   "stream_options": {"include_usage": True}})
put("http_request", "get-health.http", "GET /health HTTP/1.1\r\nHost: h\r\n\r\n")
put("http_request", "chat.http", http_post("/v1/chat/completions", chat))
put("http_request", "pipelined.http",
    "GET /v1/models/m?x=1 HTTP/1.1\r\nHost: h\r\n\r\n" +
    http_post("/v1/completions", '{"model":"m","prompt":["a","b"],"n":2,"echo":true}') +
    "DELETE /v1/models HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
put("http_request", "chunked.http",
    "POST /inference HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
    "Expect: 100-continue\r\n\r\n"
    "10\r\n{\"model\":\"m\",\"in\r\n11\r\nput\":{\"a\":1},\"str\r\n9\r\neam\":true}\r\n0\r\n\r\n")
put("http_request", "ocr.http", http_post("/v1/ocr", '{"image":"data:image/png;base64,AAEC","prompt":"r"}'))
put("http_request", "video.http", http_post("/v1/videos", '{"prompt":"a cat","num_frames":8}', "Connection: keep-alive\r\n"))
put("http_request", "http10.http", "GET /nowhere HTTP/1.0\r\n\r\n")

# --- request bodies (selector: 0 completions, 1 chat, 2 ocr, 3 videos, 4 inference)
bodies = [
    (0, '{"model":"m","prompt":"Hello","max_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":40,'
        '"seed":3,"stop":["\\n","."],"repetition_penalty":1.1,"priority":2,"echo":true}'),
    (0, '{"model":"m","prompt":["a","b"],"n":3,"stream":true,"stream_options":{"include_usage":true}}'),
    (0, '{"model":"m","prompt":[[1,2],[3]],"max_tokens":1e3}'),
    (1, '{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user",'
        '"content":[{"type":"text","text":"hi"},{"type":"text","text":" there"}]},'
        '{"role":"assistant","content":null}],"max_completion_tokens":5,"n":2,"stop":"x"}'),
    (1, '{"model":"m","messages":[{"role":"tool","content":"x"}],"temperature":-1}'),
    (2, '{"model":"ocr","image":"data:image/png;base64,AAEC","prompt":"read","max_tokens":9,"stream":true}'),
    (2, '{"image":"AAE=","top_k":-1,"seed":-5}'),
    (3, '{"model":"v","prompt":"a cat","num_frames":8,"stream":true,"size":[1,2]}'),
    (4, '{"model":"m","input":{"prompt":"x","custom":[1,2]},"priority":3,"image":"AAEC"}'),
    (4, '{"model":"m","input":"x"}'),
]
for index, (selector, body) in enumerate(bodies):
    put("openai_request", f"body-{index}", selected(selector, body))

# --- multipart/form-data (selector %3: 0 boundary "b", 1 a 70-byte one, 2 the
# Content-Type header on the first line)
def form(boundary, parts, preamble=b"", epilogue=b""):
    data = preamble
    for headers, body in parts:
        data += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + body + b"\r\n"
    return data + b"--" + boundary + b"--\r\n" + epilogue

file_part = (b'Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png',
             b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
field_part = (b'Content-Disposition: form-data; name="prompt"', b"Free OCR.")
put("multipart_form", "two-parts", selected(0, form(b"b", [file_part, field_part])))
put("multipart_form", "long-boundary", selected(1, form(b"x" * 70, [field_part], b"preamble\r\n", b"epilogue")))
put("multipart_form", "header-line", selected(2, b'multipart/form-data; boundary="a b:c"\n' +
                                              form(b"a b:c", [file_part, field_part])))
put("multipart_form", "quoted-name", selected(0, form(b"b", [(
    b'content-disposition: form-data; name="a\\"b"; filename=x.pdf\r\nContent-Transfer-Encoding: binary', b"")])))
put("multipart_form", "no-close", selected(0, b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nbody"))
put("multipart_form", "folded", selected(0, b"--b\r\nContent-Disposition: form-data;\r\n name=x\r\n\r\n\r\n--b--"))

# --- tokenizer (selector: %3 tokenizer, 4 add special, 8 skip special, 16 decode)
texts = ["Hello, world! It's 2024.", "  leading spaces\n\n\ttabs", "héllo wörld 日本語 🙂 e\u0301",
         "<|endoftext|>x<|im_start|>user\nhi<|im_end|>", "12345 678901 ''s 've 'll",
         "\xff\xfe invalid \xc3 utf8 \xf0\x9f"]
for index, text in enumerate(texts):
    data = text.encode("utf-8", "surrogateescape") if "\xff" not in text else text.encode("latin-1")
    put("tokenizer", f"encode-{index}", bytes([index % 3 | (4 if index % 2 else 0)]) + data)
for index, ids in enumerate([[1, 2, 3, 300, 1499], [1500, 1501, 10, 1502], [200, 201, 202, -1], [70000]]):
    put("tokenizer", f"decode-{index}",
        bytes([16 | index % 3 | (8 if index == 1 else 0)]) + struct.pack(f"<{len(ids)}i", *ids))

# --- chat templates (selector: bit 0 model, bit 1 tokenizer_config mode)
inputs = [
    '{"messages":[{"role":"system","content":"sys"},{"role":"user","content":"hello"}],"max_tokens":4}',
    '{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":"b"}],'
    '"temperature":0.5,"top_p":0.9,"top_k":3,"seed":1,"stop":["x"],"repetition_penalty":1.2}',
    '{"prompt":"plain <|eot_id|> text"}',
    '{"prompt":[1,2,3,4000000000]}',
    '{"prompt":"x","messages":[]}',
]
for index, text in enumerate(inputs):
    put("chat_template", f"input-{index}", selected(index % 2, text))
for index, folder in enumerate(["llama3-gptq", "qwen2-gptq"]):
    put("chat_template", f"config-{index}",
        selected(2 | index, (ROOT / f"tests/data/llm/{folder}/tokenizer_config.json").read_bytes()))

# --- safetensors
def safetensors(header, data, pad=True):
    text = json.dumps(header, separators=(",", ":"))
    if pad:
        text += " " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + data

floats = struct.pack("<4f", 1, 2, 3, 4)
put("safetensors", "two-tensors-aligned.st", safetensors(
    {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
     "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]}}, floats + b"\x00\x38\x00\xbc\x00\x48"))
put("safetensors", "two-tensors-misaligned.st", safetensors(
    {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
     "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}, floats + b"\x00\x3f\x00\xbf\x00\x41", pad=False))
put("safetensors", "dtypes.st", safetensors(
    {"i8": {"dtype": "I8", "shape": [2], "data_offsets": [0, 2]},
     "u16": {"dtype": "U16", "shape": [1], "data_offsets": [2, 4]},
     "i32": {"dtype": "I32", "shape": [1], "data_offsets": [4, 8]},
     "i64": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
     "f64": {"dtype": "F64", "shape": [1], "data_offsets": [16, 24]},
     "b": {"dtype": "BOOL", "shape": [], "data_offsets": [24, 25]},
     "e": {"dtype": "U8", "shape": [0, 3], "data_offsets": [25, 25]}}, bytes(range(25))))
put("safetensors", "truncated.st", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"xx"))

# --- SentencePiece-style tokenizers (selector: %5 tokenizer, 4 add special, 8 skip special, 16 decode)
spm_texts = ["Hello, world! It's 2024.", "  two  spaces and\ttab\n", "héllo wörld 日本語 🙂 e\u0301 ﬁ ①",
             "<s>[INST] hi [/INST]</s> <unk> <0x41>", "\u2581x\u2581\u2581y", "\xff\xfe bad \xc3 utf8 \xf0\x9f"]
for index, text in enumerate(spm_texts):
    data = text.encode("latin-1") if "\xff" in text else text.encode()
    put("spm_tokenizer", f"encode-{index}", bytes([index % 5 | (4 if index % 2 else 0)]) + data)
for index, ids in enumerate([[1, 2, 3, 300, 799], [3, 4, 5, 6, 70, 71, 72, 73], [259, 260, 261, -1], [800, 0, 2],
                             [40, 41, 42, 43, 44, 45, 46, 47, 48, 49]]):
    put("spm_tokenizer", f"decode-{index}",
        bytes([16 | index % 5 | (8 if index == 1 else 0)]) + struct.pack(f"<{len(ids)}i", *ids))

# --- GGUF (header, metadata of every value type, one tensor of each readable type)
GGUF_TYPES = {"u8": (0, "<B"), "i8": (1, "<b"), "u16": (2, "<H"), "i16": (3, "<h"), "u32": (4, "<I"),
              "i32": (5, "<i"), "f32": (6, "<f"), "bool": (7, "<?"), "u64": (10, "<Q"), "i64": (11, "<q"),
              "f64": (12, "<d")}


def gguf_string(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def gguf_value(kind, value):
    """(type id, encoded value) of a scalar kind, "str", or ("arr", element kind)."""
    if kind == "str":
        return 8, gguf_string(value)
    if isinstance(kind, tuple):
        element_type, _ = gguf_value(kind[1], value[0]) if value else (gguf_value(kind[1], None)[0], b"")
        body = b"".join(gguf_value(kind[1], item)[1] for item in value)
        return 9, struct.pack("<IQ", element_type, len(value)) + body
    type_id, fmt = GGUF_TYPES[kind]
    return type_id, b"" if value is None else struct.pack(fmt, value)


def gguf(metadata, tensors, version=3, alignment=32):
    """metadata: [(key, kind, value)]; tensors: [(name, dims, ggml type, data bytes)]."""
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, kind, value in metadata:
        type_id, body = gguf_value(kind, value)
        head += gguf_string(key) + struct.pack("<I", type_id) + body
    data, infos = b"", b""
    for name, dims, ggml_type, payload in tensors:
        data += b"\0" * (-len(data) % alignment)
        infos += gguf_string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, ggml_type, len(data))
        data += payload
    head += infos
    return head + b"\0" * (-len(head) % alignment) + data


# ggml type id -> (values per block, bytes per block)
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
               12: (256, 144), 13: (256, 176), 14: (256, 210)}
# A repeating byte pattern whose fp16 scales (0x3c00 = 1.0) are finite.
def block_bytes(ggml_type, values):
    block, size = GGML_BLOCKS[ggml_type]
    return (bytes([0x00, 0x3c]) + bytes((7 * i + 3) % 256 for i in range(size - 2))) * (values // block)


put("gguf", "types.gguf", gguf(
    [("general.architecture", "str", "llama"), ("general.alignment", "u32", 32), ("u8", "u8", 7), ("i8", "i8", -7),
     ("u16", "u16", 700), ("i16", "i16", -700), ("i32", "i32", -70000), ("f32", "f32", 0.5), ("b", "bool", True),
     ("u64", "u64", 2**40), ("i64", "i64", -2**40), ("f64", "f64", 1e300), ("s", "str", "héllo"),
     ("ints", ("arr", "i32"), [1, -2, 3]), ("strs", ("arr", "str"), ["a", "", "ü"]),
     ("nested", ("arr", ("arr", "u8")), [[1, 2], [], [3]])],
    [(f"t{ggml_type}", [GGML_BLOCKS[ggml_type][0] * 2, 2], ggml_type,
      block_bytes(ggml_type, GGML_BLOCKS[ggml_type][0] * 4)) for ggml_type in GGML_BLOCKS]))
put("gguf", "v2-one-tensor.gguf", gguf([("general.alignment", "u32", 64)],
                                      [("w", [4], 0, struct.pack("<4f", 1, 2, 3, 4))], version=2, alignment=64))
put("gguf", "truncated.gguf", gguf([("k", "str", "v")], [("w", [8, 8], 1, bytes(128))])[:-40])
put("gguf", "spm-tokenizer.gguf", (ROOT / "tests/data/tokenizer/spm/gguf_llama/tokenizer.gguf").read_bytes())
byte_tokens = [bytes([b]).decode("latin-1") for b in range(33, 127)]
put("gguf", "gpt2-tokenizer.gguf", gguf(
    [("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "llama-bpe"),
     ("tokenizer.ggml.tokens", ("arr", "str"), byte_tokens + ["He", "ll", "Hell", "<|end|>"]),
     ("tokenizer.ggml.token_type", ("arr", "i32"), [1] * (len(byte_tokens) + 3) + [3]),
     ("tokenizer.ggml.merges", ("arr", "str"), ["H e", "l l", "He ll"]),
     ("tokenizer.ggml.bos_token_id", "u32", len(byte_tokens) + 3),
     ("tokenizer.chat_template", "str", "{% for m in messages %}{{ m.content }}{% endfor %}")], []))

# --- gguf_hparams: tiny models as llm-gptq loads them --------------------------
def tiny_tensor(dims, ggml_type, seed):
    """dims in ggml order (row length first); F32 (0) or F16 (1) values in [-0.5, 0.5)."""
    count = 1
    for d in dims:
        count *= d
    values = [((seed * 131 + i * 71) % 97) / 97.0 - 0.5 for i in range(count)]
    return (dims, ggml_type, struct.pack(f"<{count}{'f' if ggml_type == 0 else 'e'}", *values))


def tiny_model(arch, bias=False, qk_norm=False, key_length=None, extra=()):
    hidden, heads, kv_heads, ffn = 8, 2, 1, 16
    head_dim = key_length or hidden // heads
    tokens = byte_tokens + ["He", "ll", "Hell", "<|im_start|>", "<|im_end|>"]
    vocab = len(tokens)
    metadata = [("general.architecture", "str", arch), (f"{arch}.block_count", "u32", 1),
                (f"{arch}.context_length", "u32", 256), (f"{arch}.embedding_length", "u32", hidden),
                (f"{arch}.feed_forward_length", "u32", ffn), (f"{arch}.attention.head_count", "u32", heads),
                (f"{arch}.attention.head_count_kv", "u32", kv_heads),
                (f"{arch}.attention.layer_norm_rms_epsilon", "f32", 1e-6), (f"{arch}.rope.freq_base", "f32", 10000.0),
                ("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "qwen2"),
                ("tokenizer.ggml.tokens", ("arr", "str"), tokens),
                ("tokenizer.ggml.token_type", ("arr", "i32"), [1] * (vocab - 2) + [3, 3]),
                ("tokenizer.ggml.merges", ("arr", "str"), ["H e", "l l", "He ll"]),
                ("tokenizer.ggml.eos_token_id", "u32", vocab - 1),
                ("tokenizer.chat_template", "str",
                 "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")]
    if key_length:
        metadata.append((f"{arch}.attention.key_length", "u32", key_length))
    metadata += list(extra)
    tensors = [("token_embd.weight",) + tiny_tensor([hidden, vocab], 1, 1),
               ("output_norm.weight",) + tiny_tensor([hidden], 0, 2)]
    layer = [("attn_norm.weight", [hidden], 0), ("ffn_norm.weight", [hidden], 0),
             ("attn_q.weight", [hidden, heads * head_dim], 1), ("attn_k.weight", [hidden, kv_heads * head_dim], 1),
             ("attn_v.weight", [hidden, kv_heads * head_dim], 1), ("attn_output.weight", [heads * head_dim, hidden], 1),
             ("ffn_gate.weight", [hidden, ffn], 1), ("ffn_up.weight", [hidden, ffn], 1),
             ("ffn_down.weight", [ffn, hidden], 1)]
    if bias:
        layer += [("attn_q.bias", [heads * head_dim], 0), ("attn_k.bias", [kv_heads * head_dim], 0),
                  ("attn_v.bias", [kv_heads * head_dim], 0)]
    if qk_norm:
        layer += [("attn_q_norm.weight", [head_dim], 0), ("attn_k_norm.weight", [head_dim], 0)]
    for i, (name, dims, ggml_type) in enumerate(layer):
        tensors.append((f"blk.0.{name}",) + tiny_tensor(dims, ggml_type, 3 + i))
    return gguf(metadata, tensors)


put("gguf_hparams", "llama.gguf", tiny_model("llama", extra=[("tokenizer.ggml.bos_token_id", "u32", 94)]))
put("gguf_hparams", "qwen2-bias.gguf", tiny_model("qwen2", bias=True))
put("gguf_hparams", "qwen3-qk-norm-linear-rope.gguf", tiny_model(
    "qwen3", qk_norm=True, key_length=6, extra=[("qwen3.rope.scaling.type", "str", "linear"),
                                                ("qwen3.rope.scaling.factor", "f32", 2.0)]))
put("gguf_hparams", "truncated.gguf", tiny_model("llama")[:3000])

# --- pdf_render: tiny PDFs (text and a rectangle per page) -----------------------
def pdf(objects):
    """objects: the bodies of objects 1..n (object 1 the catalog); a correct xref table."""
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + (body.encode("latin-1") if isinstance(body, str) else body) + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def stream(content, compress=False):
    data = zlib.compress(content.encode()) if compress else content.encode()
    head = "<< /Length %d%s >>\nstream\n" % (len(data), " /Filter /FlateDecode" if compress else "")
    return head.encode() + data + b"\nendstream"


def page_content(text, x=72, y=700):
    return (f"0.2 0.4 0.8 rg 60 600 200 80 re f 0 0 0 RG 2 w 50 590 220 100 re S "
            f"BT /F1 24 Tf {x} {y} Td ({text}) Tj ET")


def pdf_pages(texts, media_box="0 0 612 792", extra_page="", compress=False):
    """Catalog, pages, font, then a page object and its content per text."""
    count = len(texts)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(texts):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [{media_box}] {extra_page} "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objects.append(stream(page_content(text), compress))
    return pdf(objects)


put("pdf_render", "one-page.pdf", pdf_pages(["Hello, Citadel"]))
put("pdf_render", "two-pages-flate.pdf", pdf_pages(["Page one", "Page two"], compress=True))
put("pdf_render", "rotated-cropped.pdf", pdf_pages(["Turned"], extra_page="/Rotate 90 /CropBox [50 50 400 500]"))
put("pdf_render", "tiny-page.pdf", pdf_pages(["x"], media_box="0 0 3 2"))
put("pdf_render", "truncated.pdf", pdf_pages(["Cut short"])[:400])
put("pdf_render", "no-xref.pdf", pdf_pages(["Rebuilt"]).split(b"xref\n")[0] + b"%%EOF\n")
