"""Agent-level checks: losses equal their closed forms on tiny batches, the encoder is trained by the
critic only, targets move by Polyak averaging, precision options, state round trips."""

from __future__ import annotations

import copy

import pytest
import torch
from rl_aug.agents.drqv2 import DrQV2
from rl_aug.agents.networks import linear_schedule
from rl_aug.agents.sac import SAC

from rl_aug.strategies.protocol import ActorCritic

OBS = (6, 16, 16)


pytestmark = pytest.mark.usefixtures("one_thread")
TINY = {"feature_dim": 8, "hidden_dim": 16, "num_filters": 4, "precision": "fp32", "channels_last": False}


def squashed_sample(agent, h):
    """Closed form of SAC's policy sample: a = tanh(u), u ~ N(mu, std), log std squashed into [-10, 2];
    log pi is the N(u) log-density minus log(1 - tanh(u)^2)."""
    mu, log_std = agent.actor.policy(agent.actor.trunk(h)).chunk(2, -1)
    log_std = -10 + 0.5 * 12 * (torch.tanh(log_std) + 1)
    u = mu + log_std.exp() * torch.randn_like(mu)
    a = torch.tanh(u)
    logp = (torch.distributions.Normal(mu, log_std.exp()).log_prob(u)
            - torch.log(1 - a.pow(2) + 1e-12)).sum(-1, keepdim=True)
    return a, logp


def batch(n: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randint(0, 256, (n, *OBS), generator=g, dtype=torch.uint8)
    next_obs = torch.randint(0, 256, (n, *OBS), generator=g, dtype=torch.uint8)
    action = torch.rand(n, 2, generator=g) * 2 - 1
    reward = torch.rand(n, 1, generator=g)
    discount = torch.full((n, 1), 0.99)
    return obs, action, reward, discount, next_obs


@pytest.mark.parametrize("cls", [SAC, DrQV2])
def test_agents_speak_the_protocol(cls):
    agent = cls(OBS, 2, **TINY)
    assert isinstance(agent, ActorCritic)


def test_sac_losses_equal_closed_form():
    torch.manual_seed(0)
    agent = SAC(OBS, 2, **TINY)
    obs, action, reward, discount, next_obs = batch()

    torch.manual_seed(1)
    y = agent.td_target(reward, next_obs, discount, step=0)
    torch.manual_seed(1)
    with torch.no_grad():
        h = agent.encoder(next_obs)
        a, logp = squashed_sample(agent, h)
        ht = agent.critic_target_encoder(next_obs)
        xt = torch.cat([agent.critic_target.trunk(ht), a], -1)
        v = torch.min(agent.critic_target.q1(xt), agent.critic_target.q2(xt)) - 0.1 * logp
    torch.testing.assert_close(y, reward + discount * v, rtol=1e-4, atol=1e-4)

    loss, metrics, _ = agent.critic_loss(obs, action, y)
    x = torch.cat([agent.critic.trunk(agent.encoder(obs)), action], -1)
    q1, q2 = agent.critic.q1(x), agent.critic.q2(x)
    expected = ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()
    torch.testing.assert_close(loss, expected)
    assert metrics["q1"] == pytest.approx(q1.mean().item(), abs=1e-5)

    torch.manual_seed(2)
    actor_total, am = agent.actor_loss(obs, step=0)
    torch.manual_seed(2)
    with torch.no_grad():
        h = agent.encoder(obs)
        a, logp = squashed_sample(agent, h)
        xa = torch.cat([agent.critic.trunk(h), a], -1)
        q = torch.min(agent.critic.q1(xa), agent.critic.q2(xa))
        actor = (0.1 * logp - q).mean()
        alpha_loss = (0.1 * (-logp - agent.target_entropy)).mean()
    assert am["actor_loss"] == pytest.approx(actor.item(), rel=1e-4, abs=1e-4)
    assert am["alpha_loss"] == pytest.approx(alpha_loss.item(), rel=1e-4, abs=1e-4)
    assert am["temperature"] == pytest.approx(0.1)
    torch.testing.assert_close(actor_total, actor + alpha_loss, rtol=1e-4, atol=1e-4)


def test_drqv2_losses_equal_closed_form_and_schedule():
    torch.manual_seed(0)
    agent = DrQV2(OBS, 2, stddev_schedule="linear(1.0,0.1,100)", **TINY)
    assert agent.stddev(0) == pytest.approx(1.0)
    assert agent.stddev(50) == pytest.approx(0.55)
    assert agent.stddev(1000) == pytest.approx(0.1)
    _, _, reward, discount, next_obs = batch()
    torch.manual_seed(3)
    y = agent.td_target(reward, next_obs, discount, step=50)
    torch.manual_seed(3)
    with torch.no_grad():
        h = agent.encoder(next_obs)  # no target encoder in DrQ-v2
        mu = torch.tanh(agent.actor.policy(agent.actor.trunk(h)))
        a = (mu + (torch.randn_like(mu) * 0.55).clamp(-0.3, 0.3)).clamp(-1 + 1e-6, 1 - 1e-6)
        xt = torch.cat([agent.critic_target.trunk(h), a], -1)
        expected = reward + discount * torch.min(agent.critic_target.q1(xt), agent.critic_target.q2(xt))
    torch.testing.assert_close(y, expected)
    with torch.no_grad():
        scaled = agent.encoder.convs(next_obs.float() / 255 - 0.5).flatten(1)
    torch.testing.assert_close(h, scaled)


@pytest.mark.parametrize("cls", [SAC, DrQV2])
def test_encoder_is_trained_by_the_critic_only(cls):
    torch.manual_seed(0)
    agent = cls(OBS, 2, **TINY)
    obs, action, reward, discount, next_obs = batch()
    enc = copy.deepcopy(agent.encoder.state_dict())
    actor_before = copy.deepcopy(agent.actor.state_dict())
    loss, _ = agent.actor_loss(obs, step=0)
    agent.optimize(loss, "actor")
    for k, v in agent.encoder.state_dict().items():
        assert torch.equal(v, enc[k]), f"actor step moved encoder {k}"
    assert any(not torch.equal(v, actor_before[k]) for k, v in agent.actor.state_dict().items())
    y = agent.td_target(reward, next_obs, discount, step=0)
    loss, _, _ = agent.critic_loss(obs, action, y)
    agent.optimize(loss, "critic")
    assert any(not torch.equal(v, enc[k]) for k, v in agent.encoder.state_dict().items())


def test_sac_target_update_is_polyak_with_tau():
    torch.manual_seed(0)
    agent = SAC(OBS, 2, critic_tau=0.25, encoder_tau=0.5, **TINY)
    with torch.no_grad():
        for p in [*agent.critic.parameters(), *agent.encoder.parameters()]:
            p.add_(1.0)
    before_c = [p.clone() for p in agent.critic_target.parameters()]
    before_e = [p.clone() for p in agent.critic_target_encoder.parameters()]
    agent.update_targets()
    for t, s, b in zip(agent.critic_target.parameters(), agent.critic.parameters(), before_c):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * s)
    for t, s, b in zip(agent.critic_target_encoder.parameters(), agent.encoder.parameters(), before_e):
        torch.testing.assert_close(t, 0.5 * b + 0.5 * s)


