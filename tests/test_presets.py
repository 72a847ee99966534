"""Per-agent presets: agent=drqv2 gets DrQ-v2's settings as its paper ran them, key by key against a table
written from the reference repository; the command line still wins."""

from __future__ import annotations

import pytest
from rl_aug.agents.config import compose

# DrQ-v2's settings per task, written out from facebookresearch/drqv2 (cfgs/config.yaml, cfgs/agent/drqv2.yaml,
# cfgs/task/{easy,medium}.yaml and cfgs/task/walker_*.yaml): the preset must give exactly these.
DRQV2_EASY, DRQV2_MEDIUM = "linear(1.0,0.1,100000)", "linear(1.0,0.1,500000)"
DRQV2 = {  # task: (stddev schedule, nstep, batch size)
    "cartpole-swingup": (DRQV2_EASY, 3, 256), "ball_in_cup-catch": (DRQV2_EASY, 3, 256),
    "finger-spin": (DRQV2_EASY, 3, 256), "walker-walk": (DRQV2_EASY, 1, 512), "walker-stand": (DRQV2_EASY, 1, 512),
    "walker-run": (DRQV2_MEDIUM, 1, 512), "cheetah-run": (DRQV2_MEDIUM, 3, 256), "reacher-easy": (DRQV2_MEDIUM, 3, 256),
}


@pytest.mark.parametrize("task", sorted(DRQV2))
def test_drqv2_preset_gives_the_papers_settings_on_every_task(task):
    schedule, nstep, batch = DRQV2[task]
    cfg = compose(["agent=drqv2", f"task={task}"])
    got = {"strategy": cfg.strategy.name, "aug": cfg.strategy.aug, "action_repeat": cfg.task.action_repeat,
           "frame_stack": cfg.task.frame_stack, "size": cfg.task.size, "seed_frames": cfg.agent.seed_frames,
           "num_expl_steps": cfg.agent.num_expl_steps, "stddev_schedule": cfg.agent.stddev_schedule,
           "stddev_clip": cfg.agent.stddev_clip, "nstep": cfg.agent.nstep, "batch_size": cfg.agent.batch_size,
           "lr": cfg.agent.lr, "feature_dim": cfg.agent.feature_dim, "hidden_dim": cfg.agent.hidden_dim,
           "critic_tau": cfg.agent.critic_tau, "update_every_steps": cfg.agent.update_every_steps,
           "discount": cfg.agent.discount}
    assert got == {"strategy": "rad", "aug": "shift(pad=4)", "action_repeat": 2, "frame_stack": 3, "size": 84,
                   "seed_frames": 4000, "num_expl_steps": 2000, "stddev_schedule": schedule, "stddev_clip": 0.3,
                   "nstep": nstep, "batch_size": batch, "lr": 1e-4, "feature_dim": 50, "hidden_dim": 1024,
                   "critic_tau": 0.01, "update_every_steps": 2, "discount": 0.99}


def test_the_command_line_wins_over_a_preset_and_other_agents_keep_their_own():
    cfg = compose(["agent=drqv2", "task=walker-walk", "strategy=drq", "task.action_repeat=4", "agent.nstep=3"])
    assert (cfg.strategy.name, cfg.task.action_repeat, cfg.agent.nstep, cfg.agent.batch_size) == ("drq", 4, 3, 512)
    cfg = compose(["agent=sac", "task=cartpole-swingup"])
    assert (cfg.strategy.name, cfg.task.action_repeat, cfg.agent.batch_size) == ("drq", 8, 128)


def test_precision_is_one_override():
    assert compose(["precision=fp32"]).agent.precision == "fp32"
    assert compose(["agent=drqv2", "precision=fp32"]).agent.precision == "fp32"
    assert compose([]).agent.precision == "auto"  # the agent's own default: bf16 where the hardware has it
    from rl_aug.agents.config import ConfigError

    with pytest.raises(ConfigError, match="precision auto, bf16 or fp32"):
        compose(["precision=fp16"])


