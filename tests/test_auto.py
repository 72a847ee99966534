"""auto(...) augmentation choice: the spec, the UCB bandit on a synthetic problem, the uniform mixture,
determinism and exact resume, and its use inside strategies and SB3's SAC."""

from __future__ import annotations

import copy
import csv
from collections import deque

import numpy as np
import pytest
import torch
from test_strategies import FakeAgent, make_batch

from rl_aug import augment
from rl_aug.augment.auto import AutoAugmentation
from rl_aug.strategies import SVEA, DrQ


def adder(k: float):
    """A deterministic candidate: adds k to every pixel (float images), so the output names the candidate."""
    def add(x, generator=None):
        return x + k
    add.__name__ = f"add{k:g}"
    return add


def pull(auto: AutoAugmentation, means: list[float], rounds: int, seed: int = 0) -> list[int]:
    """Play `rounds` episodes of a bandit whose arm k pays means[k] + N(0, 0.1); returns the arms played."""
    rng = np.random.default_rng(seed)
    played = []
    x = torch.zeros(2, 3, 2, 2)
    for _ in range(rounds):
        played.append(auto.current)
        auto(x)  # the episode's updates used the active candidate
        auto.observe(means[auto.current] + 0.1 * rng.standard_normal())
    return played


def test_spec_parses_candidates_options_and_round_trips():
    aug = augment.parse("auto(conv, overlay(alpha=0.5), shift(pad=4)+cutout, 'color_jitter')")
    (auto,) = aug.ops
    assert isinstance(auto, AutoAugmentation) and auto.mode == "ucb"
    assert auto.labels == ["conv", "overlay(alpha=0.5)", "shift(pad=4)+cutout", "color_jitter"]
    assert repr(augment.parse(repr(aug))) == repr(aug)
    uniform = augment.parse("auto(conv, overlay, mode='uniform')").ops[0]
    assert uniform.mode == "uniform" and repr(uniform) == "auto(conv, overlay, mode='uniform')"
    tuned = augment.parse("auto(conv, overlay, c=0.1, window=50)").ops[0]
    assert (tuned.c, tuned.window) == (0.1, 50)


@pytest.mark.parametrize("spec, message", [
    ("auto(conv)", "at least 2 candidate"),
    ("auto(conv, overlay, mode='greedy')", "mode one of ucb, uniform"),
    ("auto(conv, overlay, window=0)", "window an int >= 1"),
    ("auto(conv, overlay, c=-1)", "c a number >= 0"),
    ("auto(conv, overlay, temperature=2)", "unknown option(s) temperature"),
    ("auto(conv, sheer)", "unknown augmentation 'sheer'"),
])
def test_bad_specs_name_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=None) as info:
        augment.parse(spec)
    assert message in str(info.value) and spec in str(info.value)


def test_ucb_concentrates_on_the_best_candidate_of_a_synthetic_bandit():
    auto = AutoAugmentation([adder(k) for k in range(4)], mode="ucb")
    played = pull(auto, [0.2, 0.5, 0.8, 0.3], rounds=300)
    assert played[:4] == [0, 1, 2, 3]  # each candidate once, in order, before the bandit chooses
    late = np.bincount(played[100:], minlength=4) / 200
    assert late[2] > 0.7, late
    assert late.argmax() == 2
    # the uniform mixture is the baseline: no concentration whatever the returns
    uniform = AutoAugmentation([adder(k) for k in range(4)], mode="uniform")
    x = torch.zeros(4000, 3, 2, 2)
    uniform(x, generator=torch.Generator().manual_seed(0))
    shares = np.array(uniform.rows) / 4000
    assert np.all(np.abs(shares - 0.25) < 0.03), shares


def test_episodes_that_used_no_augmentation_are_not_credited():
    """Before learning starts (random actions, no update) the returns say nothing about a candidate."""
    auto = AutoAugmentation([adder(k) for k in range(2)])
    for ret in (5.0, 7.0):
        auto.observe(ret)
    assert (auto.observed, auto.skipped, auto.current) == (0, 2, 0) and auto.returns[0] == deque()
    auto(torch.zeros(4, 3, 2, 2))
    auto.observe(3.0)
    assert (auto.observed, auto.current, list(auto.returns[0])) == (1, 1, [3.0])
    auto.observe(9.0)  # candidate 1 became active but augmented nothing since: not credited
    assert (auto.observed, auto.skipped, list(auto.returns[1])) == (1, 3, [])


def test_ucb_scale_free_returns_by_default_and_raw_when_asked():
    """DMC returns are in the hundreds: without normalisation c=0.5 explores nothing after the first round."""
    norm = AutoAugmentation([adder(k) for k in range(3)])
    raw = AutoAugmentation([adder(k) for k in range(3)], normalize=False)
    means = [300.0, 320.0, 310.0]
    a, b = pull(norm, means, 120, seed=1), pull(raw, means, 120, seed=1)
    assert len(set(b[3:])) == 1  # raw: stuck on the first winner (bonus << return gaps)
    assert len(set(a[3:])) == 3  # scaled: keeps trying the others now and then
    assert np.bincount(a, minlength=3).argmax() == 1


