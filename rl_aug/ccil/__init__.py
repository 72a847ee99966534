"""CCIL: corrective continuity labels for behaviour cloning (Ke et al., ICLR 2024).

Pure torch/numpy: a Lipschitz-controlled residual dynamics model (``dynamics``, ``spectral``),
label generators (``labels``), filters (``filters``), the chain from demonstrations to labeled data
(``corrective``) and the npz formats (``data``). Environments and policies live in envs/ and agents/.
"""

from rl_aug.ccil.corrective import LabelConfig, generate_labels
from rl_aug.ccil.data import DemoFormatError, Demonstrations, load_demos, save_demos, validate_demos
from rl_aug.ccil.dynamics import (
    DynamicsConfig,
    ResidualDynamics,
    local_lipschitz,
    prediction_error,
    train_dynamics,
)
from rl_aug.ccil.filters import distance_mask, error_bound, error_bound_mask, model_error_mask
from rl_aug.ccil.labels import backtrack_closed_form, backtrack_implicit, disturbed_action, newton_solve
from rl_aug.ccil.spectral import cap_spectral_norm

__all__ = [
    "DemoFormatError",
    "Demonstrations",
    "DynamicsConfig",
    "LabelConfig",
    "ResidualDynamics",
    "backtrack_closed_form",
    "backtrack_implicit",
    "cap_spectral_norm",
    "distance_mask",
    "disturbed_action",
    "error_bound",
    "error_bound_mask",
    "generate_labels",
    "load_demos",
    "local_lipschitz",
    "model_error_mask",
    "newton_solve",
    "prediction_error",
    "save_demos",
    "train_dynamics",
    "validate_demos",
]
