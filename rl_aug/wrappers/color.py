"""`ColorShift`: DMC-GB's color_easy / color_hard evaluation, on any MuJoCo scene.

DMC-GB (Hansen & Wang 2021, nicklashansen/dmcontrol-generalization-benchmark, src/env/wrappers.py) rebuilds
the model from edited XML every episode. Here the compiled model is edited in place instead (the `self`
material's rgba, the skybox and floor-grid texture data) and the two textures are re-uploaded to the GL
context: no recompilation, no new physics, the same pixels.

Textures are recoloured exactly: a texture of dm_control's suite (`skybox`, `grid`) is recompiled once with
probe colours (rgb1 = red, rgb2 = green, markrgb = blue), which gives every texel's weights on rgb1, rgb2 and
the mark colour; a new texture is those weights times the new colours. DMC-GB changes rgb1 and rgb2 and
keeps the marks (the skybox's white dots, the grid's edge lines). Textures of other models, whose
generating attributes are unknown, are split into their darkest and brightest colour (a gradient or
checker spans those two) and texels far from that line (marks) are kept.
"""

from __future__ import annotations

import functools
import json
import weakref
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rl_aug.errors import InputFileError, UserInputError
from rl_aug.wrappers.scene import SceneShift, upload_texture

# DMC-GB's colour keys and the dm_control suite defaults they perturb (dm_control/suite/common/materials.xml
# and skybox.xml; DMC-GB README of the assets, ../shared/dmcgb/README.md).
DEFAULT_COLORS: dict[str, tuple[float, float, float]] = {
    "self_rgb": (0.7, 0.5, 0.3),
    "skybox_rgb": (0.4, 0.6, 0.8),
    "grid_rgb1": (0.1, 0.2, 0.3),
    "grid_rgb2": (0.2, 0.3, 0.4),
}
# Per-channel standard deviation of the presets around the defaults, measured on DMC-GB's color_easy.json /
# color_hard.json (about 0.1 and 0.2; their grid_rgb2 is always grid_rgb1 + 0.1).
COLOR_SPREAD = {"color_easy": 0.1, "color_hard": 0.2}


def sample_colors(mode: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Colours drawn like DMC-GB's presets: default + N(0, spread) per channel, clipped to [0, 1]."""
    spread = COLOR_SPREAD[mode]
    colors = {
        key: np.clip(np.asarray(DEFAULT_COLORS[key]) + rng.normal(0.0, spread, 3), 0.0, 1.0)
        for key in ("self_rgb", "skybox_rgb", "grid_rgb1")
    }
    colors["grid_rgb2"] = np.clip(colors["grid_rgb1"] + 0.1, 0.0, 1.0)
    return colors


def load_presets(path: str | Path) -> list[dict[str, np.ndarray]]:
    """A DMC-GB colour file (JSON list of {self_rgb, skybox_rgb, grid_rgb1, grid_rgb2}), validated."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"expected a DMC-GB colour presets file, got {str(path)!r}, which does not exist")
    try:
        presets = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # json's own message names no file
        raise UserInputError(f"expected a DMC-GB colour presets file (a JSON list) at {str(path)!r}, got a file that "
                         f"is not valid JSON: {exc}") from None
    if not isinstance(presets, list) or not presets:
        raise UserInputError(f"expected a non-empty JSON list of colour presets in {str(path)!r}")
    out = []
    for i, preset in enumerate(presets):
        missing = set(DEFAULT_COLORS) - set(preset)
        if missing:
            raise UserInputError(f"colour preset {i} of {str(path)!r} lacks keys {sorted(missing)}")
        out.append({key: np.clip(np.asarray(preset[key], dtype=np.float64), 0.0, 1.0) for key in DEFAULT_COLORS})
    return out


class _Recolourable:
    """One texture of the model written as rgb1 * w1 + rgb2 * w2 + fixed, texel by texel.

    Texels with equal weights share one palette entry (a builtin texture has at most a few thousand), so a
    recolour computes the palette and gathers it instead of doing the arithmetic on every texel (millions in a skybox).
    """

    def __init__(self, model: Any, texture_id: int, inverse: np.ndarray, weights: np.ndarray, fixed: np.ndarray,
                 default: tuple[np.ndarray, np.ndarray]):
        self.model, self.texture_id = model, texture_id
        self.slice = _texture_slice(model, texture_id)
        self.nchannel = int(model.tex_nchannel[texture_id])
        self.original = model.tex_data[self.slice].copy()
        self.inverse, self.weights, self.fixed, self.default = inverse, weights, fixed, default

    def palette(self, rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
        colour = self.weights[:, :1] * np.asarray(rgb1) + self.weights[:, 1:] * np.asarray(rgb2) + self.fixed
        return np.clip(np.rint(colour * 255.0), 0, 255).astype(np.uint8)

    def write(self, rgb1: np.ndarray, rgb2: np.ndarray) -> None:
        data = self.model.tex_data[self.slice].reshape(-1, self.nchannel)
        data[:, :3] = self.palette(rgb1, rgb2)[self.inverse]

    def restore(self) -> None:
        self.model.tex_data[self.slice] = self.original


def _texture_slice(model: Any, texture_id: int) -> slice:
    start = int(model.tex_adr[texture_id])
    count = int(model.tex_width[texture_id] * model.tex_height[texture_id] * model.tex_nchannel[texture_id])
    return slice(start, start + count)


def _unique_rgb(texels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of (N, 3) uint8 texels as (K, 3) float in [0, 1], and each texel's row index."""
    codes = (texels[:, 0].astype(np.int32) << 16) | (texels[:, 1].astype(np.int32) << 8) | texels[:, 2]
    unique, inverse = np.unique(codes, return_inverse=True)
    rgb = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], 1).astype(np.float64) / 255.0
    return rgb, inverse.astype(np.int32)


