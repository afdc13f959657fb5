"""The large-scale-structure notebook's parameters, their cross-checks, and the constants of the experiment."""

from ...data import LOADABLE
from ...params import Param, ParameterError

KNOBS = ("lr", "width", "l2")
LINE_TOL = 1e-12  # the toy's 'zero loss': exact up to rounding of unit-sized coordinates

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 50, 60000),
    Param("n_test", int, 50, 10000),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("n_seeds", int, 1, 20),
    Param("scales", float, 0.01, 100.0, many=True),
    Param("subspace_dims", int, 1, 10**7, many=True),
    Param("subspace_steps", int, 1, 100000),
    Param("subspace_lr", float, 1e-6, 10.0),
    Param("d90_fraction", float, 0.1, 1.0),
    Param("lr", float, 1e-5, 10.0),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("width_factors", float, 0.05, 64.0, many=True),
    Param("l2s", float, 0.0, 1.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("max_steps", int, 1, 10**7),
    Param("target_loss", float, 0.0, 10.0),
    Param("checkpoint_every", int, 1, 10**6),
    Param("lanczos_iters", int, 2, 1000),
    Param("n_solutions", int, 3, 20),
    Param("connector_shared", int, 1, 10),
    Param("connector_steps", int, 1, 10**6),
    Param("connector_lr", float, 1e-6, 10.0),
    Param("connector_batch", int, 1, 60000),
    Param("connector_points", int, 3, 201),
    Param("snapshot_every", int, 1, 10**6),
    Param("n_boot", int, 100, 10**5),
    Param("toy_dim", int, 10, 20000),
    Param("toy_short", int, 1, 10000),
    Param("toy_eps", float, 0.0, 1.0),
    Param("toy_reach", float, 0.0, 1e6),
    Param("toy_radii", float, 0.0, 1e6, many=True),
    Param("toy_dims", int, 1, 20000, many=True),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    problems = []
    if 1.0 not in p.scales or len(p.scales) < 2:
        problems.append(f"scales = {p.scales!r} needs at least 2 scales including 1.0 (the initialisation itself)")
    if sorted(p.subspace_dims) != list(p.subspace_dims) or len(set(p.subspace_dims)) != len(p.subspace_dims):
        problems.append(f"subspace_dims = {p.subspace_dims!r} must be strictly increasing")
    for name, base in (("lrs", p.lr), ("width_factors", 1.0), ("l2s", 0.0)):
        values = getattr(p, name)
        if base not in values or len(values) < 2:
            problems.append(f"{name} = {values!r} needs at least 2 values including the base {base!r}")
    if p.batch_size > p.n_train:
        problems.append(f"batch_size = {p.batch_size} exceeds n_train = {p.n_train}")
    if p.connector_batch > p.n_train:
        problems.append(f"connector_batch = {p.connector_batch} exceeds n_train = {p.n_train}")
    if not p.toy_short < p.toy_dim:
        problems.append(f"toy_short = {p.toy_short} must be below toy_dim = {p.toy_dim}")
    elif p.n_solutions * p.toy_short > p.toy_dim - p.connector_shared + 1:
        problems.append(f"the toy's {p.n_solutions} wedges share a set of dimension toy_dim - n_solutions * toy_short "
                        f"= {p.toy_dim - p.n_solutions * p.toy_short}; {p.connector_shared} shared points need at "
                        f"least {p.connector_shared - 1}")
    if 1.0 not in p.toy_radii or len(p.toy_radii) < 2:
        problems.append(f"toy_radii = {p.toy_radii!r} needs at least 2 radii including 1.0 (the cores' distance)")
    if max(p.toy_dims) > p.toy_dim:
        problems.append(f"toy_dims = {p.toy_dims!r} asks for planes larger than toy_dim = {p.toy_dim}")
    if problems:
        raise ParameterError("; ".join(problems))
