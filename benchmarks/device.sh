#!/usr/bin/env bash
# The GPU device run (one H100/H200, 16 cores, ~9 minutes): one command, no preparation left to do there.
#
#   here:        make device-prepare            # wheels in .whl/, GL loaders in .gl/ (git-ignored)
#   device tool: run(command="bash benchmarks/device.sh", carry=[".whl", ".gl"], timeout_s=560)
#   here, after: python benchmarks/device_results.py FILES_AT   # results into benchmarks/results/
#   dry run:     bash benchmarks/device.sh --dry-run   # CPU, tiny budgets, same stages, same files
#
# Stages, each under its own time limit and never stopping the ones after it:
#   facts (torch/CUDA/GPU, package versions, one env step's cost) -> pytest -m cuda -> augment.py and
#   update.py on the GPU with their references -> end-to-end FPS of `rl-aug train` (DrQ-v2 protocol) ->
#   DrQ cartpole_swingup seeds at batch 512 in parallel, as many as the measured costs say fit.
# DEVICE_STAGES picks stages (default: all), e.g. DEVICE_STAGES="facts learning" to give the learning runs the
# whole call once the benchmarks have been measured; update covers update_b128 and update_b512.
# Everything that comes back is in $OUT: log.txt, facts.json, augment.json, update_b128.json,
# update_b512.json, fps.json, learning.csv, learning.json (8 files: the tool's limit).
set -u
cd "$(dirname "$0")/.."
DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
T0=$(date +%s)
if (( DRY )); then
  OUT=${OUT:-runs/device-dry-run}
  BUDGET=${DEVICE_BUDGET_S:-1500}  # generous: each dry stage ends by its work, never by a clock
  DEV=cpu
  PY=${PYTHON:-.venv/bin/python}
  RUNS=$(mktemp -d)
  export RL_AUG_TEST_DEVICE=cpu PYTHONPATH="$PWD" OMP_NUM_THREADS=1  # 2 shared cores: no OpenMP barriers
  rm -rf "$OUT"
else
  OUT=${OUT:?OUT is set by the device tool: the folder whose files come back}
  BUDGET=${DEVICE_BUDGET_S:-510}
  DEV=cuda
  PY=python3
  RUNS=$(mktemp -d)
  SITE=$(mktemp -d)  # the carried wheels install here (the machine has no package index)
fi
mkdir -p "$OUT"
LOG="$OUT/log.txt"
STAGES=${DEVICE_STAGES:-facts tests augment update fps learning}
: >"$LOG"
export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl PYTHONUNBUFFERED=1
export PYTHONWARNINGS=ignore::DeprecationWarning  # dm-control under numpy 2.5: one warning per index access

log() { echo "[$(($(date +%s) - T0))s] $*" | tee -a "$LOG"; }
left() { echo $((BUDGET - ($(date +%s) - T0))); }
# stage NAME LIMIT_S CMD...: run CMD with its output in the log, under min(LIMIT_S, time left).
stage() {
  local name=$1 limit=$2
  shift 2
  if [[ " $STAGES " != *" ${name%%_*} "* ]]; then
    log "== $name: not in DEVICE_STAGES"
    return
  fi
  local remaining
  remaining=$(left)
  ((limit > remaining)) && limit=$remaining
  if ((limit < 5)); then
    log "== $name: skipped, ${remaining}s left"
    return
  fi
  log "== $name (limit ${limit}s)"
  local s
  s=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  log "== $name: exit $? after $(($(date +%s) - s))s"
}

# ---- set-up: carried GL loaders and wheels (the machine has no package index)
if ((!DRY)); then
  if [[ -d .gl ]]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  vendor=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [[ -f $vendor && -z ${__EGL_VENDOR_LIBRARY_FILENAMES:-} ]] && export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    >>"$LOG" 2>&1 || log "pip install of the carried wheels failed (see above)"
  export PYTHONPATH="$SITE:$PWD"
  nvidia-smi >>"$LOG" 2>&1
fi
log "set-up done: device $DEV, budget ${BUDGET}s, out $OUT"

stage facts $( ((DRY)) && echo 200 || echo 60) "$PY" benchmarks/device_run.py facts --device "$DEV" --out "$OUT/facts.json" --runs "$RUNS" \
  $( ((DRY)) && echo --dry-run)

if ((DRY)); then  # a subset on the CPU: one of each kind of check
  stage tests 400 "$PY" -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider \
    -k "(matches_the_cpu_result and (shift or conv)) or agent_pieces or (updates_on_cuda and fp32 and drq and sac) or (resume_on_cuda and sac-drq)"
else
  stage tests 110 "$PY" -m pytest -q -m cuda tests/test_cuda.py -p no:cacheprovider -n 4
fi

if ((DRY)); then
  stage augment 200 "$PY" benchmarks/augment.py --device cpu --batches 8 --repeats 2 --out "$OUT/augment.json"
  stage update_b128 300 "$PY" benchmarks/update.py --quick --device cpu --agents sac --strategies drq,svea \
    --out "$OUT/update_b128.json"
  stage update_b512 300 "$PY" benchmarks/update.py --quick --device cpu --agents sac --strategies drq \
    --out "$OUT/update_b512.json"
  stage fps 330 "$PY" benchmarks/device_run.py fps --device cpu --seconds 300 --frames 3000 --out "$OUT/fps.json" \
    --runs "$RUNS" --dry-run
else
  stage augment 45 "$PY" benchmarks/augment.py --device cuda --batches 128 256 512 --repeats 50 \
    --out "$OUT/augment.json"
  stage update_b128 45 "$PY" benchmarks/update.py --device cuda --batch 128 --updates 20 --warmup 3 --rounds 3 \
    --out "$OUT/update_b128.json"
  stage update_b512 40 "$PY" benchmarks/update.py --device cuda --batch 512 --updates 20 --warmup 3 --rounds 2 \
    --strategies none,drq,rad,svea,soda --out "$OUT/update_b512.json"
  stage fps 75 "$PY" benchmarks/device_run.py fps --device cuda --seconds 60 --out "$OUT/fps.json" --runs "$RUNS"
fi

# the learning runs get what is left, less a margin to collect and write their results
deadline=$(($(left) - 25))
stage learning $((deadline + 20)) "$PY" benchmarks/device_run.py learning --device "$DEV" --deadline-s "$deadline" \
  --update-json "$OUT/update_b512.json" --facts "$OUT/facts.json" --out "$OUT" --runs "$RUNS" $( ((DRY)) && echo --dry-run)

((DRY)) && rm -rf "$RUNS"
log "done; files in $OUT:"
ls -la "$OUT" | tee -a "$LOG"
