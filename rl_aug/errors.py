"""One exception type for "the user gave a bad input", so every `rl-aug` subcommand reports it the same way.

Library code raises `UserInputError` (a ValueError, so existing `except ValueError` callers keep working) or a
subclass (agents.config.ConfigError, the CCIL config and demo errors, a damaged checkpoint, a locked run
directory). The `rl-aug` dispatcher (rl_aug.cli.main) turns any of them into one line
`rl-aug <subcommand>: <message>` on stderr and exit code 2, with no traceback; no subcommand needs its own
try/except for that. `blame_input` converts a library's TypeError / ValueError at a command-line boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserInputError(ValueError):
    """A bad input from the user (an argument, a config value, a file they named): reported, never a bug."""


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a message never spans lines on the command line)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or type(exc).__name__


@contextmanager
def blame_input(what: str, types: tuple[type[BaseException], ...] = (TypeError, ValueError)) -> Iterator[None]:
    """Re-raise `types` raised inside the block as UserInputError("<what>: <message>"): for code that only
    consumes a user's input (`what` names it), where such an error can only mean that input is bad."""
    try:
        yield
    except types as exc:  # a UserInputError (a ValueError) too: the prefix says which argument it was
        raise UserInputError(f"{what}: {one_line(exc)}") from exc


class InputFileError(FileNotFoundError, UserInputError):
    """A file or folder the user named is missing, or is not the kind of thing expected (a file for a folder)."""
