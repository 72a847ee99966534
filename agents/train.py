"""The training loop: seed frames, the update schedule, evaluation, metrics, videos, checkpoints, resume.

    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer
    cfg = compose(["agent=sac", "strategy=drq", "task=cartpole-swingup", "frames=100000"])
    Trainer(cfg).run()
    train(cfg, callbacks=[...])  # the same, closed after; prints and returns its run dir; SB3-like callbacks

Counting follows the DrQ / DMC literature: budgets and logs in environment frames (agent steps x
action repeat); agent steps are logged too. Checkpoints are taken at episode ends (every
`run.checkpoint_every_frames`, every `run.checkpoint_every_minutes`, and when the run stops), holding the
agent, the strategy, the replay, the RNG streams and the counters. With `run.snapshot_every_frames` the agent's
weights are also kept every so many frames (and at the end) in `snapshots/frame_<N>.pt`, for evaluating runs at
equal frames. Each training episode resets its env with a seed derived from (seed, episode index), so a run
resumed from its directory continues exactly as if never interrupted.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from rl_aug.agents import checkpoint, provenance, run_lock
from rl_aug.agents import config as configs
from rl_aug.agents.callbacks import check_callbacks
from rl_aug.agents.config import ConfigError, agent_classes, agent_kwargs, config_diff, make_strategy
from rl_aug.agents.policy import to_env_bounds
from rl_aug.agents.replay import ReplayBuffer
from tqdm import tqdm

from rl_aug.evaluation.report import write_csv
from rl_aug.files import atomic_path, write_text
from rl_aug.host_memory import keep_freed_memory

EnvFactory = Callable[[DictConfig, int], Any]
RESUME_MUST_MATCH = ("seed", "agent", "strategy", "task")


def make_env(task: DictConfig, seed: int) -> Any:
    """The env of `task`: a dm_control task (envs.make), or your own by task.id / task.factory (envs.make_task)."""
    from rl_aug import envs

    try:
        return envs.make_task(task, seed=seed)
    except ValueError as exc:  # a bad task.id / task.factory / shift: one line from the CLI, not a traceback
        if not envs.custom.is_custom(task):
            raise
        raise ConfigError(f"task: {exc}") from None


def derived_seed(*parts: int) -> int:
    """An independent 32-bit seed for a (seed, stream, index...) tuple."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def finished(run_dir: str | Path, frames: int | None = None) -> bool:
    """True when `run_dir` holds a run that trained its whole budget (`frames`, when given, at least): its
    result.json, written by `Trainer.run` then; a sweep skips such runs."""
    try:
        done = json.loads((Path(run_dir) / "result.json").read_text())
    except (OSError, ValueError):  # none yet (or unreadable): not finished
        return False
    return frames is None or int(done.get("frame", -1)) >= int(frames)


