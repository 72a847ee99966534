"""The augmentation strategies for stable-baselines3's SAC (imported on its own: `import rl_aug` never pulls SB3).

    from rl_aug.sb3 import AugmentedSAC
    model = AugmentedSAC("CnnPolicy", env, strategy="svea", strategy_kwargs={"strong": "conv"}, buffer_size=100_000)
    model.learn(100_000)
    model.save("svea.zip"); model = AugmentedSAC.load("svea.zip", env=env)

`SB3ActorCritic` is the thin adapter: it exposes an SB3 SAC model through the agent protocol of
`rl_aug.strategies`, so the very strategy objects that wrap our SAC and DrQ-v2 wrap SB3's SAC too.
"""

from rl_aug.extras import require

require("stable_baselines3", "rl_aug.sb3")
from rl_aug.sb3.adapter import SB3ActorCritic
from rl_aug.sb3.sac import AugmentedSAC

__all__ = ["AugmentedSAC", "SB3ActorCritic"]
