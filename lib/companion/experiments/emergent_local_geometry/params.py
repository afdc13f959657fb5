"""Notebook 08's parameters and the constraints between them, checked before any compute."""

from ...data import LOADABLE
from ...nn import INITS
from ...params import Param, ParameterError

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 20, 60000),
    Param("n_test", int, 20, 10000),
    Param("class_counts", int, 2, 100, many=True),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("activation", str, choices=("relu", "tanh")),
    Param("init", str, choices=INITS),
    Param("lr", float, 1e-5, 10.0),
    Param("batch_size", int, 1, 60000),
    Param("epochs", int, 1, 100000),
    Param("n_checkpoints", int, 3, 200),
    Param("lanczos_steps", int, 5, 2000),
    Param("slq_probes", int, 1, 200),
    Param("n_cosine", int, 2, 1000),
    Param("model_examples", int, 10, 100000),
    Param("hyper_scales", float, 0.01, 100.0, many=True),
    Param("hyper_dim", int, 1, 1000000),
    Param("hyper_steps", int, 1, 100000),
    Param("hyper_lr", float, 1e-6, 10.0),
    Param("hyper_repeats", int, 1, 100),
    Param("memory_budget_mb", float, 1.0, 1e6),
)

N_CLASSES = {"cifar100": 100}  # every other loadable dataset has 10 classes


def check(p):
    """Constraints between parameters, checked before any compute."""
    counts = list(p.class_counts)
    available = N_CLASSES.get(p.dataset, 10)
    if counts != sorted(set(counts)) or counts[-1] > available:
        raise ParameterError(f"parameter 'class_counts' = {counts!r} must be distinct, increasing and at most the "
                             f"{available} classes of {p.dataset}")
    if 1.0 not in p.hyper_scales or len(p.hyper_scales) < 3 or list(p.hyper_scales) != sorted(set(p.hyper_scales)):
        raise ParameterError(f"parameter 'hyper_scales' = {p.hyper_scales!r} needs at least 3 increasing scales "
                             "including 1.0 (the named init)")
    need = 4 * counts[-1] + 1
    if p.lanczos_steps < need:
        raise ParameterError(f"parameter 'lanczos_steps' = {p.lanczos_steps} is too few: the bulk edge at "
                             f"C = {counts[-1]} is read off the top 4C + 1 = {need} eigenvalues, so lanczos_steps >= "
                             f"{need}")
    smallest = round(p.n_train * counts[0] / counts[-1])
    if p.batch_size > smallest:
        raise ParameterError(f"parameter 'batch_size' = {p.batch_size} exceeds the {smallest} training examples of "
                             f"the {counts[0]}-class task (n_train * {counts[0]} / {counts[-1]}); lower it")
    per_class = int(0.9 * p.n_train / counts[-1])  # a stratified subset holds about n_train / C per class
    if p.n_cosine > per_class or p.model_examples // counts[-1] > per_class:
        raise ParameterError(f"parameters 'n_cosine' = {p.n_cosine} and 'model_examples' / C = "
                             f"{p.model_examples // counts[-1]} are examples per class; allowed: at most {per_class} "
                             f"(90% of n_train / {counts[-1]}), or raise n_train")
