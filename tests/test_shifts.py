"""Generalization shifts: the pixels they change are the right ones, presets reach the right materials,
everything is seeded, and bad settings fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from rl_aug.envs.dmc import make_state_env

from rl_aug import envs
from rl_aug.media import read_video
from rl_aug.wrappers import ActionRepeat, CameraShift, ColorShift, PixelObservation, VideoBackground
from rl_aug.wrappers.color import DEFAULT_COLORS, _suite_texture_recipes, load_presets, sample_colors
from rl_aug.wrappers.video import procedural_video

SIZE = 48
DMCGB = Path(__file__).resolve().parents[2] / "shared" / "dmcgb"


def pipeline(shift=None, **kwargs) -> gym.Env:
    """walker-walk, action repeat 2, optional shift, 48x48 pixels, no frame stack."""
    env = ActionRepeat(make_state_env("walker", "walk"), 2)
    if shift is not None:
        env = shift(env, **kwargs)
    return PixelObservation(env, size=SIZE, camera=0, render_quality="fast")


def play(env: gym.Env, seed: int = 0, steps: int = 3) -> np.ndarray:
    obs, _ = env.reset(seed=seed)
    for action in np.random.default_rng(seed).uniform(-1, 1, (steps, 6)).astype(np.float32):
        obs, *_ = env.step(action)
    return obs


def segmentation(env: PixelObservation) -> np.ndarray:
    renderer = env._scene.renderer
    renderer.enable_segmentation_rendering()
    try:
        renderer.update_scene(env._scene.data, camera=0)
        return renderer.render()
    finally:
        renderer.disable_segmentation_rendering()


@pytest.fixture(scope="module")
def train_frame():
    env = pipeline()
    try:
        yield play(env)
    finally:
        env.close()


@pytest.mark.parametrize("mode", ["video_easy", "video_hard"])
def test_background_pixels_come_from_the_video_and_the_agents_do_not(mode, train_frame):
    env = pipeline(VideoBackground, mode=mode)
    try:
        obs = play(env)
        shift = env.env
        seg = segmentation(env)
    finally:
        env.close()
    mask = shift.mask(seg)
    floor = (seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM) & np.isin(seg[..., 0], shift.floor_geoms)
    agent = (seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM) & ~floor & (seg[..., 0] >= 0)
    assert mask.sum() > 100 and agent.sum() > 20 and floor.sum() > 100
    frame = procedural_video(shift.video_index, SIZE, SIZE)[3]  # one frame per agent step: 3 steps taken
    image = obs.transpose(1, 2, 0)
    assert np.array_equal(image[mask], frame[mask])
    assert np.array_equal(image[~mask], train_frame.transpose(1, 2, 0)[~mask])
    assert not mask[agent].any()
    assert mask[floor].all() == (mode == "video_hard") and (mask[floor].any() == (mode == "video_hard"))


def test_videos_from_a_directory_advance_per_step_change_per_episode_and_decode_once(tmp_path):
    import imageio.v3 as iio

    colours = np.array([[250, 10, 10], [10, 250, 10], [10, 10, 250], [250, 250, 10]], np.uint8)
    for v in range(2):
        frames = np.broadcast_to(np.roll(colours, v, 0)[:, None, None], (4, 32, 32, 3)).copy()
        iio.imwrite(tmp_path / f"clip{v}.mp4", frames, fps=10)
    env = pipeline(VideoBackground, mode="video_easy", videos=tmp_path)
    try:
        shift = env.env
        obs, _ = env.reset(seed=0)
        mask = shift.mask(segmentation(env))
        misses = read_video.cache_info().misses
        for step in range(3):
            expected = np.roll(colours, shift.video_index, 0)[step]
            seen = obs.transpose(1, 2, 0)[mask].astype(int).mean(0)
            assert np.abs(seen - expected).max() < 20, (step, seen, expected)
            obs, *_ = env.step(np.zeros(6, np.float32))
        chosen = []
        for _ in range(8):
            env.reset()
            chosen.append(shift.video_index)
        assert set(chosen) == {0, 1}  # a new (random) video per episode
        assert read_video.cache_info().misses <= misses + 1  # each clip decoded once at this size
        again = []
        env.reset(seed=0)
        for _ in range(8):
            env.reset()
            again.append(shift.video_index)
        assert again == chosen  # seeded
    finally:
        env.close()


def write_presets(path: Path) -> Path:
    preset = {"self_rgb": [0.0, 0.0, 1.0], "skybox_rgb": [1.0, 0.0, 0.0],
              "grid_rgb1": [0.0, 0.9, 0.0], "grid_rgb2": [0.1, 1.0, 0.1]}
    path.write_text(json.dumps([preset]))
    return path


def suite_texture(name: str, **colours: str) -> np.ndarray:
    attrs = {**_suite_texture_recipes()[name], **colours}
    text = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    return mujoco.MjModel.from_xml_string(f"<mujoco><asset><texture {text}/></asset></mujoco>").tex_data.copy()


def test_colour_presets_reach_the_self_material_skybox_and_grid(tmp_path, train_frame):
    env = pipeline(ColorShift, mode="color_hard", presets=write_presets(tmp_path / "colors.json"))
    try:
        obs = play(env)
        shift, model = env.env, env.env.model
        self_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, "self")
        assert np.allclose(model.mat_rgba[self_id, :3], [0, 0, 1])
        for name, colours in {"skybox": {"rgb1": "1 0 0"}, "grid": {"rgb1": "0 0.9 0", "rgb2": "0.1 1 0.1"}}.items():
            texture = shift._textures[name]
            expected = suite_texture(name, **colours)
            assert np.abs(model.tex_data[texture.slice].astype(int) - expected).max() <= 1
        seg = segmentation(env)
        geom = seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM
        agent = geom & (model.geom_matid[np.clip(seg[..., 0], 0, None)] == self_id)
        floor = geom & np.isin(seg[..., 0], np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE))
        sky = seg[..., 0] < 0
        new, old = obs.transpose(1, 2, 0).astype(int), train_frame.transpose(1, 2, 0).astype(int)
        # (pixels of the region, channel that must now dominate, channel it must beat): blue agent, red sky,
        # green floor.
        regions = {"agent": (agent, 2, 0), "sky": (sky, 0, 2), "floor": (floor, 1, 0)}
        for name, (region, strong, weak) in regions.items():
            assert region.sum() > 20, name
            assert new[region, strong].mean() > new[region, weak].mean() + 20, name
        assert old[agent, 0].mean() > old[agent, 2].mean()  # the default agent is orange...
        assert old[sky, 2].mean() > old[sky, 0].mean()  # ...under a blue sky
        env.env.close()
        assert np.allclose(model.mat_rgba[self_id, :3], DEFAULT_COLORS["self_rgb"])
        assert np.array_equal(model.tex_data[shift._textures["skybox"].slice], suite_texture("skybox"))
    finally:
        env.close()


def test_dmcgb_presets_file_is_used_when_present(tmp_path):
    path = DMCGB / "color_hard.json" if (DMCGB / "color_hard.json").is_file() else write_presets(tmp_path / "c.json")
    presets = load_presets(path)
    keys = [tuple(p["self_rgb"]) for p in presets]
    for p in presets:
        assert set(p) == set(DEFAULT_COLORS)
        assert np.allclose(np.minimum(p["grid_rgb1"] + 0.1, 1.0), p["grid_rgb2"], atol=1e-5)
    env = ActionRepeat(make_state_env("cartpole", "swingup"), 8)
    shift = ColorShift(env, "color_hard", presets=path)
    try:
        drawn = []
        for seed in (0, 0, 1):
            shift.reset(seed=seed)
            drawn.append(tuple(shift.colors["self_rgb"]))
            assert drawn[-1] in keys
        assert drawn[0] == drawn[1]
    finally:
        shift.close()


@pytest.mark.parametrize("mode, spread", [("color_easy", 0.1), ("color_hard", 0.2)])
def test_sampled_colours_follow_dmcgb_spread(mode, spread):
    rng = np.random.default_rng(0)
    draws = [sample_colors(mode, rng) for _ in range(3000)]
    selfs = np.array([d["self_rgb"] for d in draws])
    assert selfs.min() >= 0 and selfs.max() <= 1
    assert np.allclose(selfs.mean(0), DEFAULT_COLORS["self_rgb"], atol=0.02)
    assert np.allclose(selfs.std(0), spread, rtol=0.2)
    for d in draws[:50]:
        assert np.allclose(d["grid_rgb2"], np.clip(d["grid_rgb1"] + 0.1, 0, 1))


def test_camera_shift_is_seeded_bounded_and_drifts(train_frame):
    still = pipeline(CameraShift, intensity=0.0)
    moved = pipeline(CameraShift, intensity=0.3)
    try:
        assert np.array_equal(play(still), train_frame)
        a, b = play(moved, seed=1), play(moved, seed=1)
        assert np.array_equal(a, b) and not np.array_equal(a, train_frame)
        shift = moved.env
        history = [shift.angles.copy()]
        for _ in range(40):
            moved.step(np.zeros(6, np.float32))
            history.append(shift.angles.copy())
        history = np.array(history)
        assert np.all(np.abs(history) <= shift.limits + 1e-12)
        assert np.abs(np.diff(history, axis=0)).max() > 0  # a random walk, not a fixed pose
        assert 1 - 0.5 * 0.3 <= shift.zoom <= 1 + 1.5 * 0.3
    finally:
        still.close()
        moved.close()


def test_make_composes_shifts_and_checks_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("RL_AUG_DMCGB_DIR", raising=False)
    env = envs.make("cartpole-swingup", size=16, shift="camera+video_easy+color_hard")
    try:
        kinds, inner = [], env
        while isinstance(inner, gym.Wrapper):
            if isinstance(inner, (ColorShift, VideoBackground, CameraShift)):
                kinds.append(type(inner))
            inner = inner.env
        assert kinds == [CameraShift, VideoBackground, ColorShift]  # colours innermost
    finally:
        env.close()
    with pytest.raises(ValueError, match="color_hard"):
        envs.make("cartpole-swingup", shift="colour_hard")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        envs.make("cartpole-swingup", shift="color_easy", assets_dir=tmp_path / "missing")
    monkeypatch.setenv("RL_AUG_DMCGB_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="RL_AUG_DMCGB_DIR"):
        envs.make("cartpole-swingup", shift="video_hard")
    monkeypatch.setenv("RL_AUG_DMCGB_DIR", str(tmp_path))  # exists, but holds no assets
    with pytest.raises(FileNotFoundError, match="color_easy.json"):
        envs.make("cartpole-swingup", shift="color_easy")
    with pytest.raises(FileNotFoundError, match="video_easy"):
        envs.make("cartpole-swingup", shift="video_easy")


def test_shifts_cli_writes_a_grid_of_one_state_and_never_overwrites(tmp_path, monkeypatch):
    from rl_aug.cli.shifts import main, render_grid

    monkeypatch.delenv("RL_AUG_DMCGB_DIR", raising=False)
    grid = render_grid("cartpole-swingup", ["train", "train", "color_hard"], size=24, rows=1, steps=2,
                       assets_dir=None, render_quality="fast")
    assert grid.shape == (1, 3, 24, 24, 3)
    assert np.array_equal(grid[0, 0], grid[0, 1]) and not np.array_equal(grid[0, 0], grid[0, 2])
    out = tmp_path / "grid.png"
    args = ["--out", str(out), "--task", "cartpole-swingup", "--size", "24", "--rows", "1", "--steps", "1",
            "--shifts", "train,video_easy"]
    assert main(args) == 0
    import imageio.v3 as iio

    image = iio.imread(out)
    assert image.ndim == 3 and image.shape[0] > 24
    before = out.read_bytes()
    assert main(args) == 2 and out.read_bytes() == before  # a bad input: exit 2, like every subcommand


def test_camera_shift_never_goes_below_the_ground():
    env = pipeline(CameraShift, intensity=1.0, min_height=0.3)
    try:
        play(env, seed=0, steps=1)
        shift, scene = env.env, env._scene
        lowest = []
        for elevation in np.linspace(-shift.limits[1], shift.limits[1], 9):
            shift.angles = np.array([0.0, elevation, 0.0])
            shift.zoom = shift.zoom_range[1]
            frame = scene.render([shift])
            cameras = scene.renderer.scene.camera
            lowest.append(min(float(c.pos[2]) for c in cameras))
            for c in cameras:  # still looking along a unit direction, with up orthogonal to it
                assert abs(np.linalg.norm(c.forward) - 1) < 1e-5 and abs(np.dot(c.forward, c.up)) < 1e-5
            assert frame.std() > 0
        assert min(lowest) >= 0.3 - 1e-6
        assert np.isclose(min(lowest), 0.3, atol=1e-6), "the sweep must reach the floor for the rule to matter"
    finally:
        env.close()


def test_readme_names_every_registered_shift():
    from rl_aug.wrappers.shifts import SHIFTS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert len(SHIFTS) >= 8 and [name for name in SHIFTS if f"`{name}`" not in readme] == []
