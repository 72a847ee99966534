"""The invariance report: closed forms on a hand-made agent, zero change under the identity, a real agent's
batched actions equal its single actions, and the files it writes."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from rl_aug.evaluation.invariance import agent_probe, invariance, write_invariance


def brighten(x, generator=None):
    return x + 10  # obs stay <= 200 below, so no uint8 wrap-around


def mean_act(obs):
    return (obs.float().mean(dim=(1, 2, 3)) / 255.0)[:, None].repeat(1, 3)  # 3 equal action dims


def sum_q(obs, action):
    return obs.float().sum(dim=(1, 2, 3)) + action.sum(1)


def test_closed_forms_on_a_hand_made_agent():
    obs = torch.randint(0, 200, (16, 3, 4, 4), dtype=torch.uint8)
    (row,) = invariance(mean_act, sum_q, obs, [brighten], repeats=2)
    assert row.augmentation == "brighten" and (row.states, row.repeats) == (16, 2)
    assert row.action_change == pytest.approx(10 / 255, rel=1e-6)  # ||(d, d, d)|| / sqrt(3) = d
    assert row.q_change == pytest.approx(10 * 48, rel=1e-6)  # the same action, every pixel + 10
    q = sum_q(obs, mean_act(obs))
    assert row.relative_q_change == pytest.approx(480 / float(q.std()), rel=1e-5)


def test_identity_changes_nothing_and_a_real_agent_batches_like_it_acts():
    from rl_aug.agents.sac import SAC

    torch.manual_seed(0)
    agent = SAC((3, 24, 24), 2, feature_dim=8, hidden_dim=16, num_filters=4, num_conv_layers=2, precision="fp32")
    obs = torch.randint(0, 256, (6, 3, 24, 24), dtype=torch.uint8)
    batched = agent.act_batch(obs)
    single = np.stack([agent.act(o.numpy(), 0, eval_mode=True) for o in obs])
    np.testing.assert_allclose(batched.numpy(), single, rtol=1e-5, atol=1e-6)
    act, q_value = agent_probe(agent)
    rows = invariance(act, q_value, obs, ["none", "shift(pad=4)", "conv"], repeats=1)
    assert [r.augmentation for r in rows] == ["none", "shift(pad=4)", "conv"]
    assert rows[0].action_change == 0.0 and rows[0].q_change == 0.0
    assert rows[1].q_change > 0 and rows[2].q_change > 0
    again = invariance(act, q_value, obs, ["none", "shift(pad=4)", "conv"], repeats=1)
    assert again == rows  # seeded: the same table twice


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="expected obs as a uint8 .* got torch.float32"):
        invariance(mean_act, sum_q, torch.zeros(4, 3, 4, 4))
    with pytest.raises(ValueError, match="N >= 2 states"):
        invariance(mean_act, sum_q, torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unknown augmentation 'sheer'"):
        invariance(mean_act, sum_q, torch.zeros(4, 3, 4, 4, dtype=torch.uint8), ["sheer"])


def test_write_invariance_files(tmp_path):
    obs = torch.randint(0, 200, (8, 3, 4, 4), dtype=torch.uint8)
    rows = invariance(mean_act, sum_q, obs, [brighten, "none"], repeats=1)
    paths = write_invariance(tmp_path, {"runA": rows, "runB": rows})
    assert [p.name for p in paths][:2] == ["invariance.csv", "invariance.md"]
    with open(tmp_path / "invariance.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["run"], r["augmentation"]) for r in table] == [("runA", "brighten"), ("runA", "none"),
                                                              ("runB", "brighten"), ("runB", "none")]
    assert float(table[0]["action_change"]) == pytest.approx(10 / 255, rel=1e-6)
    assert "| runB | none | 0.000 | 0.000 | 0.000 |" in (tmp_path / "invariance.md").read_text()
