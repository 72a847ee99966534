"""Augmentation strategies that wrap an agent's update (DrQ, RAD, SVEA, SODA, TangentProp, ActorKL)."""

from rl_aug.strategies.protocol import ActorCritic, Batch

__all__ = ["ActorCritic", "Batch"]