def test_uniform_mixture_applies_one_candidate_per_sample_from_the_generator():
    auto = AutoAugmentation([adder(k) for k in (10.0, 20.0, 30.0)], mode="uniform")
    x = torch.rand(64, 6, 4, 4)
    out = auto(x, generator=torch.Generator().manual_seed(5))
    delta = (out - x)[:, 0, 0, 0]
    assert torch.allclose((out - x), delta[:, None, None, None].expand_as(x))  # one candidate per whole sample
    expected = (torch.randint(3, (64,), generator=torch.Generator().manual_seed(5)) + 1) * 10.0
    torch.testing.assert_close(delta, expected)
    assert sum(auto.rows) == 64


def test_candidates_must_keep_the_shape():
    auto = augment.parse("auto(shift, crop(size=4), mode='uniform')")
    with pytest.raises(ValueError, match=r"candidate 'crop\(size=4\)' must keep the batch shape"):
        auto(torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8), generator=torch.Generator().manual_seed(0))


def test_state_dict_resumes_the_same_choices():
    a = AutoAugmentation([adder(k) for k in range(3)], window=4)
    pull(a, [0.1, 0.9, 0.5], 20)
    b = AutoAugmentation([adder(k) for k in range(3)], window=4)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    assert pull(a, [0.1, 0.9, 0.5], 30, seed=7) == pull(b, [0.1, 0.9, 0.5], 30, seed=7)
    assert a.state_dict() == b.state_dict()
    other = AutoAugmentation([adder(k) for k in range(2)])
    with pytest.raises(ValueError, match="build the augmentation it was trained with"):
        other.load_state_dict(a.state_dict())


def test_strategies_find_feed_log_and_checkpoint_their_auto():
    agent = FakeAgent()
    strategy = SVEA(weak=None, strong="auto(noise, grayscale)", seed=0)
    strategy.attach(agent)
    assert list(strategy.autos()) == ["strong"]
    metrics = strategy.update(agent, make_batch(), 1)
    assert metrics["auto_strong/active"] == 0.0 and metrics["auto_strong/share[noise]"] == 1.0
    strategy.observe_episode(5.0)  # credited to noise; grayscale has no return yet, so it is next
    metrics = strategy.update(agent, make_batch(1), 2)
    assert metrics["auto_strong/active"] == 1.0 and metrics["auto_strong/share[grayscale]"] == 0.5
    state = copy.deepcopy(strategy.state_dict())
    assert state["auto"]["strong"]["returns"] == [[5.0], []]

    resumed = SVEA(weak=None, strong="auto(noise, grayscale)", seed=1)
    resumed.attach(copy.deepcopy(agent))
    resumed.load_state_dict(state)
    for s in (strategy, resumed):
        s.observe_episode(1.0)
    assert resumed.autos()["strong"].state_dict() == strategy.autos()["strong"].state_dict()
    plain = SVEA(weak=None, strong="noise", seed=0)
    plain.attach(FakeAgent())
    with pytest.raises(ValueError, match="auto"):
        plain.load_state_dict(state)
    drq = DrQ(aug="auto(noise, grayscale, mode='uniform')", seed=0)
    drq.attach(FakeAgent())
    assert list(drq.autos()) == ["aug"] and drq.update(FakeAgent(), make_batch(), 1)["auto_aug/share[noise]"] > 0


def test_augmented_sac_hands_episode_returns_to_auto():
    pytest.importorskip("stable_baselines3")
    from test_sb3 import model

    m = model("svea", strategy_kwargs={"strong": "auto(noise, grayscale)"})
    m.learn(40)  # NoiseImageEnv: 10-step episodes; updates after step 20: the 2 episodes before are not handed over
    auto = m.strategy.autos()["strong"]
    assert (auto.observed, auto.skipped) == (2, 0)
    assert sum(len(r) for r in auto.returns) == 2
    assert m.logger.name_to_value["train/auto_strong/share[noise]"] > 0


def test_native_loop_feeds_logs_and_resumes_auto(tmp_path):
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer
    from test_train import overrides, point_env

    spec = "strategy.strong=auto(noise, grayscale, cutout)"
    cfg = compose(overrides(tmp_path, "sac", "svea", spec, "frames=24"))
    first = Trainer(cfg, env_factory=point_env)
    first.run()
    first.close()
    whole = compose(overrides(tmp_path, "sac", "svea", spec, "frames=36"))
    whole.run_dir = str(tmp_path / "whole")
    straight = Trainer(whole, env_factory=point_env)
    straight.run()
    straight.close()
    resumed = Trainer(compose(overrides(tmp_path, "sac", "svea", spec, "frames=36", "resume=true")),
                      env_factory=point_env)
    resumed.run()
    resumed.close()
    auto = resumed.strategy.autos()["strong"]
    assert auto.observed == 5  # 36 frames of 6-step episodes; the first began in the seed phase (4 steps)
    assert auto.state_dict() == straight.strategy.autos()["strong"].state_dict()
    with open(tmp_path / "run" / "train.csv") as fh:
        rows = list(csv.DictReader(fh))
    shares = [float(rows[-1][f"auto_strong/share[{name}]"]) for name in ("noise", "grayscale", "cutout")]
    assert abs(sum(shares) - 1.0) < 1e-9 and all(s > 0 for s in shares)
