"""The parameter spec of the Gaussian prototypical networks notebook and the constraints between parameters."""

from ...fewshot.encoder import INITS, output_side
from ...fewshot.protonets import DISTANCES, MODES, TRANSFORMS
from ...params import Param, ParameterError

DATASETS = ("digits", "omniglot", "omniglot-full")
DIGITS_TEST = (3, 4, 7)  # see the package docstring: no test digit is a rotation of a training digit (6 and 9 train)
GAUSSIAN = ("radius", "diagonal")

PARAMETERS = (
    Param("dataset", str, choices=DATASETS),
    Param("image_size", int, 8, 105),
    Param("filters", int, 1, 2048, many=True),
    Param("init", str, choices=INITS),
    Param("transform", str, choices=TRANSFORMS),
    Param("distance", str, choices=DISTANCES),
    Param("bn_mode", str, choices=("running", "transductive")),
    Param("train_way", int, 2, 5000),
    Param("train_shot", int, 1, 19),
    Param("train_query", int, 1, 19),
    Param("steps", int, 1, 1_000_000),
    Param("lr", float, 1e-6, 1.0),
    Param("halve_every", int, 1, 1_000_000),
    Param("ways", int, 2, 5000, many=True),
    Param("shots", int, 1, 19, many=True),
    Param("test_query", int, 1, 19),
    Param("n_episodes", int, 10, 1_000_000),
    Param("n_seeds", int, 1, 100),
    Param("damage_fractions", float, 0.0, 1.0, many=True),
    Param("damage_size", int, 1, 105),
    Param("damage_modes", str, choices=MODES, many=True),
    Param("quality_sizes", int, 1, 105, many=True),
    Param("lake_runs", bool),
)


def check(p):
    """Constraints between parameters, checked before any compute (the data's own limits are checked on loading)."""
    if output_side(p.image_size, len(p.filters)) < 1:
        raise ParameterError(f"parameter 'filters' = {p.filters!r}: {len(p.filters)} blocks halve a {p.image_size}-pixel "
                             f"image to nothing; allowed: at most {p.image_size.bit_length() - 1} blocks")
    if p.filters[-1] < 2 or p.filters[-1] % 2:
        raise ParameterError(f"parameter 'filters' = {p.filters!r}: the last entry (the output channels, split in half "
                             "by the diagonal mode) must be even and at least 2")
    per_class = 20 if p.dataset != "digits" else 150  # Omniglot: 20 drawers; digits: at least 174 per class
    for name, need in (("train_shot + train_query", p.train_shot + p.train_query),
                       ("max(shots) + test_query", max(p.shots) + p.test_query)):
        if need > per_class:
            raise ParameterError(f"{name} = {need} images per class, but {p.dataset} has {per_class} per class; "
                                 f"allowed: at most {per_class}")
    if p.dataset == "digits" and (max(p.ways) > 12 or p.train_way > 28):
        raise ParameterError(f"digits has 12 test classes and 28 training classes (with rotations): parameter 'ways' = "
                             f"{p.ways!r} must be at most 12 and 'train_way' = {p.train_way} at most 28; "
                             "use dataset 'omniglot' for 20-way")
    if 0.0 not in p.damage_fractions or len(set(p.damage_fractions)) != len(p.damage_fractions):
        raise ParameterError(f"parameter 'damage_fractions' = {p.damage_fractions!r} must hold 0.0 (the undamaged "
                             "reference) and no repeats")
    if "vanilla" not in p.damage_modes or not set(p.damage_modes) & set(GAUSSIAN):
        raise ParameterError(f"parameter 'damage_modes' = {p.damage_modes!r} must hold 'vanilla' and at least one of "
                             f"{GAUSSIAN}")
    if not p.damage_size < p.image_size or max(p.quality_sizes) > p.image_size:
        raise ParameterError(f"parameters 'damage_size' = {p.damage_size} and 'quality_sizes' = {p.quality_sizes!r} "
                             f"must be below (damage) and at most (quality) image_size = {p.image_size}")
    if p.lake_runs and p.dataset == "digits":
        raise ParameterError("parameter 'lake_runs' = True needs an Omniglot dataset (the runs are Omniglot images)")
