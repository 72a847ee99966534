"""The training loop on a tiny pixel env: smoke runs for every agent x strategy, exact resume,
run-directory safety, metrics files, and config errors that list the valid options."""

from __future__ import annotations

import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from rl_aug.agents import checkpoint, run_lock
from rl_aug.agents.config import ConfigError, compose
from rl_aug.agents.train import Trainer

from rl_aug.cli.train import main as cli_main

SIZE = 16


pytestmark = pytest.mark.usefixtures("one_thread")
EPISODE = 6


class PointEnv(gym.Env):
    """A dot moved by the action on a SIZE x SIZE image; reward -distance to the centre; 3 stacked frames.

    Reset draws the start from the env's np_random, so reset(seed=...) fixes an episode exactly.
    """

    def __init__(self, stack: int = 3) -> None:
        self.stack = stack
        self.observation_space = gym.spaces.Box(0, 255, (3 * stack, SIZE, SIZE), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _frame(self) -> np.ndarray:
        img = np.zeros((3, SIZE, SIZE), np.uint8)
        r, c = (np.clip(self.pos, 0, SIZE - 1)).astype(int)
        img[:, r, c] = (255, 128, 64)
        img[1, :, :] += np.uint8(self.t * 10)
        return img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0, SIZE, 2)
        self.t = 0
        self.frames = [self._frame()] * self.stack
        return np.concatenate(self.frames), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 2.0 * np.asarray(action), 0, SIZE - 1)
        self.t += 1
        self.frames = self.frames[1:] + [self._frame()]
        reward = -float(np.linalg.norm(self.pos - SIZE / 2)) / SIZE
        return np.concatenate(self.frames), reward, False, self.t >= EPISODE, {}


def point_env(task, seed):
    return PointEnv(task.frame_stack)


TINY_AGENT = ["agent.feature_dim=8", "agent.hidden_dim=16", "agent.num_filters=4", "agent.batch_size=8",
              "agent.replay_capacity=500"]


def overrides(tmp_path: Path, agent: str, strategy: str, *extra: str) -> list[str]:
    seed_key = "agent.seed_steps=4" if agent == "sac" else "agent.seed_frames=4"
    more = ["agent.num_expl_steps=4"] if agent == "drqv2" else []
    return [f"agent={agent}", f"strategy={strategy}", "task=cartpole-swingup", "task.action_repeat=1",
            f"task.size={SIZE}", "frames=36", f"run_dir={tmp_path / 'run'}", "run.eval_every_frames=12",
            "run.eval_episodes=1", "run.checkpoint_every_frames=12", "run.save_video=false",
            "run.progress=false", *TINY_AGENT, seed_key, *more, *extra]


def strategy_names() -> list[str]:
    from rl_aug import strategies

    return list(strategies.available())


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("agent", ["sac", "drqv2"])
@pytest.mark.parametrize("strategy", strategy_names())
def test_smoke_every_agent_and_strategy(tmp_path, agent, strategy):
    cfg = compose(overrides(tmp_path, agent, strategy))
    trainer = Trainer(cfg, env_factory=point_env)
    try:
        result = trainer.run()
    finally:
        trainer.close()
    assert result["frame"] == 36 and result["step"] == 36 and result["episode"] == 6
    train = read_csv(tmp_path / "run" / "train.csv")
    evals = read_csv(tmp_path / "run" / "eval.csv")
    assert [int(r["frame"]) for r in train] == [6, 12, 18, 24, 30, 36]
    assert [int(r["frame"]) for r in evals] == [0, 12, 24, 36]
    assert np.isfinite(float(train[-1]["critic_loss"])) and "q1" in train[-1]
    assert np.isfinite(float(train[-1]["actor_loss"]))
    assert (tmp_path / "run" / "checkpoint" / "state.pt").is_file()
    assert any((tmp_path / "run" / "tb").iterdir())


@pytest.mark.parametrize("init_updates", [None, 5])
def test_init_updates_is_a_burst_at_the_first_update_step(tmp_path, init_updates):
    """DMC-GB's train.py: `num_updates = init_steps if step == init_steps else 1`, every one at that step."""
    from rl_aug import strategies

    extra = [] if init_updates is None else [f"agent.init_updates={init_updates}"]
    cfg = compose(overrides(tmp_path, "sac", "none", *extra))  # seed_steps 4, 36 agent steps
    spy = strategies.make("none")
    steps: list[int] = []
    update = spy.update

    def counted(agent, batch, step):
        steps.append(step)
        return update(agent, batch, step)

    spy.update = counted
    trainer = Trainer(cfg, env_factory=point_env, strategy=spy)
    try:
        trainer.run()
    finally:
        trainer.close()
    assert steps == [4] * (init_updates or 1) + list(range(5, 37))


def _metrics(run_dir: Path) -> tuple[list[dict], list[dict]]:
    drop = {"fps"}
    train = [{k: v for k, v in r.items() if k not in drop} for r in read_csv(run_dir / "train.csv")]
    return train, read_csv(run_dir / "eval.csv")