# DMC-GB's SAC (src/arguments.py, src/algorithms/modules.py): the preset must give exactly these.
DMCGB = {"lr": 1e-3, "alpha_lr": 1e-4, "alpha_beta1": 0.5, "batch_size": 128, "feature_dim": 100,
         "hidden_dim": 1024, "num_filters": 32, "num_conv_layers": 11, "encoder_final_relu": False,
         "encoder_init": "delta_orthogonal", "init_temperature": 0.1, "log_std_bounds": [-10.0, 2.0],
         "critic_tau": 0.01, "encoder_tau": 0.05, "projection_tau": "encoder", "actor_update_every": 2,
         "target_update_every": 2,
         "discount": 0.99, "seed_steps": 1000}
DMCGB_REPEAT = {"cartpole-swingup": 8, "finger-spin": 2, "walker-walk": 4, "cheetah-run": 4, "ball_in_cup-catch": 4}


@pytest.mark.parametrize("task", sorted(DMCGB_REPEAT))
def test_sac_dmcgb_preset_gives_dmcgbs_settings(task):
    cfg = compose(["agent=sac_dmcgb", f"task={task}"])
    assert {k: cfg.agent[k] for k in DMCGB} == DMCGB
    assert (cfg.strategy.name, cfg.task.action_repeat, cfg.task.frame_stack) == ("svea", DMCGB_REPEAT[task], 3)


@pytest.mark.parametrize("task", sorted(DMCGB_REPEAT))
def test_sac_dmcgb_protocol_counts_dmcgbs_agent_steps_in_frames(task):
    """DMC-GB's train.py runs train_steps 500k loop iterations and evaluates every eval_freq 10k of them, each one
    env.step of action_repeat frames; 30 evaluation episodes; 1000 updates at step init_steps 1000."""
    repeat = DMCGB_REPEAT[task]
    cfg = compose(["agent=sac_dmcgb", f"task={task}"])
    assert (cfg.frames, cfg.run.eval_every_frames) == (500_000 * repeat, 10_000 * repeat)
    assert (cfg.run.eval_episodes, cfg.agent.seed_steps, cfg.agent.init_updates) == (30, 1000, 1000)
    assert compose(["agent=sac", f"task={task}"]).agent.init_updates is None  # DrQ: no burst


def test_sac_dmcgb_drq_is_one_shift_of_obs_and_one_of_next_obs():
    """DMC-GB's DrQ (src/algorithms/drq.py "[K=1, M=1]", utils.sample_drq); DrQ itself keeps K=M=2."""
    cfg = compose(["agent=sac_dmcgb", "strategy=drq"])
    assert (cfg.strategy.name, cfg.strategy.K, cfg.strategy.M, cfg.strategy.aug) == ("drq", 1, 1, "shift(pad=4)")
    assert (compose(["agent=sac", "strategy=drq"]).strategy.K, compose(["strategy=drq"]).strategy.M) == (2, 2)


def test_a_run_picked_on_the_command_line_wins_over_the_presets_run_settings():
    cfg = compose(["agent=sac_dmcgb", "task=walker-walk", "run=quick"])
    assert (cfg.run.eval_every_frames, cfg.run.eval_episodes) == (2000, 2)  # configs/run/quick.yaml
    assert cfg.frames == 2_000_000  # the budget is not a run setting


@pytest.mark.parametrize("task", sorted(DRQV2))
def test_drqv2_preset_gives_the_papers_frame_budget(task):
    """facebookresearch/drqv2 cfgs/task/easy.yaml num_train_frames 1100000, medium.yaml 3100000 (env frames)."""
    expected = 1_100_000 if DRQV2[task][0] == DRQV2_EASY else 3_100_000
    assert compose(["agent=drqv2", f"task={task}"]).frames == expected
    assert compose(["agent=drqv2", f"task={task}", "frames=1000"]).frames == 1000  # the command line wins


