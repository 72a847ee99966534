"""The Python stages of `benchmarks/device.sh`: machine facts, end-to-end training FPS, and the learning runs
sized to the time left. Each stage writes one small JSON/CSV file (the device tool returns at most 8).

    python benchmarks/device_run.py facts    --device cuda --out OUT/facts.json
    python benchmarks/device_run.py fps      --device cuda --seconds 50 --out OUT/fps.json
    python benchmarks/device_run.py learning --device cuda --deadline-s 280 --update-json OUT/update_b512.json \
        --facts OUT/facts.json --out OUT

`fps` runs `rl-aug train` with DrQ-v2's protocol (cheetah_run: action repeat 2, batch 256, n-step 3, shift,
4000 seed frames, evaluation every 10k frames over 10 episodes; facebookresearch/drqv2 cfgs/config.yaml), the
protocol of DrQ-v2's published speed (61-121 frames/s including evaluation on its V100, median ~94).

`learning` runs DrQ (SAC + shift, K=M=2) on cartpole_swingup at the DrQ paper's batch 512 to 100k frames, as
many seeds in parallel as the measured costs say will finish by the deadline (then SVEA and SODA seeds if the
estimate leaves room), and reports whatever each run evaluated. `--dry-run` shrinks every budget so the same
code runs on a CPU in about a minute.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 100_000
SEED_STEPS = 1_000  # DrQ: agent steps of random actions before learning
EVAL_EVERY, EVAL_EPISODES = 10_000, 10
REPEAT = 8  # cartpole action repeat (DrQ / PlaNet)
# How many runs share the GPU: enough to fill the cores. The first device run (H200, 2026-11-28) sized itself
# by the predicted time of one run and started one: it ran at 145 frames/s (19 ms per batch-512 update) with
# 15 of 16 cores idle. Runs are independent processes, so the cores, not the estimate, bound how many fit.
RUN_CORES = 2  # a run's env stepping + rendering thread and its Python/launch thread
MAX_RUNS = 10
TINY = ["task.size=32", "agent.feature_dim=8", "agent.hidden_dim=32", "agent.num_filters=8",
        "agent.replay_capacity=5000"]


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path) as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------------------- facts
def facts(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    info: dict[str, Any] = {"python": sys.version.split()[0], "torch": torch.__version__, "cpu_count": os.cpu_count(),
                            "machine": platform.machine(), "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), sms=p.multi_processor_count,
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    for name in ("mujoco", "dm_control", "gymnasium", "stable_baselines3", "omegaconf", "numpy"):
        try:
            from importlib.metadata import version

            info[name] = version(name.replace("_", "-"))
        except Exception as exc:  # noqa: BLE001 - a fact, not a failure
            info[name] = f"missing ({exc.__class__.__name__})"
    # one env step = action repeat physics steps + one render: the cost the learning sizing needs
    from rl_aug import envs

    size = 32 if args.dry_run else 84
    env = envs.make("cartpole-swingup", seed=0, size=size)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        steps = 20 if args.dry_run else 300
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, term, trunc, _ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
            if term or trunc:
                env.reset()
        info["cartpole_env_step_ms"] = (time.perf_counter() - t0) * 1000 / steps
        info["env_obs_shape"] = list(env.observation_space.shape)
    finally:
        env.close()
    info["mujoco_gl"] = os.environ.get("MUJOCO_GL")
    write_json(args.out, info)
    print(json.dumps(info, indent=1))


# ---------------------------------------------------------------------------------------------- runs
def train_cmd(overrides: list[str]) -> list[str]:
    return [sys.executable, "-m", "rl_aug.cli", "train", *overrides]


def start(overrides: list[str], log: Path, threads: int = 1) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with open(log, "w") as fh:
        return subprocess.Popen(train_cmd(overrides), stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                start_new_session=True)


def stop(procs: list[subprocess.Popen]) -> None:
    """End every run still going (its own process group), politely first."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    t0 = time.monotonic()
    for p in procs:
        try:
            p.wait(timeout=max(1.0, 10 - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_all(procs: list[subprocess.Popen], deadline: float, samples: list[float] | None = None) -> None:
    """Wait for the runs until the deadline, then stop them; `samples` collects the GPU's utilization."""
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(2)  # a benchmark driver polling its children, not a test
        if samples is not None and (u := gpu_utilization()) is not None:
            samples.append(u)
    stop(procs)


def train_fps(run_dir: Path, seed_frames: int) -> dict[str, Any]:
    """Frames per second over the episodes that began after the seed phase (their durations include any
    evaluation that fell inside them): total frames / total seconds, from train.csv's per-episode fps."""
    rows = read_csv(run_dir / "train.csv")
    evals = [int(r["frame"]) for r in read_csv(run_dir / "eval.csv")]
    starts = [0] + [int(r["frame"]) for r in rows[:-1]]
    window = [(s, int(r["frame"]), float(r["fps"])) for s, r in zip(starts, rows) if s >= seed_frames]
    last = int(rows[-1]["frame"]) if rows else 0
    if not window:
        return {"episodes": 0, "fps": None, "last_frame": last}
    frames = sum(end - begin for begin, end, _ in window)
    seconds = sum((end - begin) / rate for begin, end, rate in window)
    first, end = window[0][0], window[-1][1]
    return {"episodes": len(window), "frames": frames, "seconds": seconds, "fps": frames / seconds,
            "window_frames": [first, end], "evaluations_in_window": [f for f in evals if first < f <= end],
            "last_frame": last}


def fps(args: argparse.Namespace) -> None:
    """One DrQ-v2-protocol training run alone on the device for --seconds (or --frames, whichever comes
    first); its steady frames per second."""
    run_dir = args.runs / "fps_drqv2_cheetah"
    seed_frames = 4000
    task = "cartpole-swingup" if args.dry_run else "cheetah-run"  # dry run: 125-step episodes, done sooner
    overrides = ["agent=drqv2", "strategy=rad", f"task={task}", "task.action_repeat=2", "agent.batch_size=256",
                 "agent.nstep=3", "agent.stddev_schedule=linear(1.0,0.1,500000)", f"agent.seed_frames={seed_frames}",
                 "agent.num_expl_steps=2000", f"frames={args.frames}", "run.eval_every_frames=10000",
                 "run.eval_episodes=10", "run.checkpoint_every_frames=10000000", "run.save_video=false",
                 "run.tensorboard=false", f"device={args.device}", f"run_dir={run_dir}", "overwrite=true"]
    if args.dry_run:
        seed_frames = 200
        overrides += [*TINY, "task.action_repeat=8", "agent.batch_size=16", f"agent.seed_frames={seed_frames}",
                      "agent.num_expl_steps=10",
                      "run.eval_every_frames=1000", "run.eval_episodes=1"]
    t0 = time.monotonic()
    proc = start(overrides, args.runs / "fps.log", threads=args.threads)
    wait_all([proc], t0 + args.seconds)
    result = {"protocol": "DrQ-v2 cheetah_run: action repeat 2, batch 256, n-step 3, shift, 4000 seed frames, "
                          "eval every 10k frames x 10 episodes",
              "device": args.device, "seconds": args.seconds, "overrides": overrides,
              "published_drqv2_fps_v100": {"median": 94, "range": [61, 121]},
              **train_fps(run_dir, seed_frames)}
    if result["fps"]:
        result["ratio_vs_published_median"] = result["fps"] / 94
    result["log_tail"] = (args.runs / "fps.log").read_text()[-1500:]
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "log_tail"}, indent=1))


