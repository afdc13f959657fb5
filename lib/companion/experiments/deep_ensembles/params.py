"""The deep-ensembles notebook's parameters and the constraints between them, checked before any compute."""

from ...data import IMAGE_DATASETS, LOADABLE
from ...data.shift import CORRUPTIONS
from ...params import Param, ParameterError

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 100, 60000),
    Param("n_val", int, 20, 10000),
    Param("n_test", int, 50, 10000),
    Param("normalize", str, choices=("none", "unit", "standard")),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("dropout", float, 0.0, 0.9),
    Param("n_runs", int, 3, 50),
    Param("n_trajectories", int, 2, 50),
    Param("epochs", int, 2, 1000),
    Param("batch_size", int, 1, 8192),
    Param("lr", float, 1e-6, 1.0),
    Param("lr_halving_epochs", int, 1, 1000),
    Param("collect_after", int, 0, 999),
    Param("n_samples", int, 2, 1000),
    Param("plane_samples", int, 2, 1000),
    Param("pca_rank", int, 1, 100),
    Param("diag_scale", float, 0.0, 100.0),
    Param("plane_diag_scale", float, 0.0, 100.0),
    Param("pca_scale", float, 0.0, 1000.0),
    Param("plane_pca_scale", float, 0.0, 1000.0),
    Param("random_radius", float, 0.0, 100000.0),
    Param("plane_random_radius", float, 0.0, 100000.0),
    Param("length_reference", int, 0, 10**10),
    Param("random_acc_floor", float, 0.0, 1.0),
    Param("random_tries", int, 1, 100),
    Param("dropout_rate", float, 0.0, 0.99),
    Param("max_subsets", int, 1, 100000),
    Param("match_tol", float, 0.0, 1.0),
    Param("corruptions", str, choices=CORRUPTIONS, many=True),
    Param("severities", int, 1, 5, many=True),
    Param("shift_sizes", int, 2, 50, many=True),
    Param("connector_steps", int, 1, 1000000),
    Param("connector_lr", float, 1e-6, 10.0),
    Param("connector_points", int, 3, 1001),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    late = p.epochs - p.collect_after
    problems = []
    if p.n_trajectories > p.n_runs:
        problems.append(f"n_trajectories = {p.n_trajectories} must be at most n_runs = {p.n_runs}")
    if late < 2:
        problems.append(f"collect_after = {p.collect_after} leaves {late} checkpoint(s) of {p.epochs} epochs for the "
                        "subspaces; allowed: collect_after <= epochs - 2")
    elif p.pca_rank > late - 1:
        problems.append(f"pca_rank = {p.pca_rank} needs at least {p.pca_rank + 1} checkpoints; epochs - collect_after "
                        f"= {late} gives at most rank {late - 1}")
    if p.n_val >= p.n_train:
        problems.append(f"n_val = {p.n_val} is held out of n_train = {p.n_train}; allowed: n_val < n_train")
    elif p.batch_size > p.n_train - p.n_val:
        problems.append(f"batch_size = {p.batch_size} exceeds the {p.n_train - p.n_val} training examples left "
                        "after holding out n_val")
    if p.model == "cnn" and p.dataset not in IMAGE_DATASETS:
        problems.append(f"model = 'cnn' needs images; {p.dataset} has vector inputs; use model = 'mlp' or one of "
                        f"{', '.join(IMAGE_DATASETS)}")
    if max(p.shift_sizes) > p.n_runs:
        problems.append(f"shift_sizes = {p.shift_sizes} asks for ensembles larger than n_runs = {p.n_runs}")
    if problems:
        raise ParameterError("; ".join(problems))