def test_sac_dmcgb_builds_dmcgbs_encoder():
    import torch
    from rl_aug.agents.config import agent_classes, agent_kwargs

    cfg = compose(["agent=sac_dmcgb"])
    agent = agent_classes()["sac_dmcgb"]((9, 84, 84), 1, **agent_kwargs(cfg))
    convs = [m for m in agent.encoder.convs if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 11 and not isinstance(agent.encoder.convs[-1], torch.nn.ReLU)
    assert agent.encoder.repr_dim == 32 * 21 * 21  # 84 -> 41 (stride 2) -> 21 after ten stride-1 convs
    kernel = convs[1].weight.detach()
    assert kernel[:, :, [0, 0, 2, 2], [0, 2, 0, 2]].abs().max() == 0  # delta-orthogonal: only the centre tap
    centre = kernel[:, :, 1, 1]
    gain = torch.nn.init.calculate_gain("relu")
    torch.testing.assert_close(centre @ centre.T, gain**2 * torch.eye(32), atol=1e-4, rtol=1e-4)
    assert agent.encoder_tau == 0.05 and agent.critic_tau == 0.01


def test_sac_dmcgb_soda_renders_100_and_crops_to_84():
    """DMC-GB: soda renders 100 px (arguments.py), trains on random 84 px crops, acts on the 84 px center."""
    cfg = compose(["agent=sac_dmcgb", "strategy=soda", "task=walker-walk"])
    assert (cfg.task.size, cfg.agent.encoder_input_crop, cfg.strategy.weak) == (100, 84, "crop(size=84)")
    assert (cfg.strategy.strong, cfg.strategy.aux_lr, cfg.task.action_repeat) == ("overlay(alpha=0.5)", 3e-4, 4)
    svea = compose(["agent=sac_dmcgb", "strategy=svea"])  # the other methods keep 84 px and the shift
    assert (svea.task.size, svea.agent.encoder_input_crop) == (84, None)
    assert compose(["agent=sac_dmcgb", "strategy=soda", "task.size=120"]).task.size == 120  # command line wins


def test_sac_dmcgb_soda_agent_acts_on_the_center_and_updates_on_crops():
    import torch
    from rl_aug.agents.config import agent_classes, agent_kwargs, strategy_kwargs
    from rl_aug.agents.sac import SAC

    from rl_aug.strategies import Batch, from_config

    cfg = compose(["agent=sac_dmcgb", "strategy=soda", "agent.num_conv_layers=2", "agent.hidden_dim=16",
                   "agent.num_filters=4", "agent.feature_dim=8", "precision=fp32", "strategy.aux_batch=8"])
    agent = agent_classes()["sac_dmcgb"]((3, 100, 100), 1, **agent_kwargs(cfg))
    plain = SAC((3, 84, 84), 1, num_conv_layers=2, num_filters=4, hidden_dim=16, feature_dim=8)
    assert agent.encoder.repr_dim == plain.encoder.repr_dim  # the convs see 84 px
    x = torch.randint(0, 256, (4, 3, 100, 100), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(agent.encode(x), agent.encode(x[:, :, 8:-8, 8:-8]))  # DMC-GB's CenterCrop: 8 px
    strategy = from_config({"name": "soda", **strategy_kwargs(cfg)})
    strategy.attach(agent)
    batch = Batch(obs=x, action=torch.zeros(4, 1), reward=torch.ones(4, 1), discount=torch.full((4, 1), 0.99),
                  next_obs=x.flip(0), aux_obs=x)
    before = [p.detach().clone() for p in agent.encoder.parameters()]
    metrics = strategy.update(agent, batch, 2)  # step 2: the aux loss runs too (aux_every 2)
    assert "soda_loss" in metrics and all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.encoder.parameters()))


def test_auto_precision_is_bf16_only_where_native():
    """bf16 autocast is emulated (and ~7x slower) on CPUs without AVX512-BF16 / AMX: auto picks fp32 there."""
    import torch
    from rl_aug.agents.sac import SAC

    from rl_aug.precision import native_bf16

    expected = "bf16" if native_bf16(torch.device("cpu")) else "fp32"
    tiny = {"feature_dim": 8, "hidden_dim": 16, "num_filters": 4}
    assert SAC((3, 16, 16), 1, **tiny).precision == expected
    assert SAC((3, 16, 16), 1, precision="bf16", **tiny).precision == "bf16"  # explicit choices stay
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    assert native_bf16(torch.device("cpu")) == (bool(probe()) if probe is not None else False)
