"""Reference agents that speak rl_aug.strategies.ActorCritic, their replay buffer and the training loop.

    from agents import SAC, DrQV2, ReplayBuffer
    from agents.config import compose
    from agents.train import Trainer
"""

from agents.drqv2 import DrQV2
from agents.replay import ReplayBuffer
from agents.sac import SAC

__all__ = ["SAC", "DrQV2", "ReplayBuffer"]