@pytest.mark.parametrize("agent,strategy", [("sac", "drq"), ("drqv2", "drq")])
def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(tmp_path, agent, strategy):
    straight = compose(overrides(tmp_path / "a", agent, strategy))
    t = Trainer(straight, env_factory=point_env)
    t.run()
    t.close()

    interrupted = compose(overrides(tmp_path / "b", agent, strategy))
    t = Trainer(interrupted, env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    assert len(read_csv(tmp_path / "b" / "run" / "train.csv")) == 3
    torch.manual_seed(999)  # disturb every global stream: the checkpoint must restore them
    np.random.seed(999)
    resumed = compose(overrides(tmp_path / "b", agent, strategy, "resume=true"))
    t = Trainer(resumed, env_factory=point_env)
    t.run()
    t.close()
    train_a, eval_a = _metrics(tmp_path / "a" / "run")
    train_b, eval_b = _metrics(tmp_path / "b" / "run")
    assert len(train_a) == 6
    assert train_a == train_b
    assert eval_a == eval_b


def _weights(state: dict) -> dict[str, torch.Tensor]:
    return {f"{m}.{k}": v for m, module in state["modules"].items() for k, v in module.items()}


def test_snapshots_keep_the_weights_at_their_frames_and_a_resume_rewrites_them_equal(tmp_path):
    snap = "run.snapshot_every_frames=10"
    t = Trainer(compose(overrides(tmp_path / "a", "sac", "drq", snap)), env_factory=point_env)
    t.run()
    final = _weights(t.agent.weights_state_dict())
    t.close()
    run_a = tmp_path / "a" / "run"
    assert checkpoint.snapshot_frames(run_a) == [10, 20, 30, 36]  # every 10 frames, and the end of the run
    assert not [p.name for p in (run_a / "snapshots").iterdir() if ".tmp" in p.name]  # no temporary file left
    agent, cfg, step = checkpoint.load_agent(run_a, (9, SIZE, SIZE), 2, frame=36)
    assert step == 36 and cfg.strategy.name == "drq"
    loaded = _weights(agent.weights_state_dict())
    assert loaded.keys() == final.keys() and all(torch.equal(loaded[k], final[k]) for k in final)
    early = _weights(checkpoint.load_agent(run_a, (9, SIZE, SIZE), 2, frame=10)[0].weights_state_dict())
    assert not all(torch.equal(early[k], final[k]) for k in final)  # trained between frames 10 and 36
    assert "optimizers" not in torch.load(checkpoint.snapshot_path(run_a, 10), weights_only=False)["agent"]

    t = Trainer(compose(overrides(tmp_path / "b", "sac", "drq", snap)), env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    t = Trainer(compose(overrides(tmp_path / "b", "sac", "drq", snap, "resume=true")), env_factory=point_env)
    t.run()
    t.close()
    run_b = tmp_path / "b" / "run"
    assert checkpoint.snapshot_frames(run_b) == [10, 20, 30, 36]
    for frame in (10, 20, 30, 36):
        a = torch.load(checkpoint.snapshot_path(run_a, frame), weights_only=False)
        b = torch.load(checkpoint.snapshot_path(run_b, frame), weights_only=False)
        wa, wb = _weights(a["agent"]), _weights(b["agent"])
        assert a["counters"] == b["counters"] and all(torch.equal(wa[k], wb[k]) for k in wa)

    with pytest.raises(FileNotFoundError, match="snapshot at frame 15 .* frames 10, 20, 30, 36"):
        checkpoint.load_agent(run_a, (9, SIZE, SIZE), 2, frame=15)
    t = Trainer(compose(overrides(tmp_path / "c", "sac", "none", "frames=6")), env_factory=point_env)
    t.run()
    t.close()
    assert checkpoint.snapshot_frames(tmp_path / "c" / "run") == []  # off by default
    with pytest.raises(FileNotFoundError, match="holds none .*run.snapshot_every_frames"):
        checkpoint.load_agent(tmp_path / "c" / "run", (9, SIZE, SIZE), 2, frame=6)


def test_a_resumed_run_takes_a_new_checkpoint_interval(tmp_path):
    """Saved counters hold the next checkpoint step of the old interval; a shorter one asked on resume wins."""
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "run.checkpoint_every_frames=30")), env_factory=point_env)
    t.run(until_frames=6)
    t.close()
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true", "run.checkpoint_every_frames=12")),
                env_factory=point_env)
    saved_at: list[int] = []
    save = t.save_checkpoint
    t.save_checkpoint = lambda: (saved_at.append(t.frame), save())[1]
    t.run()
    t.close()
    assert saved_at == [18, 30, 36]  # every 12 frames from the resume at 6, then the end of the run


