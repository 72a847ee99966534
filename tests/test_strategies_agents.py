"""Every strategy (default options, real augmentations) drives one update of the real agents.SAC and
agents.DrQV2, changing exactly the parameters it should; the strategy configs build and cite sources."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from rl_aug.agents.drqv2 import DrQV2
from rl_aug.agents.sac import SAC

from rl_aug.strategies import SODA, Batch, available, from_config, make

OBS = (9, 20, 20)  # small images: 4-layer encoder still fits (needs >= 15 pixels)
N, A = 8, 2
CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "strategy"
SMALL = {"hidden_dim": 32, "feature_dim": 8, "num_filters": 8}


def small_options(name: str) -> dict:
    """Defaults, except sizes that must fit the 20x20 test images and the 8-row batch."""
    if name == "soda":
        return {"aux_batch": 2 * N}
    return {}


def make_batch(seed: int, side: int = OBS[1]) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randint(0, 256, (N, OBS[0], side, side), generator=g, dtype=torch.uint8),
        action=torch.rand((N, A), generator=g) * 2 - 1,
        reward=torch.rand((N, 1), generator=g),
        discount=torch.full((N, 1), 0.99),
        next_obs=torch.randint(0, 256, (N, OBS[0], side, side), generator=g, dtype=torch.uint8),
    )


def snapshot(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def changed(before: list[torch.Tensor], *modules: torch.nn.Module) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, [p for m in modules for p in m.parameters()]))


@pytest.mark.parametrize("agent_cls", [SAC, DrQV2], ids=["sac", "drqv2"])
@pytest.mark.parametrize("name", available())
def test_one_update_moves_the_right_parameters(agent_cls, name):
    torch.manual_seed(0)
    agent = agent_cls(OBS, A, **SMALL)
    strategy = make(name, **small_options(name))
    strategy.attach(agent)

    # the actor step must never move the encoder: check it at the moment it happens
    actor_moves_encoder: list[bool] = []
    optimize = agent.optimize

    def watched(loss, which):
        before = snapshot(agent.encoder)
        optimize(loss, which)
        if which == "actor":
            actor_moves_encoder.append(changed(before, agent.encoder))

    agent.optimize = watched
    encoder0, critic0 = snapshot(agent.encoder), snapshot(agent.critic)
    actor0, target0 = snapshot(agent.actor), snapshot(agent.critic_target)
    heads0 = snapshot(strategy.projection, strategy.predictor) if isinstance(strategy, SODA) else None

    metrics = strategy.update(agent, make_batch(0), step=0)  # step 0: critic, actor and targets all update

    assert all(math.isfinite(v) for v in metrics.values()), metrics
    assert changed(encoder0, agent.encoder) and changed(critic0, agent.critic)
    assert changed(actor0, agent.actor) and changed(target0, agent.critic_target)
    assert actor_moves_encoder == [False]
    if name == "tangent_prop":
        assert metrics["tangent_prop"] > 0
    if name == "actor_kl":
        assert metrics["actor_kl"] > 0
    if heads0 is not None:
        assert metrics["soda_loss"] > 0 and changed(heads0, strategy.projection, strategy.predictor)


def test_rad_crop_feeds_a_smaller_agent_the_cropped_views():
    """RAD as in the paper: larger images cropped to the agent's input size (here 20 -> 16)."""
    torch.manual_seed(0)
    agent = SAC((OBS[0], 16, 16), A, **SMALL)
    strategy = make("rad", aug="crop(size=16)")
    strategy.attach(agent)
    seen: list[tuple[int, ...]] = []
    td_target = agent.td_target
    agent.td_target = lambda r, x, d, s: (seen.append(tuple(x.shape)), td_target(r, x, d, s))[1]
    metrics = strategy.update(agent, make_batch(3), step=0)
    assert seen == [(N, OBS[0], 16, 16)] and math.isfinite(metrics["critic_loss"])


@pytest.mark.parametrize("agent_cls", [SAC, DrQV2], ids=["sac", "drqv2"])
def test_soda_checkpoint_resumes_identically_on_real_agents(agent_cls, tmp_path):
    torch.manual_seed(1)
    agent = agent_cls(OBS, A, **SMALL, precision="fp32")
    strategy = make("soda", aux_batch=2 * N, aux_every=1, seed=5)
    strategy.attach(agent)
    strategy.update(agent, make_batch(1), step=1)
    torch.save({"agent": agent.state_dict(), "strategy": strategy.state_dict()}, tmp_path / "ckpt.pt")

    state = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    agent2 = agent_cls(OBS, A, **SMALL, precision="fp32")
    strategy2 = make("soda", aux_batch=2 * N, aux_every=1)  # seed differs: the generator state is restored
    strategy2.attach(agent2)
    agent2.load_state_dict(state["agent"])
    strategy2.load_state_dict(state["strategy"])

    batch = make_batch(2)
    torch.manual_seed(3)
    m1 = strategy.update(agent, batch, step=2)
    torch.manual_seed(3)
    m2 = strategy2.update(agent2, batch, step=2)
    assert m1 == m2
    for p, q in zip(agent.encoder.parameters(), agent2.encoder.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_strategy_configs_build_and_cite_every_option(path):
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    strategy = from_config(cfg)
    assert cfg["name"] in available()
    assert type(strategy).__name__  # built
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "name:", "regularizers:", "base:", "base_kwargs:")):
            continue
        assert "#" in line, f"{path.name}: option without a cited source: {line!r}"


def test_every_strategy_name_has_a_config():
    """One config per registered strategy, named after it; other files are variants of a registered strategy
    (svea_overlay.yaml builds svea with another strong augmentation)."""
    files = {p.stem: OmegaConf.load(p).name for p in CONFIG_DIR.glob("*.yaml")}
    assert {stem for stem, name in files.items() if stem == name} == set(available())
    assert {stem: name for stem, name in files.items() if stem != name} == {"svea_overlay": "svea", "svea_auto": "svea"}


@pytest.mark.parametrize("name", ["rad", "drq", "none", "svea", "soda"])
def test_drqv2_actor_reads_the_critic_steps_pre_update_features(name):
    """DrQ-v2 (drqv2.py): the actor update uses encoder(aug(obs)) from before the critic step, detached, under
    every strategy (SVEA's critic batch is cat([weak, strong]): the actor reads the weak half's features)."""
    torch.manual_seed(0)
    agent = DrQV2(OBS, A, **SMALL, precision="fp32", channels_last=False)
    strategy = make(name, seed=3)
    strategy.attach(agent)
    batch = make_batch(0)
    encoder_before = copy.deepcopy(agent.encoder)
    seen_obs: list[torch.Tensor] = []
    critic_loss = agent.critic_loss
    agent.critic_loss = lambda obs, a, y: (seen_obs.append(obs), critic_loss(obs, a, y))[1]
    seen_h: list[torch.Tensor] = []
    actor_forward = agent.actor.forward
    agent.actor.forward = lambda h, std: (seen_h.append(h), actor_forward(h, std))[1]
    strategy.update(agent, batch, step=0)
    actor_h = seen_h[-1]
    n = len(batch)
    with torch.no_grad():
        pre = encoder_before(seen_obs[0][:n].float())
        post = agent.encode(seen_obs[0][:n])
    assert not actor_h.requires_grad
    torch.testing.assert_close(actor_h, pre)
    assert not torch.allclose(actor_h, post)  # the critic step moved the encoder; the actor did not see that
