"""Generalization evaluation: IQM and the stratified bootstrap against hand-computed values, paired episode
seeds across shifts, the report files, and `rl-aug evaluate` on a real (tiny) trained run."""

from __future__ import annotations

import csv
import shutil

import gymnasium as gym
import numpy as np
import pytest

from rl_aug.evaluation import (
    aggregate,
    episode_seeds,
    evaluate_shifts,
    iqm,
    stratified_bootstrap,
    write_report,
)
from rl_aug.evaluation.report import summary_rows

pytestmark = pytest.mark.usefixtures("one_thread")


def test_iqm_drops_a_quarter_from_each_end():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm(np.array([[100.0, 1.0], [2.0, 3.0]])) == pytest.approx(2.5)  # 1 | 2, 3 | 100
    assert iqm(np.array([7.0])) == 7.0
    with pytest.raises(ValueError, match="empty"):
        iqm(np.array([]))


def test_stratified_bootstrap_resamples_runs_within_each_task():
    scores = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 5.0]])  # task 0 is all zeros
    col0_max = stratified_bootstrap(scores, lambda s: float(s[:, 0].max()), reps=500)
    assert (col0_max.point, col0_max.low, col0_max.high) == (0.0, 0.0, 0.0)  # never mixed with task 1
    mean = stratified_bootstrap(scores, lambda s: float(s.mean()), reps=4000, seed=1)
    assert mean.point == pytest.approx(1.5)
    assert 0.5 <= mean.low < 1.5 < mean.high <= 2.5  # bounds: all-1 and all-5 resamples of task 1
    one_run = stratified_bootstrap(scores[:1], lambda s: float(s.mean()), reps=100)
    assert one_run.low == one_run.high == one_run.point == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"\(runs, tasks\)"):
        stratified_bootstrap(np.zeros(3), np.mean)


def test_iqm_equals_a_trimmed_mean_for_any_size():
    rng = np.random.default_rng(0)
    for n in range(1, 23):
        x = rng.normal(size=n)
        cut = int(0.25 * n)  # scipy.stats.trim_mean(x, 0.25) cuts int(0.25 n) from each end
        assert iqm(x) == pytest.approx(np.sort(x)[cut:n - cut].mean())


def test_bootstrap_draws_runs_independently_per_task():
    # Two identical columns: a bootstrap sharing one run index across tasks would keep them equal.
    scores = np.repeat(np.arange(6, dtype=float)[:, None], 2, axis=1)
    spread = stratified_bootstrap(scores, lambda s: float(np.abs(s[:, 0] - s[:, 1]).sum()), reps=200)
    assert spread.point == 0.0 and spread.high > 0.0


def test_aggregate_excludes_train_and_scales():
    scores = {"a": np.array([[900.0, 100.0, 300.0], [900.0, 300.0, 500.0]])}
    agg = aggregate(scores, ["train", "color_hard", "video_hard"], reps=200)
    assert agg["a"]["mean"].point == pytest.approx(0.3)
    assert agg["a"]["iqm"].point == pytest.approx(0.3)  # 4 scores: keep 0.3, 0.3
    with pytest.raises(ValueError, match="shape"):
        aggregate({"a": np.zeros((2, 2))}, ["train", "x", "y"])
    with pytest.raises(ValueError, match="outside"):
        aggregate(scores, ["train", "train", "train"])