def test_existing_run_dir_is_never_overwritten_unless_asked(tmp_path):
    cfg = compose(overrides(tmp_path, "sac", "drq", "frames=6"))
    t = Trainer(cfg, env_factory=point_env)
    t.run()
    t.close()
    marker = (tmp_path / "run" / "train.csv").read_text()
    with pytest.raises(FileExistsError, match="resume=true"):
        Trainer(cfg, env_factory=point_env)
    assert (tmp_path / "run" / "train.csv").read_text() == marker
    again = compose(overrides(tmp_path, "sac", "drq", "frames=6", "overwrite=true"))
    t = Trainer(again, env_factory=point_env)
    assert not (tmp_path / "run" / "train.csv").exists()
    t.close()


def test_resume_refuses_a_different_config(tmp_path):
    cfg = compose(overrides(tmp_path, "sac", "drq", "frames=6"))
    t = Trainer(cfg, env_factory=point_env)
    t.run()
    t.close()
    with pytest.raises(ConfigError, match=r"seed=2: seed would change the run \(saved: 1\)"):
        compose(overrides(tmp_path, "sac", "drq", "frames=6", "resume=true", "seed=2"))
    with pytest.raises(ConfigError, match=r"strategy=svea: the run was made with strategy 'drq'"):
        compose(overrides(tmp_path, "sac", "svea", "frames=6", "resume=true"))
    with pytest.raises(ConfigError, match=r"task.size would change the run"):
        compose(overrides(tmp_path, "sac", "drq", "resume=true", "task.size=24"))
    # run=<name> only sets run.* (how the run is driven), which a resume may change; later run.* still win
    # so may the numerics (a bf16 run on a CPU without native bf16 goes on in fp32)
    fp32 = compose(overrides(tmp_path, "sac", "drq", "frames=6", "resume=true", "precision=fp32"))
    assert fp32.agent.precision == "fp32"
    t = Trainer(fp32, env_factory=point_env)
    assert t.agent.precision == "fp32" and t.step == 6
    t.close()
    resumed = compose(overrides(tmp_path, "sac", "drq", "resume=true", "run=benchmark", "run.eval_episodes=3"))
    assert (resumed.run.num_threads, resumed.run.eval_episodes, resumed.seed) == (1, 3, 1)
    # the Trainer still refuses a config that differs from the checkpoint, however it was composed
    other = compose(overrides(tmp_path, "sac", "drq", "frames=6", "seed=2"))
    other.resume = True
    with pytest.raises(ConfigError, match="seed differs"):
        Trainer(other, env_factory=point_env)