def sac_update_ms(update_json: Path) -> float | None:
    if not update_json.is_file():
        return None
    rows = json.loads(update_json.read_text())["rows"]
    return next((r["ms_per_update"] for r in rows if r["agent"] == "sac" and r["strategy"] == "drq"), None)


def plan_runs(deadline_s: float, update_ms: float | None, step_ms: float | None, dry_run: bool) -> dict[str, Any]:
    """How many runs to start (one per RUN_CORES cores), and one run's predicted time alone from the measured
    update and env-step costs, so the report says beforehand whether 100k frames can be reached."""
    frames = 2_000 if dry_run else FRAMES
    steps = frames // REPEAT
    updates = max(0, steps - (10 if dry_run else SEED_STEPS))
    env_steps = steps + (frames // (1000 if dry_run else EVAL_EVERY) + 1) * (1 if dry_run else EVAL_EPISODES) * 125
    n = 2 if dry_run else max(1, min(MAX_RUNS, (os.cpu_count() or 2) // RUN_CORES))
    plan: dict[str, Any] = {"frames": frames, "updates_per_run": updates, "env_steps_per_run": env_steps,
                            "update_ms": update_ms, "env_step_ms": step_ms, "runs": n,
                            "why": f"{os.cpu_count()} cores / {RUN_CORES} per run (at most {MAX_RUNS})"}
    if update_ms is None or step_ms is None:
        plan.update(predicted_run_s=None, reaches_budget_alone=None)
        return plan
    t1 = (updates * update_ms + env_steps * step_ms) / 1000 * 1.2  # +20%: acting, sampling, logging
    plan.update(predicted_run_s=t1, reaches_budget_alone=t1 <= deadline_s)
    return plan


def gpu_utilization() -> float | None:
    """The GPU's utilization in percent now (nvidia-smi), or None where there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=False)
        return float(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def learning(args: argparse.Namespace) -> None:
    t_start = time.monotonic()
    step_ms = json.loads(args.facts.read_text()).get("cartpole_env_step_ms") if args.facts.is_file() else None
    plan = plan_runs(args.deadline_s, sac_update_ms(args.update_json), step_ms, args.dry_run)
    n = plan["runs"]
    jobs = [("drq", s, ["agent=sac", "strategy=drq", "agent.batch_size=512"]) for s in range(1, min(n, 8) + 1)]
    extra = [("svea", 1, ["agent=sac", "strategy=svea"]), ("soda", 1, ["agent=sac", "strategy=soda"]),
             ("svea_overlay", 1, ["agent=sac", "strategy=svea", "strategy.strong=overlay(alpha=0.5)"])]
    jobs += extra[: max(0, n - 8)]
    procs, dirs = [], []
    for method, seed, picks in jobs:
        d = args.runs / "learning" / method / f"seed{seed}"
        overrides = [*picks, "task=cartpole-swingup", f"seed={seed}", f"frames={plan['frames']}", "run=benchmark",
                     f"run.eval_every_frames={EVAL_EVERY}", f"run.eval_episodes={EVAL_EPISODES}",
                     "run.checkpoint_every_frames=10000000", "run.save_video=false", "run.tensorboard=false",
                     f"run.num_threads={args.threads}", f"device={args.device}", f"run_dir={d}", "overwrite=true"]
        if args.dry_run:
            overrides += [*TINY, "agent.batch_size=16", "agent.seed_steps=10", "run.eval_every_frames=1000",
                          "run.eval_episodes=1"]
        procs.append(start(overrides, d.parent / f"seed{seed}.log", threads=args.threads))
        dirs.append((method, seed, d, overrides))
    print(f"started {len(procs)} runs: {plan['why']}", flush=True)
    utilization: list[float] = []
    wait_all(procs, t_start + args.deadline_s, utilization)
    wall = time.monotonic() - t_start

    rows, runs = [], []
    for (method, seed, d, overrides), p in zip(dirs, procs):
        batch = next(int(o.split("=")[1]) for o in reversed(overrides) if o.startswith("agent.batch_size=")) \
            if any(o.startswith("agent.batch_size=") for o in overrides) else 128
        evals = read_csv(d / "eval.csv")
        for r in evals:
            rows.append({"method": method, "seed": seed, "batch_size": batch, "frame": r["frame"], "step": r["step"],
                         "episode_return": r["episode_return"], "episode_return_std": r["episode_return_std"],
                         "episodes": r["episodes"], "device": args.device_name})
        train = read_csv(d / "train.csv")
        last = int(train[-1]["frame"]) if train else 0
        runs.append({"method": method, "seed": seed, "batch_size": batch, "last_train_frame": last,
                     "last_eval_frame": int(evals[-1]["frame"]) if evals else None,
                     "last_eval_return": float(evals[-1]["episode_return"]) if evals else None,
                     "finished": bool(evals) and int(evals[-1]["frame"]) >= plan["frames"],
                     "returncode": p.returncode, "fps": train_fps(d, (10 if args.dry_run else SEED_STEPS) * REPEAT).get("fps"),
                     "log_tail": (d.parent / f"seed{seed}.log").read_text()[-800:] if p.returncode else ""})
    total_frames = sum(r["last_train_frame"] for r in runs)
    summary = {"device": args.device_name, "plan": plan, "wall_s": wall, "runs": runs,
               "aggregate_frames_per_s": total_frames / wall if wall else None,
               "gpu_utilization_percent": ({"mean": sum(utilization) / len(utilization), "max": max(utilization),
                                            "samples": len(utilization)} if utilization else None)}
    with open(args.out / "learning.csv", "w", newline="") as fh:
        fields = ["method", "seed", "batch_size", "frame", "step", "episode_return", "episode_return_std",
                  "episodes", "device"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    write_json(args.out / "learning.json", summary)
    for r in runs:
        print(f"{r['method']} seed {r['seed']}: {r['last_train_frame']} frames, last eval "
              f"{r['last_eval_return']} at {r['last_eval_frame']}, fps {r['fps']}, rc {r['returncode']}")
    print(f"aggregate {summary['aggregate_frames_per_s']:.0f} frames/s over {wall:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["facts", "fps", "learning"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--device-name", default=None, help="label for the results (default: the GPU's name)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=Path, default=Path(tempfile.gettempdir()) / "rl-aug-device-runs")
    parser.add_argument("--seconds", type=float, default=50, help="fps: stop the run after this long")
    parser.add_argument("--frames", type=int, default=1_000_000, help="fps: the run's budget (it stops at either)")
    parser.add_argument("--deadline-s", type=float, default=280)
    parser.add_argument("--update-json", type=Path, default=Path("update_b512.json"))
    parser.add_argument("--facts", type=Path, default=Path("facts.json"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    if args.device_name is None:
        import torch

        args.device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    args.runs.mkdir(parents=True, exist_ok=True)
    {"facts": facts, "fps": fps, "learning": learning}[args.stage](args)


if __name__ == "__main__":
    main()