@pytest.mark.parametrize("cls", [SAC, DrQV2])
def test_bf16_channels_last_changes_features_by_rounding_only(cls):
    torch.manual_seed(0)
    ref = cls(OBS, 2, **TINY)
    fast = cls(OBS, 2, **{**TINY, "precision": "bf16", "channels_last": True})
    fast.load_state_dict(ref.state_dict())
    obs = batch()[0]
    h_ref, h_fast = ref.encode(obs), fast.encode(obs)
    assert h_fast.dtype == torch.float32
    assert not torch.equal(h_ref, h_fast)  # bf16 really ran
    torch.testing.assert_close(h_fast, h_ref, rtol=0.05, atol=0.02)


@pytest.mark.parametrize("cls", [SAC, DrQV2])
def test_state_dict_round_trip_and_act(cls):
    torch.manual_seed(0)
    a = cls(OBS, 2, **TINY)
    obs, action, reward, discount, next_obs = batch()
    y = a.td_target(reward, next_obs, discount, 0)
    loss, _, _ = a.critic_loss(obs, action, y)
    a.optimize(loss, "critic")
    b = cls(OBS, 2, **TINY)
    b.load_state_dict(a.state_dict())
    x = obs[0].numpy()
    assert (a.act(x, 10_000, eval_mode=True) == b.act(x, 10_000, eval_mode=True)).all()
    act = a.act(x, 10_000)
    assert act.shape == (2,) and (abs(act) <= 1).all()
    ya, yb = a.critic_loss(obs, action, y)[0], b.critic_loss(obs, action, y)[0]
    torch.testing.assert_close(ya, yb)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="multiple of 3"):
        SAC((4, 16, 16), 2, **TINY)
    with pytest.raises(ValueError, match="at least"):
        SAC((3, 8, 8), 2, **TINY)
    with pytest.raises(ValueError, match="precision"):
        SAC(OBS, 2, **{**TINY, "precision": "fp16"})
    with pytest.raises(ValueError, match="linear"):
        linear_schedule("cosine(1,2)", 0)


@pytest.mark.parametrize("agent_name, projection_tau", [("sac_dmcgb", 0.05), ("sac", 0.01)])
def test_target_projection_moves_at_the_configured_tau(agent_name, projection_tau):
    """DMC-GB averages the critic's whole encoder (convs and the 100-d projection with its LayerNorm) at encoder
    tau 0.05 and only Q1, Q2 at critic tau 0.01 (src/algorithms/sac.py soft_update_critic_target); DrQ averages
    the projection with the Q heads at 0.01."""
    from rl_aug.agents.config import agent_classes, agent_kwargs, compose

    cfg = compose([f"agent={agent_name}", "agent.num_conv_layers=2", "precision=fp32", "agent.channels_last=false"])
    torch.manual_seed(0)
    agent = agent_classes()[agent_name](OBS, 2, **{**agent_kwargs(cfg), "hidden_dim": 16, "num_filters": 4})
    with torch.no_grad():  # online and target differ (as after some critic steps)
        for p in [*agent.critic.parameters(), *agent.encoder.parameters()]:
            p.add_(torch.randn_like(p))
    trunk_before = [p.clone() for p in agent.critic_target.trunk.parameters()]
    q_before = [p.clone() for p in agent.critic_target.q1.parameters()]
    agent.update_targets()
    assert len(trunk_before) == 4  # Linear weight and bias, LayerNorm weight and bias
    for t, s, b in zip(agent.critic_target.trunk.parameters(), agent.critic.trunk.parameters(), trunk_before):
        torch.testing.assert_close(t, b + projection_tau * (s - b))
        assert not torch.allclose(t, b + (0.06 - projection_tau) * (s - b))  # the other tau would not pass
    for t, s, b in zip(agent.critic_target.q1.parameters(), agent.critic.q1.parameters(), q_before):
        torch.testing.assert_close(t, b + 0.01 * (s - b))
