"""The stiffness notebook's parameters, their cross-checks, and the constants of the experiment."""

from ...data import LOADABLE
from ...landscape.stiffness import METRICS
from ...params import Param, ParameterError

THREADS = 1  # torch threads for training and measuring (see the package docstring)
PAIRS = ("train-train", "train-test", "test-test")
CLAIM_PAIRS = "train-test"

# Super-classes the notebook uses where the registry gives none: Fashion-MNIST's tops
# (T-shirt/top 0, pullover 2, coat 4, shirt 6) and footwear (sandal 5, sneaker 7, ankle boot 9);
# trouser 1, dress 3 and bag 8 are each their own group. Keyed by original label.
FASHION_GROUPS = {0: "tops", 2: "tops", 4: "tops", 6: "tops", 5: "footwear", 7: "footwear", 9: "footwear",
                  1: "trouser", 3: "dress", 8: "bag"}

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 20, 60000),
    Param("n_test", int, 20, 10000),
    Param("n_probe", int, 10, 10000),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("activation", str, choices=("relu", "tanh")),
    Param("batch_norm", bool),
    Param("lr", float, 1e-5, 10.0),
    Param("lrs", float, 1e-5, 10.0, many=True),
    Param("batch_size", int, 1, 60000),
    Param("epochs", int, 1, 100000),
    Param("n_checkpoints", int, 3, 500),
    Param("n_seeds", int, 1, 100),
    Param("metric", str, choices=METRICS),
    Param("n_bins", int, 3, 200),
    Param("memory_budget_mb", float, 1.0, 1e6),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.lr not in p.lrs:
        raise ParameterError(f"parameter 'lr' = {p.lr!r} must be one of 'lrs' = {p.lrs!r}: the reference run is "
                             "part of the learning-rate sweep")
    if len(set(p.lrs)) < 2:
        raise ParameterError(f"parameter 'lrs' = {p.lrs!r} needs at least two different learning rates")
    if p.n_probe > min(p.n_train, p.n_test):
        raise ParameterError(f"parameter 'n_probe' = {p.n_probe} must be at most n_train = {p.n_train} and "
                             f"n_test = {p.n_test}: each probe set is drawn from one of them")
    if p.batch_size > p.n_train:
        raise ParameterError(f"parameter 'batch_size' = {p.batch_size} must be at most n_train = {p.n_train}")
    if p.epochs * (p.n_train // p.batch_size) < p.n_checkpoints:
        raise ParameterError(f"epochs * (n_train // batch_size) = {p.epochs * (p.n_train // p.batch_size)} steps "
                             f"cannot hold n_checkpoints = {p.n_checkpoints} checkpoints; train longer or "
                             "checkpoint less often")
