"""The Goldilocks notebook's parameters and the constraints between them, checked before any compute."""

from ...data import LOADABLE
from ...nn import INITS
from ...params import Param, ParameterError

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 50, 60000),
    Param("n_test", int, 50, 10000),
    Param("widths", int, 1, 4096, many=True),
    Param("activations", str, choices=("relu", "tanh"), many=True),
    Param("init", str, choices=INITS),
    Param("scales", float, 0.01, 100.0, many=True),
    Param("subspace_dim", int, 2, 2000),
    Param("subspace_kind", str, choices=("orthonormal", "sparse")),
    Param("n_seeds", int, 2, 1000),
    Param("input_scales", float, 0.01, 100.0, many=True),
    Param("panel_seeds", int, 2, 1000),
    Param("train_scales", float, 0.01, 100.0, many=True),
    Param("train_dims", int, 1, 100000, many=True),
    Param("train_seeds", int, 1, 100),
    Param("train_steps", int, 1, 100000),
    Param("train_lr", float, 1e-6, 10.0),
    Param("n_inits", int, 5, 10000),
    Param("n_groups", int, 0, 1000),
    Param("group_size", int, 2, 100),
    Param("target_loss", float, 0.0, 10.0),
    Param("select_steps", int, 1, 100000),
    Param("select_lr", float, 1e-6, 100.0),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.n_groups * p.group_size > p.n_inits:
        raise ParameterError(f"n_groups * group_size = {p.n_groups * p.group_size} needs at most n_inits = "
                             f"{p.n_inits} inits; raise n_inits or lower n_groups/group_size")
    if len(p.scales) < 3 or 1.0 not in p.scales:
        raise ParameterError(f"parameter 'scales' = {p.scales!r} needs at least 3 scales including 1.0 (the named init)")
    if p.panel_seeds > p.n_seeds:
        raise ParameterError(f"parameter 'panel_seeds' = {p.panel_seeds} reuses the rays of the sweep; allowed: at "
                             f"most n_seeds = {p.n_seeds}")
