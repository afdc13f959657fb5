"""The break-even notebook's parameters and the constraints between them, checked before any compute."""

from ...params import Param, ParameterError

# the CNN needs (C, H, W) inputs; the stand-in has CIFAR-10's shape, for the paper preset's path offline
IMAGE_DATASETS = ("digits", "fashion-mnist", "mnist", "cifar10", "standin-cifar10")

PARAMETERS = (
    Param("dataset", str, choices=IMAGE_DATASETS),
    Param("n_train", int, 100, 60000),
    Param("n_test", int, 50, 10000),
    Param("channels", int, 1, 1024, many=True),
    Param("dtype", str, choices=("float64", "float32")),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("batch_sizes", int, 1, 60000, many=True),
    Param("lr_batch", float, 1e-5, 10.0),
    Param("bn_lrs", float, 1e-5, 10.0, many=True),
    Param("steps", int, 1, 1_000_000),
    Param("measure_every", int, 1, 1_000_000),
    Param("n_seeds", int, 1, 100),
    Param("hessian_subset", int, 10, 60000),
    Param("hessian_iters", int, 2, 500),
    Param("cov_batches", int, 3, 1000),
    Param("cov_batch_size", int, 1, 60000),
    Param("target_accs", float, 0.0, 1.0, many=True),
)


def _increasing(name, values):
    if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:])):
        raise ParameterError(f"parameter {name!r} = {values!r} must hold at least 2 values in strictly "
                             "increasing order (the claims compare neighbours along the grid)")


def check(p):
    """Constraints between parameters, checked before any compute."""
    for name in ("lrs", "batch_sizes", "bn_lrs"):
        _increasing(name, getattr(p, name))
    if p.measure_every > p.steps:
        raise ParameterError(f"measure_every = {p.measure_every} exceeds steps = {p.steps}; "
                             "allowed: 1 <= measure_every <= steps")
    need = {"hessian_subset": p.hessian_subset, "cov_batches * cov_batch_size": p.cov_batches * p.cov_batch_size,
            "batch_size": p.batch_size, "max(batch_sizes)": max(p.batch_sizes)}
    for name, n in need.items():
        if n > p.n_train:
            raise ParameterError(f"{name} = {n} needs that many training examples but n_train = {p.n_train}; "
                                 f"allowed: {name} <= n_train")
