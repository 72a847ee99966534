"""The augmentation strategies for stable-baselines3's off-policy algorithms (imported on its own: `import rl_aug`
never pulls SB3).

    from rl_aug.sb3 import AugmentedSAC          # also AugmentedTD3, AugmentedDDPG, AugmentedTQC (sb3-contrib)
    model = AugmentedSAC("CnnPolicy", env, strategy="svea", strategy_kwargs={"strong": "conv"}, buffer_size=100_000)
    model.learn(100_000)
    model.save("svea.zip"); model = AugmentedSAC.load("svea.zip", env=env)

The adapters (`SB3ActorCritic` for SAC, `SB3TD3ActorCritic` for TD3 and DDPG, `SB3TQCActorCritic` for TQC,
`adapter_for(model)`) expose an SB3 model through the agent protocol of `rl_aug.strategies`, so the very strategy
objects that wrap our SAC and DrQ-v2 wrap SB3's algorithms too.
"""

from typing import Any

from rl_aug.extras import require

require("stable_baselines3", "rl_aug.sb3")
from rl_aug.sb3.adapter import SB3ActorCritic, SB3TD3ActorCritic, SB3TQCActorCritic, adapter_for
from rl_aug.sb3.augmented import AugmentedDDPG, AugmentedMixin, AugmentedSAC, AugmentedTD3

__all__ = ["AugmentedDDPG", "AugmentedMixin", "AugmentedSAC", "AugmentedTD3", "AugmentedTQC", "SB3ActorCritic",
           "SB3TD3ActorCritic", "SB3TQCActorCritic", "adapter_for"]


def __getattr__(name: str) -> Any:
    """AugmentedTQC on first use: sb3-contrib is imported only by those who train TQC."""
    if name == "AugmentedTQC":
        from rl_aug.sb3.tqc import AugmentedTQC

        return AugmentedTQC
    raise AttributeError(f"module 'rl_aug.sb3' has no attribute {name!r}")
