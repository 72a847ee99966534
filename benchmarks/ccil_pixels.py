"""Pixel BC vs pixel BC + CCIL labels on a D4RL locomotion task (hopper_d4rl, walker2d_d4rl): a paired
comparison, per seed; writes benchmarks/results/NAME.{csv,md} after every seed.

    RL_AUG_CCIL_DATA=../shared/ccil MUJOCO_GL=egl OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ccil_pixels.py \
        --task walker2d_d4rl --paired ccil_pixels_walker2d --seeds 5

Per seed:
1. demos and the CCIL config of the task (configs/ccil/<task>.yaml + --set overrides) through the state
   pipeline's own functions (rl_aug.cli.ccil: load_config, validate_config, load_task_demos); the dynamics model
   and the BackTrack labels with train_dynamics / generate_labels, configured exactly as run_seed does for the
   task (seed = the run's seed);
2. demo frame stacks (k = 3): every demo state drawn once (forward position from integrate_x, 0 at each episode
   start), stacked over the previous demo frames, the first frame repeated at an episode's start (as FrameStack
   after a reset); label frame stacks from rl_aug.ccil.pixels.label_stack_qpos (the demo's frames moved by the
   label's displacement); everything rendered by a PixelObservation of --size at --render-quality;
3. pixel BC on the demo stacks and pixel BC on demos + labels (agents.pixel_bc, same seed, --epochs; training by
   epochs gives the second about twice the gradient steps), and the control for those extra steps: pixel BC on the
   demo stacks alone for as many steps as pixel CCIL's (pixel_bc_matched, random batches, like the state
   benchmark's bc_matched);
4. each policy for --episodes episodes of the task's env (Hopper-v5 / Walker2d-v5) wrapped PixelObservation(--size) + FrameStack(3), with the
   task's action noise (a * (1 - n) + n * U(action box), clipped; CCIL's protocol, n = 0.01). CCIL's protocol
   also noises the *state observation*; a pixel policy never sees the state and there is no pixel counterpart
   of that noise here, so only the action half is applied. Both methods use the same episode seeds and the
   same noise stream.

--render-quality defaults to "minimal" (256 px shadow map, no multisampling, and no shadow, reflection or skybox
pass; rl_aug.wrappers.scene): on this CPU (llvmpipe) that is what a frame costs most, and the comparison only needs
training and evaluation frames drawn the same way, which they are. "fast" and "default" keep the usual look.
--demo-episodes keeps only the first N demo episodes (for smoke runs; the default uses all 25).
--combine CSV [CSV ...] writes NAME.{csv,md} from the per-seed tables of several launches (e.g. seeds run in two
processes side by side) instead of running anything; a seed in two files must agree.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

TASKS = ("hopper_d4rl", "walker2d_d4rl")
K = 3
METHODS = ("pixel_bc", "pixel_ccil", "pixel_bc_matched")
COMPARISONS = (("pixel_ccil", "pixel_bc"), ("pixel_bc_matched", "pixel_bc"), ("pixel_ccil", "pixel_bc_matched"))


def log(message: str, start: float | None = None) -> None:
    suffix = f" ({time.time() - start:.1f}s)" if start is not None else ""
    print(f"[ccil_pixels] {message}{suffix}", flush=True)


def subset_demos(demos, episodes: int | None):
    """The first ``episodes`` demo episodes (all when None)."""
    from rl_aug.ccil.data import Demonstrations

    if episodes is None:
        return demos
    keep_ids = np.unique(demos.episode_ids)[:episodes]
    rows = np.isin(demos.episode_ids, keep_ids)
    return Demonstrations(demos.observations[rows], demos.actions[rows], demos.next_observations[rows],
                          demos.episode_ids[rows])


def make_labels(cfg, task, demos, seed: int) -> tuple[dict, dict, dict]:
    """Dynamics + labels exactly as the state pipeline makes them (rl_aug.cli.ccil.fit_and_label)."""
    from rl_aug.agents.ccil_pipeline import fit_and_label

    start = time.time()
    labeled, info = fit_and_label(cfg, task, demos, seed, log)
    times = {"dynamics": info["dynamics_seconds"], "labels": time.time() - start - info["dynamics_seconds"]}
    return labeled, info["label_stats"], times


def render_frames(env_id: str, size: int, quality: str, demos, labeled) -> tuple[np.ndarray, np.ndarray, dict]:
    """(demo stacks (N, 3K, H, W), label stacks (M, 3K, H, W), seconds per part)."""
    import gymnasium as gym

    from rl_aug.ccil.pixels import integrate_x, label_stack_qpos, render_qpos, stack_indices, states_to_qpos
    from rl_aug.wrappers import PixelObservation

    times = {}
    env = PixelObservation(gym.make(env_id), size=size, render_quality=quality)
    env.reset(seed=0)
    try:
        n = len(demos)
        starts = np.r_[True, demos.episode_ids[1:] != demos.episode_ids[:-1]]
        nq = int(env.unwrapped.model.nq)
        x = integrate_x(demos.observations[:, nq - 1], float(env.unwrapped.dt), starts)  # qvel[0]
        demo_qpos = states_to_qpos(env, demos.observations, x)
        start = time.time()
        log(f"rendering {n} demo frames at {size} px ...")
        frames = render_qpos(env, demo_qpos)
        demo_stacks = frames[stack_indices(starts, np.arange(n), K)].reshape(n, 3 * K, size, size)
        del frames
        times["render_demos"] = time.time() - start
        log(f"demo stacks {demo_stacks.shape}", start)
        is_label = labeled["is_label"]
        src = labeled["source_index"][is_label]
        label_qpos = states_to_qpos(env, labeled["observations"][is_label], x[src])
        stack_qpos = label_stack_qpos(demo_qpos, starts, src, label_qpos, K)  # (M, K, nq)
        start = time.time()
        log(f"rendering {len(src)} labels x {K} frames at {size} px ...")
        label_frames = render_qpos(env, stack_qpos.reshape(-1, nq))
        label_stacks = label_frames.reshape(len(src), 3 * K, size, size)
        times["render_labels"] = time.time() - start
        log(f"label stacks {label_stacks.shape}", start)
    finally:
        env.close()
    return demo_stacks, label_stacks, times


def evaluate_pixels(policy, env_id: str, size: int, quality: str, episodes: int, noise: float, seed: int,
                    chunk: int = 10) -> np.ndarray:
    """Returns of ``episodes`` episodes (env seeds seed, seed+1, ...) with action noise only, ``chunk`` side by
    side (one batched policy call per step; fresh envs per chunk, one noise stream over all chunks)."""
    import gymnasium as gym
    from rl_aug.agents.ccil_evaluation import action_noise

    from rl_aug.evaluation.rollout import play
    from rl_aug.wrappers import FrameStack, PixelObservation

    rng = np.random.default_rng(seed)
    returns = []
    for first in range(0, episodes, chunk):
        ids = list(range(first, min(episodes, first + chunk)))
        envs = [FrameStack(PixelObservation(gym.make(env_id), size=size, render_quality=quality), K)
                for _ in ids]
        try:
            returns += [ret for ret, _, _ in play(policy.predict, envs, [seed + i for i in ids],
                                                  act=action_noise(envs[0].action_space, rng, noise))]
        finally:
            for env in envs:
                env.close()
    return np.array(returns)


def write_results(out: Path, name: str, task: str, rows: list[dict], command: str, planned: int,
                  elapsed: float | None) -> None:
    """NAME.csv (one row per seed and method) and NAME.md (per-seed table, paired differences); elapsed None: the
    rows were combined from several launches."""
    from rl_aug.evaluation.aggregate import paired_difference

    with open(out / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    seeds = sorted({r["seed"] for r in rows})
    mean = {(r["seed"], r["method"]): r["mean_return"] for r in rows}
    done = [s for s in seeds if all((s, m) in mean for m in METHODS)]
    lines = [f"Command: `{command}`  ",
             (f"Machine: {platform.machine()} CPU, {platform.system()}, torch 1 thread, shared with other jobs; "
              + (f"{elapsed / 60:.0f} min so far." if elapsed is not None else "combined from several launches.")),
             "", f"# Pixel BC vs pixel BC + CCIL labels on {task}", ""]
    if len(done) < planned:
        lines += [f"**Partial: {len(done)} of {planned} seeds finished.**", ""]
    first = rows[0]
    lines += [(f"{first['episodes']} episodes per seed and method, action noise {first['action_noise']} (no "
               f"observation noise: no pixel counterpart), {first['size']} px, frame stack {K}, "
               f"{first['epochs']} epochs, render quality {first['render_quality']}."), "",
              ("| seed | pixel BC | pixel BC + CCIL labels | pixel BC, step-matched | CCIL - BC | CCIL - matched | "
              "labels | BC steps (bc / ccil / matched) |"),
              "|---|---|---|---|---|---|---|---|"]
    by = {(r["seed"], r["method"]): r for r in rows}
    for s in done:
        b, c, m = (by[(s, k)] for k in METHODS)
        lines.append(f"| {s} | {b['mean_return']:.1f} +- {b['std_return']:.1f} | {c['mean_return']:.1f} +- "
                     f"{c['std_return']:.1f} | {m['mean_return']:.1f} +- {m['std_return']:.1f} | "
                     f"{c['mean_return'] - b['mean_return']:+.1f} | {c['mean_return'] - m['mean_return']:+.1f} | "
                     f"{c['labels']} | {b['steps']} / {c['steps']} / {m['steps']} |")
    if done:
        lines += ["", "Paired differences (per-seed means; s.e. = std ddof 1 / sqrt n, nan with one seed):", "",
                  "| comparison | seeds | mean | s.e. | seeds above 0 |", "|---|---|---|---|---|"]
        for a, b in COMPARISONS:
            d = paired_difference([mean[(s, a)] for s in done], [mean[(s, b)] for s in done])
            lines.append(f"| {a} - {b} | {len(done)} | {d.mean:+.1f} | {d.se:.1f} | {d.above} of {len(done)} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def combine(out: Path, name: str, paths: list[Path]) -> int:
    """NAME.{csv,md} from the rows of several launches' tables (numbers read back as numbers)."""
    numeric = {"seed": int, "episodes": int, "size": int, "epochs": int, "labels": int, "steps": int,
               "action_noise": float, "mean_return": float, "std_return": float, "seconds": float}
    rows: dict[tuple[int, str], dict] = {}
    for path in paths:
        with open(path) as fh:
            for r in csv.DictReader(fh):
                r = {k: numeric[k](v) if k in numeric else v for k, v in r.items()}
                key = (r["seed"], r["method"])
                if key in rows and not np.isclose(rows[key]["mean_return"], r["mean_return"]):
                    raise SystemExit(f"seed {key[0]} {key[1]}: {rows[key]['mean_return']} in one file, "
                                     f"{r['mean_return']} in another (expected one run)")
                rows[key] = r
    ordered = [rows[k] for k in sorted(rows)]
    tasks = {r["task"] for r in ordered}
    if len(tasks) != 1:
        raise SystemExit(f"expected the tables of one task, got {sorted(tasks)}")
    command = "python benchmarks/ccil_pixels.py --paired " + name + " --combine " + " ".join(p.name for p in paths)
    seeds = len({r["seed"] for r in ordered})
    write_results(out, name, tasks.pop(), ordered, command, seeds, None)
    print((out / f"{name}.md").read_text(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="hopper_d4rl", choices=TASKS)
    parser.add_argument("--paired", metavar="NAME", required=True, help="write benchmarks/results/NAME.{csv,md}")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes per seed and method")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=10, help="pixel BC epochs (passes over its training set)")
    parser.add_argument("--render-quality", default="minimal", choices=("minimal", "fast", "default"))
    parser.add_argument("--demo-episodes", type=int, default=None, help="use only the first N demo episodes")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[],
                        help="key=value overrides of the CCIL config (e.g. dynamics.epochs=1)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="CSV", help="join these tables into NAME")
    args = parser.parse_args(argv)
    if args.combine:
        return combine(args.out, args.paired, args.combine)
    if not args.paired or Path(args.paired).name != args.paired:
        parser.error(f"--paired takes a plain file name (written under --out), got {args.paired!r}")
    for name in ("seeds", "episodes", "size", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.demo_episodes is not None and args.demo_episodes < 1:
        parser.error(f"--demo-episodes must be >= 1, got {args.demo_episodes}")
    default_data = ROOT.parent / "shared" / "ccil"
    if not os.environ.get("RL_AUG_CCIL_DATA") and default_data.is_dir():
        os.environ["RL_AUG_CCIL_DATA"] = str(default_data)

    import torch
    from rl_aug.agents.ccil_config import load_config, validate_config
    from rl_aug.agents.ccil_pipeline import load_task_demos
    from rl_aug.agents.pixel_bc import PixelBCConfig, train_pixel_bc

    torch.set_num_threads(1)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    cfg = load_config([f"task={args.task}", f"seeds={seeds}", f"episodes={args.episodes}", *args.overrides])
    validate_config(cfg)
    task, demos, demo_path = load_task_demos(cfg)
    demos = subset_demos(demos, args.demo_episodes)
    noise = task.eval_noise if cfg.eval_noise is None else float(cfg.eval_noise)
    command = (f"RL_AUG_CCIL_DATA=../shared/ccil MUJOCO_GL=egl OMP_NUM_THREADS=1 .venv/bin/python "
               f"benchmarks/ccil_pixels.py --task {args.task} --paired {args.paired} --seeds {args.seeds}"
               + (f" --first-seed {args.first_seed}" if args.first_seed else "")
               + f" --episodes {args.episodes} --size {args.size} --epochs {args.epochs}"
               + (f" --render-quality {args.render_quality}" if args.render_quality != "minimal" else "")
               + (f" --demo-episodes {args.demo_episodes}" if args.demo_episodes else "")
               + (f" --set {' '.join(args.overrides)}" if args.overrides else ""))
    log(f"{demo_path.name}: {len(demos)} transitions; seeds {seeds}; action noise {noise}")
    args.out.mkdir(parents=True, exist_ok=True)
    run_start = time.time()
    rows: list[dict] = []
    for seed in seeds:
        seed_start = time.time()
        labeled, _stats, times = make_labels(cfg, task, demos, seed)
        is_label = labeled["is_label"]
        if is_label[:len(demos)].any() or not is_label[len(demos):].all():
            raise RuntimeError("expected the labeled data to be the demos followed by the labels")
        demo_stacks, label_stacks, render_times = render_frames(task.env_id, args.size, args.render_quality, demos,
                                                          labeled)
        times |= render_times
        eval_seed = 10_000 + 1000 * seed  # as run_seed
        for method in METHODS:
            bc_cfg = PixelBCConfig(epochs=args.epochs, seed=seed)
            if method == "pixel_ccil":
                frames, actions = np.concatenate([demo_stacks, label_stacks]), labeled["actions"]
            else:
                frames, actions = demo_stacks, demos.actions
            if method == "pixel_bc_matched":
                bc_cfg = PixelBCConfig(epochs=None, steps=bc_cfg.num_steps(len(labeled["actions"])), seed=seed)
            start = time.time()
            log(f"seed {seed}: training {method} on {len(frames)} stacks for {bc_cfg.num_steps(len(frames))} steps ...")
            policy = train_pixel_bc(frames, actions, bc_cfg)
            times[f"train_{method}"] = time.time() - start
            log(f"seed {seed}: {method} trained, last-epoch loss "
                f"{np.mean(policy.train_losses[-max(1, len(frames) // bc_cfg.batch_size):]):.4g}", start)
            del frames
            start = time.time()
            returns = evaluate_pixels(policy, task.env_id, args.size, args.render_quality, args.episodes, noise, eval_seed)
            times[f"eval_{method}"] = time.time() - start
            log(f"seed {seed}: {method} mean return {returns.mean():.1f} over {args.episodes} episodes", start)
            rows.append({"task": args.task, "seed": seed, "method": method, "episodes": args.episodes,
                         "action_noise": noise, "size": args.size, "epochs": args.epochs,
                         "render_quality": args.render_quality,
                         "mean_return": float(returns.mean()), "std_return": float(returns.std()),
                         "returns": " ".join(f"{r:.1f}" for r in returns),
                         "labels": int(is_label.sum()), "steps": len(policy.train_losses),
                         "seconds": round(times[f"train_{method}"] + times[f"eval_{method}"], 1)})
        write_results(args.out, args.paired, args.task, rows, command, len(seeds), time.time() - run_start)
        log(f"seed {seed} done; stage seconds " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()), seed_start)
    log(f"wrote {args.out / args.paired}.csv and .md", run_start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
