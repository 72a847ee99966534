"""sb3-contrib's TQC through an rl_aug strategy (its own module: sb3-contrib is optional, `pip install sb3-contrib`)."""

from __future__ import annotations

from rl_aug.extras import require

require("sb3_contrib", "rl_aug.sb3.AugmentedTQC")
from sb3_contrib import TQC

from rl_aug.sb3.adapter import SB3TQCActorCritic
from rl_aug.sb3.augmented import AugmentedMixin


class AugmentedTQC(AugmentedMixin, TQC):
    """TQC (truncated quantile critics) through an rl_aug strategy; TangentProp, which needs scalar Q values, is
    refused by name (rl_aug/sb3/adapter.py)."""

    adapter = SB3TQCActorCritic
