"""The one error family of accelsim.

Every error a user can cause (a bad YAML file, a bad trace, a bad command-line
argument) is an :class:`AccelsimError`. The CLI prints ``str(error)`` on one line
per problem and exits with status 2; it never shows a traceback for these.
"""

from __future__ import annotations


class AccelsimError(Exception):
    """Base of every user-facing accelsim error."""


class ConfigError(AccelsimError):
    """An architecture (or sweep, or assignment) file is invalid.

    Parameters
    ----------
    path:
        The file the problems were found in (or a description such as ``<dict>``).
    problems:
        Every problem found, each as ``key.path: what is wrong (got VALUE)``.
    """

    def __init__(self, path: str, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        super().__init__("; ".join(f"{self.path}: {p}" for p in self.problems))


class TraceError(AccelsimError):
    """A trace file is unreadable or inconsistent."""

    def __init__(self, path: str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NotModeledError(AccelsimError):
    """A feature the input asks for is not modeled (yet); says which and why."""
