"""Frames per second of pixel dm_control envs: default vs fast (vs minimal) rendering, with and without each shift.

Measures, on one CPU core (the process pins itself to core 0 unless --no-pin, so Mesa's llvmpipe
renderer cannot spread over both cores: the figure is per core):
1. render only: 84x84 frames/s of the pixel wrappers' `SceneRenderer` (a `mujoco.Renderer`, no shifts) at
   "default", "fast" and "minimal" quality on the same states, and the mean absolute pixel difference
   (0-255 scale) of fast to default over the states of a rollout
   (minimal has no skybox or shadows: its frames are not meant to look like default's);
2. the whole env: `envs.make(task, ...)` environment frames/s (agent steps x action repeat, physics,
   rendering, frame stack, shifts), over agent steps after a reset, and the cost of a reset.
Each rate is given twice: per wall-clock second, and per CPU-second of this process (all its threads,
`time.process_time`). On a shared machine the wall-clock rate depends on the other jobs; the CPU rate is
the cost per core and is the figure to compare with "frames/s per core".

Usage: python benchmarks/env_speed.py [--tasks walker-walk cartpole-swingup] [--steps 300] [--no-pin] [--render-only]
       [--assets-dir DIR] (DMC-GB assets; default $RL_AUG_DMCGB_DIR, else procedural videos / sampled colours)
Prints a table and ratios; writes benchmarks/results/envs-<host>.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import time
from pathlib import Path

import numpy as np

SHIFTS = (None, "color_hard", "video_easy", "video_hard", "camera", "color_hard+video_hard+camera")


def render_only(task: str, size: int, frames: int) -> dict:
    """Frames/s of bare 84x84 rendering at each quality, and the pixel difference fast vs default."""
    import mujoco

    from rl_aug import envs
    from rl_aug.wrappers.scene import SceneRenderer, find_mujoco

    env = envs.make(task, obs="state", seed=0)
    try:
        model, data = find_mujoco(env)
        camera = envs.CAMERA_BY_DOMAIN.get(envs.parse_task(task)[0], 0)
        states = []
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(50):
            env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
            states.append((data.qpos.copy(), data.qvel.copy()))
        out, images = {}, {}
        for quality in ("default", "fast", "minimal"):
            # A renderer of the pixel wrappers with no shifts: update the scene, apply the quality's flags, draw.
            renderer = SceneRenderer(env, size, size, camera, quality)
            try:
                images[quality] = []
                for qpos, qvel in states:  # the pixel comparison, and a warm-up
                    data.qpos[:], data.qvel[:] = qpos, qvel
                    mujoco.mj_forward(model, data)
                    images[quality].append(renderer.render([]).astype(np.int16))
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(frames):
                    renderer.render([])
                out[f"render_fps_{quality}"] = frames / (time.perf_counter() - start)
                out[f"render_fps_per_cpu_s_{quality}"] = frames / (time.process_time() - cpu)
            finally:
                renderer.close()
        diffs = [np.abs(a - b).mean() for a, b in zip(images["default"], images["fast"])]
        out["mean_abs_pixel_diff_fast_vs_default"] = float(np.mean(diffs))
        out["max_abs_pixel_diff_fast_vs_default"] = int(max(np.abs(a - b).max()
                                                         for a, b in zip(images["default"], images["fast"])))
        return out
    finally:
        env.close()


def env_fps(task: str, size: int, steps: int, quality: str, shift: str | None, assets_dir: str | None) -> dict:
    """Environment frames/s of the whole pixel env over `steps` agent steps, and the mean reset time."""
    from rl_aug import envs

    env = envs.make(task, seed=0, size=size, shift=shift, render_quality=quality, assets_dir=assets_dir)
    try:
        rng = np.random.default_rng(0)
        actions = rng.uniform(-1, 1, (steps, *env.action_space.shape)).astype(np.float32)
        resets = []
        for seed in range(3):
            start = time.perf_counter()
            env.reset(seed=seed)
            resets.append(time.perf_counter() - start)
        frames = 0
        start, cpu = time.perf_counter(), time.process_time()
        for action in actions:
            _, _, terminated, truncated, info = env.step(action)
            frames += info["frames"]
            if terminated or truncated:
                env.reset()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        return {"env_frames_per_s": frames / elapsed, "env_frames_per_cpu_s": frames / cpu,
                "agent_steps_per_s": steps / elapsed, "reset_ms": 1000 * statistics.median(resets)}
    finally:
        env.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["walker-walk", "cartpole-swingup"])
    parser.add_argument("--size", type=int, default=84)
    parser.add_argument("--steps", type=int, default=300, help="agent steps per env measurement")
    parser.add_argument("--render-frames", type=int, default=300)
    parser.add_argument("--assets-dir", default=None)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one core")
    parser.add_argument("--render-only", action="store_true", help="measure rendering only, not the whole env")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    results = {"host": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(),
               "pinned_to_one_core": not args.no_pin, "size": args.size, "steps": args.steps,
               "assets_dir": (Path(args.assets_dir or os.environ.get("RL_AUG_DMCGB_DIR") or "").name or None),
               "load_average_at_start": os.getloadavg(), "tasks": {}}
    for task in args.tasks:
        row = {"render": render_only(task, args.size, args.render_frames), "env": {}}
        r = row["render"]
        print(f"{task}: render {args.size}x{args.size} frames per CPU-second: default "
              f"{r['render_fps_per_cpu_s_default']:.0f}, fast {r['render_fps_per_cpu_s_fast']:.0f} "
              f"(x{r['render_fps_per_cpu_s_fast'] / r['render_fps_per_cpu_s_default']:.2f}), minimal "
              f"{r['render_fps_per_cpu_s_minimal']:.0f} (x{r['render_fps_per_cpu_s_minimal'] / r['render_fps_per_cpu_s_fast']:.2f}"
              f" of fast); per wall-second: "
              f"default {r['render_fps_default']:.0f}, fast {r['render_fps_fast']:.0f}; "
              f"mean |fast - default| = {r['mean_abs_pixel_diff_fast_vs_default']:.3f} / 255")
        pipelines = [] if args.render_only else [("default", None), ("minimal", None)] + [("fast", s) for s in SHIFTS]
        for quality, shift in pipelines:
            key = f"{quality}/{shift or 'train'}"
            row["env"][key] = env_fps(task, args.size, args.steps, quality, shift, args.assets_dir)
            e = row["env"][key]
            base = row["env"].get("fast/train", e)["env_frames_per_cpu_s"]
            print(f"  env {key:<34} {e['env_frames_per_cpu_s']:6.0f} frames/CPU-s "
                  f"(x{e['env_frames_per_cpu_s'] / base:.2f} of fast/train)  {e['env_frames_per_s']:6.0f} frames/s "
                  f"wall  reset {e['reset_ms']:6.1f} ms")
        results["tasks"][task] = row
    results["load_average_at_end"] = os.getloadavg()
    out = args.out or Path(__file__).parent / "results" / f"envs-{socket.gethostname()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
