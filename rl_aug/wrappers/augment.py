"""`AugmentObservation`: augmentation / domain randomization applied to observations inside the env."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rl_aug.wrappers.stack import _check_image_space


class AugmentObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Apply an `rl_aug.augment` spec (e.g. "conv" or "shift(pad=4)+overlay(alpha=0.5)") to each observation.

    Useful for domain randomization at data-collection time and for evaluating an agent under a pixel-level
    perturbation. The spec sees a batch of one, (1, C, H, W) uint8, so all stacked frames of an observation
    share one draw, as in training-time augmentation. Seeded by `reset(seed=...)`. The output must keep the
    observation's shape (crops to another size are rejected here, once).
    """

    def __init__(self, env: gym.Env, spec: str | Any):
        space = env.observation_space
        self._key = "pixels" if isinstance(space, spaces.Dict) and "pixels" in space.spaces else None
        image = _check_image_space(space[self._key] if self._key else space, "AugmentObservation")
        gym.utils.RecordConstructorArgs.__init__(self, spec=spec)
        gym.ObservationWrapper.__init__(self, env)
        self.augment_spec = spec
        if isinstance(spec, str):
            from rl_aug.augment import parse  # lazy: torch, only for envs that augment

            self._augment = parse(spec)
        else:
            self._augment = spec
        if not callable(self._augment):
            raise TypeError(f"expected an augmentation spec string or a callable, got {type(spec).__name__}")
        self._shape = image.shape
        self._generator = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        import torch

        if seed is not None or self._generator is None:
            self._generator = torch.Generator()
            if seed is None:
                self._generator.seed()
            else:
                self._generator.manual_seed(int(seed))
        return super().reset(seed=seed, options=options)

    def observation(self, observation: Any) -> Any:
        import torch

        image = observation[self._key] if self._key else observation
        x = torch.from_numpy(np.ascontiguousarray(image))[None]
        y = self._augment(x, generator=self._generator)
        if tuple(y.shape[1:]) != self._shape:
            raise ValueError(
                f"AugmentObservation expected the spec {self.augment_spec!r} to keep the shape {self._shape}, "
                f"got {tuple(y.shape[1:])}: use a size-preserving op (e.g. shift instead of crop)"
            )
        out = y[0].round().clamp(0, 255).to(torch.uint8).numpy() if y.dtype != torch.uint8 else y[0].numpy()
        if self._key:
            return {**observation, self._key: out}
        return out
