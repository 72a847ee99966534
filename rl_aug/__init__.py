"""rl-aug: data augmentation that works for reinforcement and imitation learning from pixels.

Importing the package is cheap: heavy parts (dm_control, stable-baselines3) are imported where used.
"""

__version__ = "0.1.0"
