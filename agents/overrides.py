"""The command-line override grammar of `rl-aug train` and `rl-aug ccil`: Hydra's, parsed by hydra-core's own
OverridesParser; and ConfigError, the one error for a bad config of either.

    seed=3  agent.lr=3e-4  agent.log_std_bounds=[-5,2]     change a value (lists and dicts in Hydra syntax)
    agent=drqv2                                            pick a group file (agent, strategy, task, run)
    +agent.encoder_input_crop=84   ++agent.lr=1e-4          add a key (+: it must be new; ++: add or change);
                                                           new keys only in agent.* and strategy.*
    ~agent.encoder_tau                                      delete a key (the constructor's default applies)
    -m seed=1,2,3 strategy=drq,svea   seed=range(1,6)       sweeps: one run per combination (multirun, sweep)
    seed=1-5                                               an inclusive integer range: seed=1,2,3,4,5

Augmentation specs and schedules look like Hydra function calls (`strategy.strong=overlay(alpha=0.5)`,
`agent.stddev_schedule=linear(1.0,0.1,100000)`); where Hydra's grammar rejects such a value, the whole text
after `=` is taken as one string, so they work unquoted. In a sweep, quote them: `strategy.strong=conv,'overlay(alpha=0.5)'`.
Only the parsing and the sweep expansion are Hydra's; composition, presets and checks stay in agents/config.py
(training) and agents/ccil_config.py (CCIL), which both import from here: this module imports neither.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from rl_aug.errors import UserInputError
from rl_aug.extras import require

require("hydra", "Hydra's override grammar (`+key`, `~key`, sweeps)")
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType
from hydra.errors import HydraException


class ConfigError(UserInputError):
    """A bad config: unknown key, wrong type, missing file or an incompatible combination (training or CCIL)."""


_PARSER = OverridesParser.create()
_RANGE = re.compile(r"^(\d+)-(\d+)$")  # seed=1-5: inclusive, as DrQ-style launch scripts write seed ranges
_KINDS = {OverrideType.CHANGE: "set", OverrideType.ADD: "add", OverrideType.FORCE_ADD: "force_add",
          OverrideType.DEL: "delete"}
_PREFIX = {"set": "", "add": "+", "force_add": "++", "delete": "~"}  # how each kind is written on the command line


@dataclass(frozen=True)
class Item:
    """One override: `kind` is set, add, force_add or delete; `text` is `key=value` as the user typed it."""

    kind: str
    key: str
    text: str
    value: Any = None
    sweep: tuple[str, ...] = ()


def parse(items: list[str]) -> list[Item]:
    """Every override as an Item; a value Hydra cannot parse (an augmentation spec) is one literal string."""
    out: list[Item] = []
    for item in items:
        try:
            o = _PARSER.parse_overrides([item])[0]
        except HydraException:
            key, sep, value = item.partition("=")
            if not sep or not key or key[0] in "+~" or not key.replace(".", "").replace("_", "").isalnum():
                raise ConfigError(f"expected overrides of the form key=value, +key=value, ~key or a sweep key=a,b "
                                  f"(e.g. agent=sac seed=1,2 with -m), got {item!r}") from None
            out.append(Item("set", key, item, value))
            continue
        kind = _KINDS[o.type]
        if o.package is not None:
            raise ConfigError(f"packages (`group@pkg=...`) are not supported here, got {item!r}")
        if (kind == "set" and "=" not in item) or not o.key_or_group:
            raise ConfigError(f"expected overrides of the form key=value (e.g. agent=sac frames=100000), got {item!r}")
        value, sweep = o.value(), ()
        match = _RANGE.match(value) if isinstance(value, str) and kind != "delete" else None
        if o.is_sweep_override():
            sweep = tuple(o.sweep_string_iterator())
            if not sweep:
                raise ConfigError(f"the sweep {item!r} is empty: it gives no value to run")
        elif match:
            first, last = int(match[1]), int(match[2])
            if last < first:
                raise ConfigError(f"the range {item!r} is empty: expected first-last with first <= last "
                                  f"(e.g. {o.key_or_group}={last}-{first})")
            sweep = tuple(str(v) for v in range(first, last + 1))
        out.append(Item(kind, o.key_or_group, item, None if sweep else value, sweep))
    return out


def expand(items: list[str]) -> list[list[str]]:
    """The runs of a multirun: the product of every sweep (the first sweep varies slowest, as Hydra's basic
    sweeper), each run a list of plain overrides. Without sweeps: one run."""
    parsed = parse(items)
    choices = [[f"{_PREFIX[it.kind]}{it.key}={v}" for v in it.sweep] if it.sweep else [it.text] for it in parsed]
    return [list(run) for run in itertools.product(*choices)]


def swept_keys(items: list[str]) -> list[str]:
    """Keys with more than one value: what tells the runs of a multirun apart (their directory names)."""
    return [it.key for it in parse(items) if it.sweep]
