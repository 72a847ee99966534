"""The strategies on SB3's TD3 and DDPG and sb3-contrib's TQC: the protocol views compute those algorithms' own
losses on a fixed batch, TD3's delayed actor and targets are kept, every strategy trains each algorithm (or is
refused by name where the algorithm lacks what it needs), and save/load keeps the strategy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_sb3 import SMALL, NoiseImageEnv, fixed_batch

from rl_aug.sb3 import AugmentedDDPG, AugmentedTD3, SB3TD3ActorCritic, SB3TQCActorCritic, adapter_for
from rl_aug.strategies import available

pytestmark = pytest.mark.usefixtures("one_thread")
TQC_SMALL = {**SMALL, "n_quantiles": 5}


def algorithm(name: str):
    if name == "tqc":
        pytest.importorskip("sb3_contrib")
        from rl_aug.sb3 import AugmentedTQC

        return AugmentedTQC
    return {"td3": AugmentedTD3, "ddpg": AugmentedDDPG}[name]


def model(name: str, strategy: str = "drq", **kwargs):
    policy_kwargs = dict(TQC_SMALL if name == "tqc" else SMALL)  # a copy: SB3 adds keys (use_sde) to it
    return algorithm(name)("CnnPolicy", NoiseImageEnv(), strategy=strategy, buffer_size=300, learning_starts=20,
                           batch_size=8, policy_kwargs=policy_kwargs, seed=0, strategy_seed=0, **kwargs)


def float_batch():
    obs, action, reward, done, next_obs = fixed_batch()
    return obs.float(), action, reward, done, next_obs.float()


def test_td3_losses_equal_sb3_td3_formulas():
    m = model("td3")
    agent = SB3TD3ActorCritic(m)
    obs, action, reward, done, next_obs = float_batch()
    torch.manual_seed(5)
    y = agent.td_target(reward, next_obs, (1 - done) * m.gamma, step=1)
    torch.manual_seed(5)
    with torch.no_grad():  # stable_baselines3/td3/td3.py, TD3.train
        noise = action.clone().data.normal_(0, m.target_policy_noise).clamp(-m.target_noise_clip, m.target_noise_clip)
        next_actions = (m.actor_target(next_obs) + noise).clamp(-1, 1)
        next_q = torch.cat(m.critic_target(next_obs, next_actions), dim=1).min(dim=1, keepdim=True)[0]
        expected_y = reward + (1 - done) * m.gamma * next_q
    torch.testing.assert_close(y, expected_y)
    loss, metrics, _ = agent.critic_loss(obs, action, y)
    expected = sum(F.mse_loss(q, y) for q in m.critic(obs, action))
    torch.testing.assert_close(loss, expected)
    assert metrics["critic_loss"] == pytest.approx(float(expected.detach()))
    actor_loss, _ = agent.actor_loss(obs, step=2)
    torch.testing.assert_close(actor_loss, -m.critic.q1_forward(obs, m.actor(obs)).mean())
    assert agent.actor_update_every == agent.target_update_every == m.policy_delay == 2


def test_td3_updates_actor_and_targets_every_policy_delay_and_ddpg_every_step():
    m = model("td3", strategy="none")
    m.learn(21)  # 20 learning_starts, then one gradient step: n_updates 1, not a multiple of policy_delay 2
    assert m._n_updates == 1
    actor = [p.detach().clone() for p in m.actor.parameters()]
    target = [p.detach().clone() for p in m.critic_target.parameters()]
    m.learn(1, reset_num_timesteps=False)  # n_updates 2: actor step, then both targets averaged
    assert m._n_updates == 2
    assert any(not torch.equal(a, b) for a, b in zip(actor, m.actor.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(target, m.critic_target.parameters()))
    d = model("ddpg")
    view = adapter_for(d)
    assert isinstance(view, SB3TD3ActorCritic) and view.n_critics == 1
    assert view.actor_update_every == view.target_update_every == 1
    obs, action, reward, done, next_obs = float_batch()
    q1, q2 = view.q_values(obs, action)
    assert q1 is q2  # one critic is the protocol's Q1 and Q2
    y = view.td_target(reward, next_obs, (1 - done) * d.gamma, 1)
    loss, _, _ = view.critic_loss(obs, action, y)
    torch.testing.assert_close(loss, F.mse_loss(d.critic(obs, action)[0], y))  # SB3's DDPG loss, one critic


def test_tqc_losses_equal_sb3_contrib_tqc_formulas():
    m = model("tqc")
    from sb3_contrib.common.utils import quantile_huber_loss

    agent = SB3TQCActorCritic(m)
    obs, action, reward, done, next_obs = float_batch()
    with torch.no_grad():
        m.log_ent_coef.fill_(np.log(0.3))
    torch.manual_seed(5)
    y = agent.td_target(reward, next_obs, (1 - done) * m.gamma, step=1)
    torch.manual_seed(5)
    with torch.no_grad():  # sb3_contrib/tqc/tqc.py, TQC.train
        next_actions, next_log_prob = m.actor.action_log_prob(next_obs)
        next_quantiles = m.critic_target(next_obs, next_actions)
        kept = m.critic.quantiles_total - m.top_quantiles_to_drop_per_net * m.critic.n_critics
        next_quantiles, _ = torch.sort(next_quantiles.reshape(len(obs), -1))
        target = next_quantiles[:, :kept] - 0.3 * next_log_prob.reshape(-1, 1)
        expected_y = reward + (1 - done) * m.gamma * target
    assert y.shape == (8, kept) == (8, 2 * 5 - 2 * 2)
    torch.testing.assert_close(y, expected_y)
    loss, _, _ = agent.critic_loss(obs, action, y)
    expected = quantile_huber_loss(m.critic(obs, action), expected_y.unsqueeze(1), sum_over_quantiles=False)
    torch.testing.assert_close(loss, expected)
    torch.manual_seed(6)
    actor_loss, metrics = agent.actor_loss(obs, step=1)
    torch.manual_seed(6)
    actions_pi, log_prob = m.actor.action_log_prob(obs)
    qf_pi = m.critic(obs, actions_pi).mean(dim=2).mean(dim=1, keepdim=True)
    ent_loss = -(m.log_ent_coef * (log_prob.reshape(-1, 1) + m.target_entropy).detach()).mean()
    torch.testing.assert_close(actor_loss, (0.3 * log_prob.reshape(-1, 1) - qf_pi).mean() + ent_loss)
    assert metrics["ent_coef"] == pytest.approx(0.3)


REFUSED = {("td3", "actor_kl"): "lacks policy", ("ddpg", "actor_kl"): "lacks policy",
           ("tqc", "tangent_prop"): "lacks q_values"}


@pytest.mark.parametrize("name", ["td3", "ddpg", "tqc"])
@pytest.mark.parametrize("strategy", available())
def test_every_strategy_trains_each_algorithm_or_is_refused_by_name(name, strategy):
    kwargs = {"strategy_kwargs": {"aux_batch": 8}} if strategy == "soda" else {}
    if (name, strategy) in REFUSED:
        with pytest.raises(TypeError, match=REFUSED[name, strategy]):
            model(name, strategy, **kwargs)
        return
    m = model(name, strategy, **kwargs)
    before = [p.detach().clone() for p in m.critic.parameters()]
    m.learn(40)
    assert m._n_updates == 20
    values = m.logger.name_to_value
    assert np.isfinite(values["train/critic_loss"]) and values["train/critic_loss"] > 0
    assert any(not torch.equal(b, p) for b, p in zip(before, m.critic.parameters()))
    if strategy in ("tangent_prop", "actor_kl", "soda"):
        assert values[f"train/{'soda_loss' if strategy == 'soda' else strategy}"] > 0


@pytest.mark.parametrize("name", ["td3", "tqc"])
def test_save_load_keeps_strategy_and_auto_choices(tmp_path, name):
    m = model(name, "svea", strategy_kwargs={"strong": "auto(noise, grayscale)"})
    m.learn(40)
    m.save(tmp_path / "m.zip")
    loaded = algorithm(name).load(tmp_path / "m.zip", env=NoiseImageEnv())
    assert loaded.strategy.autos()["strong"].state_dict() == m.strategy.autos()["strong"].state_dict()
    assert loaded.strategy.autos()["strong"].observed == 2  # 4 episodes, the first 2 before learning_starts
    obs = NoiseImageEnv().reset(seed=3)[0]
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], m.predict(obs, deterministic=True)[0])
