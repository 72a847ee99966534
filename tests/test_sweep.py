"""`rl-aug sweep`: the grid and its run directories, bad sweep specs, and (on a local Ray with 2 CPUs) a 2x2 sweep
of tiny trials in which one worker is killed mid-run, restarted by Tune, and ends exactly like an uninterrupted
run; re-running the finished sweep starts no trial."""

from __future__ import annotations

import csv
import json
import os
import re
import socket
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from rl_aug.agents import run_lock
from rl_aug.agents.config import ConfigError, compose
from rl_aug.agents.sweep import plan
from rl_aug.agents.train import Trainer

from rl_aug.cli.sweep import main

TINY = ["task.size=16", "frames=2000", "agent.seed_steps=1", "agent.batch_size=4", "agent.feature_dim=4",
        "agent.hidden_dim=8", "agent.num_filters=2", "agent.num_conv_layers=1", "run.eval_episodes=1",
        "run.eval_every_frames=1000", "run.checkpoint_every_frames=1000", "run.save_video=false",
        "run.tensorboard=false"]


def rows(path: Path, drop: tuple[str, ...] = ()) -> list[dict[str, str]]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(fh)]


def test_plan_names_runs_by_their_swept_values_or_a_template(tmp_path):
    jobs = plan(["seed=1-2", "strategy=none,rad", *TINY], tmp_path)
    assert [j.name for j in jobs] == ["0-seed=1,strategy=none", "1-seed=1,strategy=rad", "2-seed=2,strategy=none",
                                      "3-seed=2,strategy=rad"]
    assert [(j.cfg.seed, j.cfg.strategy.name) for j in jobs] == [(1, "none"), (1, "rad"), (2, "none"), (2, "rad")]
    assert all(j.run_dir == tmp_path / j.name for j in jobs)
    jobs = plan(["seed=1-2", "strategy=none,rad", *TINY], tmp_path, subdir="{task}/{strategy}/seed{seed}")
    assert [j.name for j in jobs][:2] == ["cartpole-swingup/none/seed1", "cartpole-swingup/rad/seed1"]


@pytest.mark.parametrize("argv,phrase", [
    (["seed=1,2", "agent.nope=3"], "unknown config key 'agent.nope'"),
    (["seed=5-1"], r"the range 'seed=5-1' is empty"),
    (["seed=range(5,1)"], "is empty"),
    (["seed=1,2", "agent.discount=0.5,1.5"], r"agent.discount: expected a number in \(0, 1\], got 1.5"),
    (["seed=1,2", "strategy=drq,nope"], "unknown strategy 'nope'"),
    (["seed=1,2", "--subdir", "{strategy}"], r"gives 'drq' to 2 runs: name every swept key in it \(seed\)"),
    (["seed=1,2", "--subdir", "{sed}"], r"\{sed\} is not a value of this sweep.s config"),
    (["seed=1,2", "run_dir=x"], "run_dir, resume and overwrite are the sweep's to set"),
    (["seed=1,2", "--address", "ray://head:10001"], "got the Ray Client address 'ray://head:10001'"),
    ([], "expected overrides, e.g. strategy=drq,svea seed=1-3"),
])
def test_bad_sweep_specs_are_named_and_start_nothing(tmp_path, capsys, argv, phrase):
    assert main([*argv, *(TINY[:1] if argv else []), "--storage", str(tmp_path), "--name", "s"]) == 2
    assert re.search(phrase, capsys.readouterr().err)
    assert not (tmp_path / "s").exists()


def test_bad_resources_are_argparse_errors(tmp_path, capsys):
    for flag, value in (("--cpus-per-trial", "-1"), ("--max-failures", "-2"), ("--num-cpus", "0")):
        with pytest.raises(SystemExit):
            main(["seed=1,2", flag, value, "--storage", str(tmp_path)])
        assert "expected" in capsys.readouterr().err


