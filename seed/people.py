"""Realistic full names from the `names` package, drawn from a seeded `random.Random`.

`names.get_full_name()` draws from the global `random` module and re-reads its distribution files for every name
(about 90,000 lines for a last name), which makes a million names take hours and couples determinism to global
state. `NameSampler` loads the same files once and draws the same way — one choice of gender, then one `random() * 90`
per part, first cumulative frequency above it — so, given generators in the same state, it returns exactly the names
`names.get_full_name()` would (a unit test checks this).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

import names

# The `names` package picks within the first 90 percent of the census cumulative frequency.
_NAMES_SCALE = 90


@dataclass(frozen=True)
class _Distribution:
    cumulative: list[float]
    names: list[str]

    @classmethod
    def load(cls, path: str) -> _Distribution:
        cumulative, spelled = [], []
        with open(path) as lines:
            for line in lines:
                name, _frequency, running_total, _rank = line.split()
                cumulative.append(float(running_total))
                spelled.append(name.capitalize())
        return cls(cumulative, spelled)

    def pick(self, rng: random.Random) -> str:
        # Same rule as names.get_name: the first entry whose cumulative frequency exceeds the draw.
        index = bisect.bisect_right(self.cumulative, rng.random() * _NAMES_SCALE)
        return self.names[min(index, len(self.names) - 1)]


class NameSampler:
    """Full names ("First Last") with the `names` package's distributions; load once, draw many."""

    def __init__(self) -> None:
        self._first = {
            "male": _Distribution.load(names.FILES["first:male"]),
            "female": _Distribution.load(names.FILES["first:female"]),
        }
        self._last = _Distribution.load(names.FILES["last"])

    def full_name(self, rng: random.Random, gender: str | None = None) -> str:
        """names.get_full_name(gender): a gender of "male" or "female", or a random one."""
        gender = gender or rng.choice(("male", "female"))
        first = self._first[gender].pick(rng)
        return f"{first} {self._last.pick(rng)}"