def _suite_texture_recipes() -> dict[str, dict[str, str]]:
    """Attributes of dm_control's shared `skybox` and `grid` textures, read from its common XML files."""
    import xml.etree.ElementTree as ET

    from dm_control.suite import common

    root = Path(common.__file__).parent
    recipes = {}
    for name in ("skybox.xml", "materials.xml"):
        for texture in ET.parse(root / name).getroot().iter("texture"):
            recipes[texture.get("name")] = dict(texture.attrib)
    return recipes


@functools.lru_cache(maxsize=8)
def _probe_weights(recipe: tuple[tuple[str, str], ...]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Weights on (rgb1, rgb2, markrgb) of a builtin texture's texels: (K, 3) distinct rows, each texel's
    row index, width, height. Cached: the suite's skybox is 800 x 4800 texels, compiled once per process."""
    import mujoco

    attrs = {k: v for k, v in recipe if k not in ("name", "rgb1", "rgb2", "markrgb")}
    attrs.update(rgb1="1 0 0", rgb2="0 1 0", markrgb="0 0 1")
    text = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    probe = mujoco.MjModel.from_xml_string(f'<mujoco><asset><texture name="probe" {text}/></asset></mujoco>')
    weights, inverse = _unique_rgb(probe.tex_data.reshape(-1, probe.tex_nchannel[0])[:, :3])
    return weights, inverse, int(probe.tex_width[0]), int(probe.tex_height[0])


def _recolourable(model: Any, texture_id: int, recipe: dict[str, str] | None,
                  default: tuple[np.ndarray, np.ndarray]) -> _Recolourable:
    nchannel = int(model.tex_nchannel[texture_id])
    texels = model.tex_data[_texture_slice(model, texture_id)].reshape(-1, nchannel)[:, :3]
    if recipe:
        weights, inverse, width, height = _probe_weights(tuple(sorted(recipe.items())))
        if (width, height) == (model.tex_width[texture_id], model.tex_height[texture_id]):
            mark = np.array([float(v) for v in recipe.get("markrgb", "0 0 0").split()])
            fixed = weights[:, 2:3] * mark
            texture = _Recolourable(model, texture_id, inverse, weights[:, :2], fixed, default)
            rebuilt = texture.palette(*default)[inverse]
            if np.abs(rebuilt.astype(np.int16) - texels).max() <= 2:  # the recipe made this texture
                return texture
    # Unknown recipe: project every texel on the segment between the darkest and the brightest colour.
    colours, inverse = _unique_rgb(texels)
    brightness = colours.sum(1)
    dark, bright = colours[brightness.argmin()], colours[brightness.argmax()]
    span = bright - dark
    w = np.clip((colours - dark) @ span / max(float(span @ span), 1e-12), 0.0, 1.0)[:, None]
    on_line = np.abs(dark + w * span - colours).max(1, keepdims=True) < 2.5 / 255
    weights = np.where(on_line, np.concatenate([w, 1 - w], 1), 0.0)
    fixed = np.where(on_line, 0.0, colours)
    return _Recolourable(model, texture_id, inverse, weights, fixed, (bright, dark))


class ColorShift(SceneShift):
    """Recolour the agent (`self` material), the skybox and the floor grid once per episode.

    `mode` is "color_easy" or "color_hard". With `presets` (a DMC-GB colour JSON file) each episode takes one
    of its presets chosen by the seeded generator, as DMC-GB does; without, colours are sampled from the same
    distribution (`sample_colors`). On models without a `self` material, the agent's colours (materials used
    only by geoms of non-world bodies, and the rgba of such geoms without a material) are moved by the
    preset's offset from DMC's default agent colour.
    """

    _salt = 1

    def __init__(self, env: gym.Env, mode: str = "color_hard", presets: str | Path | None = None):
        if mode not in COLOR_SPREAD:
            raise ValueError(f"expected a colour mode in {sorted(COLOR_SPREAD)}, got {mode!r}")
        super().__init__(env, mode=mode, presets=presets)
        import mujoco

        self.mode = mode
        self.presets = load_presets(presets) if presets is not None else None
        model = self.model
        self._self_material = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, "self")
        self._original_mat = model.mat_rgba.copy()
        self._original_geom = model.geom_rgba.copy()
        agent = model.geom_bodyid > 0
        self._agent_geoms = np.flatnonzero(agent & (model.geom_matid < 0))
        world_materials = set(model.geom_matid[~agent].tolist())
        self._agent_materials = np.array(sorted(set(model.geom_matid[agent].tolist()) - world_materials - {-1}),
                                         dtype=np.int64)
        recipes = _suite_texture_recipes() if _has_dm_control() else {}
        self._textures: dict[str, _Recolourable] = {}
        sky = np.flatnonzero(model.tex_type == mujoco.mjtTexture.mjTEXTURE_SKYBOX)
        if sky.size:
            default = (np.asarray(DEFAULT_COLORS["skybox_rgb"]), np.zeros(3))
            self._textures["skybox"] = _recolourable(model, int(sky[0]), recipes.get("skybox"), default)
        floor = _floor_texture(model)
        if floor is not None:
            default = (np.asarray(DEFAULT_COLORS["grid_rgb1"]), np.asarray(DEFAULT_COLORS["grid_rgb2"]))
            self._textures["grid"] = _recolourable(model, floor, recipes.get("grid"), default)
        self.colors: dict[str, np.ndarray] | None = None
        self._version = 0
        self._uploaded: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def new_episode(self, rng: np.random.Generator) -> None:
        if self.presets is not None:
            self.colors = self.presets[int(rng.integers(len(self.presets)))]
        else:
            self.colors = sample_colors(self.mode, rng)
        self._apply(self.colors)

    def _apply(self, colors: dict[str, np.ndarray]) -> None:
        model = self.model
        offset = colors["self_rgb"] - np.asarray(DEFAULT_COLORS["self_rgb"])
        if self._self_material >= 0:
            model.mat_rgba[self._self_material, :3] = colors["self_rgb"]
        else:
            geoms, materials = self._agent_geoms, self._agent_materials
            model.geom_rgba[geoms, :3] = np.clip(self._original_geom[geoms, :3] + offset, 0.0, 1.0)
            model.mat_rgba[materials, :3] = np.clip(self._original_mat[materials, :3] + offset, 0.0, 1.0)
        if "skybox" in self._textures:
            sky = self._textures["skybox"]
            shift = colors["skybox_rgb"] - np.asarray(DEFAULT_COLORS["skybox_rgb"])
            sky.write(np.clip(sky.default[0] + shift, 0, 1), sky.default[1])
        if "grid" in self._textures:
            grid = self._textures["grid"]
            shift1 = colors["grid_rgb1"] - np.asarray(DEFAULT_COLORS["grid_rgb1"])
            shift2 = colors["grid_rgb2"] - np.asarray(DEFAULT_COLORS["grid_rgb2"])
            grid.write(np.clip(grid.default[0] + shift1, 0, 1), np.clip(grid.default[1] + shift2, 0, 1))
        self._version += 1

    def prepare(self, renderer: Any) -> None:
        if self._uploaded.get(renderer) != self._version:
            for texture in self._textures.values():
                upload_texture(renderer, texture.texture_id)
            self._uploaded[renderer] = self._version

    def close(self) -> None:
        """Give the shared model its original colours back."""
        self.model.mat_rgba[:] = self._original_mat
        self.model.geom_rgba[:] = self._original_geom
        for texture in self._textures.values():
            texture.restore()
        super().close()


def _floor_texture(model: Any) -> int | None:
    """Texture of the material of the floor plane (dm_control: the `grid` texture), if any."""
    import mujoco

    planes = np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
    for geom in planes:
        material = model.geom_matid[geom]
        if material >= 0:
            texture = int(model.mat_texid[material].max())
            if texture >= 0:
                return texture
    return None


def _has_dm_control() -> bool:
    try:
        import dm_control.suite.common  # noqa: F401
    except ImportError:
        return False
    return True
