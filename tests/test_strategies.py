"""Strategies against a tiny fake agent: losses equal closed forms on a fixed batch with fixed augmentations,
gradients flow where they should, and the update schedule, checkpoints and errors behave."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, TanhTransform, TransformedDistribution

from rl_aug.strategies import (
    SODA,
    SVEA,
    ActorKL,
    Batch,
    DrQ,
    NoAug,
    TangentProp,
    available,
    compose,
    make,
    one_pixel_tangent,
    policy_kl,
)
from rl_aug.strategies.soda import soda_loss

C, H, W, A, N, FEAT = 3, 8, 8, 2, 4, 6


class FakeAgent:
    """Speaks the ActorCritic protocol with small layers; deterministic targets and actor loss; SGD steps.

    Records what each protocol call saw, which parameters each `optimize` gave gradients to, and each loss.
    """

    def __init__(self, linear: bool = False, squashed: bool = False, critic_lr: float = 0.05,
                 actor_update_every: int = 1, target_update_every: int = 1, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.device = torch.device("cpu")
        self.obs_shape = (C, H, W)
        self.actor_update_every, self.target_update_every = actor_update_every, target_update_every
        if linear:
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(C * H * W, FEAT))
        else:
            self.encoder = nn.Sequential(nn.Conv2d(C, 2, 3, stride=2), nn.ReLU(), nn.Flatten(),
                                         nn.Linear(2 * 3 * 3, FEAT))
        self.q1, self.q2 = nn.Linear(FEAT + A, 1), nn.Linear(FEAT + A, 1)
        self.target_q1, self.target_q2 = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        self.actor = nn.Linear(FEAT, 2 * A)
        self.squashed = squashed
        self.critic_opt = torch.optim.SGD([*self.encoder.parameters(), *self.q1.parameters(),
                                           *self.q2.parameters()], lr=critic_lr)
        self.actor_opt = torch.optim.SGD(self.actor.parameters(), lr=0.05)
        self.seen: dict[str, list[torch.Tensor]] = {"td_target": [], "critic_loss": [], "actor_loss": [],
                                                     "q_values": []}
        self.losses: dict[str, list[float]] = {"critic": [], "actor": []}
        self.grad_params: dict[str, set[str]] = {}
        self.policy_grad_enabled: list[bool] = []
        self.target_updates = 0

    def named(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "q1": self.q1, "q2": self.q2, "actor": self.actor}

    def encode(self, obs, encoder=None):
        return (self.encoder if encoder is None else encoder)(obs.float() / 255.0)

    def _q(self, h, action, target=False):
        x = torch.cat([h, action], dim=-1)
        return (self.target_q1(x), self.target_q2(x)) if target else (self.q1(x), self.q2(x))

    def _dist(self, h):
        mu, log_std = self.actor(h).chunk(2, dim=-1)
        base = Normal(mu, log_std.clamp(-2, 1).exp())
        return TransformedDistribution(base, [TanhTransform()]) if self.squashed else base

    def td_target(self, reward, next_obs, discount, step):
        self.seen["td_target"].append(next_obs.clone())
        with torch.no_grad():
            h = self.encode(next_obs)
            mu = self.actor(h).chunk(2, dim=-1)[0]
            tq1, tq2 = self._q(h, torch.tanh(mu), target=True)
            return reward + discount * torch.min(tq1, tq2)

    def q_values(self, obs, action):
        self.seen["q_values"].append(obs.detach().clone())
        return self._q(self.encode(obs), action)

    def critic_loss(self, obs, action, target):
        self.seen["critic_loss"].append(obs.clone())
        q1, q2 = self._q(self.encode(obs), action)
        loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        return loss, {"critic_loss": loss.item()}, None

    def policy(self, obs, step):
        self.policy_grad_enabled.append(torch.is_grad_enabled())
        with torch.no_grad():
            h = self.encode(obs)
        return self._dist(h)

    def actor_loss(self, obs, step, features=None):
        self.seen["actor_loss"].append(obs.clone())
        with torch.no_grad():
            h = self.encode(obs)
        mu = self.actor(h).chunk(2, dim=-1)[0]
        q1, q2 = self._q(h, torch.tanh(mu))
        loss = -torch.min(q1, q2).mean()
        return loss, {"actor_loss": loss.item()}

    def optimize(self, loss, which):
        for module in self.named().values():
            module.zero_grad(set_to_none=True)
        loss.backward()
        self.grad_params[which] = {
            f"{k}.{n}" for k, m in self.named().items() for n, p in m.named_parameters()
            if p.grad is not None and bool(p.grad.abs().sum() > 0)
        }
        self.losses[which].append(loss.item())
        (self.critic_opt if which == "critic" else self.actor_opt).step()

    def update_targets(self):
        self.target_updates += 1
        with torch.no_grad():
            for t, s in [(self.target_q1, self.q1), (self.target_q2, self.q2)]:
                for pt, ps in zip(t.parameters(), s.parameters()):
                    pt.lerp_(ps, 0.5)


def make_batch(seed: int = 0, n: int = N) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randint(0, 256, (n, C, H, W), generator=g, dtype=torch.uint8),
        action=torch.rand((n, A), generator=g) * 2 - 1,
        reward=torch.rand((n, 1), generator=g),
        discount=torch.full((n, 1), 0.99),
        next_obs=torch.randint(0, 256, (n, C, H, W), generator=g, dtype=torch.uint8),
    )


def row_shift(offsets: list[tuple[int, int]]):
    """A fixed 'random' shift: row r rolled by offsets[r % len(offsets)] (deterministic augmentation)."""

    def aug(x):
        return torch.stack([torch.roll(x[r], shifts=offsets[r % len(offsets)], dims=(-2, -1))
                            for r in range(x.shape[0])])

    return aug


def invert(x):
    return 255 - x


OFFSETS_2N = [(1, 0), (0, 1), (-1, 0), (0, -1), (2, 1), (1, 2), (-2, 0), (0, -2)]


def mse_pair(agent, obs, action, y):
    q1, q2 = agent._q(agent.encode(obs), action)
    return F.mse_loss(q1, y) + F.mse_loss(q2, y)


def actor_ref(agent, obs):
    h = agent.encode(obs)
    mu = agent.actor(h).chunk(2, dim=-1)[0]
    return -torch.min(*agent._q(h, torch.tanh(mu))).mean()


# ---------------------------------------------------------------------------------------------- closed forms
def test_noaug_losses_are_the_plain_update():
    agent, batch = FakeAgent(), make_batch()
    ref = copy.deepcopy(agent)
    strategy = NoAug(seed=0)
    strategy.attach(agent)
    strategy.update(agent, batch, step=0)
    with torch.no_grad():
        y = batch.reward + batch.discount * torch.min(*ref._q(ref.encode(batch.next_obs),
                                                              torch.tanh(ref.actor(ref.encode(batch.next_obs))
                                                                         .chunk(2, -1)[0]), target=True))
        expected_critic = mse_pair(ref, batch.obs, batch.action, y)
    assert agent.losses["critic"][0] == pytest.approx(expected_critic.item(), rel=1e-6)
    assert torch.equal(agent.seen["td_target"][0], batch.next_obs)
    assert torch.equal(agent.seen["actor_loss"][0], batch.obs)


def test_drq_target_averages_k_views_and_critic_averages_m_views():
    agent, batch = FakeAgent(), make_batch()
    ref = copy.deepcopy(agent)
    aug = row_shift(OFFSETS_2N)
    strategy = DrQ(aug=aug, K=2, M=2, seed=0)
    strategy.attach(agent)
    strategy.update(agent, batch, step=0)

    next_views = aug(torch.cat([batch.next_obs, batch.next_obs]))
    obs_views = aug(torch.cat([batch.obs, batch.obs]))
    with torch.no_grad():
        targets = [ref.td_target(batch.reward, next_views[k * N:(k + 1) * N], batch.discount, 0) for k in range(2)]
        y = (targets[0] + targets[1]) / 2
        # the two target copies really differ, so the average is exercised
        assert not torch.allclose(targets[0], targets[1])
        expected = 0.5 * mse_pair(ref, obs_views[:N], batch.action, y) + 0.5 * mse_pair(ref, obs_views[N:],
                                                                                          batch.action, y)
    assert agent.losses["critic"][0] == pytest.approx(expected.item(), rel=1e-5)
    # one fused call per part: K*N next observations to the target, M*N observations to the critic
    assert agent.seen["td_target"][0].shape[0] == 2 * N and agent.seen["critic_loss"][0].shape[0] == 2 * N
    # the actor sees the first augmented view, after the critic step
    assert torch.equal(agent.seen["actor_loss"][0], obs_views[:N])


def test_critic_loss_is_the_loss_update_optimizes_and_steps_nothing():
    agent, batch = FakeAgent(), make_batch()
    strategy = DrQ(aug="shift(pad=1)", K=2, M=2, seed=0)
    with pytest.raises(RuntimeError, match="attach"):
        strategy.critic_loss(agent, batch, step=0)
    strategy.attach(agent)
    params = [p.detach().clone() for m in agent.named().values() for p in m.parameters()]
    strategy.generator.manual_seed(1)
    loss, metrics, _ = strategy.critic_loss(agent, batch, step=0)
    after = [p.detach() for m in agent.named().values() for p in m.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(params, after)) and not agent.losses["critic"]
    strategy.generator.manual_seed(1)  # the same views: update draws them from the generator in the same order
    strategy.update(agent, batch, step=0)
    assert agent.losses["critic"][0] == loss.item() == metrics["critic_total_loss"]


def test_drq_actor_loss_uses_post_critic_networks_on_first_view():
    agent, batch = FakeAgent(), make_batch(1)
    aug = row_shift(OFFSETS_2N[:N])
    strategy = DrQ(aug=aug, K=1, M=1, seed=0)
    strategy.attach(agent)
    # replay the update by hand: critic step first, then the actor loss on the same augmented obs
    ref = copy.deepcopy(agent)
    strategy.update(agent, batch, step=0)
    with torch.no_grad():
        y = ref.td_target(batch.reward, aug(batch.next_obs), batch.discount, 0)
    ref.optimize(mse_pair(ref, aug(batch.obs), batch.action, y), "critic")
    assert agent.losses["actor"][0] == pytest.approx(actor_ref(ref, aug(batch.obs)).item(), rel=1e-5)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.9)])
def test_svea_critic_is_weighted_clean_plus_strong(alpha, beta):
    agent, batch = FakeAgent(), make_batch(2)
    ref = copy.deepcopy(agent)
    weak = row_shift(OFFSETS_2N[:N])
    strategy = SVEA(weak=weak, strong=invert, alpha=alpha, beta=beta, seed=0)
    strategy.attach(agent)
    strategy.update(agent, batch, step=0)
    with torch.no_grad():
        y = ref.td_target(batch.reward, weak(batch.next_obs), batch.discount, 0)
        clean, strong = weak(batch.obs), invert(weak(batch.obs))
        expected = alpha * mse_pair(ref, clean, batch.action, y) + beta * mse_pair(ref, strong, batch.action, y)
    assert agent.losses["critic"][0] == pytest.approx(expected.item(), rel=1e-5)
    # alpha == beta: one concatenated 2N batch; otherwise two N batches
    sizes = [o.shape[0] for o in agent.seen["critic_loss"]]
    assert sizes == ([2 * N] if alpha == beta else [N, N])
    assert torch.equal(agent.seen["actor_loss"][0], clean)


def test_svea_targets_never_see_the_strong_augmentation():
    agent, batch = FakeAgent(), make_batch(3)
    strong_inputs: list[torch.Tensor] = []

    def spy_strong(x):
        strong_inputs.append(x.clone())
        return 255 - x

    weak = row_shift(OFFSETS_2N[:N])
    strategy = SVEA(weak=weak, strong=spy_strong, seed=0)
    strategy.attach(agent)
    for step in range(3):
        strategy.update(agent, batch, step)
    assert len(strong_inputs) == 3
    for seen in agent.seen["td_target"]:
        assert torch.equal(seen, weak(batch.next_obs))
        assert not torch.equal(seen, invert(weak(batch.next_obs)))
    # the strong augmentation only ever got the weakly shifted obs, never next_obs
    for x in strong_inputs:
        assert torch.equal(x, weak(batch.obs))


# ---------------------------------------------------------------------------------------------- tangent prop
def test_one_pixel_tangent_each_direction():
    x = torch.arange(9, dtype=torch.float32).view(1, 1, 3, 3).repeat(4, 1, 1, 1)
    t = one_pixel_tangent(x, torch.tensor([0, 1, 2, 3]))
    # [[0,1,2],[3,4,5],[6,7,8]]; left: out[i,j] = x[i,j+1] (replicate at the right edge)
    assert torch.equal(t[0, 0], torch.tensor([[1.0, 1, 0], [1, 1, 0], [1, 1, 0]]))
    assert torch.equal(t[1, 0], torch.tensor([[0.0, -1, -1], [0, -1, -1], [0, -1, -1]]))
    assert torch.equal(t[2, 0], torch.tensor([[3.0, 3, 3], [3, 3, 3], [0, 0, 0]]))
    assert torch.equal(t[3, 0], torch.tensor([[0.0, 0, 0], [-3, -3, -3], [-3, -3, -3]]))


@pytest.mark.parametrize("m", [1, 2])
def test_tangent_prop_penalty_matches_linear_closed_form(m):
    """With a linear encoder and critic, dQ/dx is a constant vector u/255 per head: the penalty is explicit."""
    agent, batch = FakeAgent(linear=True), make_batch(4)
    ref = copy.deepcopy(agent)
    aug = row_shift(OFFSETS_2N[: m * N])
    strategy = DrQ(aug=aug, K=1, M=m, regularizers=[TangentProp(weight=0.1, directions=(0,))], seed=0)
    strategy.attach(agent)
    metrics = strategy.update(agent, batch, step=0)

    views = aug(torch.cat([batch.obs] * m)).float()
    w_enc = ref.encoder[1].weight  # (FEAT, C*H*W)
    u1 = (ref.q1.weight[0, :FEAT] @ w_enc) / 255.0
    u2 = (ref.q2.weight[0, :FEAT] @ w_enc) / 255.0
    with torch.no_grad():
        y = ref.td_target(batch.reward, aug(batch.next_obs), batch.discount, 0)
        actions = torch.cat([batch.action] * m)
        q1, q2 = ref._q(ref.encode(views), actions)
        u = torch.where((q1 <= q2), u1.expand(m * N, -1), u2.expand(m * N, -1))
        tangent = one_pixel_tangent(views, torch.zeros(m * N, dtype=torch.long)).flatten(1)
        penalty = m * ((u * tangent).sum(1) ** 2).mean()
        critic = F.mse_loss(q1, torch.cat([y] * m)) + F.mse_loss(q2, torch.cat([y] * m))
    assert metrics["tangent_prop"] == pytest.approx(penalty.item(), rel=1e-4)
    assert agent.losses["critic"][0] == pytest.approx((critic + 0.1 * penalty).item(), rel=1e-4)
    assert penalty.item() > 1e-3  # the check is not vacuous


def test_tangent_prop_gradient_goes_through_the_jacobian():
    """The update equals an SGD step on L + w * penalty computed by explicit double backprop."""
    agent, batch = FakeAgent(), make_batch(5)
    ref = copy.deepcopy(agent)
    strategy = NoAug(regularizers=[TangentProp(weight=0.5, directions=(2,))], seed=0)
    strategy.attach(agent)
    strategy.update(agent, batch, step=1)  # step 1 with actor_update_every=1 still updates the actor; fine

    with torch.no_grad():
        y = ref.td_target(batch.reward, batch.next_obs, batch.discount, 1)
    x = batch.obs.float().requires_grad_(True)
    q1, q2 = ref._q(ref.encode(x), batch.action)
    (jac,) = torch.autograd.grad(torch.min(q1, q2).sum(), x, create_graph=True)
    t = one_pixel_tangent(x.detach(), torch.full((N,), 2))
    total = F.mse_loss(q1, y) + F.mse_loss(q2, y) + 0.5 * ((jac * t).flatten(1).sum(1) ** 2).mean()
    ref.optimize(total, "critic")
    assert agent.losses["critic"][0] == pytest.approx(total.item(), rel=1e-5)
    for (name, p), p_ref in zip(agent.encoder.named_parameters(), ref.encoder.parameters()):
        assert torch.allclose(p, p_ref, atol=1e-6), name


# ---------------------------------------------------------------------------------------------- actor KL
def test_policy_kl_closed_forms():
    mu1, mu2 = torch.tensor([[0.1, -0.3]]), torch.tensor([[0.4, 0.2]])
    s1, s2 = torch.tensor([[0.5, 1.0]]), torch.tensor([[0.7, 0.6]])
    closed = (torch.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5).mean()
    assert policy_kl(Normal(mu1, s1), Normal(mu2, s2)).item() == pytest.approx(closed.item(), rel=1e-6)
    # squashed Gaussians: the KL of the pre-tanh Normals (tanh is a shared bijection)
    sq1 = TransformedDistribution(Normal(mu1, s1), [TanhTransform()])
    sq2 = TransformedDistribution(Normal(mu2, s2), [TanhTransform()])
    assert policy_kl(sq1, sq2).item() == pytest.approx(closed.item(), rel=1e-6)
    # fixed std (DrQ-v2): (mu1 - mu2)^2 / (2 sigma^2), averaged over action dims
    sigma = torch.full_like(mu1, 0.3)
    expected = ((mu1 - mu2) ** 2 / (2 * 0.09)).mean()
    assert policy_kl(Normal(mu1, sigma), Normal(mu2, sigma)).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("squashed", [False, True])
def test_actor_kl_added_to_actor_loss_with_first_view_frozen(squashed):
    agent, batch = FakeAgent(squashed=squashed, critic_lr=0.0), make_batch(6)
    first, second = row_shift(OFFSETS_2N[:N]), row_shift(OFFSETS_2N[N:])
    strategy = DrQ(aug=first, K=1, M=1, regularizers=[ActorKL(weight=0.1, aug=second)], seed=0)
    strategy.attach(agent)
    ref = copy.deepcopy(agent)  # critic lr 0: the critic step changes nothing the actor loss reads
    metrics = strategy.update(agent, batch, step=0)
    with torch.no_grad():
        mu1, ls1 = ref.actor(ref.encode(first(batch.obs))).chunk(2, -1)
        mu2, ls2 = ref.actor(ref.encode(second(batch.obs))).chunk(2, -1)
        s1, s2 = ls1.clamp(-2, 1).exp(), ls2.clamp(-2, 1).exp()
        kl = (torch.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5).mean()
        expected = actor_ref(ref, first(batch.obs)) + 0.1 * kl
    assert kl.item() > 1e-4
    assert metrics["actor_kl"] == pytest.approx(kl.item(), rel=1e-5)
    assert agent.losses["actor"][0] == pytest.approx(expected.item(), rel=1e-5)
    # pi(.|x1) was built without grad, pi(.|x2) with grad
    assert agent.policy_grad_enabled == [False, True]


def test_actor_kl_gradient_reaches_the_actor_only_through_the_second_view():
    agent, batch = FakeAgent(critic_lr=0.0), make_batch(7)
    first, second = row_shift(OFFSETS_2N[:N]), row_shift(OFFSETS_2N[N:])
    ref = copy.deepcopy(agent)
    strategy = DrQ(aug=first, K=1, M=1, regularizers=[ActorKL(weight=1.0, aug=second)], seed=0)
    strategy.attach(agent)
    strategy.update(agent, batch, step=0)
    # reference: the same loss with the first branch detached by hand
    with torch.no_grad():
        p = ref._dist(ref.encode(first(batch.obs)))
    q = ref._dist(ref.encode(second(batch.obs)).detach())
    loss = actor_ref(ref, first(batch.obs)) + torch.distributions.kl_divergence(p, q).mean()
    ref.optimize(loss, "actor")
    for p_new, p_ref in zip(agent.actor.parameters(), ref.actor.parameters()):
        assert torch.allclose(p_new, p_ref, atol=1e-6)
    assert "encoder.0.weight" not in agent.grad_params["actor"]


def test_actor_kl_refuses_a_strategy_with_a_single_view():
    with pytest.raises(ValueError, match="two different views"):
        NoAug(regularizers=[ActorKL()]).attach(FakeAgent())


# ---------------------------------------------------------------------------------------------- SODA
def soda_strategy(**kw) -> SODA:
    weak = kw.pop("weak", row_shift(OFFSETS_2N))
    return SODA(weak=weak, strong=kw.pop("strong", invert), aux_batch=kw.pop("aux_batch", 2 * N),
                projection_dim=8, seed=0, **kw)


def test_soda_attach_copies_the_encoder_and_never_reinitialises_it():
    agent = FakeAgent()
    before = copy.deepcopy(agent.encoder.state_dict())
    strategy = soda_strategy()
    strategy.attach(agent)
    for k, v in agent.encoder.state_dict().items():
        assert torch.equal(v, before[k])
        assert torch.equal(strategy.target_encoder.state_dict()[k], v)
    assert strategy.projection[0].in_features == FEAT  # sized from agent.encode on agent.obs_shape
    opt_params = {id(p) for g in strategy.optimizer.param_groups for p in g["params"]}
    assert all(id(p) in opt_params for p in agent.encoder.parameters())


def test_soda_aux_loss_matches_closed_form():
    agent, batch = FakeAgent(), make_batch(8)
    strategy = soda_strategy()
    strategy.attach(agent)
    x = strategy.aux_images(batch)
    assert torch.equal(x, torch.cat([batch.obs, batch.next_obs]))  # no aux_obs: obs and next_obs
    weak = row_shift(OFFSETS_2N)(torch.cat([x, x]))
    loss = strategy.aux_loss(agent, x)
    with torch.no_grad():
        online = strategy.predictor(strategy.projection(agent.encode(255 - weak[: 2 * N])))
        target = strategy.target_projection(strategy.target_encoder(weak[2 * N:].float() / 255.0))
        expected = ((online / online.norm(dim=1, keepdim=True) - target / target.norm(dim=1, keepdim=True)) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert soda_loss(online, online).item() == pytest.approx(0.0, abs=1e-7)


def test_soda_target_branch_reads_the_ema_encoder_and_projection_not_the_online_ones():
    """After some aux steps the online encoder / projection have moved away from their EMA copies (tau 0.005): the
    loss must equal the closed form through target_encoder and target_projection (DMC-GB soda.py: the target view
    goes through the SODA target encoder and its projection), and differ from one using either online module."""
    agent, batch = FakeAgent(critic_lr=0.0), make_batch(11)
    strategy = soda_strategy(aux_lr=0.05)
    strategy.attach(agent)
    for _ in range(3):
        strategy.after_update(agent, batch, step=2)
    gap = max((t - p).abs().max().item() for t, p in zip(strategy.target_projection.parameters(),
                                                         strategy.projection.parameters()))
    assert gap > 0.05  # the weights have diverged
    x = strategy.aux_images(batch)
    weak = row_shift(OFFSETS_2N)(torch.cat([x, x]))
    loss = strategy.aux_loss(agent, x).item()

    def closed_form(encoder, projection):
        with torch.no_grad():
            online = strategy.predictor(strategy.projection(agent.encode(255 - weak[: 2 * N])))
            target = projection(encoder(weak[2 * N:].float() / 255.0))
            return ((F.normalize(online, dim=1) - F.normalize(target, dim=1)) ** 2).mean().item()

    expected = closed_form(strategy.target_encoder, strategy.target_projection)
    assert loss == pytest.approx(expected, rel=1e-5)
    for wrong in (closed_form(strategy.target_encoder, strategy.projection),
                  closed_form(agent.encoder, strategy.target_projection)):
        assert abs(wrong - expected) > 100 * 1e-5 * abs(expected)


def test_soda_aux_trains_the_encoder_every_aux_every_and_rl_sees_weak_views_only():
    agent = FakeAgent(critic_lr=0.0, actor_update_every=1)  # only the aux loss can move the encoder
    batch = make_batch(9)
    strong_sizes: list[int] = []

    def spy_strong(x):
        strong_sizes.append(x.shape[0])
        return 255 - x

    strategy = soda_strategy(strong=spy_strong, aux_every=2, tau=0.25)
    strategy.attach(agent)
    enc0 = [p.detach().clone() for p in agent.encoder.parameters()]
    target0 = [p.detach().clone() for p in strategy.target_encoder.parameters()]

    m1 = strategy.update(agent, batch, step=1)  # no aux at odd steps
    assert "soda_loss" not in m1 and strong_sizes == []
    assert all(torch.equal(a, b) for a, b in zip(enc0, agent.encoder.parameters()))
    assert "encoder.0.weight" not in agent.grad_params["actor"]  # the actor loss never reaches the encoder

    m2 = strategy.update(agent, batch, step=2)
    assert "soda_loss" in m2 and strong_sizes == [2 * N]
    assert any(not torch.equal(a, b) for a, b in zip(enc0, agent.encoder.parameters()))
    # EMA: target <- 0.75 * target + 0.25 * online
    for t0, t, p in zip(target0, strategy.target_encoder.parameters(), agent.encoder.parameters()):
        assert torch.allclose(t, 0.75 * t0 + 0.25 * p.detach(), atol=1e-6)
    # the RL losses saw weak views only (the strong op saw only aux images)
    for seen in agent.seen["critic_loss"] + agent.seen["actor_loss"]:
        assert torch.equal(seen, row_shift(OFFSETS_2N)(batch.obs))
    for seen in agent.seen["td_target"]:
        assert torch.equal(seen, row_shift(OFFSETS_2N)(batch.next_obs))


def test_soda_uses_aux_obs_when_given():
    agent = FakeAgent()
    batch = make_batch(10)
    g = torch.Generator().manual_seed(1)
    batch.aux_obs = torch.randint(0, 256, (3 * N, C, H, W), generator=g, dtype=torch.uint8)
    strategy = soda_strategy(weak=None, aux_batch=2 * N)
    strategy.attach(agent)
    assert torch.equal(strategy.aux_images(batch), batch.aux_obs[: 2 * N])


def test_soda_refuses_an_encode_that_cannot_run_other_weights():
    """SODA's EMA target runs through `agent.encode(obs, encoder=target)`: an encode without that argument
    (it could only run the online encoder) is refused by name when SODA attaches, before any update."""
    class Bypass(FakeAgent):
        def encode(self, obs):
            return self.__dict__["_frozen"](obs.float() / 255.0)

    agent = Bypass()
    agent._frozen = agent.encoder
    strategy = soda_strategy(feature_dim=FEAT)
    with pytest.raises(TypeError, match="run self.encoder"):
        strategy.attach(agent)


def test_soda_target_features_come_from_the_ema_encoder_through_encode():
    agent = FakeAgent()
    strategy = soda_strategy()
    strategy.attach(agent)
    calls: list[object] = []
    encode = agent.encode
    agent.encode = lambda obs, encoder=None: (calls.append(encoder), encode(obs, encoder))[1]
    strategy.update(agent, make_batch(11), step=0)
    assert calls[-2:] == [None, strategy.target_encoder]  # online view, then the EMA target's


# ---------------------------------------------------------------------------------------------- schedule
def test_actor_and_targets_follow_the_agent_schedule():
    agent = FakeAgent(actor_update_every=2, target_update_every=3)
    strategy = NoAug(seed=0)
    strategy.attach(agent)
    batch = make_batch(12)
    for step in range(1, 7):
        strategy.update(agent, batch, step)
    assert len(agent.losses["critic"]) == 6
    assert len(agent.losses["actor"]) == 3  # steps 2, 4, 6
    assert agent.target_updates == 2  # steps 3, 6


# ---------------------------------------------------------------------------------------------- checkpoints
def random_roll(x, generator=None):
    """A generator-driven augmentation: per-sample integer roll, so the generator state matters."""
    shifts = torch.randint(-2, 3, (x.shape[0], 2), generator=generator)
    return torch.stack([torch.roll(x[i], shifts=tuple(shifts[i].tolist()), dims=(-2, -1)) for i in range(x.shape[0])])


def test_soda_state_dict_round_trip_resumes_identically():
    agent, batch = FakeAgent(actor_update_every=1), make_batch(13)
    strategy = SODA(weak=random_roll, strong=invert, aux_every=1, aux_batch=2 * N, projection_dim=8, seed=3)
    strategy.attach(agent)
    for step in range(2):
        strategy.update(agent, batch, step)
    state = copy.deepcopy(strategy.state_dict())
    agent_copy = copy.deepcopy(agent)

    resumed = SODA(weak=random_roll, strong=invert, aux_every=1, aux_batch=2 * N, projection_dim=8, seed=99)
    resumed.attach(agent_copy)
    resumed.load_state_dict(state)
    m_a = strategy.update(agent, batch, 2)
    m_b = resumed.update(agent_copy, batch, 2)
    assert m_a == m_b
    for p, q in zip(strategy.projection.parameters(), resumed.projection.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(agent.encoder.parameters(), agent_copy.encoder.parameters()):
        assert torch.equal(p, q)


def test_load_state_dict_of_another_strategy_is_refused():
    agent = FakeAgent()
    a, b = NoAug(seed=0), DrQ(aug=invert, seed=0)
    a.attach(agent)
    b.attach(agent)
    with pytest.raises(ValueError, match="'drq'"):
        a.load_state_dict(b.state_dict())


# ---------------------------------------------------------------------------------------------- errors, registry
def test_missing_protocol_members_are_listed():
    class Partial:
        device = torch.device("cpu")
        actor_update_every = target_update_every = 1

        def td_target(self, *a):
            return None

    with pytest.raises(TypeError) as info:
        make("soda", weak=invert, strong=invert, regularizers=["tangent_prop"]).attach(Partial())
    message = str(info.value)
    for name in ("critic_loss", "actor_loss", "optimize", "update_targets", "encoder", "encode", "q_values"):
        assert name in message
    assert "td_target" not in message.split("lacks")[1]


def test_update_before_attach_is_refused():
    with pytest.raises(RuntimeError, match="attach"):
        NoAug().update(FakeAgent(), make_batch(), 0)


def test_registry_names_and_composition():
    assert available() == ["none", "drq", "rad", "svea", "soda", "tangent_prop", "actor_kl"]
    s = make("svea", weak=invert, strong=invert, regularizers=["tangent_prop", {"name": "actor_kl", "weight": 0.2}])
    assert isinstance(s, SVEA) and [r.name for r in s.regularizers] == ["tangent_prop", "actor_kl"]
    assert s.regularizers[1].weight == 0.2
    t = make("tangent_prop", weight=0.3, base_kwargs={"aug": invert})
    assert isinstance(t, DrQ) and (t.K, t.M) == (2, 2) and t.regularizers[0].weight == 0.3
    c = compose(NoAug(), TangentProp())
    assert [r.name for r in c.regularizers] == ["tangent_prop"]
    with pytest.raises(ValueError, match="once"):
        compose(c, "tangent_prop")
    with pytest.raises(ValueError, match="unknown strategy"):
        make("curl")
    with pytest.raises(TypeError, match="unknown options"):
        make("drq", aug=invert, k=3)


def test_composed_regularizers_both_act():
    agent, batch = FakeAgent(), make_batch(14)
    strategy = make("svea", weak=row_shift(OFFSETS_2N[:N]), strong=invert,
                    regularizers=["tangent_prop", "actor_kl"], seed=0)
    strategy.attach(agent)
    metrics = strategy.update(agent, batch, step=0)
    assert metrics["tangent_prop"] > 0 and metrics["actor_kl"] >= 0
    assert math.isfinite(metrics["critic_total_loss"]) and math.isfinite(metrics["actor_total_loss"])
    assert metrics["critic_total_loss"] == pytest.approx(agent.losses["critic"][0], rel=1e-6)