def test_resume_takes_the_runs_saved_config(tmp_path):
    """`resume=true run_dir=...` alone (the docstring's example) continues the run as it was made."""
    typed = overrides(tmp_path, "sac", "drq", "agent.hidden_dim=24")
    t = Trainer(compose(typed), env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    cfg = compose([f"run_dir={tmp_path / 'run'}", "resume=true", "run.eval_episodes=2", "frames=48"])
    assert cfg.agent.hidden_dim == 24 and cfg.task.size == 16 and cfg.strategy.name == "drq"
    assert cfg.frames == 48 and cfg.run.eval_episodes == 2  # budget and driving may change
    t = Trainer(cfg, env_factory=point_env)
    t.run()
    t.close()
    assert [int(r["frame"]) for r in read_csv(tmp_path / "run" / "train.csv")][-1] == 48


def test_config_errors_list_the_valid_options(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown agent 'ppo'.*drqv2, sac"):
        compose(["agent=ppo"])
    with pytest.raises(ConfigError, match=r"unknown task.*walker-walk"):
        compose(["task=walker-jump"])
    with pytest.raises(ConfigError, match=r"unknown config key 'agent.learning_rate'.*agent.lr"):
        compose(["agent.learning_rate=0.1"])
    with pytest.raises(ConfigError, match=r"unknown config key 'epochs'.*frames"):
        compose(["epochs=3"])
    with pytest.raises(ConfigError, match=r"frames"):
        compose(["frames=many"])
    with pytest.raises(ConfigError, match=r"agent.batch_size: expected int, got str"):
        compose(["agent.batch_size=big"])
    with pytest.raises(ConfigError, match=r"key=value"):
        compose(["agent"])
    with pytest.raises(ConfigError, match="exactly one of seed_steps"):
        compose(["agent.seed_frames=100"])


def test_compose_reads_the_cited_defaults():
    cfg = compose(["agent=sac", "task=walker-walk", "seed=3", "frames=500000"])
    assert cfg.agent.lr == pytest.approx(1e-3) and cfg.agent.batch_size == 128
    assert cfg.agent.init_temperature == pytest.approx(0.1) and cfg.agent.critic_tau == pytest.approx(0.01)
    assert cfg.task.action_repeat == 2 and cfg.seed == 3
    v2 = compose(["agent=drqv2"])
    assert v2.agent.nstep == 3 and v2.agent.lr == pytest.approx(1e-4) and v2.agent.batch_size == 256
    assert v2.agent.stddev_clip == pytest.approx(0.3)
    assert OmegaConf.select(v2, "task.frame_stack") == 3


def test_cli_reports_config_errors_with_exit_code_2(capsys):
    assert cli_main(["agent=nope"]) == 2
    assert "expected one of drqv2, sac" in capsys.readouterr().err
    assert cli_main(["--help"]) == 0
    assert "agent" in capsys.readouterr().out


def test_a_strategy_that_does_not_fit_the_agent_is_named(tmp_path):
    import shutil

    from rl_aug.agents.config import CONFIG_DIR

    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    (configs / "strategy" / "v2only.yaml").write_text("name: none\nagents: [drqv2]\n")
    with pytest.raises(ConfigError, match=r"strategy 'none' does not fit agent 'sac': it supports drqv2"):
        compose(["agent=sac", "strategy=v2only"], config_dir=configs)
    assert compose(["agent=drqv2", "strategy=v2only"], config_dir=configs).strategy.name == "none"

    class NeedsMore:
        def attach(self, agent):
            raise TypeError(f"cannot wrap {type(agent).__name__}: it lacks aux_head")

    cfg = compose(overrides(tmp_path, "sac", "none"))
    with pytest.raises(ConfigError, match=r"does not fit agent 'sac'.*lacks aux_head"):
        Trainer(cfg, env_factory=point_env, strategy=NeedsMore())


def test_resume_is_exact_on_a_real_dm_control_task(tmp_path):
    """Same check as above through envs.make (dm_control, fast render, per-episode reset seeds)."""

    def real(prefix: Path, *extra: str) -> list[str]:
        return ["agent=sac", "strategy=drq", "task=cartpole-swingup", "task.size=32", "frames=2000",
                f"run_dir={prefix / 'run'}", "run.eval_every_frames=1000", "run.eval_episodes=1",
                "run.checkpoint_every_frames=1000", "run.save_video=false", "run.progress=false",
                "run.tensorboard=false", *TINY_AGENT, "agent.seed_steps=60", *extra]

    t = Trainer(compose(real(tmp_path / "a")))
    t.run()
    t.close()
    t = Trainer(compose(real(tmp_path / "b")))
    t.run(until_frames=1000)
    t.close()
    t = Trainer(compose(real(tmp_path / "b", "resume=true")))
    t.run()
    t.close()
    train_a, eval_a = _metrics(tmp_path / "a" / "run")
    train_b, eval_b = _metrics(tmp_path / "b" / "run")
    assert [int(r["frame"]) for r in train_a] == [1000, 2000]
    assert train_a == train_b and eval_a == eval_b
    assert float(train_a[-1]["critic_loss"]) > 0


def test_run_info_records_each_start_with_overrides_and_versions(tmp_path):
    typed = overrides(tmp_path, "sac", "none", "frames=12")
    t = Trainer(compose(typed), env_factory=point_env, overrides=typed)
    t.run()
    t.close()
    t = Trainer(compose([*typed, "frames=24", "resume=true"]), env_factory=point_env)
    t.run()
    t.close()
    import json

    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert [r["resumed"] for r in info] == [False, True]
    assert info[0]["overrides"] == typed and info[1]["overrides"] is None
    from importlib.metadata import version

    assert info[0]["versions"]["torch"] == version("torch") and info[0]["versions"]["mujoco"] == version("mujoco")
    assert info[0]["versions"]["rl-aug"] and info[0]["versions"]["gymnasium"] == gym.__version__
    assert info[0]["git_commit"] is None or len(info[0]["git_commit"].split("+")[0]) == 40


def test_a_failed_start_leaves_no_run_directory(tmp_path):
    def broken_env(task, seed):
        raise RuntimeError("no display")

    with pytest.raises(RuntimeError, match="no display"):
        Trainer(compose(overrides(tmp_path, "sac", "none")), env_factory=broken_env)
    assert not (tmp_path / "run").exists()


def test_a_refused_start_never_deletes_a_run_that_appeared_meanwhile(tmp_path, monkeypatch):
    """Another process may create and fill run_dir after this start first looked (no run_dir: "created") and
    before it takes the lock: the refusal ("already holds a run") must leave that run as it is."""
    from rl_aug.agents import config as configs

    run_dir = tmp_path / "run"
    check_start = configs.check_start

    def another_process_writes_a_run(cfg):
        check_start(cfg)
        run_dir.mkdir()
        (run_dir / "config.yaml").write_text("seed: 7\n")

    cfg = compose(overrides(tmp_path, "sac", "none"))
    monkeypatch.setattr(configs, "check_start", another_process_writes_a_run)
    with pytest.raises(FileExistsError, match="already holds a run"):
        Trainer(cfg, env_factory=point_env)
    assert (run_dir / "config.yaml").read_text() == "seed: 7\n"


def _checkpointed_run(tmp_path: Path) -> Path:
    t = Trainer(compose(overrides(tmp_path, "sac", "none")), env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    return tmp_path / "run" / "checkpoint"


@pytest.mark.parametrize("damage,file", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "state.pt"),  # truncated
    (lambda p: p.write_bytes(b""), "state.pt"),                                          # empty
    (lambda p: p.write_bytes(b"not a zip file at all" * 10), "replay.npz"),              # garbage
])
def test_a_damaged_checkpoint_is_named_with_the_way_out(tmp_path, damage, file):
    from rl_aug.agents.checkpoint import CheckpointDamaged

    ckpt = _checkpointed_run(tmp_path)
    damage(ckpt / file)
    with pytest.raises(CheckpointDamaged, match=rf"{file} is damaged .*overwrite=true"):
        Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true")), env_factory=point_env)
    assert cli_main([*overrides(tmp_path, "sac", "none", "resume=true")]) == 2  # the CLI: a message, no traceback


def test_a_damaged_checkpoint_falls_back_to_a_complete_tmp_then_old(tmp_path, capsys):
    import shutil

    from rl_aug.agents.checkpoint import read

    ckpt = _checkpointed_run(tmp_path)
    shutil.copytree(ckpt, ckpt.with_name("checkpoint.old"))
    (ckpt / "state.pt").write_bytes(b"")
    where, state, _ = read(ckpt)
    assert where.name == "checkpoint.old" and state["counters"]["step"] == 18
    assert "state.pt is damaged" in capsys.readouterr().err
    shutil.copytree(ckpt.with_name("checkpoint.old"), ckpt.with_name("checkpoint.tmp"))
    assert read(ckpt)[0].name == "checkpoint.tmp"  # a complete newer .tmp wins over .old
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true")), env_factory=point_env)
    t.run()
    t.close()
    assert [int(r["frame"]) for r in read_csv(tmp_path / "run" / "train.csv")] == [6, 12, 18, 24, 30, 36]


def test_checkpoints_also_come_on_a_clock(tmp_path, monkeypatch):
    """run.checkpoint_every_minutes: a checkpoint at the first episode end that long after the last one
    (0: every episode end); the frame schedule (every 12 frames here) is kept as it was."""
    saved_at: list[int] = []
    save = Trainer.save_checkpoint
    monkeypatch.setattr(Trainer, "save_checkpoint", lambda self: (saved_at.append(self.frame), save(self))[1])
    for minutes, expected in (("10", [12, 24, 36]), ("0", [6, 12, 18, 24, 30, 36])):
        saved_at.clear()
        t = Trainer(compose(overrides(tmp_path / minutes, "sac", "none", f"run.checkpoint_every_minutes={minutes}")),
                    env_factory=point_env)
        t.run()
        t.close()
        assert saved_at == expected
    with pytest.raises(ConfigError, match="checkpoint_every_minutes"):
        compose(overrides(tmp_path, "sac", "none", "run.checkpoint_every_minutes=-1"))


def test_budget_stops_mid_episode_and_says_so(tmp_path, capsys):
    """frames=8 with 6-step episodes: 8 agent steps, not a second whole episode; the partial one is not a row."""
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "frames=8")), env_factory=point_env)
    result = t.run()
    t.close()
    assert (result["frame"], result["step"], result["episode"]) == (8, 8, 2)
    assert [int(r["frame"]) for r in read_csv(tmp_path / "run" / "train.csv")] == [6]
    assert [int(r["frame"]) for r in read_csv(tmp_path / "run" / "eval.csv")] == [0, 8]
    assert "budget of 8 frames reached mid-episode: stopped after 2 steps of episode 1" in capsys.readouterr().err
    state, _ = checkpoint.read(tmp_path / "run" / "checkpoint")[1:]
    assert state["counters"]["step"] == 8


