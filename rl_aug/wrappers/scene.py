"""One offscreen MuJoCo renderer per pixel pipeline, and the hook protocol the generalization shifts use.

Why our own renderer instead of `env.render()`: the shifts must act *inside* rendering (recoloured textures
re-uploaded to the GL context, a perturbed camera, a per-pixel segmentation mask for background
replacement), and the render quality (shadow-map size, multisampling) is fixed when a GL context is made.
Owning the context makes all of that possible on any MuJoCo-based env: dm_control tasks (through
shimmy or our `envs` package) and gymnasium's MuJoCo envs alike.
"""

from __future__ import annotations

import atexit
import contextlib
import weakref
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class RenderQuality:
    """MuJoCo visual-quality settings that decide the cost of one offscreen frame.

    `None` keeps the model's own value. The shadow map (default 2048x2048 in dm_control) dominates the
    cost of small frames; `offsamples` is the multisample count of the offscreen buffer. `scene_effects=False`
    turns off the shadow, reflection and skybox passes of every frame (the scene flags): on llvmpipe that is
    the largest remaining per-frame cost, but the frames look different (no shadows, a black sky), so it is
    for pipelines that train and evaluate at that same quality, never for the DMC-GB shifts (which recolour
    the skybox and replace the background).
    """

    shadowsize: int | None
    offsamples: int | None
    scene_effects: bool = True


# "fast": a 256 shadow map and no multisampling; "minimal": that, and no shadows, reflections or skybox at all.
# Speed and pixel difference to "default" are measured by benchmarks/env_speed.py and recorded in BENCHMARKS.md,
# "Environments".
RENDER_QUALITY: dict[str, RenderQuality] = {
    "default": RenderQuality(shadowsize=None, offsamples=None),
    "fast": RenderQuality(shadowsize=256, offsamples=0),
    "minimal": RenderQuality(shadowsize=256, offsamples=0, scene_effects=False),
}
SCENE_EFFECT_FLAGS = ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX")


def find_mujoco(env: gym.Env) -> tuple[Any, Any] | None:
    """(MjModel, MjData) behind `env`, or None when it is not MuJoCo-based.

    Knows dm_control envs (an unwrapped env with `physics`, or shimmy's bridge holding `_env.physics`)
    and gymnasium's MujocoEnv (`model` and `data`).
    """
    import mujoco

    unwrapped = env.unwrapped
    physics = getattr(unwrapped, "physics", None)
    if physics is None:
        physics = getattr(getattr(unwrapped, "_env", None), "physics", None)
    if physics is not None:
        return physics.model.ptr, physics.data.ptr
    model, data = getattr(unwrapped, "model", None), getattr(unwrapped, "data", None)
    if isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData):
        return model, data
    return None


def is_dm_control(env: gym.Env) -> bool:
    unwrapped = env.unwrapped
    return hasattr(unwrapped, "physics") or hasattr(getattr(unwrapped, "_env", None), "physics")


