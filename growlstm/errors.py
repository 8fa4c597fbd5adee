"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad data or settings: the message names the problem and the fix.

    Raise it as ``InputError("what is wrong", fix="what to do")``; ``str(err)`` gives
    ``"what is wrong. Fix: what to do"``, the single line the CLI prints.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        # One line, whatever a wrapped library message contained.
        self.problem = " ".join(problem.split()).rstrip(".")
        self.fix = " ".join(fix.split())
        super().__init__(f"{self.problem}. Fix: {self.fix}" if fix else self.problem)
