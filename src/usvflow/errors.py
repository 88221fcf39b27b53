"""One exception type for bad input, so every entry point can answer with one clear line."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input from the user: a file we cannot use, or a table that breaks the contract.

    ``str(err)`` is the single line shown to the user: ``<file>: <problem>``.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)

    def __reduce__(self):
        # Rebuilt from (path, problem), so the error crosses from a worker process to its parent intact.
        return (type(self), (self.path, self.problem))
