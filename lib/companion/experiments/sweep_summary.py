"""The sweep summary notebook (99): any recorded metric of a sweep against any swept parameter.

A sweep folder is what ``companion sweep`` writes. ``table`` names a table every run
recorded (stacked with each run's parameters as columns), or is empty for the one-row-per-run
summary of scalars; seeds, or any column not on an axis, become the spread. ``query`` selects
rows with conditions such as ``activation in ['relu'] and scale <= 1``: data matched by a strict
pattern, never evaluated as code.
"""

import ast
import operator
import re

from .. import paths
from ..params import Param, ParameterError
from ..sweep_results import collect, collect_table

PARAMETERS = (
    Param("sweep_dir", str),
    Param("table", str),
    Param("query", str),
    Param("x", str),
    Param("y", str),
    Param("hue", str),
    Param("log_x", bool),
)

# ``query`` is data, never code: conditions "column op value" joined by " and ", matched by these patterns.
OPERATORS = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge, "<": operator.lt,
             ">": operator.gt, "in": lambda column, values: column.isin(values)}
_SCALAR = r"""'[^']*'|"[^"]*"|[\w.+-]+"""  # a quoted string, a number, True/False/None or a bare word
_LIST = rf"\[\s*(?:(?:{_SCALAR})\s*(?:,\s*(?:{_SCALAR})\s*)*,?\s*)?\]"
_CONDITION = re.compile(rf"\s*(?P<column>[A-Za-z_][\w.:]*)(?![\w.:])\s*(?P<op>==|!=|<=|>=|<|>|in(?=[\s\[]))"
                        rf"\s*(?P<value>{_LIST}|{_SCALAR})\s*")
_AND = re.compile(r"and\s+")
QUERY_FORM = ("conditions 'column op value' joined by ' and ', op one of " + ", ".join(OPERATORS)
              + " ('in' takes a list such as ['relu', 'tanh']), each value a number or a string; or '' for all rows")


def parse_query(text):
    """``query`` as a list of (column, op, value); anything else is a ParameterError naming the allowed form."""
    if not text.strip():
        return []
    conditions, pos = [], 0
    while True:
        match = _CONDITION.match(text, pos)
        if match is None:
            raise query_error(text)
        column, op, value = match["column"], match["op"], _value(match["value"])
        if (op == "in") != isinstance(value, list):
            raise query_error(text, "'in' takes a list and the other operators one value; ")
        conditions.append((column, op, value))
        if match.end() == len(text):
            return conditions
        separator = _AND.match(text, match.end())
        if separator is None:
            raise query_error(text)
        pos = separator.end()


def query_error(text, why=""):
    """The ParameterError for a ``query`` not of the allowed form: what was given, why, and the form."""
    return ParameterError(f"parameter 'query' = {text!r} is not allowed: {why}want {QUERY_FORM}")


def _value(token):
    """A value of a condition: a list of values, a quoted string, a number (or True, False, None), or a bare word."""
    if token.startswith("["):
        return [_value(item) for item in re.findall(_SCALAR, token[1:-1])]
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return token


def select(frame, conditions):
    """The rows of ``frame`` that meet every condition."""
    keep = True
    for column, op, value in conditions:
        try:
            keep = keep & OPERATORS[op](frame[column], value)
        except TypeError as err:
            raise ParameterError(f"parameter 'query' cannot compare column {column!r} ({frame[column].dtype}) "
                                 f"with {value!r}: {err}") from None
    return frame[keep] if conditions else frame


def check(p):
    """The sweep folder exists and ``query`` has the allowed form; the columns are checked when the table is read."""
    if not (paths.notebooks() / p.sweep_dir / "sweep.json").exists():  # relative to notebooks/ (the kernel's folder) anywhere
        raise ParameterError(f"parameter 'sweep_dir' = {p.sweep_dir!r} is not a sweep folder (no sweep.json); "
                             "give a folder written by `companion sweep`")
    parse_query(p.query)


def check_columns(frame, p, conditions):
    """Every column the parameters name is in ``frame`` (``y`` a numeric one); else a ParameterError naming it."""
    columns = ", ".join(map(str, frame.columns))
    named = [("x", p.x), ("y", p.y)] + ([("hue", p.hue)] if p.hue else []) + [("query", c) for c, _, _ in conditions]
    for name, column in named:
        if column not in frame:
            raise ParameterError(f"parameter {name!r} = {getattr(p, name)!r} is not allowed: the table has no column "
                                 f"{column!r}; columns: {columns}")
    numeric = frame.select_dtypes("number").columns
    if p.y not in numeric:
        raise ParameterError(f"parameter 'y' = {p.y!r} is not a numeric column; numeric columns: "
                             + ", ".join(map(str, numeric)))


def load(p):
    """The tidy table to plot: the rows ``query`` selects, checked to have the columns the parameters name."""
    frame = collect_table(p.sweep_dir, p.table) if p.table else collect(p.sweep_dir)
    if frame.empty:
        raise ParameterError(f"the sweep in {p.sweep_dir!r} has no finished run with a table {p.table!r}")
    conditions = parse_query(p.query)
    check_columns(frame, p, conditions)
    frame = select(frame, conditions)
    if frame.empty:
        raise ParameterError(f"parameter 'query' = {p.query!r} selects no rows of the sweep in {p.sweep_dir!r}")
    return frame


def plot_metric(frame, p):
    """``y`` against ``x`` (mean and 95% interval over everything else, e.g. seeds), one line per ``hue``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(data=frame, x=p.x, y=p.y, hue=p.hue or None, marker="o", errorbar=("ci", 95),
                 palette="viridis" if p.hue else None, ax=ax)
    if p.log_x:
        ax.set_xscale("log")
    ax.set(title=f"{p.y} against {p.x}" + (f" by {p.hue}" if p.hue else ""))
    fig.tight_layout()
    return fig


def explorer(frame, p):
    """Widgets: pick the metric, the colour grouping and the x scale of the plot above (no recomputation)."""
    from types import SimpleNamespace

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    numeric = [c for c in frame.select_dtypes("number").columns if c != p.x]
    groups = [""] + [c for c in frame.columns if c not in (p.x, p.y) and 1 < frame[c].nunique() <= 8]

    def show(y, hue, log_x):
        plot_metric(frame, SimpleNamespace(**{**vars(p), "y": y, "hue": hue, "log_x": log_x}))
        plt.show()

    return widgets.interactive(show, y=widgets.Dropdown(options=numeric, value=p.y, description="metric"),
                               hue=widgets.Dropdown(options=groups, value=p.hue if p.hue in groups else "",
                                                    description="colour by"),
                               log_x=widgets.Checkbox(value=p.log_x, description="log x"))