class ShiftEnv(gym.Env):
    """Three steps; reward = offset of the shift + the first uniform draw of the reset seed."""

    closed = 0

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.observation_space = gym.spaces.Box(0, 255, (6, 4, 4), np.uint8)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.draw, self.t = float(self.np_random.uniform()), 0
        return np.full((6, 4, 4), self.t, np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = np.full((6, 4, 4), self.t, np.uint8)
        return obs, self.offset + self.draw + float(action[0]), False, self.t >= 3, {}

    def close(self):
        ShiftEnv.closed += 1


def test_evaluate_shifts_pairs_episode_seeds_and_records_frames():
    offsets = {"train": 0.0, "color_hard": -1.0}
    ShiftEnv.closed = 0
    results = evaluate_shifts(lambda obs: np.array([0.5], np.float32), lambda s: ShiftEnv(offsets[s]),
                              ["train", "color_hard"], episodes=3, seed=7, label="m", run="s1", record=1)
    seeds = episode_seeds(7, 3)
    assert len(set(seeds)) == 3 and ShiftEnv.closed == 2
    for r in results:
        assert r.seed == seeds[r.episode]
        draw = float(np.random.Generator(np.random.PCG64(r.seed)).uniform())  # gymnasium's np_random(seed)
        assert r.episode_return == pytest.approx(3 * (offsets[r.shift] + draw + 0.5))
        assert r.length == 3
        assert len(r.frames) == (4 if r.episode == 0 else 0)
    train = [r.episode_return for r in results if r.shift == "train"]
    hard = [r.episode_return for r in results if r.shift == "color_hard"]
    assert np.allclose(np.subtract(train, hard), 3.0)  # same seeds: only the shift differs
    assert results[0].frames[1].shape == (4, 4, 3) and results[0].frames[1].max() == 1


def test_evaluate_shifts_progress_bar_counts_every_episode(monkeypatch):
    import tqdm

    closed: list[tuple[int, int]] = []

    class Recording(tqdm.tqdm):
        def close(self):
            if not self.disable:  # tqdm closes again when collected
                closed.append((self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm, "tqdm", Recording)
    offsets = {"train": 0.0, "color_hard": -1.0}
    messages: list[str] = []
    policy = lambda obs: np.array([0.5], np.float32)
    quiet = evaluate_shifts(policy, lambda s: ShiftEnv(offsets[s]), ["train", "color_hard"], episodes=3, seed=7)
    shown = evaluate_shifts(policy, lambda s: ShiftEnv(offsets[s]), ["train", "color_hard"], episodes=3, seed=7,
                            progress=messages.append, bar=True)
    assert [r.episode_return for r in shown] == [r.episode_return for r in quiet]
    assert [m.split(":")[0] for m in messages] == ["policy 0 train", "policy 0 color_hard"]
    assert closed == [(6, 6)]  # one bar, advanced once per episode of every shift


def test_write_report_values_and_no_overwrite(tmp_path):
    from rl_aug.evaluation import EpisodeResult

    results = [EpisodeResult(label, run, shift, ep, ep, ret, 10)
               for label, run, shift, ep, ret in [
                   ("a", "s1", "train", 0, 10.0), ("a", "s1", "train", 1, 20.0),
                   ("a", "s2", "train", 0, 30.0), ("a", "s2", "train", 1, 40.0),
                   ("a", "s1", "video_hard", 0, 0.0), ("a", "s1", "video_hard", 1, 2.0),
                   ("a", "s2", "video_hard", 0, 4.0), ("a", "s2", "video_hard", 1, 6.0)]]
    rows = {r["shift"]: r for r in summary_rows(results)}
    assert rows["train"]["mean"] == pytest.approx(25.0)
    assert rows["train"]["std_runs"] == pytest.approx(10.0)  # run means 15 and 35
    assert rows["video_hard"]["std_episodes"] == pytest.approx(np.std([0, 2, 4, 6]))
    out = write_report(tmp_path / "ev", results, reps=100)
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "returns.csv", "shifts.png", "summary.csv"]
    text = (out / "report.md").read_text()
    assert "| a | 2 | 25.0 +- 10.0 | 3.0 +- 2.0 |" in text
    assert "| a | 0.003 [0.001, 0.005] | 0.003 [0.001, 0.005] |" in text  # run means 1 and 5, / 1000
    assert "| a | 10% |" in text  # kept: run s1 1 / 15, run s2 5 / 35, mean 0.105
    assert rows["video_hard"]["retained"] == pytest.approx((1 / 15 + 5 / 35) / 2)
    assert rows["train"]["retained"] == pytest.approx(1.0)
    with open(out / "returns.csv") as fh:
        assert [float(r["episode_return"]) for r in csv.DictReader(fh)] == [10, 20, 30, 40, 0, 2, 4, 6]
    with pytest.raises(FileExistsError):
        write_report(tmp_path / "ev", results)
    with pytest.raises(ValueError, match="missing"):
        write_report(tmp_path / "ev2", results[:-2])
    with pytest.raises(ValueError, match="twice"):
        write_report(tmp_path / "ev3", results + results[:1])



def test_write_report_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    from rl_aug.evaluation import EpisodeResult

    def results(scale: float) -> list:
        return [EpisodeResult("a", "s1", shift, ep, ep, scale * (ep + 1), 10)
                for shift in ("train", "color_hard") for ep in range(2)]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_report(empty, results(1.0), reps=10) == empty  # an existing empty folder is fine
    with pytest.raises(FileExistsError, match=r"not empty: choose another folder, or pass overwrite=True"):
        write_report(empty, results(2.0), reps=10)
    (empty / "videos").mkdir()
    (empty / "videos" / "old.mp4").write_bytes(b"stale")
    (empty / "notes.txt").write_text("mine")
    write_report(empty, results(2.0), reps=10, overwrite=True)
    with open(empty / "returns.csv") as fh:
        assert [float(r["episode_return"]) for r in csv.DictReader(fh)] == [2.0, 4.0, 2.0, 4.0]
    assert not (empty / "videos" / "old.mp4").exists() and (empty / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="which is a file"):
        write_report(tmp_path / "file", results(1.0), reps=10, overwrite=True)

def test_cli_evaluates_a_trained_run_like_a_manual_rollout(tmp_path, capsys):
    from rl_aug.agents.checkpoint import load_agent
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer

    from rl_aug import envs
    from rl_aug.cli.evaluate import main as evaluate_main

    cfg = compose(["agent=sac", "strategy=drq", "task=cartpole-swingup", "task.size=32", "frames=1000",
                   f"run_dir={tmp_path / 'run'}", "run.eval_every_frames=1000", "run.eval_episodes=1",
                   "run.save_video=false", "run.progress=false", "run.tensorboard=false",
                   "agent.feature_dim=8", "agent.hidden_dim=16", "agent.num_filters=4", "agent.batch_size=8",
                   "agent.seed_steps=100", "run.snapshot_every_frames=504"])
    trainer = Trainer(cfg)
    trainer.run()
    obs = np.random.default_rng(0).integers(0, 256, (9, 32, 32), dtype=np.uint8)
    expected_action = trainer.agent.act(obs, trainer.step, eval_mode=True)
    trainer.close()

    agent, loaded_cfg, step = load_agent(tmp_path / "run", (9, 32, 32), 1)
    assert step == 125 and loaded_cfg.strategy.name == "drq"
    np.testing.assert_array_equal(agent.act(obs, step, eval_mode=True), expected_action)

    out = tmp_path / "eval"
    assert evaluate_main([str(tmp_path / "run"), "--shifts", "train,color_easy", "--episodes", "1",
                          "--seed", "3", "--out", str(out), "--reps", "50"]) == 0
    with open(out / "returns.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["shift"] for r in rows] == ["train", "color_easy"]
    assert rows[0]["run"] == f"{tmp_path / 'run'} (seed 1, 1000 frames)"
    assert rows[0]["label"] == "cartpole-swingup sac-drq"

    env = envs.make("cartpole-swingup", size=32)  # the manual rollout with the same reset seed
    o, _ = env.reset(seed=episode_seeds(3, 1)[0])
    total, done = 0.0, False
    while not done:
        o, r, term, trunc, _ = env.step(agent.act(o, step, eval_mode=True))
        total, done = total + r, term or trunc
    env.close()
    assert float(rows[0]["episode_return"]) == pytest.approx(total, rel=1e-6)
    assert "| cartpole-swingup sac-drq | 1 |" in (out / "report.md").read_text()
    from rl_aug.evaluation.invariance import DEFAULT_AUGMENTATIONS

    with open(out / "invariance.csv") as fh:  # the states of the train episode (125 agent steps), every default aug
        inv = list(csv.DictReader(fh))
    assert [r["augmentation"] for r in inv] == list(DEFAULT_AUGMENTATIONS)
    assert all(int(r["states"]) == 125 and float(r["q_change"]) > 0 for r in inv)
    assert (out / "invariance.png").is_file() and "under train" in (out / "invariance.md").read_text()
    at = tmp_path / "eval_at_504"  # the snapshot at frame 504 (step 63), not the last checkpoint
    assert evaluate_main([str(tmp_path / "run"), "--shifts", "train", "--episodes", "1", "--frame", "504",
                          "--out", str(at), "--reps", "50", "--invariance-states", "40",
                          "--invariance-augs", "none; shift(pad=4)"]) == 0
    with open(at / "invariance.csv") as fh:
        none, shift = list(csv.DictReader(fh))
    assert (none["augmentation"], float(none["action_change"]), float(none["q_change"])) == ("none", 0.0, 0.0)
    assert shift["augmentation"] == "shift(pad=4)" and int(shift["states"]) == 40 and float(shift["q_change"]) > 0
    assert evaluate_main([str(tmp_path / "run"), "--invariance-augs", "shear", "--out", str(tmp_path / "e5")]) == 2
    err = capsys.readouterr().err
    assert "rl-aug evaluate: --invariance-augs: augmentation spec 'shear': unknown augmentation 'shear'" in err
    assert not (tmp_path / "e5").exists()
    with open(at / "returns.csv") as fh:
        assert next(csv.DictReader(fh))["run"] == f"{tmp_path / 'run'} (seed 1, 504 frames)"
    assert evaluate_main([str(tmp_path / "run"), "--frame", "500", "--out", str(tmp_path / "e4")]) == 2
    assert "snapshots at frames 504, 1000" in capsys.readouterr().err
    assert evaluate_main([str(tmp_path / "run"), str(tmp_path / "run"), "--out", str(tmp_path / "e2")]) == 2
    assert evaluate_main([str(tmp_path / "run"), "--out", str(out)]) == 2  # never overwrites
    assert evaluate_main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "e3")]) == 2
    assert "expected a run directory" in capsys.readouterr().err

    # --include: an earlier evaluation reported beside a new one, paired (same shifts and reset seeds)
    shutil.copytree(tmp_path / "run", tmp_path / "run2")  # a second run, with the same weights
    same = ["--shifts", "train,color_easy", "--episodes", "1", "--seed", "3", "--reps", "50"]
    both = tmp_path / "both"
    assert evaluate_main([str(tmp_path / "run2"), *same, "--include", str(out), "--out", str(both)]) == 0
    with open(both / "returns.csv") as fh:
        merged = list(csv.DictReader(fh))
    assert [r["run"] for r in merged] == [rows[0]["run"]] * 2 + [f"{tmp_path / 'run2'} (seed 1, 1000 frames)"] * 2
    assert [r["episode_return"] for r in merged[:2]] == [r["episode_return"] for r in rows]  # read back as written
    assert float(merged[2]["episode_return"]) == pytest.approx(float(rows[0]["episode_return"]), rel=1e-6)
    assert "| cartpole-swingup sac-drq | 2 |" in (both / "report.md").read_text()
    err = tmp_path / "never"
    assert evaluate_main([str(tmp_path / "run2"), *same[:-4], "--seed", "4", "--include", str(out),
                          "--out", str(err)]) == 2
    assert "expected the shifts train,color_easy with the reset seeds of --seed 4" in capsys.readouterr().err
    assert evaluate_main([str(tmp_path / "run2"), "--shifts", "train", "--include", str(out), "--out", str(err)]) == 2
    assert "was evaluated under train,color_easy" in capsys.readouterr().err
    assert evaluate_main([str(tmp_path / "run"), *same, "--include", str(out), "--out", str(err)]) == 2
    assert "is in an --include evaluation already" in capsys.readouterr().err
    assert evaluate_main([str(tmp_path / "run2"), *same, "--include", str(out), "--include", str(both),
                          "--out", str(err)]) == 2
    assert "is in an earlier --include too" in capsys.readouterr().err
    assert evaluate_main([str(tmp_path / "run2"), "--include", str(tmp_path / "run"), "--out", str(err)]) == 2
    assert "expected an evaluation directory with returns.csv" in capsys.readouterr().err
    assert not err.exists()  # every refusal comes before anything is written


