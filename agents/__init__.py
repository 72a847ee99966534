"""Reference agents that speak rl_aug.strategies.ActorCritic, their replay buffer and the training loop.

    from rl_aug.agents import SAC, DrQV2, ReplayBuffer
    from rl_aug.agents import load_policy          # a trained run as a policy in its env's action bounds
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer
"""

from rl_aug.agents.drqv2 import DrQV2
from rl_aug.agents.policy import Policy, load_policy
from rl_aug.agents.replay import ReplayBuffer
from rl_aug.agents.sac import SAC

__all__ = ["SAC", "DrQV2", "Policy", "ReplayBuffer", "load_policy"]
