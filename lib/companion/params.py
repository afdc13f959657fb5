"""Notebook parameters: their types and allowed values, checked before any compute.

Light on purpose (nothing heavy imported): the runner, the sweep engine and every experiment's
``params.py`` use it without loading torch or pandas.
"""

from dataclasses import dataclass

DEVICES = ("auto", "cpu", "cuda")


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type or out of its allowed range."""


@dataclass(frozen=True)
class Param:
    """The type and allowed values of one notebook parameter (its default and doc live in the notebook).

    ``many=True`` means a non-empty list whose every item obeys the type and range.
    """

    name: str
    type: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    many: bool = False

    def allowed(self):
        """The allowed values, in words."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{self.low} <= "
            hi = "" if self.high is None else f" <= {self.high}"
            text = f"{self.type.__name__} with {lo}{self.name}{hi}"
        else:
            text = self.type.__name__
        return f"a non-empty list, each item {text}" if self.many else text

    def problem(self, value):
        """None when ``value`` is allowed, else a sentence saying what is wrong and what is allowed."""
        items = value if self.many else [value]
        if self.many and (not isinstance(value, (list, tuple)) or not value):
            return f"parameter {self.name!r} = {value!r} is not allowed: want {self.allowed()}"
        for item in items:
            ok_type = isinstance(item, self.type) and not (self.type is not bool and isinstance(item, bool))
            if self.type is float and isinstance(item, int) and not isinstance(item, bool):
                ok_type = True
            ok = ok_type and (self.choices is None or item in self.choices) and (
                self.low is None or item >= self.low) and (self.high is None or item <= self.high)
            if not ok:
                return f"parameter {self.name!r} = {value!r} is not allowed: want {self.allowed()}"
        return None


COMMON = (Param("seed", int, 0, 2**31 - 1), Param("device", str, choices=DEVICES))


def validate(values, spec):
    """Check a ``{name: value}`` dict against ``spec``; raise one ParameterError listing every problem."""
    known = {p.name: p for p in spec}
    problems = [f"unknown parameter {name!r}; known parameters: {', '.join(sorted(known))}"
                for name in values if name not in known]
    problems += [f"parameter {name!r} is missing" for name in known if name not in values]
    problems += [msg for name, value in values.items() if name in known
                 for msg in [known[name].problem(value)] if msg]
    if problems:
        raise ParameterError("\n".join(problems))
    return values
