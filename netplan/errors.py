"""One error hierarchy for netplan.

Every error a user can cause is a :class:`NetplanError`. The CLI turns them into a
message and a non-zero exit code; nothing reaches the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


class NetplanError(Exception):
    """Base class of every error netplan raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    file
        The file (or scenario key) the problem is in.
    row
        1-based data row (header excluded), or None when the problem is not tied to a row.
    field
        Column or key name, or None.
    message
        What is wrong and what was expected.
    severity
        "error" or "warning".
    """

    file: str
    row: int | None
    field: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class InputError(NetplanError, ValueError):
    """Bad input: names the file, row and field and what was expected.

    Carries every problem found (``problems``) so that a user sees all of them at once.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        problems: Sequence[Problem] | None = None,
    ) -> None:
        probs = list(problems or [])
        if message is not None and not probs:
            probs = [Problem(file or "<input>", row, field, message)]
        self.problems: list[Problem] = probs
        errors = [p for p in probs if p.severity == "error"] or probs
        if len(errors) == 1:
            text = str(errors[0])
        else:
            text = f"{len(errors)} problems in the input:\n" + "\n".join(f"  - {p}" for p in errors)
        super().__init__(text)


@dataclass
class Unservable:
    """A demand that cannot be served, and why."""

    index: int
    reason: str
    label: str | None = None


class InfeasibleError(NetplanError):
    """A model has no feasible solution; names the demands that cannot be served and why."""

    def __init__(self, message: str, *, unservable: Sequence[Unservable] | None = None) -> None:
        self.unservable: list[Unservable] = list(unservable or [])
        lines = [message]
        for u in self.unservable[:20]:
            name = u.label if u.label is not None else f"demand {u.index}"
            lines.append(f"  - {name}: {u.reason}")
        if len(self.unservable) > 20:
            lines.append(f"  ... and {len(self.unservable) - 20} more")
        super().__init__("\n".join(lines))


@dataclass
class _Best:
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solution: object | None = field(default=None, repr=False)


class SolverTimeout(NetplanError):
    """The time limit ran out before any feasible solution was found, or the caller asked
    for a proven optimum and did not get one. Carries the best solution found (if any)
    and its gap."""

    def __init__(
        self,
        message: str,
        *,
        solution: object | None = None,
        objective: float | None = None,
        bound: float | None = None,
        gap: float | None = None,
    ) -> None:
        self.solution = solution
        self.objective = objective
        self.bound = bound
        self.gap = gap
        super().__init__(message)
