"""`FrameStack`: the last k frames concatenated on the channel axis, (3*k, H, W).

gymnasium's FrameStackObservation adds a leading axis, (k, 3, H, W), which stable-baselines3 does not
accept as an image; DrQ, DrQ-v2 and DMC-GB all stack on channels, so this wrapper does that.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


def _check_image_space(space: spaces.Space, where: str) -> spaces.Box:
    if not (isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
        got = f"{type(space).__name__} {getattr(space, 'dtype', '')} {getattr(space, 'shape', '')}".strip()
        raise ValueError(
            f"{where} expected a uint8 image space (C, H, W), got {got}: "
            "wrap the env with PixelObservation(env) first"
        )
    channels_last = space.shape[-1] in (3, 4) and space.shape[0] not in (3, 4)  # (H, W, 3), not (3k, H, W)
    if space.shape[0] % 3 != 0 or channels_last:
        raise ValueError(
            f"{where} expected channels first (C, H, W) with C a multiple of 3, got shape {space.shape}: "
            "use PixelObservation, which yields (3, H, W), instead of an (H, W, 3) observation"
        )
    return space


class FrameStack(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Stack the last `k` image observations on the channel axis; reset fills the stack with the first frame.

    Accepts a uint8 (C, H, W) Box, or a Dict with such a Box under "pixels" (other keys pass through).
    """

    def __init__(self, env: gym.Env, k: int):
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"expected a frame count k >= 1, got {k!r}")
        space = env.observation_space
        self._key = "pixels" if isinstance(space, spaces.Dict) and "pixels" in space.spaces else None
        image = _check_image_space(space[self._key] if self._key else space, "FrameStack")
        gym.utils.RecordConstructorArgs.__init__(self, k=k)
        gym.ObservationWrapper.__init__(self, env)
        self.k = int(k)
        c, h, w = image.shape
        stacked = spaces.Box(0, 255, (c * self.k, h, w), np.uint8)
        if self._key:
            self.observation_space = spaces.Dict({**space.spaces, self._key: stacked})
        else:
            self.observation_space = stacked
        self._frames: deque[np.ndarray] = deque(maxlen=self.k)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._frames.clear()
        return super().reset(seed=seed, options=options)

    def observation(self, observation: Any) -> Any:
        frame = observation[self._key] if self._key else observation
        if not self._frames:
            self._frames.extend([frame] * self.k)
        else:
            self._frames.append(frame)
        stacked = np.concatenate(self._frames, axis=0)
        if self._key:
            return {**observation, self._key: stacked}
        return stacked
