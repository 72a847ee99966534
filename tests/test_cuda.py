"""The CUDA path (`pytest -m cuda`): every augmentation op, both agents with every strategy, and exact resume,
on `device=cuda`, equal to the CPU result where the arithmetic is the same.

Skipped where no GPU is (every CPU machine and CI); `benchmarks/device.sh` runs them on the GPU machine.
`RL_AUG_TEST_DEVICE=cpu` runs the same checks with the CPU standing in for the GPU (the device script's dry run).
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from rl_aug.agents.config import compose
from rl_aug.agents.drqv2 import DrQV2
from rl_aug.agents.sac import SAC
from rl_aug.agents.train import Trainer
from test_strategies_agents import OBS, SMALL, changed, make_batch, small_options, snapshot
from test_train import _metrics, overrides, point_env

from rl_aug import augment
from rl_aug.strategies import Batch, available, make

CUDA = torch.device(os.environ.get("RL_AUG_TEST_DEVICE", "cuda"))
pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(CUDA.type == "cuda" and not torch.cuda.is_available(),
                                 reason="needs a CUDA GPU (run by benchmarks/device.sh)")]
# ops whose arithmetic is integer indexing or filling: bit-equal on both devices
EXACT = ("shift", "crop", "center_crop", "cutout", "none", "identity")


@pytest.fixture(autouse=True)
def deterministic_cuda():
    """cuDNN picks non-deterministic convolution kernels unless told (exact resume needs the same bits), and
    runs fp32 convolutions in TF32 by default (seen on an H200: encoder features 2.5e-4 off the CPU's)."""
    before = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, torch.backends.cudnn.allow_tf32 = before


def images(n: int = 16, side: int = 100, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 9, side, side), generator=g, dtype=torch.uint8)


@pytest.mark.parametrize("name", sorted(augment.registered()))
def test_every_augmentation_matches_the_cpu_result(name):
    """Same CPU generator seed on both devices: the same parameters are drawn, so the same images come out.

    conv runs in fp32 on both: its default CPU path is bf16 (see conv_with_kernels), which on an H200 gave up
    to 2 grey levels, mean 0.11, against the GPU's fp32 default, the bf16 rounding and nothing else."""
    op = augment.parse("conv(precision='fp32')" if name == "conv" else name)
    x = images()
    cpu = op(x, generator=torch.Generator().manual_seed(7))
    gpu = op(x.to(CUDA), generator=torch.Generator().manual_seed(7))
    assert gpu.device.type == CUDA.type and gpu.dtype == x.dtype and gpu.shape == cpu.shape
    diff = (gpu.cpu().float() - cpu.float()).abs()
    if name in EXACT:
        assert torch.equal(gpu.cpu(), cpu), f"{name}: max diff {diff.max().item()}"
    else:  # float arithmetic (conv, rotate, jitter, noise): rounding may differ by one grey level
        assert diff.max().item() <= 2 and diff.mean().item() < 0.05, (name, diff.max().item(), diff.mean().item())


def test_augmentations_draw_on_a_cuda_generator():
    """A generator on the GPU (what a strategy on device=cuda makes) works for every op and is reproducible."""
    x = images().to(CUDA)
    for name in sorted(augment.registered()):
        op = augment.parse(name)
        a = op(x, generator=torch.Generator(device=CUDA).manual_seed(3))
        b = op(x, generator=torch.Generator(device=CUDA).manual_seed(3))
        assert a.device.type == CUDA.type and torch.equal(a, b), name


@pytest.mark.parametrize("agent_cls", [SAC, DrQV2], ids=["sac", "drqv2"])
def test_agent_pieces_match_the_cpu_result(agent_cls):
    """Deterministic pieces (features, Q values, critic loss, eval action) in fp32 on both devices."""
    torch.manual_seed(0)
    cpu = agent_cls(OBS, 2, **SMALL, precision="fp32")
    gpu = agent_cls(OBS, 2, **SMALL, precision="fp32", device=CUDA)
    gpu.load_state_dict(copy.deepcopy(cpu.state_dict()))
    batch = make_batch(0)
    target = torch.randn(batch.reward.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        h_cpu, h_gpu = cpu.encode(batch.obs), gpu.encode(batch.obs.to(CUDA))
        torch.testing.assert_close(h_gpu.cpu(), h_cpu, rtol=1e-4, atol=1e-4)
        loss_cpu, _, _ = cpu.critic_loss(batch.obs, batch.action, target)
        loss_gpu, _, _ = gpu.critic_loss(batch.obs.to(CUDA), batch.action.to(CUDA), target.to(CUDA))
        torch.testing.assert_close(loss_gpu.cpu(), loss_cpu, rtol=1e-4, atol=1e-5)
    obs = batch.obs[0].numpy()
    np.testing.assert_allclose(gpu.act(obs, step=10**6, eval_mode=True), cpu.act(obs, step=10**6, eval_mode=True),
                               rtol=1e-4, atol=1e-5)


def to_device(batch: Batch, device: torch.device) -> Batch:
    return Batch(**{k: v.to(device) for k, v in vars(batch).items() if v is not None})


@pytest.mark.parametrize("agent_cls", [SAC, DrQV2], ids=["sac", "drqv2"])
@pytest.mark.parametrize("name", available())
@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_every_strategy_updates_on_cuda(agent_cls, name, precision):
    torch.manual_seed(0)
    agent = agent_cls(OBS, 2, **SMALL, precision=precision, device=CUDA)
    strategy = make(name, **small_options(name))
    strategy.attach(agent)
    encoder0, critic0, actor0 = snapshot(agent.encoder), snapshot(agent.critic), snapshot(agent.actor)
    batch = to_device(make_batch(0), CUDA)
    metrics = strategy.update(agent, batch, step=0)
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    assert changed(encoder0, agent.encoder) and changed(critic0, agent.critic) and changed(actor0, agent.actor)
    assert all(p.device.type == CUDA.type for p in agent.encoder.parameters())


@pytest.mark.parametrize("agent,strategy", [("sac", "drq"), ("drqv2", "rad"), ("sac", "soda")])
def test_resume_on_cuda_matches_an_uninterrupted_run(tmp_path: Path, agent, strategy):
    def run(prefix: Path, until: int | None, *extra: str) -> None:
        t = Trainer(compose(overrides(prefix, agent, strategy, f"device={CUDA.type}", *extra)), env_factory=point_env)
        t.run(until_frames=until)
        t.close()

    run(tmp_path / "a", None)
    run(tmp_path / "b", 18)
    torch.manual_seed(999)
    if CUDA.type == "cuda":
        torch.cuda.manual_seed_all(999)  # disturb the CUDA stream too: the checkpoint must restore it
    run(tmp_path / "b", None, "resume=true")
    train_a, eval_a = _metrics(tmp_path / "a" / "run")
    train_b, eval_b = _metrics(tmp_path / "b" / "run")
    assert len(train_a) == 6 and train_a == train_b and eval_a == eval_b
