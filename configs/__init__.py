"""The shipped YAML configs (package data of rl_aug.configs), found with importlib.resources."""
