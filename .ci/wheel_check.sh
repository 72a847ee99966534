#!/usr/bin/env bash
# The package as a user gets it: build the wheel, install it into a clean virtualenv, and from a folder
# outside the repository run the commands a new user runs first. Called by `make wheel-check` (and CI).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export MUJOCO_GL=${MUJOCO_GL:-egl} PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-egl}

echo "== build the wheel"
$PY -m pip wheel -v --no-deps -w "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
if grep "Warning:" "$WORK/build.log"; then  # e.g. a config folder missing from pyproject's `packages`
  echo "building the wheel printed the setuptools warnings above" >&2
  exit 1
fi
WHEEL=$(ls "$WORK"/dist/rl_aug-*.whl)
echo "   $WHEEL"
echo "== no top-level agents/ or envs/ in it"
if unzip -Z1 "$WHEEL" | grep -E '^(agents|envs|configs)/'; then
  echo "the wheel ships top-level folders (above): expected everything under rl_aug/" >&2
  exit 1
fi

echo "== a clean virtualenv with the wheel and its [all] extra"
$PY -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
$VPY -m pip install -q --upgrade pip
$VPY -m pip install -q torch==2.13.0  # the CPU build first, as in the Makefile
$VPY -m pip install -q "$WHEEL[all]"
$VPY -m pip show -f rl-aug | grep -E '^  (agents|envs)/' && { echo "top-level agents/ or envs/ installed" >&2; exit 1; }

cd "$WORK"  # outside the repository: nothing can come from the checkout
BIN="$WORK/venv/bin"
echo "== rl-aug --help"
"$BIN/rl-aug" --help >/dev/null
"$BIN/rl-aug" train --help >help.txt && grep "cartpole-swingup" help.txt >/dev/null
echo "== a tiny rl-aug train"
"$BIN/rl-aug" train task=cartpole-swingup task.size=32 frames=400 agent.batch_size=16 agent.seed_steps=20 \
  agent.hidden_dim=32 agent.feature_dim=8 agent.num_filters=8 agent.replay_capacity=1000 \
  run.eval_every_frames=200 run.eval_episodes=1 run.save_video=false run.num_threads=1 run_dir=run1
test -s run1/eval.csv && test -s run1/run_info.json
echo "== rl-aug evaluate on it"
"$BIN/rl-aug" evaluate run1 --episodes 1 --shifts train,color_hard --reps 50 --out eval1
test -s eval1/report.md
echo "== rl-aug sweep --dry-run (the strategy configs, svea_overlay included, come from the wheel)"
"$BIN/rl-aug" sweep strategy=drq,svea_overlay seed=1-2 --storage sweeps --dry-run >sweep.txt
grep "4 run(s), 0 finished, 4 to run" sweep.txt >/dev/null && grep "3-strategy=svea_overlay,seed=2" sweep.txt >/dev/null
echo "== rl-aug ccil task=pendulum, tiny budgets"
"$BIN/rl-aug" ccil task=pendulum out=ccil1 "seeds=[0]" episodes=2 "dynamics.hidden=[16,16]" dynamics.epochs=2 \
  "bc.hidden=[16,16]" bc.steps=20 bc.batch_size=32 labels.labels_per_point=2 plots=false
test -s ccil1/results.csv
echo "== gymnasium.make in a fresh interpreter, no rl-aug import"
$VPY -c "import gymnasium as gym; e = gym.make('rl_aug.envs:rl_aug/dmc-cartpole-swingup-v0', size=16); print(e.reset(seed=0)[0].shape); e.close()"
$VPY -c "from stable_baselines3.common.env_util import make_vec_env; v = make_vec_env('rl_aug.envs:rl_aug/dmc-cartpole-swingup-v0', n_envs=1, env_kwargs={'size': 16}); print(v.reset().shape); v.close()"
echo "wheel check passed"
