# Shared by bench/throughput/end_to_end.sh and bench/replicas/replicas_bench.sh:
# write_dummy_llama DIR SHAPE writes a llm-gptq model folder whose weights
# the plugin makes up at load (`options: {load_format: dummy}`): the tiny
# test model's tokenizer files and its config.json, resized to SHAPE:
#   llama3-8b: the Llama-3-8B shape, GPTQ int4 g128 (vocabulary 128256; the
#              tokenizer is the tiny model's, so ids past its 902 entries
#              carry no text);
#   tiny:      tests/data/llm/llama3-gptq's own shape.
# Needs $repo (the checkout's root).
write_dummy_llama() {
  local dir=$1 shape=$2
  local tiny=$repo/tests/data/llm/llama3-gptq
  mkdir -p "$dir"
  cp "$tiny/tokenizer.json" "$tiny/tokenizer_config.json" "$tiny/generation_config.json" "$dir/"
  python3 - "$tiny/config.json" "$dir/config.json" "$shape" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
if sys.argv[3] == "llama3-8b":
    config.update(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                  num_key_value_heads=8, head_dim=128, vocab_size=128256, max_position_embeddings=8192,
                  rope_theta=500000.0, tie_word_embeddings=False)
    config["quantization_config"].update(bits=4, group_size=128, desc_act=False, sym=True)
elif sys.argv[3] != "tiny":
    sys.exit("unknown shape " + sys.argv[3])
json.dump(config, open(sys.argv[2], "w"), indent=1)
PY
}
