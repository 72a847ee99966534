"""Augmentation strategies that wrap an agent's update (DrQ, RAD, SVEA, SODA, TangentProp, ActorKL).

    strategy = rl_aug.strategies.make("svea", regularizers=["tangent_prop"])
    strategy.attach(agent)                          # once, after building the agent, before loading a checkpoint
    metrics = strategy.update(agent, batch, step)   # one full update
    loss, metrics, _ = strategy.critic_loss(agent, batch, step)  # that update's critic loss, nothing stepped
    state = strategy.state_dict()                   # SODA heads, optimizer, generator

Any agent speaking `ActorCritic` (protocol.py) works; a strategy lists what it misses at attach.
"""

from rl_aug.strategies.actor_kl import ActorKL, policy_kl
from rl_aug.strategies.augmentation import Augmentation, resolve_augmentation
from rl_aug.strategies.base import Regularizer, Strategy, check_agent
from rl_aug.strategies.drq import RAD, DrQ, NoAug
from rl_aug.strategies.protocol import ActorCritic, Batch
from rl_aug.strategies.registry import available, compose, from_config, make, make_regularizer
from rl_aug.strategies.soda import SODA
from rl_aug.strategies.svea import SVEA
from rl_aug.strategies.tangent_prop import TangentProp, one_pixel_tangent

__all__ = [
    "RAD",
    "SODA",
    "SVEA",
    "ActorCritic",
    "ActorKL",
    "Augmentation",
    "Batch",
    "DrQ",
    "NoAug",
    "Regularizer",
    "Strategy",
    "TangentProp",
    "available",
    "check_agent",
    "compose",
    "from_config",
    "make",
    "make_regularizer",
    "one_pixel_tangent",
    "policy_kl",
    "resolve_augmentation",
]
