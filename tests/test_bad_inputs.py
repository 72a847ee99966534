"""Every bad input a user can give gets a clear error: the exception type and a phrase naming what was
expected (and usually what came). One table per layer: training config, strategies, augmentations, envs,
the SB3 model loader, media files and the command line. (CCIL's inputs: tests/test_ccil_pipeline.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rl_aug.agents.config import ConfigError, compose
from rl_aug.agents.sac import SAC

from rl_aug import augment as A
from rl_aug import strategies as S

BASE = ["agent=sac", "strategy=drq", "task=cartpole-swingup"]

CONFIG_CASES = [
    # unknown keys and types
    (["episode=1"], "unknown config key 'episode'"),
    (["agent.hiden_dim=3"], "did you mean 'agent.hidden_dim'"),
    (["seed=1.5"], "'seed=1.5'.*could not be converted to Integer"),
    (["task.size=84.5"], "'task.size=84.5'.*could not be converted to Integer"),
    (["task.size='84'"], None),  # a quoted number is still a number to OmegaConf: accepted as 84
    (["agent.lr=half"], "agent.lr: expected float or int, got str 'half'"),
    (["frames=many"], "'frames=many'.*could not be converted to Integer"),
    # agent values out of range
    (["agent.discount=1.5"], r"agent.discount: expected a number in \(0, 1\], got 1.5"),
    (["agent.critic_tau=5"], r"agent.critic_tau: expected a number in \(0, 1\], got 5"),
    (["agent.encoder_tau=0"], r"agent.encoder_tau: expected a number in \(0, 1\], got 0"),
    (["agent.hidden_dim=0"], "agent.hidden_dim: expected an int >= 1, got 0"),
    (["agent.nstep=0"], "agent.nstep: expected an int >= 1, got 0"),
    (["agent.log_std_bounds=[2,-10]"], r"agent.log_std_bounds: expected \[low, high\] with low < high"),
    (["agent.log_std_bounds=[1]"], r"agent.log_std_bounds: expected \[low, high\]"),
    (["agent.lr=-1"], "agent.lr: expected a finite number > 0, got -1"),
    (["agent.alpha_lr=0"], "agent.alpha_lr: expected a finite number > 0, got 0"),
    (["agent.batch_size=0"], "agent.batch_size: expected an int >= 1, got 0"),
    (["agent.seed_steps=-1"], "agent.seed_steps: expected an int >= 0, got -1"),
    (["agent.init_temperature=0"], "agent.init_temperature: expected a finite number > 0"),
    (["agent.alpha_beta1=1"], r"agent.alpha_beta1: expected a number in \[0, 1\), got 1"),
    (["agent.replay_capacity=0"], "agent.replay_capacity: expected an int >= 1, got 0"),
    (["agent=drqv2", "agent.stddev_clip=-0.3"], "agent.stddev_clip: expected a finite number >= 0"),
    (["agent=drqv2", "agent.num_expl_steps=-5"], "agent.num_expl_steps: expected an int >= 0"),
    (["agent=drqv2", "agent.stddev_schedule=fast"], "stddev"),
    # run, task, budget, device
    (["run.eval_episodes=0"], "run.eval_episodes: expected an int >= 1, got 0"),
    (["run.num_threads=-2"], "run.num_threads: expected an int >= 0, got -2"),
    (["run.eval_every_frames=0"], "run.eval_every_frames: expected a positive number of env frames"),
    (["run.checkpoint_every_minutes=-1"], "run.checkpoint_every_minutes: expected >= 0"),
    (["run.snapshot_every_frames=-5"], "run.snapshot_every_frames: expected an int >= 0, got -5"),
    (["frames=0"], "frames: expected a positive number of env frames, got 0"),
    (["task.action_repeat=0"], "task.action_repeat: expected >= 1, got 0"),
    (["task.frame_stack=0"], "task.frame_stack: expected an int >= 1, got 0"),
    (["task.size=0"], "task.size: expected an int >= 1, got 0"),
    (["task.shift=[color_hard]"], r"task.shift: expected one shift name, or several joined by '\+'"),
    (["precision=fp16"], "expected precision auto, bf16 or fp32"),
    (["device=gpu0"], "device: expected cpu, cuda, cuda:N or mps, got 'gpu0'"),
    # groups and combinations
    (["agent=ppo"], "unknown agent 'ppo': expected one of"),
    (["strategy=mixup"], "unknown strategy 'mixup': expected one of"),
    (["task=cartpole"], "unknown task 'cartpole': expected one of"),
    (["strategy=svea", "strategy.regularizers=tangent_prop"], "strategy.regularizers: expected a list"),
    (["strategy.K=0"], r"strategy: expected K >= 1 and M >= 1"),
    (["strategy.K=1.5"], "strategy: strategy 'drq': expected K an int, got float 1.5"),
    (["strategy=svea", "strategy.strong=blur"], "strategy: .*blur"),
    (["no_equals_sign"], "expected overrides of the form key=value"),
    (["frames="], "override 'frames=': expected a value for frames after '=', got nothing"),
    (["seed=-1"], "seed: expected an int >= 0, got -1"),
    (["task.shift=colour_hard"], "task.shift: expected shift names from .* got 'colour_hard'"),
]


@pytest.mark.parametrize("overrides,phrase", CONFIG_CASES, ids=[" ".join(c[0]) for c in CONFIG_CASES])
def test_training_config(overrides, phrase):
    if phrase is None:
        assert compose([*BASE, *overrides]).task.size == 84
        return
    with pytest.raises(ConfigError, match=phrase):
        compose([*BASE, *overrides])


def test_cuda_device_without_cuda_names_the_fix():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: device=cuda is valid here")
    with pytest.raises(ConfigError, match="device=cuda: CUDA is not available here.*use device=cpu"):
        compose([*BASE, "device=cuda"])


OBS = (9, 16, 16)
AGENT_CASES = [
    ({"discount": 1.5}, ValueError, r"SAC: discount: expected a number in \(0, 1\]"),
    ({"critic_tau": 5.0}, ValueError, r"SAC: critic_tau: expected a number in \(0, 1\]"),
    ({"hidden_dim": 0}, ValueError, "SAC: hidden_dim: expected an int >= 1"),
    ({"batch_size": 2.5}, ValueError, "SAC: batch_size: expected an int >= 1, got 2.5"),
    ({"lr": float("nan")}, ValueError, "SAC: lr: expected a finite number > 0, got nan"),
    ({"precision": "fp16"}, ValueError, r"expected agent.precision in \('auto', 'bf16', 'fp32'\)"),
]


@pytest.mark.parametrize("kwargs,exc,phrase", AGENT_CASES, ids=[str(c[0]) for c in AGENT_CASES])
def test_agent_constructor(kwargs, exc, phrase):
    with pytest.raises(exc, match=phrase):
        SAC(OBS, 2, **kwargs)


STRATEGY_CASES = [
    (lambda: S.make(None), TypeError, r"expected a strategy name .*'none' for no augmentation\), got NoneType"),
    (lambda: S.make("mixup"), ValueError, "unknown strategy 'mixup'; expected one of"),
    (lambda: S.make("drq", K=1.5), TypeError, "strategy 'drq': expected K an int, got float 1.5"),
    (lambda: S.make("drq", K=0), ValueError, "expected K >= 1 and M >= 1"),
    (lambda: S.make("drq", M="2"), TypeError, "strategy 'drq': expected M an int, got str '2'"),
    (lambda: S.make("svea", alpha="half"), TypeError, "strategy 'svea': expected alpha a finite number, got str"),
    (lambda: S.make("svea", alpha=float("nan")), TypeError, "expected alpha a finite number, got float nan"),
    (lambda: S.make("svea", strong="none"), ValueError, "SVEA needs a strong augmentation"),
    (lambda: S.make("svea", regularizers="tangent_prop"), TypeError,
     r"expected regularizers as a list \(e.g. regularizers=\[tangent_prop\]\), got str"),
    (lambda: S.from_config({"name": "svea", "regularizers": "tangent_prop"}), TypeError,
     "expected regularizers as a list"),
    (lambda: S.make("drq", regularizers=["dropout"]), ValueError, "unknown regularizer 'dropout'"),
    (lambda: S.make("drq", sigma=1), TypeError, r"strategy 'drq' got unknown options \['sigma'\]"),
    (lambda: S.make("soda", aux_every=0), ValueError, "expected aux_every >= 1"),
    (lambda: S.make("drq", aug="blur"), ValueError, "blur"),
]


@pytest.mark.parametrize("call,exc,phrase", STRATEGY_CASES, ids=range(len(STRATEGY_CASES)))
def test_strategy(call, exc, phrase):
    with pytest.raises(exc, match=phrase):
        call()


U8 = torch.randint(0, 256, (2, 9, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
NAN = U8.float().index_put_((torch.tensor([1]), torch.tensor([0]), torch.tensor([3]), torch.tensor([3])),
                            torch.tensor(float("nan")))  # 0-255 float images with one NaN pixel
UNIT = torch.rand(2, 9, 16, 16, generator=torch.Generator().manual_seed(0))  # float images scaled to [0, 1]
AUGMENT_CASES = [
    (lambda: A.cutout(U8, value=-5), ValueError, r"cutout: expected value in \[0, 255\], got -5"),
    (lambda: A.cutout(U8, value=300), ValueError, r"cutout: expected value in \[0, 255\], got 300"),
    (lambda: A.cutout(U8, size=32), ValueError, "cutout: expected size at most the image side 16, got 32"),
    (lambda: A.gaussian_noise(U8, std=float("nan")), TypeError, "gaussian_noise: expected std a number >= 0, got float nan"),
    (lambda: A.gaussian_noise(U8, std="8"), TypeError, "gaussian_noise: expected std a number >= 0, got str '8'"),
    (lambda: A.gaussian_noise(U8, std=-1), ValueError, "gaussian_noise: expected std a number >= 0, got -1"),
    (lambda: A.random_crop(U8, size="12"), TypeError, "random_crop: expected size an int >= 1, got str '12'"),
    (lambda: A.random_crop(U8, size=12.5), TypeError, "random_crop: expected size an int >= 1, got float 12.5"),
    (lambda: A.random_crop(U8, size=(8, 8, 8)), ValueError, r"random_crop: expected size an int or \(height, width\)"),
    (lambda: A.random_crop(U8, size=84), ValueError, "at most the image size 16x16, got 84x84"),
    (lambda: A.random_overlay(U8, alpha="half"), TypeError, r"random_overlay: expected alpha in \[0, 1\], got str 'half'"),
    (lambda: A.random_overlay(U8, alpha=1.5), ValueError, r"random_overlay: expected alpha in \[0, 1\], got 1.5"),
    (lambda: A.random_shift(U8, pad="4"), TypeError, "random_shift: expected pad a non-negative int, got str '4'"),
    (lambda: A.random_shift(U8, pad=True), TypeError, "random_shift: expected pad a non-negative int, got bool"),
    (lambda: A.random_rotate(U8, degrees="5"), TypeError, "random_rotate: expected degrees a number >= 0"),
    (lambda: A.color_jitter(U8, hue=0.7), ValueError, r"color_jitter: expected hue in \[0, 0.5\], got 0.7"),
    (lambda: A.grayscale(U8, p=-0.1), ValueError, r"grayscale: expected p in \[0, 1\], got -0.1"),
    (lambda: A.random_shift(UNIT), ValueError, r"random_shift: expected images in \[0, 255\].*scaled to \[0, 1\]"),
    (lambda: A.random_conv(UNIT), ValueError, r"random_conv: expected images in \[0, 255\].*pass x \* 255"),
    (lambda: A.random_shift(U8[:, :3].permute(0, 2, 3, 1)), ValueError, "looks channels last"),
    (lambda: A.random_shift(U8[0]), ValueError, r"add a batch axis with x\[None\]"),
    (lambda: A.random_shift(U8.numpy()), TypeError, "expected a torch.Tensor"),
    (lambda: A.random_conv(U8[:, :4]), ValueError, "expected C a multiple of 3"),
    (lambda: A.parse("noise(std='8')")(U8), TypeError, "gaussian_noise: expected std a number >= 0, got str '8'"),
    (lambda: A.parse("blur(k=3)"), ValueError, "blur"),
    (lambda: A.random_shift(NAN), ValueError, r"random_shift: expected finite images in \[0, 255\], got .* 1 NaN"),
    (lambda: A.random_conv(NAN), ValueError, "random_conv: expected finite images.*1 NaN or infinite"),
    (lambda: A.color_jitter(NAN), ValueError, "color_jitter: expected finite images"),
    (lambda: A.random_crop(NAN, size=8), ValueError, "random_crop: expected finite images"),
    (lambda: A.cutout(NAN), ValueError, "cutout: expected finite images"),
    (lambda: A.random_shift(U8, pad=10**9), ValueError, "random_shift: expected pad at most the image side 16, got 1000000000"),
    (lambda: A.random_shift(U8[:, :, :0]), ValueError, r"random_shift: expected images of height and width >= 1, got shape \(2, 9, 0, 16\)"),
    (lambda: A.random_conv(U8[..., :0]), ValueError, r"random_conv: expected images of height and width >= 1, got shape \(2, 9, 16, 0\)"),
    (lambda: A.random_shift(U8, generator=0), TypeError, "random_shift: expected generator a torch.Generator or None, got int 0"),
    (lambda: A.random_overlay(U8, generator=0), TypeError, "random_overlay: expected generator a torch.Generator or None, got int 0"),
    (lambda: S.make("drq", aug=lambda x: x.numpy()).aug(U8), TypeError,
     r"augmentation '<lambda>': expected it to return a torch.Tensor like its input \(2, 9, 16, 16\) torch.uint8, got ndarray"),
    (lambda: A.Compose([lambda x: x.float()])(U8), ValueError,
     r"augmentation '<lambda>': expected it to return .* torch.uint8 .*got \(2, 9, 16, 16\) torch.float32"),
    (lambda: A.Compose([lambda x: x[:, :3]])(U8), ValueError, r"augmentation '<lambda>': .*got \(2, 3, 16, 16\)"),
]


@pytest.mark.parametrize("call,exc,phrase", AUGMENT_CASES, ids=range(len(AUGMENT_CASES)))
def test_augmentation(call, exc, phrase):
    with pytest.raises(exc, match=phrase):
        call()


def test_float_images_in_0_255_are_not_mistaken_for_unit_images():
    """The [0, 1] check fires only when the max is in (0, 1]: black images and real 0-255 floats pass."""
    assert A.random_shift(torch.zeros(1, 3, 8, 8)).abs().sum() == 0
    dark = torch.full((1, 3, 8, 8), 3.0)
    assert torch.equal(A.random_shift(dark), dark)


@pytest.fixture(scope="module")
def cartpole():
    from rl_aug import envs

    env = envs.make("cartpole-swingup", size=16, frame_stack=1)
    yield env
    env.close()


def test_env_step_before_reset(tmp_path):
    from gymnasium.error import ResetNeeded

    from rl_aug import envs

    env = envs.make("cartpole-swingup", size=16, frame_stack=1)
    try:
        with pytest.raises(ResetNeeded, match=r"Cannot call env.step\(\) before calling env.reset\(\)"):
            env.step(np.zeros(1, np.float32))
    finally:
        env.close()


@pytest.mark.parametrize("action,exc,phrase", [
    (np.zeros(3, np.float32), ValueError, r"cartpole-swingup: expected an action of shape \(1,\).*got shape \(3,\)"),
    (np.array([np.nan], np.float32), ValueError, r"cartpole-swingup: expected a finite action, got \[nan\]"),
    (np.array([np.inf]), ValueError, "cartpole-swingup: expected a finite action"),
    ("left", TypeError, r"cartpole-swingup: expected a numeric action of shape \(1,\), got 'left'"),
], ids=["shape", "nan", "inf", "string"])
def test_env_action(cartpole, action, exc, phrase):
    cartpole.reset(seed=0)
    with pytest.raises(exc, match=phrase):
        cartpole.step(action)


ENV_CASES = [
    ({"size": "84"}, TypeError, "expected size an int >= 1, got str '84'"),
    ({"size": 84.5}, TypeError, "expected size an int >= 1, got float 84.5"),
    ({"size": 0}, ValueError, "expected size an int >= 1, got 0"),
    ({"frame_stack": 0}, ValueError, "expected frame_stack an int >= 1, got 0"),
    ({"episode_frames": 0}, ValueError, "expected episode_frames an int >= 1, got 0"),
    ({"seed": 1.5}, TypeError, "expected seed an int or None, got float 1.5"),
    ({"shift": ["color_hard", "camera"]}, TypeError, r"expected shift a name or names joined by '\+'.*'color_hard\+camera'"),
    ({"shift": "colour_hard"}, ValueError, "colour_hard"),
    ({"obs": "rgb"}, ValueError, "expected obs one of"),
    ({"render_mode": "human"}, ValueError, "expected render_mode None or 'rgb_array'"),
    ({"action_repeat": "pets"}, ValueError, "pets"),
    ({"size": 100000}, ValueError, r"expected size an int in \[1, 4096\], got 100000"),
    ({"seed": -1}, ValueError, "expected seed an int >= 0 or None, got -1"),
]


@pytest.mark.parametrize("kwargs,exc,phrase", ENV_CASES, ids=[str(c[0]) for c in ENV_CASES])
def test_env_make(kwargs, exc, phrase):
    from rl_aug import envs

    with pytest.raises(exc, match=phrase):
        envs.make("cartpole-swingup", **kwargs)


def test_assets_dir_that_is_a_file_says_so(tmp_path):
    from rl_aug import envs

    (tmp_path / "assets").write_text("not a folder")
    with pytest.raises(FileNotFoundError, match=r"expected assets_dir to name a DMC-GB asset directory .*assets', "
                                                "which is a file, not a directory"):
        envs.make("cartpole-swingup", size=16, shift="color_hard", assets_dir=str(tmp_path / "assets"))


def test_broken_colour_preset_file_is_named(tmp_path):
    from rl_aug import envs

    (tmp_path / "color_hard.json").write_text('[{"self_rgb": ')
    with pytest.raises(ValueError, match=r"colour presets file .* at '.*color_hard.json', got a file that is not valid JSON"):
        envs.make("cartpole-swingup", size=16, shift="color_hard", assets_dir=str(tmp_path))


@pytest.mark.parametrize("size,phrase", [
    ("84", "PixelObservation: expected size an int or \\(height, width\\) of ints, got str '84'"),
    ((84, 84, 3), r"PixelObservation: expected size an int or \(height, width\) of ints, got tuple \(84, 84, 3\)"),
    (100000, r"PixelObservation: expected size in \[1, 4096\], got 100000"),
], ids=["str", "three", "huge"])
def test_pixel_observation_size(size, phrase):
    import gymnasium as gym

    from rl_aug.wrappers import PixelObservation

    env = gym.make("Pendulum-v1", render_mode="rgb_array")
    with pytest.raises((TypeError, ValueError), match=phrase):
        PixelObservation(env, size=size)
    env.close()


def test_unknown_task_names_the_closest():
    from rl_aug import envs

    with pytest.raises(ValueError, match="cartpole"):
        envs.make("cartpol-swingup")


def test_env_with_other_episode_length_truncates_there():
    """episode_frames other than 1000 crashed every task once: 500 frames at action repeat 8 is 63 steps."""
    from rl_aug import envs

    env = envs.make("cartpole-swingup", size=16, frame_stack=1, episode_frames=500, action_repeat=8)
    try:
        env.reset(seed=0)
        frames, done = 0, False
        while not done:
            _, _, terminated, truncated, info = env.step(np.zeros(1, np.float32))
            frames += info["frames"]
            done = terminated or truncated
        assert (frames, truncated) == (500, True)
    finally:
        env.close()


def test_corrupt_image_in_an_overlay_folder_is_named(tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=r"cannot read the image '.*broken.png'.*remove or replace the damaged file"):
        A.random_overlay(U8, source=A.ImageFolderSource(tmp_path))


def test_empty_overlay_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected files ending in"):
        A.random_overlay(U8, source=A.ImageFolderSource(tmp_path))


def test_run_dir_that_is_a_file(tmp_path):
    from rl_aug.agents.train import Trainer

    path = tmp_path / "not_a_dir"
    path.write_text("notes")
    cfg = compose([*BASE, f"run_dir={path}"])
    with pytest.raises(FileExistsError, match="expected run_dir a directory, got .*which is a file"):
        Trainer(cfg)
    assert path.read_text() == "notes"


def test_plain_sb3_model_given_to_augmented_sac(tmp_path):
    import gymnasium as gym
    from stable_baselines3 import SAC as PlainSAC

    from rl_aug.sb3 import AugmentedSAC

    PlainSAC("MlpPolicy", gym.make("Pendulum-v1"), buffer_size=10, learning_starts=0).save(tmp_path / "plain.zip")
    with pytest.raises(ValueError, match=r"expected a model saved by rl_aug.sb3.AugmentedSAC.*stable_baselines3.SAC.load"):
        AugmentedSAC.load(tmp_path / "plain.zip")


CLI_CASES = [
    (["evaluate", "runs/x", "--reps", "0"], "argument --reps: expected an int >= 1, got 0"),
    (["evaluate", "runs/x", "--episodes", "ten"], "argument --episodes: expected an int >= 1, got 'ten'"),
    (["evaluate", "runs/x", "--videos", "-1"], "argument --videos: expected an int >= 0, got -1"),
    (["evaluate", "runs/x", "--frame", "0"], "argument --frame: expected an int >= 1, got 0"),
    (["shifts", "--rows", "0"], "argument --rows: expected an int >= 1, got 0"),
    (["shifts", "--size", "0"], "argument --size: expected an int >= 1, got 0"),
    (["demo", "--samples", "0"], "argument --samples: expected an int >= 1, got 0"),
    (["demo", "--speed-batch", "0"], "argument --speed-batch: expected an int >= 1, got 0"),
    (["augment", "apply", "shift", "--image", "a.png", "--out", "b.png", "--copies", "0"],
     "argument --copies: expected an int >= 1, got 0"),
    (["train", "agent=sac", "agent.discount=2"], r"agent.discount: expected a number in \(0, 1\], got 2"),
    (["train", "agent.hidden_dim"], "expected overrides of the form key=value"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize("argv,phrase", CLI_CASES, ids=[" ".join(c[0][:2]) + " " + c[0][-1] for c in CLI_CASES])
def test_command_line(argv, phrase, capsys, tmp_path, monkeypatch):
    from rl_aug.cli import main

    monkeypatch.chdir(tmp_path)  # nothing may be written anywhere else
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert __import__("re").search(phrase, err), err
    assert list(Path(tmp_path).iterdir()) == []


class _NeedsPygame:
    """Stands for a classic-control env on a machine without pygame (gymnasium's own error)."""

    def __init__(self):
        import gymnasium as gym

        self.inner = gym.make("Pendulum-v1", render_mode="rgb_array")

    def make(self):
        import gymnasium as gym

        def render():
            raise gym.error.DependencyNotInstalled('pygame is not installed, run `pip install "gymnasium[classic-control]"`')

        self.inner.unwrapped.render = render
        return self.inner


def test_classic_control_without_pygame_names_the_extra():
    from rl_aug.extras import MissingExtra
    from rl_aug.wrappers import PixelObservation

    env = _NeedsPygame().make()
    with pytest.raises(MissingExtra, match=r"rendering Pendulum-v1 needs 'pygame'.*pip install \"rl-aug\[classic\]\""):
        PixelObservation(env, size=16).reset(seed=0)
    env.close()


def test_classic_control_renders_with_the_classic_extra():
    pytest.importorskip("pygame", reason="the rl-aug[classic] extra is not installed")
    import gymnasium as gym

    from rl_aug.wrappers import PixelObservation

    env = PixelObservation(gym.make("Pendulum-v1", render_mode="rgb_array"), size=16)
    obs, _ = env.reset(seed=0)
    env.close()
    assert obs.shape == (3, 16, 16) and obs.dtype == np.uint8 and obs.std() > 0


def _garbage_run(tmp_path: Path) -> list[str]:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("agent: {name: sac\ntask: [")
    return ["evaluate", str(tmp_path / "run"), "--out", str(tmp_path / "ev")]


def _edited_run(tmp_path: Path, key: str, value: object) -> list[str]:
    from omegaconf import OmegaConf

    (tmp_path / "run").mkdir()
    cfg = OmegaConf.to_container(compose(BASE))
    section, leaf = key.split(".")
    cfg[section][leaf] = value
    OmegaConf.save(OmegaConf.create(cfg), tmp_path / "run" / "config.yaml")
    return ["evaluate", str(tmp_path / "run"), "--out", str(tmp_path / "ev")]


def _truncated_checkpoint(tmp_path: Path) -> list[str]:
    from omegaconf import OmegaConf

    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    OmegaConf.save(compose([*BASE, "task.size=16", "task.frame_stack=1"]), run / "config.yaml")
    (run / "checkpoint" / "state.pt").write_bytes(b"PK\x03\x04 truncated")
    return ["evaluate", str(run), "--shifts", "train", "--episodes", "1", "--out", str(tmp_path / "ev")]


def _one_row_demos(tmp_path: Path) -> list[str]:
    from rl_aug.ccil.data import load_demos

    shipped = Path(__file__).resolve().parents[1] / "envs" / "ccil" / "demos" / "pendulum_disc.npz"
    d = load_demos(shipped)
    np.savez(tmp_path / "one.npz", observations=d.observations[:1], actions=d.actions[:1],
             next_observations=d.next_observations[:1])
    return ["ccil", "task=pendulum_disc", f"demos={tmp_path / 'one.npz'}", f"out={tmp_path / 'c'}", "seeds=[0]"]


def _broken_image(tmp_path: Path) -> list[str]:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    return ["augment", "apply", "shift", "--image", str(tmp_path / "broken.png"), "--out", str(tmp_path / "o.png")]


TRAIN = ["train", *BASE, "task.size=16", "frames=16"]
CLI_INPUT_CASES = [  # (argv, or a function of tmp_path making the files it needs and returning argv), phrase
    (_broken_image, r"--image: cannot read '.*broken.png' as an image"),
    (["augment", "apply", "shift", "--image", "missing.png", "--out", "o.png"],
     "--image: expected an image file, got 'missing.png', which does not exist"),
    (_garbage_run, r"cannot read the saved config .*config.yaml: "),
    (lambda p: _edited_run(p, "agent.name", "ppo"),
     r"cannot read the saved config .*config.yaml: expected agent.name one of drqv2, sac, sac_dmcgb, got 'ppo'"),
    (lambda p: _edited_run(p, "task.size", "big"), r"cannot read the saved config .*config.yaml: task.size: Value 'big' .*could not be converted to Integer"),
    (_truncated_checkpoint, r"checkpoint/state.pt is damaged \(.*\); use another run or snapshot"),
    (["evaluate", "runs/x", "--shifts", "train,colour_hard"], r"--shifts: expected shift names from .* got 'colour_hard'"),
    (["shifts", "--shifts", "colour_hard", "--size", "16"], r"--shifts: expected shift names from .* got 'colour_hard'"),
    (["shifts", "--assets-dir", "afile", "--shifts", "color_hard", "--size", "16", "--rows", "1", "--out", "x.png"],
     r"expected assets_dir .* got 'afile', which is a file, not a directory"),
    (["shifts", "--out", "afile", "--size", "16"], "--out: afile exists; pass --force to overwrite it"),
    (["demo", "--task", "cartpol", "--speed-repeats", "0"], "expected a dm_control suite task .* got 'cartpol'"),
    ([*TRAIN, "task.shift=colour_hard"], "task.shift: expected shift names from .* got 'colour_hard'"),
    ([*TRAIN, "seed=-1"], "seed: expected an int >= 0, got -1"),
    (["ccil", "task=pendulum_disc", "bc.lr=fast"], "bc.lr: expected a number, got str 'fast'"),
    (_one_row_demos, r"one.npz: expected at least 2 transitions \(rows\), got 1"),
]


@pytest.mark.parametrize("argv,phrase", CLI_INPUT_CASES, ids=range(len(CLI_INPUT_CASES)))
def test_command_line_input_is_one_line(argv, phrase, capsys, tmp_path, monkeypatch):
    """Every subcommand answers a bad input the same way: exit 2 and one line `rl-aug <sub>: ...`, no traceback
    (rl_aug.errors.UserInputError, reported by the dispatcher)."""
    from rl_aug.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_bytes(b"a file, not a folder")
    argv = argv(tmp_path) if callable(argv) else argv
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"rl-aug {argv[0]}: "), err
    assert __import__("re").search(phrase, err), err
    assert "Traceback" not in err