def test_budget_inside_the_seed_phase_warns(tmp_path):
    with pytest.warns(UserWarning, match=r"frames=4 ends inside the seed phase \(4 agent steps = 4 frames.*1 update"):
        t = Trainer(compose(overrides(tmp_path, "sac", "none", "frames=4")), env_factory=point_env)
    t.close()


def _tensorboard(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_tensorboard_matches_the_csvs_after_an_interruption_and_a_no_op_resume(tmp_path):
    run = tmp_path / "run"
    t = Trainer(compose(overrides(tmp_path, "sac", "none")), env_factory=point_env)
    t.run(until_frames=18)  # checkpoint at 18
    t.save_checkpoint = lambda: run  # then points at 24 and 30 are logged, but the crash loses their checkpoint
    t.run(until_frames=30)
    t.close()
    for _ in range(2):  # the real resume, then a no-op resume of the finished run
        t = Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true")), env_factory=point_env)
        t.run()
        t.close()
        for kind in ("train", "eval"):
            rows = read_csv(run / f"{kind}.csv")
            expected = [(int(r["frame"]), pytest.approx(float(r["episode_return"]), rel=1e-5)) for r in rows]
            assert _tensorboard(run, f"{kind}/episode_return") == expected


@pytest.mark.parametrize("setting, calls", [("true", 1), ("false", 0)])
def test_cpu_runs_keep_freed_memory_unless_told_not_to(tmp_path, monkeypatch, setting, calls):
    from rl_aug.agents import train

    called: list[int] = []
    monkeypatch.setattr(train, "keep_freed_memory", lambda: called.append(1) or True)
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "frames=6", f"run.keep_freed_memory={setting}")),
                env_factory=point_env)
    t.close()
    assert len(called) == calls