def test_method_label_tells_svea_conv_from_svea_overlay():
    from rl_aug.agents.config import compose

    from rl_aug.evaluation.runs_report import method_label

    base = ["agent=sac", "task=cartpole-swingup"]
    assert method_label(compose([*base, "strategy=drq"])) == "sac-drq"
    assert method_label(compose([*base, "strategy=svea"])) == "sac-svea(conv)"
    overlay = compose([*base, "strategy=svea", "strategy.strong=overlay(alpha=0.5)"])
    assert method_label(overlay) == "sac-svea(overlay(alpha=0.5))"
    assert method_label(compose([*base, "strategy=tangent_prop"])) == "sac-tangent_prop"


def test_retained_is_the_fraction_of_each_runs_train_return():
    from rl_aug.evaluation.report import retained

    scores = np.array([[200.0, 50.0, 100.0], [0.0, 10.0, 5.0]])  # train is the middle column
    kept = retained(scores, ["color_hard", "train", "video_hard"])
    np.testing.assert_allclose(kept, [[4.0, 1.0, 2.0], [0.0, 1.0, 0.5]])
    kept = retained(np.array([[3.0, -1.0], [3.0, 0.0]]), ["video_hard", "train"])  # never learned: no fraction
    assert np.isnan(kept).all()
    assert retained(scores, ["color_hard", "color_easy", "video_hard"]) is None