def test_dry_run_lists_the_runs_and_a_sweep_folder_keeps_its_command(tmp_path, capsys):
    assert main(["seed=1,2", *TINY, "--storage", str(tmp_path), "--name", "s", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 run(s), 0 finished, 2 to run" in out and "0-seed=1" in out and "1-seed=2" in out
    assert not (tmp_path / "s").exists()
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "sweep.json").write_text(json.dumps({"sweeps": [{"overrides": ["seed=7"], "subdir": None,
                                                                          "runs": ["0"]}]}))
    assert main(["seed=1,2", *TINY, "--storage", str(tmp_path), "--name", "s", "--dry-run"]) == 2
    assert "holds another sweep (overrides seed=7)" in capsys.readouterr().err


def test_a_folder_holding_another_runs_config_is_refused_before_anything_starts(tmp_path):
    jobs = plan(["seed=1", "strategy=drq", *TINY], tmp_path, subdir="seed{seed}")
    jobs[0].run_dir.mkdir()
    OmegaConf.save(jobs[0].cfg, jobs[0].run_dir / "config.yaml")  # a run of drq lives in seed1/
    assert plan(["seed=1", "strategy=drq", *TINY], tmp_path, subdir="seed{seed}")[0].cfg.resume  # same: resumable
    with pytest.raises(ConfigError, match=r"cannot resume .*seed1 with strategy=svea: the run was made with strategy 'drq'"):
        plan(["seed=1", "strategy=svea", *TINY], tmp_path, subdir="seed{seed}")


def test_a_named_variant_of_a_strategy_resumes(tmp_path):
    """strategy=svea_overlay builds `svea` (with overlay): its runs resume under the same pick."""
    cfg = compose(["strategy=svea_overlay", *TINY, f"run_dir={tmp_path}"])
    assert (cfg.strategy.name, cfg.strategy.strong) == ("svea", "overlay(alpha=0.5)")
    OmegaConf.save(cfg, tmp_path / "config.yaml")
    again = compose(["strategy=svea_overlay", *TINY, f"run_dir={tmp_path}", "resume=true"])
    assert again.strategy.strong == "overlay(alpha=0.5)"


def test_a_run_is_finished_at_its_budget_in_whole_agent_steps(tmp_path):
    with pytest.raises(ConfigError, match="frames=500 is not a multiple of task.action_repeat=8 .*frames=496 or"):
        plan(["seed=1", *TINY, "frames=500"], tmp_path)  # action repeat 8: a budget between agent steps is refused
    job = plan(["seed=1", *TINY, "frames=496"], tmp_path)[0]
    job.run_dir.mkdir()
    (job.run_dir / "result.json").write_text(json.dumps({"frame": 488}))
    assert not job.finished()
    (job.run_dir / "result.json").write_text(json.dumps({"frame": 496}))
    assert job.finished()


def test_one_sweep_at_a_time_in_a_folder(tmp_path, monkeypatch, capsys):
    """The sweep folder's lock (flock on <sweep>/.lock): a second sweep is refused, naming the holder's host and
    pid; a lock file left by a dead process does not block; the lock ends with the sweep. flock is per open file,
    so a second sweep in this process conflicts like another process's."""
    sweep = tmp_path / "s"
    sweep.mkdir()
    dead = 2**22 + 12345  # above Linux's pid_max: no such process
    (sweep / ".lock").write_text(f"host {socket.gethostname()} pid {dead}\n")  # left by a sweep that died
    argv = ["seed=1,2", *TINY, "--storage", str(tmp_path), "--name", "s"]
    seen = []

    def second_sweep(*args):  # runs while the first holds the folder
        seen.append(main(argv))
        return 0

    monkeypatch.setattr("rl_aug.cli.sweep._sweep", second_sweep)
    assert main(argv) == 0 and seen == [2]  # the dead process's file did not block; the live sweep did
    err = capsys.readouterr().err
    assert f"another rl-aug sweep (host {socket.gethostname()} pid {os.getpid()}) is running in {sweep}" in err
    run_lock.release(run_lock.acquire(sweep, "sweep"))  # released when the sweep ended


def test_a_trial_resumes_restarts_or_refuses_by_what_its_folder_holds(tmp_path):
    pytest.importorskip("ray")
    from rl_aug.agents.ray_tune import start_overrides

    run, marker = tmp_path / "run", tmp_path / ".started" / "run"
    assert start_overrides(["seed=1"], run, marker) == ["seed=1"] and marker.is_file()  # new: marked as the sweep's
    run.mkdir()
    (run / "train.csv").write_text("frame\n")
    assert start_overrides(["seed=1"], run, marker) == ["seed=1", "overwrite=true"]  # ours, died before a checkpoint
    (run / "checkpoint").mkdir()
    for name in ("state.pt", "replay.npz"):
        (run / "checkpoint" / name).write_bytes(b"x")
    assert start_overrides(["seed=1"], run, marker) == ["seed=1", "resume=true"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("a user's")
    with pytest.raises(FileExistsError, match="this sweep did not start it"):
        start_overrides(["seed=1"], other, tmp_path / ".started" / "other")
    assert (other / "notes.txt").read_text() == "a user's"


def test_the_default_name_is_the_same_for_the_same_command(tmp_path, capsys):
    for _ in range(2):
        assert main(["seed=1,2", *TINY, "--storage", str(tmp_path), "--dry-run"]) == 0
    first, second = re.findall(r"(sweep-[0-9a-f]{8})", capsys.readouterr().out)
    assert first == second


def test_a_sweep_on_ray_survives_a_killed_worker_and_resumes_nothing_when_finished(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")
    import functools

    from rl_aug.agents import ray_tune

    killed = "0-seed=1,strategy=none"

    def crash_once(trainer, job):  # nested, so Ray ships it by value to the trial's worker
        import os
        import signal
        from pathlib import Path

        marker = Path(job["sweep_dir"]) / f".killed-{job['name']}"
        if job["name"] != killed:
            return

        class Crash:  # SIGKILL that trial's worker once, after its checkpoint at 1000 frames, as a crashed machine
            def on_checkpoint(self, path, frame):
                if frame >= 1000 and not marker.exists():
                    marker.touch()
                    os.kill(os.getpid(), signal.SIGKILL)

        trainer.callbacks.append(Crash())

    monkeypatch.setattr(ray_tune, "run", functools.partial(ray_tune.run, setup=crash_once))
    monkeypatch.setenv("MUJOCO_GL", "egl")
    monkeypatch.setenv("RAY_worker_niceness", "0")  # Ray's default (15) starves trials beside the other test worker
    monkeypatch.chdir(tmp_path)  # a relative --storage: trials run in Tune's own working folders, not here
    argv = ["seed=1,2", "strategy=none,rad", *TINY, "--storage", "sweeps", "--name", "s", "--num-cpus", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    sweep = tmp_path / "sweeps" / "s"
    assert "4 run(s), 0 finished, 4 to run" in out and "4/4 run(s) finished" in out
    # shown to the user by Tune's reporter: the killed trial failed once and finished after its restart
    assert re.search(rf"\| {re.escape(killed)} +\| +1\* \|", out), out
    assert "* The trial terminated successfully after retrying." in out
    assert f"[sweep] {killed}: resuming at frame 1000" in (sweep / "logs" / f"{killed}.log").read_text()
    assert (sweep / f".killed-{killed}").exists()
    starts = json.loads((sweep / killed / "run_info.json").read_text())
    assert [s["resumed"] for s in starts] == [False, True]
    for name in ("1-seed=1,strategy=rad", "2-seed=2,strategy=none", "3-seed=2,strategy=rad"):
        assert [s["resumed"] for s in json.loads((sweep / name / "run_info.json").read_text())] == [False]
        assert [int(r["frame"]) for r in rows(sweep / name / "eval.csv")] == [0, 1000, 2000]

    # the killed run ends exactly as one that was never interrupted
    ref = tmp_path / "ref"
    trainer = Trainer(compose(["seed=1", "strategy=none", *TINY, "run.num_threads=1", "run.progress=false",
                               f"run_dir={ref}"]))
    try:
        trainer.run()
    finally:
        trainer.close()
    assert rows(sweep / killed / "eval.csv") == rows(ref / "eval.csv")
    assert rows(sweep / killed / "train.csv", drop=("fps",)) == rows(ref / "train.csv", drop=("fps",))
    assert json.loads((sweep / killed / "result.json").read_text())["last_eval_return"] == pytest.approx(
        float(rows(ref / "eval.csv")[-1]["episode_return"]), abs=0)

    report = (sweep / "report" / "report.md").read_text()
    assert "| cartpole-swingup | sac-none | 2 | 2000 |" in report and "| cartpole-swingup | sac-rad | 2 | 2000 |" in report
    assert "Probability of improvement" in report and (sweep / "report" / "runs.csv").is_file()
    run_lock.release(run_lock.acquire(sweep, "sweep"))  # the sweep's lock is released (its file may stay)

    # the same command again: every run is finished, no trial starts (no new Tune experiment)
    experiments = sorted(p.name for p in (sweep / "tune").iterdir())
    assert main(argv) == 0
    assert "4 run(s), 4 finished, 0 to run" in capsys.readouterr().out
    assert sorted(p.name for p in (sweep / "tune").iterdir()) == experiments

    # asked for, every finished run is evaluated under the shifts, in one report
    assert main([*argv, "--evaluate-shifts", "train,color_easy", "--eval-episodes", "1"]) == 0
    returns = rows(sweep / "evaluation-train_color_easy" / "returns.csv")
    assert sorted({(r["shift"], r["run"].split(" ")[0]) for r in returns}) == sorted(
        (shift, str(sweep / name)) for shift in ("train", "color_easy") for name in
        ("0-seed=1,strategy=none", "1-seed=1,strategy=rad", "2-seed=2,strategy=none", "3-seed=2,strategy=rad"))
    assert sorted(p.name for p in (sweep / "tune").iterdir()) == experiments