@dataclass
class _Episode:
    """What `Trainer.run` carries from one agent step to the next: the current episode and the metrics of the
    updates since the last train row."""

    tick: float  # perf_counter at the last episode end (for fps)
    tick_frame: int
    obs: np.ndarray | None = None  # None between episodes
    episode_return: float = 0.0
    episode_length: int = 0
    last_return: float = float("nan")
    update_metrics: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def _set_process_options(cfg: DictConfig) -> None:
    """Process-wide settings a run asks for (threads, allocator, TF32 off for fp32 on CUDA) and the global seeds."""
    if cfg.run.num_threads > 0:
        torch.set_num_threads(cfg.run.num_threads)
    if cfg.run.keep_freed_memory and torch.device(str(cfg.device)).type == "cpu":
        keep_freed_memory()  # process-wide; results unchanged, updates faster (rl_aug/host_memory.py)
    if cfg.agent.get("precision") == "fp32" and str(cfg.device).startswith("cuda"):
        # fp32 means fp32: CUDA runs fp32 convolutions in TF32 by default (seen on an H200, BENCHMARKS.md)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    seed = int(cfg.seed)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """One training run in one run directory. `env_factory(task_cfg, seed)` and `strategy` may be injected."""

    def __init__(self, cfg: DictConfig, env_factory: EnvFactory | None = None, strategy: Any | None = None,
                 overrides: list[str] | None = None, callbacks: Any = None) -> None:
        """`overrides`: the command line as typed, recorded in run_info.json (the CLI passes it). `callbacks`: see
        `train` and rl_aug.agents.callbacks."""
        self.cfg = cfg
        self.callbacks = check_callbacks(callbacks)  # before anything is made: a bad one costs nothing
        self._stop_by: str | None = None
        default = Path("runs") / cfg.task.name / f"{cfg.agent.name}-{cfg.strategy.name}" / f"seed{cfg.seed}"
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir is not None else default
        created = not self.run_dir.exists()
        self._lock: IO[str] | None = None
        resuming = None
        try:
            resuming = self._open_run_dir()
            self._build(cfg, env_factory, strategy, overrides, resuming)
        except BaseException:
            self.close()
            # A failed start leaves no empty run directory behind; a failed check deletes nothing (resuming None):
            # the folder may hold a run another process made meanwhile.
            if created and resuming is False:
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise

    def _build(self, cfg: DictConfig, env_factory: EnvFactory | None, strategy: Any | None,
               overrides: list[str] | None, resuming: bool) -> None:
        """Everything a run needs, in order: process options and seeds, envs, agent and strategy, the schedule,
        the replay, the counters; then the saved state (resuming) or the saved config (a new run)."""
        configs.check_frames(int(cfg.frames), int(cfg.task.action_repeat))  # a config built without compose, too
        seed = int(cfg.seed)
        _set_process_options(cfg)
        obs_shape, action_dim = self._make_envs(cfg, env_factory or make_env)
        self._make_agent(cfg, strategy, obs_shape, action_dim)
        self._set_schedule(cfg)
        saved = None
        if resuming:  # read once: sizes the buffer, then fills it
            path, state, replay_arrays = checkpoint.read(self.run_dir / "checkpoint")
            checkpoint.settle(self.run_dir / "checkpoint", path)
            saved = (state, replay_arrays)
        self._make_replay(cfg, obs_shape, action_dim, saved)
        self.action_rng = np.random.default_rng(derived_seed(seed, 3))
        self._reset_counters()
        if saved is not None:
            self._load(*saved)
            # A resumed run may ask for a different checkpoint interval: it applies from now on.
            self.next_checkpoint_step = min(self.next_checkpoint_step, self.step + self.checkpoint_every_steps)
        else:
            write_text(self.run_dir / "config.yaml", OmegaConf.to_yaml(configs.saved_form(cfg)))
        provenance.append(self.run_dir, overrides, resumed=resuming)
        self.writer = None
        if cfg.run.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # Everything logged at the checkpoint's frame was written before the checkpoint was taken: purge only
            # the later points (logged after it, before an interruption), so TensorBoard matches the CSVs.
            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.frame + 1 if resuming else None)

    def _make_envs(self, cfg: DictConfig, env_factory: EnvFactory) -> tuple[tuple[int, int, int], int]:
        """The training and evaluation envs (seeded apart); returns the observation shape and action size."""
        seed = int(cfg.seed)
        self.env = env_factory(cfg.task, derived_seed(seed, 0))
        self.eval_env = env_factory(cfg.task, derived_seed(seed, 1))
        space = self.env.observation_space
        if space.dtype != np.uint8 or len(space.shape) != 3:
            raise ConfigError(f"expected an env with uint8 (C, H, W) observations, got {space.dtype} {space.shape}")
        self.action_low = np.asarray(self.env.action_space.low, dtype=np.float32)
        self.action_high = np.asarray(self.env.action_space.high, dtype=np.float32)
        return tuple(int(s) for s in space.shape), int(np.prod(self.env.action_space.shape))

    def _make_agent(self, cfg: DictConfig, strategy: Any | None, obs_shape: tuple[int, int, int],
                    action_dim: int) -> None:
        agent_cls = agent_classes()[cfg.agent.name]
        self.agent = agent_cls(obs_shape, action_dim, device=cfg.device, **agent_kwargs(cfg))
        self.strategy = strategy if strategy is not None else make_strategy(cfg)
        try:
            self.strategy.attach(self.agent)
        except (TypeError, ValueError, NotImplementedError) as exc:
            raise ConfigError(f"strategy {cfg.strategy.name!r} does not fit agent {cfg.agent.name!r}: {exc}") from None

    def _set_schedule(self, cfg: DictConfig) -> None:
        """Budgets and intervals in agent steps, and the loop's settings from cfg.agent (batch size, updates
        every so many steps): the loop's, though they sit in the agent's config node with their references."""
        self.action_repeat = int(cfg.task.action_repeat)
        self.total_steps = int(cfg.frames) // self.action_repeat
        seed_frames = cfg.agent.seed_frames
        self.seed_steps = int(cfg.agent.seed_steps) if seed_frames is None else int(seed_frames) // self.action_repeat
        if self.total_steps <= self.seed_steps:
            warnings.warn(
                f"frames={cfg.frames} ends inside the seed phase ({self.seed_steps} agent steps = "
                f"{self.seed_steps * self.action_repeat} frames of uniform random actions at action repeat "
                f"{self.action_repeat}): the agent gets {max(0, self.total_steps - self.seed_steps + 1)} update(s); "
                "raise frames or lower agent.seed_steps / agent.seed_frames", UserWarning, stacklevel=3)
        self.batch_size = int(cfg.agent.batch_size)
        # updates at the first update step: agent.init_updates (DMC-GB: 1000), else one (configs saved without it)
        self.init_updates = int(cfg.agent.get("init_updates") or 1)
        self.update_every_steps = int(cfg.agent.update_every_steps)
        self.eval_every_steps = max(1, int(cfg.run.eval_every_frames) // self.action_repeat)
        self.checkpoint_every_steps = max(1, int(cfg.run.checkpoint_every_frames) // self.action_repeat)
        self.checkpoint_every_s = float(cfg.run.checkpoint_every_minutes) * 60.0
        snapshot_frames = int(cfg.run.snapshot_every_frames)
        self.snapshot_every_steps = max(1, snapshot_frames // self.action_repeat) if snapshot_frames > 0 else 0
        self._last_checkpoint_time = time.monotonic()

    def _make_replay(self, cfg: DictConfig, obs_shape: tuple[int, int, int], action_dim: int,
                     saved: tuple[dict[str, Any], dict[str, np.ndarray]] | None) -> None:
        # Never allocate more than the run can write (np.zeros is lazy, but not every kernel overcommits).
        capacity = min(int(cfg.agent.replay_capacity), self.total_steps * (1 + obs_shape[0] // 3) + 16)
        if saved is not None:  # the saved replay fixes the layout, whatever `frames` the resumed run asks for
            capacity = ReplayBuffer.saved_layout(saved[1])["capacity"]
        self.replay = ReplayBuffer(obs_shape, action_dim, capacity, nstep=int(cfg.agent.nstep),
                                   discount=float(cfg.agent.discount), seed=derived_seed(int(cfg.seed), 2))

    def _reset_counters(self) -> None:
        self.step = 0
        self.episode = 0
        self.num_evals = 0
        self.last_eval_step = -1
        self.next_checkpoint_step = self.checkpoint_every_steps
        self.train_rows: list[dict[str, float]] = []
        self.eval_rows: list[dict[str, float]] = []

    # ------------------------------------------------------------------ run directory
    @property
    def frame(self) -> int:
        return self.step * self.action_repeat

    def _open_run_dir(self) -> bool:
        """Create and lock the run dir, after the checks that need nothing from it (resume needs a run there); then,
        locked, check what it holds: True when resuming. An existing run is never overwritten unless asked."""
        d = self.run_dir
        configs.check_start(self.cfg)
        if d.exists() and not d.is_dir():
            raise FileExistsError(f"expected run_dir a directory, got {d}, which is a file: choose another run_dir")
        if self.cfg.resume and not run_lock.contents(d):
            state = "is empty" if d.is_dir() else "does not exist"
            raise ConfigError(f"resume=true but run_dir {d} {state}: there is no run to continue; check the path, "
                              "or drop resume=true to start a new run there")
        d.mkdir(parents=True, exist_ok=True)
        self._lock = run_lock.acquire(d)  # before anything is read or deleted: one process per run directory
        entries = run_lock.contents(d)
        exists = bool(entries)
        if exists and self.cfg.overwrite:
            for p in entries:  # the lock file stays: it is what keeps a second process out meanwhile
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            exists = False
        if exists and not self.cfg.resume:
            raise FileExistsError(
                f"run directory {d} already holds a run: pass resume=true to continue it, overwrite=true to "
                "delete it and start again, or run_dir=<another directory>"
            )
        if exists and checkpoint.find(d / "checkpoint") is None:
            raise FileNotFoundError(f"resume=true but {d} holds no checkpoint: use overwrite=true to start again")
        return exists

    def _state(self) -> dict[str, Any]:
        return {
            "config": OmegaConf.to_container(configs.saved_form(self.cfg), resolve=True),
            "agent": self.agent.state_dict(),
            "strategy": self.strategy.state_dict(),
            "counters": {"step": self.step, "episode": self.episode, "num_evals": self.num_evals,
                         "last_eval_step": self.last_eval_step, "next_checkpoint_step": self.next_checkpoint_step},
            "rng": checkpoint.rng_state(),
            "action_rng": self.action_rng.bit_generator.state,
            "train_rows": self.train_rows,
            "eval_rows": self.eval_rows,
        }

    def save_checkpoint(self) -> Path:
        path = checkpoint.save(self.run_dir / "checkpoint", self._state(), self.replay)
        self._last_checkpoint_time = time.monotonic()
        for callback in self.callbacks:
            if hasattr(callback, "on_checkpoint"):
                callback.on_checkpoint(path, self.frame)
        return path

    def _load(self, state: dict[str, Any], replay_arrays: dict[str, np.ndarray]) -> None:
        self.replay.load_state_dict(replay_arrays)
        # read against the schema, as its config.yaml is (load_saved): a run made before a key existed (task.id,
        # task.factory) has it at its default, not `absent`, and resumes
        try:
            saved = OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(configs.TopSchema), state["config"]))
        except OmegaConfBaseException:  # a key outside the schema (added in Python, or by an older compose): as saved
            saved = state["config"]
        current = OmegaConf.to_container(self.cfg, resolve=True)
        # numerics may change on resume, like the device (the weights do not depend on agent.precision)
        diffs = [d for key in RESUME_MUST_MATCH for d in config_diff(saved.get(key), current.get(key), key)
                 if d[0] != "agent.precision"]
        if diffs:
            named = ", ".join(f"{key} differs (saved {old!r}, now {new!r})" for key, old, new in diffs)
            raise ConfigError(f"cannot resume {self.run_dir}: {named}; resume with the run's config (see "
                              f"{self.run_dir / 'config.yaml'})")
        self.agent.load_state_dict(state["agent"])
        self.strategy.load_state_dict(state["strategy"])
        for key, value in state["counters"].items():
            setattr(self, key, value)
        self.action_rng.bit_generator.state = state["action_rng"]
        self.train_rows = state["train_rows"]
        self.eval_rows = state["eval_rows"]
        checkpoint.set_rng_state(state["rng"])

    # ------------------------------------------------------------------ logging
    def _log(self, kind: str, row: dict[str, float]) -> None:
        rows = self.train_rows if kind == "train" else self.eval_rows
        rows.append(row)
        write_csv(self.run_dir / f"{kind}.csv", rows)  # the whole file again, atomically
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("frame",) and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(f"{kind}/{key}", value, row["frame"])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict[str, float]:
        """`run.eval_episodes` deterministic episodes on the eval env; mp4 of the first when asked."""
        from rl_aug.evaluation.rollout import run_episodes

        record = bool(self.cfg.run.save_video)
        # evaluations take minutes on a CPU: a bar of their own, gone when done
        bar = tqdm(total=int(self.cfg.run.eval_episodes), desc=f"eval at frame {self.frame}", unit="episode",
                   leave=False, dynamic_ncols=True, disable=not self.cfg.run.progress)

        def progress(total: float) -> None:
            bar.update(1)
            bar.set_postfix(ret=f"{total:.1f}")

        seeds = [derived_seed(self.cfg.seed, 1, self.num_evals, ep) for ep in range(int(self.cfg.run.eval_episodes))]
        episodes = run_episodes(lambda obs: self._to_env(self.agent.act(obs, self.step, eval_mode=True)),
                                self.eval_env, seeds, record=int(record), on_episode=progress)
        returns = [ret for ret, _, _ in episodes]
        frames = episodes[0][2][:-1] if record else []  # the video shows what the agent acted on: not the last obs
        bar.close()
        if frames:
            self._write_video(frames)
        self.num_evals += 1
        self.last_eval_step = self.step
        row = {"frame": self.frame, "step": self.step, "episode_return": float(np.mean(returns)),
               "episode_return_std": float(np.std(returns)), "episodes": len(returns)}
        self._log("eval", row)
        for callback in self.callbacks:  # each is called; the first to return False is the one named
            stops = hasattr(callback, "on_eval") and callback.on_eval(self.frame, self.step, dict(row)) is False
            if stops and self._stop_by is None:
                self._stop_by = f"{type(callback).__name__}.on_eval"
        return row

    def _say_stopped(self) -> None:
        """Said where `run` acts on a callback's stop (not in `evaluate`, which may be called outside a run)."""
        self._say(f"stopped at frame {self.frame}: {self._stop_by} returned False (checkpoint taken; resume=true "
                  "continues the run)")

    def _write_video(self, frames: list[np.ndarray]) -> None:
        import imageio.v2 as imageio

        video_dir = self.run_dir / "videos"
        video_dir.mkdir(exist_ok=True)
        with atomic_path(video_dir / f"eval_{self.frame:09d}.mp4") as tmp:
            imageio.mimsave(tmp, frames, fps=30, macro_block_size=1)

    def _to_env(self, action: np.ndarray) -> np.ndarray:
        """Agent actions live in [-1, 1]; rescale to the env's box (identity for DMC)."""
        return to_env_bounds(action, self.action_low, self.action_high)

    # ------------------------------------------------------------------ the loop
    def run(self, until_frames: int | None = None) -> dict[str, Any]:
        """Train until the budget `frames` (mid-episode if it ends there: the partial episode is not logged as a
        train row, and the run says so), or until the first episode end at or past `until_frames`; then
        checkpoint."""
        stop_step = self.total_steps
        if until_frames is not None:
            stop_step = min(stop_step, int(until_frames) // self.action_repeat)
        progress = tqdm(total=self.total_steps * self.action_repeat, initial=self.frame, unit="frame",
                        dynamic_ncols=True, disable=not self.cfg.run.progress)
        live = _Episode(tick=time.perf_counter(), tick_frame=self.frame)
        self._stop_by = None
        self._first_evaluation()
        while self._stop_by is None:
            if live.obs is None:
                if self.step >= stop_step:
                    break
                self._start_episode(live)
            ended = self._env_step(live)
            self._update(live.update_metrics)
            progress.update(self.action_repeat)
            self._evaluate_and_snapshot()
            if (self.step >= self.total_steps or self._stop_by is not None) and not ended:
                self._stop_mid_episode(live)
                break
            if ended:
                self._end_episode(live, stop_step, progress)
        return self._finish(progress, live.last_return)

    def _first_evaluation(self) -> None:
        """A new run evaluates its initial policy; a callback may stop the run right there."""
        if self.step == 0 and self.last_eval_step < 0:
            self.evaluate()
        if self._stop_by is not None:  # stopped by the first evaluation: nothing trained, a checkpoint to resume
            self._say_stopped()
            self.save_checkpoint()

    def _start_episode(self, live: _Episode) -> None:
        live.obs, _ = self.env.reset(seed=derived_seed(self.cfg.seed, 0, self.episode))
        self.replay.start_episode(live.obs)
        live.episode_return, live.episode_length = 0.0, 0

    def _env_step(self, live: _Episode) -> bool:
        """One agent step (uniform random actions in the seed phase), stored in the replay; True at an episode end."""
        if self.step < self.seed_steps:
            action = self.action_rng.uniform(-1.0, 1.0, self.replay.action_dim).astype(np.float32)
        else:
            action = self.agent.act(live.obs, self.step)
        next_obs, reward, terminated, truncated, _ = self.env.step(self._to_env(action))
        self.replay.add(action, float(reward), next_obs, bool(terminated), bool(truncated))
        live.episode_return += float(reward)
        live.episode_length += 1
        self.step += 1
        live.obs = next_obs
        return bool(terminated or truncated)

    def _update(self, update_metrics: dict[str, list[float]]) -> None:
        """The strategy updates due after this agent step: every `update_every_steps` steps past the seed phase,
        `agent.init_updates` of them at its last step (DMC-GB's train.py does init_steps updates at step
        init_steps). The strategy's clock is the agent step (rl_aug/strategies/protocol.py)."""
        if self.step < self.seed_steps or self.step % self.update_every_steps != 0:
            return
        for _ in range(self.init_updates if self.step == self.seed_steps else 1):
            batch = self.replay.sample(self.batch_size, self.agent.device)
            aux = self.strategy.aux_batch_size(self.step)  # SODA: a separate batch (DMC-GB)
            if aux:
                batch.aux_obs = self.replay.sample(aux, self.agent.device).obs
            for key, value in self.strategy.update(self.agent, batch, self.step).items():
                update_metrics[key].append(float(value))

    def _evaluate_and_snapshot(self) -> None:
        due = self.step % self.eval_every_steps == 0 or self.step == self.total_steps
        if due and self.last_eval_step != self.step:
            self.evaluate()
        if self.snapshot_every_steps and (self.step % self.snapshot_every_steps == 0 or self.step == self.total_steps):
            checkpoint.save_snapshot(self.run_dir, self.frame, self.step, self.agent)
        if self._stop_by is not None:
            self._say_stopped()

    def _stop_mid_episode(self, live: _Episode) -> None:
        why = "stopped" if self._stop_by else f"budget of {self.total_steps * self.action_repeat} frames reached"
        self._say(f"{why} mid-episode: stopped after {live.episode_length} steps of episode {self.episode} (the "
                  "partial episode is not logged in train.csv)")
        self.episode += 1  # a resumed run starts a new episode (the replay closes this one as truncated)
        self.save_checkpoint()

    def _end_episode(self, live: _Episode, stop_step: int, progress: Any) -> None:
        """Log the episode's train row and checkpoint when one is due (by steps, by the clock, or stopping)."""
        now = time.perf_counter()
        fps = (self.frame - live.tick_frame) / max(now - live.tick, 1e-9)
        live.tick, live.tick_frame = now, self.frame
        live.last_return = live.episode_return
        if self.step - live.episode_length >= self.seed_steps - 1:  # every step of it was followed by updates
            self.strategy.observe_episode(live.episode_return)  # auto(...) augmentations choose with it
        row = {"frame": self.frame, "step": self.step, "episode": self.episode,
               "episode_return": live.episode_return, "episode_length": live.episode_length, "fps": fps,
               "buffer_size": len(self.replay)}
        row.update({k: float(np.mean(v)) for k, v in live.update_metrics.items()})
        live.update_metrics.clear()
        self.episode += 1
        self._log("train", row)
        progress.set_postfix(fps=f"{fps:.0f}", ret=f"{live.last_return:.1f}")
        live.obs = None
        # Saving reads the state without changing it, so checkpoints on a clock keep resume exact.
        overdue = time.monotonic() - self._last_checkpoint_time >= self.checkpoint_every_s
        if self.step >= self.next_checkpoint_step or self.step >= stop_step or overdue or self._stop_by:
            while self.next_checkpoint_step <= self.step:
                self.next_checkpoint_step += self.checkpoint_every_steps
            self.save_checkpoint()

    def _finish(self, progress: Any, last_return: float) -> dict[str, Any]:
        """Close the bar, flush TensorBoard, write result.json once the budget is reached; the run's counters."""
        progress.close()
        if self.writer is not None:
            self.writer.flush()
        result = {"frame": self.frame, "step": self.step, "episode": self.episode,
                  "last_train_return": last_return,
                  "last_eval_return": self.eval_rows[-1]["episode_return"] if self.eval_rows else float("nan"),
                  "stopped_by": self._stop_by}
        budget = self.total_steps * self.action_repeat
        if self.step >= self.total_steps and not finished(self.run_dir, budget):  # a no-op resume keeps the first
            write_text(self.run_dir / "result.json", json.dumps({**result, "frames": budget}, indent=2) + "\n")
        return result

    @staticmethod
    def _say(message: str) -> None:
        """A note for the user on stderr (above the progress bars when there are any)."""
        tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        """Close what the run opened and unlock its directory; after a failed start, what it had opened by then."""
        for opened in (getattr(self, "writer", None), getattr(self, "env", None), getattr(self, "eval_env", None)):
            if opened is not None:
                opened.close()
        run_lock.release(self._lock)


def train(cfg: DictConfig, env_factory: EnvFactory | None = None, callbacks: Any = None) -> dict[str, Any]:
    """Build a Trainer for `cfg`, run it to its budget, close it. Prints the run directory as the run starts and
    ends, and returns the final counters and returns: frame, step, episode, last_train_return, last_eval_return,
    stopped_by (None, or the callback that stopped the run) and run_dir (a Path: where the run's files are).

    `callbacks`: one callback or a list, as SB3's `learn(callback=...)` takes them (rl_aug.agents.callbacks):
    objects with `on_eval(frame, step, metrics) -> bool | None`, called after each evaluation with the env frame,
    the agent step and the eval row (episode_return, episode_return_std, episodes), and/or
    `on_checkpoint(path, frame)`, called after each checkpoint is written whole. An `on_eval` returning False
    stops training at once, cleanly: a final checkpoint is taken (resume=true continues the run later) and
    result.json is not written unless the budget was reached. Any other return value continues."""
    return run_to_end(Trainer(cfg, env_factory=env_factory, callbacks=callbacks))


def run_to_end(trainer: Trainer) -> dict[str, Any]:
    """Run `trainer` to its budget and close it, saying where it runs as it starts (new or resumed, the budget) and
    how far it got as it ends: what `train` and `rl-aug train` do with a Trainer. Returns `Trainer.run`'s result
    with run_dir added."""
    start = f"resuming at frame {trainer.frame}" if trainer.frame else "new run"
    print(f"rl-aug train: run dir {trainer.run_dir} ({start}, budget {trainer.cfg.frames} frames)", flush=True)
    try:
        result = trainer.run()
    finally:
        trainer.close()
    result = {**result, "run_dir": trainer.run_dir}
    stopped = f"  stopped by {result['stopped_by']}" if result.get("stopped_by") else ""
    print(f"run dir: {trainer.run_dir}  frames: {result['frame']}  agent steps: {result['step']}  "
          f"last eval return: {result['last_eval_return']:.1f}{stopped}", flush=True)
    return result