class SceneShift(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Base of the wrappers that change how a MuJoCo scene is rendered (colours, background, camera).

    A shift holds per-episode state, drawn at `reset` from its own seeded generator, and exposes hooks
    that the `PixelObservation` above it calls while rendering each observation. It must therefore sit
    *below* `PixelObservation` and above `ActionRepeat` (so a video advances once per agent step):
    `PixelObservation(VideoBackground(ActionRepeat(env, 2)))`.
    """

    needs_segmentation: bool = False
    _salt: int = 0  # separates the random streams of shifts that share one reset seed

    def __init__(self, env: gym.Env, **recorded: Any):
        name = type(self).__name__
        inner = env
        while isinstance(inner, gym.Wrapper):
            if getattr(type(inner), "renders_scene", False):  # PixelObservation (pixels.py imports this module)
                raise TypeError(
                    f"{name} must wrap the env before PixelObservation renders it, got it on top of "
                    f"PixelObservation: build PixelObservation({name}(env, ...)) instead"
                )
            inner = inner.env
        handles = find_mujoco(env)
        if handles is None:
            raise TypeError(
                f"{name} needs a MuJoCo-based env (dm_control or gymnasium's MujocoEnv), got "
                f"{type(env.unwrapped).__name__}: for other envs use AugmentObservation for pixel-level changes"
            )
        gym.utils.RecordConstructorArgs.__init__(self, **recorded)
        gym.Wrapper.__init__(self, env)
        self.model, self.data = handles
        self._rng: np.random.Generator | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(None if seed is None else [seed, self._salt])
        self.new_episode(self._rng)
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        result = self.env.step(action)
        self.advance(self._rng)
        return result

    # Hooks, all optional.
    def new_episode(self, rng: np.random.Generator) -> None:
        """Draw this episode's shift (colours, video, camera offsets)."""

    def advance(self, rng: np.random.Generator) -> None:
        """Move per-step state on by one agent step (video frame, camera random walk)."""

    def prepare(self, renderer: Any) -> None:
        """Before the scene is updated: e.g. upload recoloured textures to this renderer's GL context."""

    def adjust_scene(self, scene: Any) -> None:
        """After `update_scene`, before drawing: e.g. move the camera of the `mujoco.MjvScene`."""

    def composite(self, rgb: np.ndarray, segmentation: np.ndarray | None) -> np.ndarray:
        """After drawing: change the (H, W, 3) frame, with the (H, W, 2) (objid, objtype) mask if needed."""
        return rgb


class SceneRenderer:
    """An offscreen `mujoco.Renderer` of fixed size and quality with camera selection and shift hooks."""

    def __init__(self, env: gym.Env, height: int, width: int, camera: int | str | None,
                 quality: str = "default"):

        if quality not in RENDER_QUALITY:
            raise ValueError(f"expected render quality one of {sorted(RENDER_QUALITY)}, got {quality!r}")
        handles = find_mujoco(env)
        if handles is None:
            raise TypeError(f"expected a MuJoCo-based env, got {type(env.unwrapped).__name__}")
        self.model, self.data = handles
        self.quality = RENDER_QUALITY[quality]
        self.renderer = _make_renderer(self.model, height, width, self.quality)
        _track(self)
        self.camera = self._camera(env, camera)

    def _camera(self, env: gym.Env, camera: int | str | None) -> Any:
        """A camera id/name for `update_scene`, or a configured free `MjvCamera` like gymnasium's default."""
        import mujoco

        if camera is not None:
            if isinstance(camera, str):
                cid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
                if cid < 0:
                    raise ValueError(f"expected a camera name of this model, got {camera!r}")
                return cid
            if not -1 <= camera < self.model.ncam:
                raise ValueError(f"expected a camera id in [-1, {self.model.ncam - 1}], got {camera}")
            return camera
        if is_dm_control(env):
            return 0
        cam = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, cam)
        config = getattr(getattr(env.unwrapped, "mujoco_renderer", None), "default_cam_config", None) or {}
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                getattr(cam, key)[:] = value
            else:
                setattr(cam, key, value)
        if config.get("trackbodyid", -1) >= 0:
            cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        return cam

    def render(self, shifts: list[SceneShift]) -> np.ndarray:
        """One (H, W, 3) uint8 frame of the current state with every shift applied."""
        r = self.renderer
        for shift in shifts:
            shift.prepare(r)
        r.update_scene(self.data, camera=self.camera)
        apply_quality_flags(r.scene, self.quality)
        for shift in shifts:
            shift.adjust_scene(r.scene)
        rgb = r.render()
        segmentation = None
        if any(s.needs_segmentation for s in shifts):
            r.enable_segmentation_rendering()
            try:
                segmentation = r.render()
            finally:
                r.disable_segmentation_rendering()
        for shift in shifts:
            rgb = shift.composite(rgb, segmentation)
        return rgb

    def close(self) -> None:
        """Free the GL objects in *this* renderer's context, then the context.

        `mujoco.Renderer.close()` frees its MjrContext (textures, framebuffers) in whichever GL context is
        current, i.e. the last renderer that drew. Object ids are per context and every renderer uses the same
        ones, so closing renderer A after renderer B drew deleted B's buffers and B's frames came out black
        with streaks. Making A's context current first confines the frees to A.
        """
        renderer, self.renderer = self.renderer, None
        if renderer is None:
            return
        gl_context = getattr(renderer, "_gl_context", None)
        if gl_context is not None and getattr(renderer, "_mjr_context", None) is not None:
            gl_context.make_current()
        renderer.close()

    def __del__(self) -> None:
        # An env dropped without close(): free in our own context too (the same bug, by garbage collection).
        with contextlib.suppress(Exception):  # during interpreter teardown EGL may be gone already
            self.close()


# Renderers not closed by their owner are closed at interpreter exit, while EGL still works: left to the
# garbage collector during teardown they raise EGLError from __del__. The hook is registered after the
# first GL context exists, so it runs before mujoco.egl's own exit hook terminates the EGL display.
_LIVE_RENDERERS: weakref.WeakSet[SceneRenderer] = weakref.WeakSet()
_exit_hook_registered = False


def _track(scene: SceneRenderer) -> None:
    global _exit_hook_registered
    _LIVE_RENDERERS.add(scene)
    if not _exit_hook_registered:
        atexit.register(_close_live_renderers)
        _exit_hook_registered = True


def _close_live_renderers() -> None:
    for scene in list(_LIVE_RENDERERS):
        scene.close()


def apply_quality_flags(scene: Any, quality: RenderQuality) -> None:
    """After `update_scene` (which resets the scene flags): turn off the passes `quality` leaves out."""
    if not quality.scene_effects:
        import mujoco

        for flag in SCENE_EFFECT_FLAGS:
            scene.flags[getattr(mujoco.mjtRndFlag, flag)] = False


def _make_renderer(model: Any, height: int, width: int, quality: RenderQuality) -> Any:
    """Create a renderer whose GL context uses `quality`, leaving the model's settings as they were."""
    import mujoco

    vis_quality, vis_global = model.vis.quality, model.vis.global_
    saved = (vis_quality.shadowsize, vis_quality.offsamples, vis_global.offwidth, vis_global.offheight)
    try:
        if quality.shadowsize is not None:
            vis_quality.shadowsize = quality.shadowsize
        if quality.offsamples is not None:
            vis_quality.offsamples = quality.offsamples
        # The offscreen buffer must hold the frame; the model's <global offwidth> may be smaller.
        vis_global.offwidth = max(vis_global.offwidth, width)
        vis_global.offheight = max(vis_global.offheight, height)
        try:
            return mujoco.Renderer(model, height=height, width=width)
        except mujoco.FatalError as exc:  # the GL driver's limit on framebuffers, met only at this size
            raise ValueError(f"cannot render {height}x{width} images: MuJoCo could not make an offscreen framebuffer "
                             f"that large ({exc}); use a smaller size") from None
    finally:
        (vis_quality.shadowsize, vis_quality.offsamples, vis_global.offwidth, vis_global.offheight) = saved


def upload_texture(renderer: Any, texture_id: int) -> None:
    """Copy `model.tex_data` of one texture into the renderer's GL context (after editing it in place)."""
    import mujoco

    gl_context = getattr(renderer, "_gl_context", None)
    if gl_context is not None:
        gl_context.make_current()
    mujoco.mjr_uploadTexture(renderer.model, renderer._mjr_context, texture_id)