def test_a_run_directory_in_use_is_refused_until_its_trainer_closes(tmp_path):
    cfg = compose(overrides(tmp_path, "sac", "drq", "frames=6"))
    first = Trainer(cfg, env_factory=point_env)
    first.run()
    rows = (tmp_path / "run" / "train.csv").read_text()
    again = compose(overrides(tmp_path, "sac", "drq", "frames=12", "resume=true"))
    with pytest.raises(run_lock.RunDirInUse, match=rf"{tmp_path / 'run'} is in use by another process \(host .* pid \d+\)"):
        Trainer(again, env_factory=point_env)
    with pytest.raises(run_lock.RunDirInUse):  # overwrite=true deletes nothing of a live run
        Trainer(compose(overrides(tmp_path, "sac", "drq", "frames=6", "overwrite=true")), env_factory=point_env)
    assert (tmp_path / "run" / "train.csv").read_text() == rows
    first.close()
    second = Trainer(again, env_factory=point_env)  # closed (or killed: the kernel drops the lock): free again
    assert second.frame == 6
    second.close()
    fresh = Trainer(compose(overrides(tmp_path, "sac", "drq", "frames=6", "overwrite=true")), env_factory=point_env)
    kept = sorted(p.name for p in (tmp_path / "run").iterdir())
    fresh.close()
    assert ".lock" in kept and "train.csv" not in kept and "checkpoint" not in kept  # the old run is gone


def test_a_file_system_without_flock_is_named_not_taken_for_a_held_lock(tmp_path, monkeypatch):
    """ENOLCK / EOPNOTSUPP from flock (a mount without locking) is its own one-line error: before, any OSError was
    read as "in use by another process" and named the host and pid a stale .lock file still held."""
    import errno
    import fcntl

    (tmp_path / ".lock").write_text("host oldbox pid 4242\n")

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(run_lock.LockUnsupported, match=r"cannot lock .*\.lock: its file system does not support flock"):
        run_lock.acquire(tmp_path, "sweep")
    monkeypatch.undo()
    held = run_lock.acquire(tmp_path, "sweep")  # contention is still a refusal naming the holder
    with pytest.raises(run_lock.RunDirInUse, match=r"another rl-aug sweep \(host .* pid \d+\) is running"):
        run_lock.acquire(tmp_path, "sweep")
    run_lock.release(held)


def test_a_run_made_before_a_config_key_existed_resumes(tmp_path):
    """A run whose config.yaml and checkpoint predate task.id / task.factory (rl-aug before own-env tasks) resumes:
    the saved config is read against the schema (the new keys at their defaults), not refused as "task.id differs
    (saved absent, now None)", which kept such runs from ever continuing."""
    run = tmp_path / "run"
    t = Trainer(compose(overrides(tmp_path, "sac", "none")), env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    old = OmegaConf.load(run / "config.yaml")
    for key in ("id", "factory"):
        del old.task[key]
    (run / "config.yaml").write_text(OmegaConf.to_yaml(old))
    state_file = run / "checkpoint" / checkpoint.STATE_FILE
    state = torch.load(state_file, weights_only=False)
    for key in ("id", "factory"):
        del state["config"]["task"][key]
    torch.save(state, state_file)
    resumed = Trainer(compose([f"run_dir={run}", "resume=true"]), env_factory=point_env)
    try:
        assert resumed.frame == 18
    finally:
        resumed.close()


def test_a_run_with_a_key_added_outside_the_schema_resumes_from_python(tmp_path):
    """A config given to the Trainer with a key the schema lacks (compose refuses `+run.note=x`; Python can add one,
    and earlier versions composed it): its checkpoint's config is not mergeable into the schema, and the resume
    check compares it as saved, instead of ending in OmegaConf's ConfigKeyError."""
    from omegaconf import open_dict

    cfg = compose(overrides(tmp_path, "sac", "none"))
    with open_dict(cfg.run):
        cfg.run.note = "x"
    t = Trainer(cfg, env_factory=point_env)
    t.run(until_frames=18)
    t.close()
    cfg.resume = True
    resumed = Trainer(cfg, env_factory=point_env)
    try:
        assert resumed.frame == 18
    finally:
        resumed.close()


def test_a_resume_never_replays_overwrite_from_the_saved_config(tmp_path):
    """A run started with overwrite=true, then resumed by its run_dir alone, continues: nothing is deleted."""
    run = tmp_path / "run"
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "overwrite=true")), env_factory=point_env)
    t.run(until_frames=18)  # checkpoint at 18, then the process is gone (as after a kill)
    t.close()
    assert OmegaConf.load(run / "config.yaml").overwrite is False
    assert checkpoint.read(run / "checkpoint")[1]["config"]["overwrite"] is False
    first_rows = read_csv(run / "train.csv")
    cfg = compose([f"run_dir={run}", "resume=true"])
    assert cfg.overwrite is False
    t = Trainer(cfg, env_factory=point_env)
    assert t.frame == 18
    t.run()
    t.close()
    rows = read_csv(run / "train.csv")
    assert [int(r["frame"]) for r in rows] == [6, 12, 18, 24, 30, 36] and rows[:3] == first_rows
    # a config.yaml written before the fix (overwrite: true kept) is not obeyed either
    saved = OmegaConf.load(run / "config.yaml")
    saved.overwrite = True
    OmegaConf.save(saved, run / "config.yaml")
    t = Trainer(compose([f"run_dir={run}", "resume=true", "frames=48"]), env_factory=point_env)
    assert t.frame == 36
    t.close()
    assert len(read_csv(run / "train.csv")) == 6


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"resume=true and overwrite=true contradict each other"):
        compose(overrides(tmp_path, "sac", "none", "resume=true", "overwrite=true"))


