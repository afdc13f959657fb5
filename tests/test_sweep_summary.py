"""The sweep summary's parameters: a query is data that selects rows (never code), and every column it names exists."""

from types import SimpleNamespace

import pytest

from companion import paths
from companion.experiments import sweep_summary as ss
from companion.params import ParameterError

EXAMPLE = paths.root() / "data" / "examples" / "goldilocks-sweep"
COLUMNS = "columns: activation, scale, radius"


def params(**changes):
    """The notebook's defaults on the committed example sweep, with ``changes``."""
    defaults = dict(sweep_dir=str(EXAMPLE), table="curvature", query="activation in ['relu']", x="scale", y="gamma",
                    hue="subspace_dim", log_x=True)
    return SimpleNamespace(**{**defaults, **changes})


def test_conditions_joined_by_and_select_the_rows():
    frame = ss.load(params(query="activation in ['relu'] and subspace_dim == 10 and scale <= 0.4"))
    assert len(frame) == 9  # three seeds at scales 0.1, 0.2 and 0.4
    assert set(frame.activation) == {"relu"} and set(frame.subspace_dim) == {10} and frame.scale.max() == 0.4
    assert len(ss.load(params(query="activation == relu and seed != 0"))) == len(ss.load(params())) * 2 // 3


def test_a_query_that_is_code_is_refused_and_runs_nothing(tmp_path):
    witness = tmp_path / "ran"
    code = (f"scale.__class__.__init__.__globals__.get('warnings').sys.modules.get('os')"
            f".system('touch {witness}') == 0")
    with pytest.raises(ParameterError) as err:
        ss.load(params(query=code))
    assert not witness.exists()  # DataFrame.query ran it
    assert "parameter 'query'" in str(err.value) and "'column op value'" in str(err.value)


@pytest.mark.parametrize("query", ["activation = 'relu'", "scale > 0.1 or scale < 0.01", "activation == ['relu']",
                                   "scale in 0.1", "activation.str.len() > 0", "scale > 0.1 and", "0.1 < scale"])
def test_a_query_not_of_the_allowed_form_is_refused_before_any_data_is_read(query):
    with pytest.raises(ParameterError) as err:
        ss.check(params(query=query, sweep_dir=str(EXAMPLE)))
    assert f"parameter 'query' = {query!r} is not allowed" in str(err.value)
    assert "'column op value' joined by ' and '" in str(err.value)


def test_an_unknown_column_in_the_query_is_named_with_the_columns():
    with pytest.raises(ParameterError, match=f"parameter 'query' = .* is not allowed: the table has no column "
                                             f"'activaton'; {COLUMNS}"):
        ss.load(params(query="activaton in ['relu']"))


def test_a_comparison_of_numbers_with_a_word_names_the_query():
    with pytest.raises(ParameterError, match="parameter 'query' cannot compare column 'scale' .* with 'big'"):
        ss.load(params(query="scale > big"))


def test_a_query_that_selects_nothing_says_so():
    with pytest.raises(ParameterError, match="parameter 'query' = 'scale > 100' selects no rows"):
        ss.load(params(query="scale > 100"))


@pytest.mark.parametrize("name, value", [("x", ""), ("y", ""), ("x", "scal"), ("y", "gama"), ("hue", "dim")])
def test_an_empty_or_unknown_axis_column_is_refused_by_parameter_name(name, value):
    with pytest.raises(ParameterError) as err:
        ss.load(params(**{name: value}))
    assert f"parameter {name!r} = {value!r} is not allowed: the table has no column {value!r}; {COLUMNS}" \
        in str(err.value)


def test_y_must_be_a_numeric_column():
    with pytest.raises(ParameterError, match="parameter 'y' = 'activation' is not a numeric column; numeric columns: "
                                             "scale, radius"):
        ss.load(params(y="activation"))


def test_no_hue_is_allowed():
    assert not ss.load(params(hue="")).empty
