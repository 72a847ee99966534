"""The SB3 adapter: its losses equal SB3 SAC's formulas on a fixed batch, every strategy trains an SB3 SAC,
save/load restores the strategy, and bad observation spaces or strategy names get clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rl_aug.sb3 import AugmentedSAC, SB3ActorCritic
from rl_aug.strategies import available
from rl_aug.strategies.actor_kl import policy_kl

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"features_extractor_kwargs": {"features_dim": 16}, "net_arch": [16]}


class NoiseImageEnv(gym.Env):
    """Random (6, 36, 36) uint8 frames; reward = first action component; 10-step episodes."""

    observation_space = gym.spaces.Box(0, 255, (6, 36, 36), np.uint8)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (6, 36, 36), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.integers(0, 256, (6, 36, 36), dtype=np.uint8)
        return obs, float(action[0]), False, self.t >= 10, {}


def model(strategy: str = "drq", **kwargs) -> AugmentedSAC:
    return AugmentedSAC("CnnPolicy", NoiseImageEnv(), strategy=strategy, buffer_size=300, learning_starts=20,
                        batch_size=8, policy_kwargs=dict(SMALL), seed=0, strategy_seed=0, **kwargs)


def fixed_batch(n: int = 8):
    g = torch.Generator().manual_seed(1)
    obs = torch.randint(0, 256, (n, 6, 36, 36), generator=g, dtype=torch.uint8)
    next_obs = torch.randint(0, 256, (n, 6, 36, 36), generator=g, dtype=torch.uint8)
    action = torch.rand(n, 2, generator=g) * 2 - 1
    reward = torch.rand(n, 1, generator=g)
    done = (torch.rand(n, 1, generator=g) < 0.3).float()
    return obs, action, reward, done, next_obs


def test_losses_equal_sb3_sac_formulas():
    m = model()
    agent = SB3ActorCritic(m)
    obs, action, reward, done, next_obs = fixed_batch()
    with torch.no_grad():
        m.log_ent_coef.fill_(np.log(0.3))

    torch.manual_seed(5)
    y = agent.td_target(reward, next_obs, (1 - done) * m.gamma, step=1)
    torch.manual_seed(5)
    with torch.no_grad():  # SAC.train in stable_baselines3/sac/sac.py, written out
        a2, logp2 = m.actor.action_log_prob(next_obs.float())
        q_next = torch.min(torch.cat(m.critic_target(next_obs.float(), a2), dim=1), dim=1, keepdim=True)[0]
        expected_y = reward + (1 - done) * m.gamma * (q_next - 0.3 * logp2.reshape(-1, 1))
    torch.testing.assert_close(y, expected_y)

    loss, _, _ = agent.critic_loss(obs, action, y)
    q1, q2 = m.critic(obs.float(), action)
    sb3_loss = 0.5 * (F.mse_loss(q1, y) + F.mse_loss(q2, y))
    torch.testing.assert_close(loss, 2 * sb3_loss)  # the protocol's sum; SB3 halves it

    torch.manual_seed(6)
    total, metrics = agent.actor_loss(obs, step=1)
    torch.manual_seed(6)
    a, logp = m.actor.action_log_prob(obs.float())
    logp = logp.reshape(-1, 1)
    q_pi = torch.min(torch.cat(m.critic(obs.float(), a), dim=1), dim=1, keepdim=True)[0]
    actor = (0.3 * logp - q_pi).mean()
    ent = -(m.log_ent_coef * (logp + m.target_entropy).detach()).mean()
    torch.testing.assert_close(total, actor + ent)
    assert metrics["ent_coef"] == pytest.approx(0.3)

    dist = agent.policy(obs, step=1)
    mean, log_std, _ = m.actor.get_action_dist_params(obs.float())
    assert torch.allclose(dist.base_dist.base_dist.loc, mean) and torch.allclose(dist.base_dist.base_dist.scale,
                                                                                  log_std.exp())


def test_update_steps_the_right_parameters_and_targets():
    m = model("none")
    agent = SB3ActorCritic(m)
    obs, action, reward, done, next_obs = fixed_batch()
    from rl_aug.strategies.protocol import Batch

    before = {k: v.detach().clone() for k, v in m.policy.state_dict().items()}
    m.strategy.update(agent, Batch(obs, action, reward, (1 - done) * m.gamma, next_obs), step=1)
    after = m.policy.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("critic.features_extractor") for k in changed)  # critic loss trains its CNN
    assert any(k.startswith("actor.mu") for k in changed)
    # target = (1 - tau) target + tau online, after the online step (SB3's polyak_update, tau 0.005)
    key = "critic.qf0.0.weight"
    expected = (1 - m.tau) * before["critic_target.qf0.0.weight"] + m.tau * after[key]
    torch.testing.assert_close(after["critic_target.qf0.0.weight"], expected)


@pytest.mark.parametrize("strategy", available())
def test_every_strategy_trains_sb3_sac(strategy):
    kwargs = {"strategy_kwargs": {"aux_batch": 8}} if strategy == "soda" else {}
    m = model(strategy, **kwargs)
    before = [p.detach().clone() for p in m.critic.parameters()]
    m.learn(40)
    assert m._n_updates == 20  # one gradient step per env step after 20 learning_starts
    values = m.logger.name_to_value
    assert np.isfinite(values["train/critic_loss"]) and values["train/critic_loss"] > 0
    assert any(not torch.equal(b, p) for b, p in zip(before, m.critic.parameters()))
    if strategy in ("tangent_prop", "actor_kl", "soda"):
        assert values[f"train/{'soda_loss' if strategy == 'soda' else strategy}"] > 0


def test_actor_kl_penalty_is_the_kl_of_sb3_policies():
    m = model("actor_kl")
    obs = fixed_batch()[0]
    x1 = m.strategy.actor_augmentation(obs, generator=torch.Generator().manual_seed(0))
    x2 = m.strategy.actor_augmentation(obs, generator=torch.Generator().manual_seed(1))
    mean1, log_std1, _ = m.actor.get_action_dist_params(x1.float())
    mean2, log_std2, _ = m.actor.get_action_dist_params(x2.float())
    s1, s2 = log_std1.exp(), log_std2.exp()
    closed = (torch.log(s2 / s1) + (s1**2 + (mean1 - mean2) ** 2) / (2 * s2**2) - 0.5).mean()
    torch.testing.assert_close(policy_kl(m.agent.policy(x1, 0), m.agent.policy(x2, 0)), closed)
    assert closed > 0


def test_save_load_restores_strategy_and_policy(tmp_path):
    m = model("soda", strategy_kwargs={"aux_batch": 8})
    m.learn(30)
    m.save(tmp_path / "soda.zip")
    loaded = AugmentedSAC.load(tmp_path / "soda.zip", env=NoiseImageEnv())
    assert loaded.strategy_name == "soda" and type(loaded.strategy).__name__ == "SODA"
    assert torch.equal(loaded.strategy.generator.get_state(), m.strategy.generator.get_state())
    for a, b in zip(loaded.strategy.predictor.parameters(), m.strategy.predictor.parameters()):
        assert torch.equal(a, b)
    obs = NoiseImageEnv().reset(seed=3)[0]
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], m.predict(obs, deterministic=True)[0])
    loaded.learn(30)  # and it keeps training (fresh replay: 20 learning_starts, then 10 updates)
    assert loaded._n_updates == m._n_updates + 10


def test_clear_errors():
    with pytest.raises(ValueError, match="expected strategy one of"):
        model("nope")

    class FlatEnv(NoiseImageEnv):
        observation_space = gym.spaces.Box(-1.0, 1.0, (5,), np.float32)

    with pytest.raises(ValueError, match=r"Box uint8 \(C, H, W\)"):
        AugmentedSAC("MlpPolicy", FlatEnv(), strategy="drq")
    with pytest.raises(TypeError, match="stable_baselines3.SAC"):
        SB3ActorCritic(object())
    for bad, message in [({"policy_kwargs": {**SMALL, "n_critics": 3}}, "n_critics=3"),
                         ({"use_sde": True}, "use_sde"),
                         ({"policy_kwargs": {**SMALL, "share_features_extractor": True}}, "share_features_extractor")]:
        kwargs = {"policy_kwargs": dict(SMALL), **bad}  # a copy: SB3 adds use_sde to it, polluting SMALL
        with pytest.raises(ValueError, match=message):
            AugmentedSAC("CnnPolicy", NoiseImageEnv(), strategy="drq", buffer_size=50, **kwargs)


def test_train_builds_the_batch_from_sb3_replay_with_n_step_discounts(monkeypatch):
    m = model("none", n_steps=3)
    m.learn(25)  # fills the replay past learning_starts
    seen = {}

    def spy(agent, batch, step):
        seen["batch"], seen["step"] = batch, step
        return {}

    monkeypatch.setattr(m.strategy, "update", spy)
    torch.manual_seed(0)
    np.random.seed(0)
    m.train(gradient_steps=1, batch_size=8)
    np.random.seed(0)
    data = m.replay_buffer.sample(8)  # the same draw (SB3 samples indices with numpy)
    batch = seen["batch"]
    assert batch.obs.dtype == torch.uint8 and torch.equal(batch.obs, data.observations)
    torch.testing.assert_close(batch.discount, (1 - data.dones) * data.discounts)
    torch.testing.assert_close(batch.reward, data.rewards)
    assert seen["step"] == m._n_updates