def test_resume_of_a_run_dir_that_holds_no_run_is_refused(tmp_path):
    run = tmp_path / "run"
    cfg = compose(overrides(tmp_path, "sac", "none", "resume=true"))
    with pytest.raises(ConfigError, match=rf"^resume=true but run_dir {run} does not exist: there is no run"):
        Trainer(cfg, env_factory=point_env)
    assert not run.exists()  # nothing made
    run.mkdir()
    with pytest.raises(ConfigError, match=rf"^resume=true but run_dir {run} is empty"):
        Trainer(cfg, env_factory=point_env)
    assert list(run.iterdir()) == []
    assert cli_main(overrides(tmp_path / "nowhere", "sac", "none", "resume=true")) == 2


@pytest.mark.parametrize("between", ["first_rename", "second_rename"])
def test_a_kill_between_the_renames_loses_no_checkpoint(tmp_path, between):
    """The on-disk states `checkpoint.save` leaves when killed between its renames (frame-30 checkpoint complete in
    .tmp; frame 18 in place or in .old): a resume continues at 30, puts it in place, and a save killed later while
    writing still leaves the frame-30 checkpoint whole."""
    import shutil

    ckpt = tmp_path / "run" / "checkpoint"
    tmp, old = ckpt.with_name("checkpoint.tmp"), ckpt.with_name("checkpoint.old")
    t = Trainer(compose(overrides(tmp_path, "sac", "none")), env_factory=point_env)
    t.run(until_frames=18)
    shutil.copytree(ckpt, tmp_path / "at18")
    t.run(until_frames=30)
    t.close()
    ckpt.rename(tmp)  # the newest (30) written whole, not yet renamed in
    shutil.copytree(tmp_path / "at18", ckpt if between == "first_rename" else old)
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true")), env_factory=point_env)
    assert t.frame == 30
    assert sorted(p.name for p in ckpt.parent.glob("checkpoint*")) == ["checkpoint"]  # promoted
    assert checkpoint.read(ckpt)[1]["counters"]["step"] == 30

    def killed_while_writing(path):
        Path(path).write_bytes(b"half a replay")
        raise KeyboardInterrupt("killed")

    t.replay.save = killed_while_writing
    with pytest.raises(KeyboardInterrupt):
        t.save_checkpoint()
    t.close()
    where, state, _ = checkpoint.read(ckpt)
    assert where == ckpt and state["counters"]["step"] == 30
    t = Trainer(compose(overrides(tmp_path, "sac", "none", "resume=true")), env_factory=point_env)
    assert t.frame == 30 and not tmp.exists()  # the unfinished .tmp went; nothing complete did
    t.run()
    t.close()
    assert [int(r["frame"]) for r in read_csv(tmp_path / "run" / "train.csv")] == [6, 12, 18, 24, 30, 36]


def test_a_resume_with_a_different_config_names_only_the_differing_keys(tmp_path):
    t = Trainer(compose(overrides(tmp_path, "sac", "drq", "frames=6")), env_factory=point_env)
    t.run()
    t.close()
    other = compose(overrides(tmp_path, "sac", "drq", "frames=6", "agent.hidden_dim=24", "task.size=12"))
    other.resume = True
    with pytest.raises(ConfigError) as err:
        Trainer(other, env_factory=point_env)
    assert str(err.value) == (
        f"cannot resume {tmp_path / 'run'}: agent.hidden_dim differs (saved 16, now 24), task.size differs "
        f"(saved 16, now 12); resume with the run's config (see {tmp_path / 'run' / 'config.yaml'})")