def test_locked_run_dir_is_one_line(capsys, tmp_path):
    from rl_aug.agents import run_lock

    from rl_aug.cli import main

    run = tmp_path / "run"
    run.mkdir()
    held = run_lock.acquire(run)  # another process's lock (flock: a second open file conflicts, even here)
    try:
        assert main([*TRAIN, f"run_dir={run}"]) == 2
    finally:
        run_lock.release(held)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rl-aug train: run directory "), err
    assert "is in use by another process" in err and "Traceback" not in err


class _FloatImages:
    """A gymnasium env with float (3, 16, 16) image observations: SB3's CnnPolicy would assert on it."""

    def make(self):
        import gymnasium as gym
        from gymnasium import spaces

        class Env(gym.Env):
            observation_space = spaces.Box(0, 255, (3, 16, 16), np.float32)
            action_space = spaces.Box(-1, 1, (1,), np.float32)

        return Env()


def _pendulum():
    import gymnasium as gym

    return gym.make("Pendulum-v1")


SB3_CASES = [
    (lambda: ("CnnPolicy", _pendulum(), {}), ValueError,
     r"AugmentedSAC: expected a Box uint8 \(C, H, W\) observation space .*got Box\(.*\(3,\), float32\)"),
    (lambda: ("CnnPolicy", _FloatImages().make(), {}), ValueError,
     r"AugmentedSAC: expected a Box uint8 \(C, H, W\) .*got Box\(0.0, 255.0, \(3, 16, 16\), float32\)"),
    (lambda: ("CnnPolicy", _pendulum(), {"strategy": "svea", "strategy_kwargs": ["strong"]}), TypeError,
     r"AugmentedSAC: expected strategy_kwargs a dict .*got list \['strong'\]"),
    (lambda: ("CnnPolicy", _pendulum(), {"strategy_seed": "x"}), TypeError,
     "AugmentedSAC: expected strategy_seed an int or None, got str 'x'"),
]


@pytest.mark.parametrize("make,exc,phrase", SB3_CASES, ids=["state", "float_images", "kwargs_list", "seed_str"])
def test_augmented_sac_arguments(make, exc, phrase):
    from rl_aug.sb3 import AugmentedSAC

    policy, env, kwargs = make()
    with pytest.raises(exc, match=phrase):
        AugmentedSAC(policy, env, buffer_size=10, **kwargs)
