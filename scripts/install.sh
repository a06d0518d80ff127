#!/usr/bin/env bash
# Creates .venv and installs open-r1 with everything that applies to this machine.
#
#   bash scripts/install.sh          (what `make install` runs)
#
# - torch 2.13.0 goes in first and is then held by a constraint file, so that no dependency can
#   replace it with a newer (CUDA) build on a CPU machine. On Linux without a GPU it is the CPU
#   build, 2.13.0+cpu (PyPI's Linux torch is the CUDA one, several GB): from the configured pip
#   sources if they have it, else from PyTorch's CPU index. TORCH_INDEX_URL, when set, is the
#   one index torch comes from instead. A .venv holding the CPU build on a GPU machine is
#   refused (delete it): pip would keep it.
# - DeepSpeed ships only as a source archive whose build imports torch; it is built against the
#   torch already installed (no build isolation) with its CUDA ops disabled (DS_BUILD_OPS=0),
#   which is what DeepSpeed JIT-compiles on demand on a GPU machine anyway. Without a GPU, the CPU op that a
#   multi-process DeepSpeed run JIT-compiles (shared-memory communication) is compiled at install instead.
# - The `gpu` extra (vLLM, flash-attn, liger-kernel) is added only when nvidia-smi sees a GPU.
# - Re-running is cheap: a stamp file records the hash of setup.py and this script, and nothing
#   is reinstalled while they are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_VERSION=2.13.0
CPU_TORCH_INDEX=https://download.pytorch.org/whl/cpu
STAMP="$VENV/.open-r1-installed"

has_gpu() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

# What the install depends on: these files, whether there is a GPU, and where torch comes from.
sources_hash="$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])' \
    < <(cat setup.py scripts/install.sh))"
wanted="$sources_hash-gpu=$(has_gpu && echo 1 || echo 0)-torch_index=${TORCH_INDEX_URL:-}"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    echo "open-r1 is already installed in $VENV (delete $STAMP to force a reinstall)."
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
"${PIP[@]}" -q --upgrade pip setuptools wheel

# torch==2.13.0 is satisfied by an installed 2.13.0+cpu, so a .venv first built without a GPU would keep it.
if has_gpu && "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.version.cuda is not None)' 2>/dev/null; then
    echo "install.sh: $VENV has torch's CPU build and this machine has a GPU: delete $VENV, then run it again" >&2
    exit 1
fi
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${PIP[@]}" "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
elif [ "$(uname -s)" = Linux ] && ! has_gpu; then
    cpu_torch="torch==$TORCH_VERSION+cpu"
    first_try="$VENV/torch-install.log"
    if ! "${PIP[@]}" -q "$cpu_torch" >"$first_try" 2>&1; then
        echo "$cpu_torch could not be installed from pip's configured sources ($(tail -n 1 "$first_try"));"
        echo "trying $CPU_TORCH_INDEX"
        "${PIP[@]}" -q "$cpu_torch" --index-url "$CPU_TORCH_INDEX" || {
            echo "install.sh: could not install $cpu_torch; set TORCH_INDEX_URL to an index that has it" >&2
            exit 1
        }
    fi
    rm -f "$first_try"
else
    "${PIP[@]}" "torch==$TORCH_VERSION"
fi

constraints="$VENV/constraints.txt"
# From its metadata: importing torch before numpy is installed warns "Failed to initialize NumPy".
echo "torch==$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))')" >"$constraints"

if ! "$VENV/bin/python" -c "import deepspeed" >/dev/null 2>&1; then
    DS_BUILD_OPS=0 "${PIP[@]}" -c "$constraints" --no-build-isolation "deepspeed==0.19.8"
fi

# DeepSpeed JIT-compiles its CPU shared-memory op in the first multi-process run on a CPU (half a minute, the
# first DeepSpeed test's): compiled here instead, into torch's extension cache. With the venv's ninja, which `make`
# and an activated venv run: another ninja version reads the build log as stale and compiles again. A build that
# fails, or waits past 5 minutes on a lock an interrupted one left, is said, not fatal.
if ! has_gpu; then
    PATH="$(cd "$VENV" && pwd)/bin:$PATH" DS_ACCELERATOR=cpu timeout 300 "$VENV/bin/python" - <<'PY' || echo "install.sh: DeepSpeed's CPU communication op did not build; the first multi-process DeepSpeed run on this CPU will try again" >&2
import deepspeed.ops
from deepspeed.accelerator import get_accelerator
builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
if builder is not None and deepspeed.ops.__compatible_ops__.get(builder.NAME, False):
    builder.load(verbose=False)
PY
fi

extras="dev"
echo "installing open-r1 and its dependencies into $VENV (3 to 4 minutes on 2 cores; pip's errors only)"
"${PIP[@]}" -q -c "$constraints" -e ".[dev]"
if has_gpu; then
    # flash-attn compiles against the installed torch: without build isolation, or pip would build it against
    # whatever torch it downloads into a throw-away environment.
    "${PIP[@]}" -q packaging ninja
    "${PIP[@]}" -c "$constraints" --no-build-isolation "flash-attn>=2.7.4"
    "${PIP[@]}" -c "$constraints" -e ".[gpu]"
    extras="dev,gpu"
fi

# lighteval fetches tinyBenchmarks.pkl from the internet on import; an empty file at that path
# makes the import work offline (the tinyBenchmarks metrics are then unavailable, nothing else).
"$VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("lighteval")
if spec is not None:
    for module in pathlib.Path(spec.origin).parent.rglob("tiny_benchmarks.py"):
        (module.parent / "tinyBenchmarks.pkl").touch(exist_ok=True)
PY

# `accelerate launch` of a run that stopped on a usage error: its one line and exit status 2, without the launcher's
# traceback (src/open_r1/launcher_exit.py says why a .pth file).
"$VENV/bin/python" - <<'PY'
import pathlib, sysconfig
line = (
    'import sys; exec("try:\\n    import open_r1.launcher_exit\\nexcept ImportError:\\n    pass") '
    'if getattr(sys, "argv", None) and sys.argv[0].endswith("accelerate") else None\n'
)
(pathlib.Path(sysconfig.get_paths()["purelib"]) / "open_r1_launcher_exit.pth").write_text(line)
PY

echo "$wanted" >"$STAMP"
echo "open-r1 installed in $VENV (extras: $extras). Activate with: source $VENV/bin/activate"