def test_frames_not_a_multiple_of_the_action_repeat_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        compose(["task=cartpole-swingup", "frames=1001"])  # action repeat 8
    assert str(err.value) == ("frames=1001 is not a multiple of task.action_repeat=8 (each agent step is 8 env "
                              "frames): use frames=1000 or frames=1008")
    with pytest.raises(ConfigError, match=r"^frames=3 is not a multiple of task.action_repeat=4 .*: use frames=4$"):
        compose(["task=cheetah-run", "frames=3"])
    cfg = compose(overrides(tmp_path, "sac", "none"))
    cfg.task.action_repeat = 5  # 36 frames: not whole agent steps
    with pytest.raises(ConfigError, match=r"frames=36 is not a multiple of task.action_repeat=5 .*frames=35 or frames=40"):
        Trainer(cfg, env_factory=point_env)
    assert not (tmp_path / "run").exists()
    from rl_aug.agents.config import available

    for agent in available("agent"):  # the shipped configs and presets do not trip it
        for task in available("task"):
            own = ["task.id=InvertedPendulum-v5"] if task == "gym" else []  # task=gym names the env to use
            cfg = compose([f"agent={agent}", f"task={task}", *own])  # would raise on a budget between agent steps
            assert cfg.frames % cfg.task.action_repeat == 0


def test_train_returns_and_prints_its_run_dir(tmp_path, capsys):
    from rl_aug.agents.train import train

    result = train(compose(overrides(tmp_path, "sac", "none", "frames=12")), env_factory=point_env)
    assert result["run_dir"] == tmp_path / "run" and (result["frame"], result["step"], result["episode"]) == (12, 12, 2)
    out = capsys.readouterr().out
    assert f"rl-aug train: run dir {tmp_path / 'run'} (new run, budget 12 frames)" in out
    assert f"run dir: {tmp_path / 'run'}  frames: 12  agent steps: 12" in out


class Recorder:
    """A callback that records what it is given, and stops the run at its first evaluation at or past `stop_at`."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at, self.evals, self.checkpoints = stop_at, [], []

    def on_eval(self, frame, step, metrics):
        self.evals.append((frame, step, metrics["episode_return"], metrics["episodes"]))
        return None if self.stop_at is None or frame < self.stop_at else False

    def on_checkpoint(self, path, frame):
        self.checkpoints.append((path, frame, checkpoint.read(path)[1]["counters"]["step"]))


def test_callbacks_see_each_evaluation_and_checkpoint(tmp_path):
    from rl_aug.agents.callbacks import Callback
    from rl_aug.agents.train import train

    class OnlyCheckpoints(Callback):
        def __init__(self):
            self.frames = []

        def on_checkpoint(self, path, frame):
            self.frames.append(frame)

    seen, quiet = Recorder(), OnlyCheckpoints()
    result = train(compose(overrides(tmp_path, "sac", "none")), env_factory=point_env, callbacks=[seen, quiet])
    run = tmp_path / "run"
    evals = read_csv(run / "eval.csv")
    assert [(f, s) for f, s, _, _ in seen.evals] == [(0, 0), (12, 12), (24, 24), (36, 36)]
    assert [r for _, _, r, _ in seen.evals] == [float(r["episode_return"]) for r in evals]
    assert {n for *_, n in seen.evals} == {1}
    assert seen.checkpoints == [(run / "checkpoint", 12, 12), (run / "checkpoint", 24, 24), (run / "checkpoint", 36, 36)]
    assert quiet.frames == [12, 24, 36]  # Callback's on_eval: continue
    assert result["stopped_by"] is None and (run / "result.json").is_file()
    with pytest.raises(TypeError, match=r"^callbacks: expected objects with an on_eval or on_checkpoint method .*got int 3$"):
        train(compose(overrides(tmp_path / "b", "sac", "none")), env_factory=point_env, callbacks=[seen, 3])
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("stop_at, eval_every, rows, checkpoint_at", [
    (12, 12, [6, 12], 12),  # at an episode end: its row is logged
    (9, 9, [6], 9),         # mid-episode: stopped at once, as at a budget's end
    (0, 12, [], 0),         # at the first evaluation: nothing trained
])
def test_a_callback_returning_false_stops_the_run_with_a_checkpoint_and_resume_continues(
        tmp_path, stop_at, eval_every, rows, checkpoint_at):
    from rl_aug.agents.train import train

    run = tmp_path / "run"
    stopper = Recorder(stop_at)
    result = train(compose(overrides(tmp_path, "sac", "none", f"run.eval_every_frames={eval_every}")),
                   env_factory=point_env, callbacks=stopper)
    assert (result["frame"], result["stopped_by"]) == (checkpoint_at, "Recorder.on_eval")
    assert stopper.evals[-1][0] == checkpoint_at and stopper.checkpoints[-1][1:] == (checkpoint_at, checkpoint_at)
    logged = read_csv(run / "train.csv") if (run / "train.csv").exists() else []
    assert [int(r["frame"]) for r in logged] == rows
    assert checkpoint.read(run / "checkpoint")[1]["counters"]["step"] == checkpoint_at
    assert not (run / "result.json").exists()  # not finished
    result = train(compose(overrides(tmp_path, "sac", "none", f"run.eval_every_frames={eval_every}", "resume=true")),
                   env_factory=point_env)
    assert result["frame"] == 36 and result["stopped_by"] is None and (run / "result.json").is_file()
