"""The dataset registry: ``load(name, ...)`` and the status, fetch and verify helpers of the CLI."""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from sklearn.datasets import load_digits

from . import archives, cifar, files, omniglot
from .idx import parse_idx
from .manifest import DataError
from .mnist1d import make_mnist1d
from .transforms import standardize, stratified_pick, unit_scale

NORMALIZE = ("none", "unit", "standard")
DIGITS_TEST_FRACTION = 0.2  # digits has no official split: this share, stratified, is the test set
DIGITS_SPLIT_SEED = 0       # ...drawn with this seed, so every user gets the same split
MNIST1D_SEED = 0            # MNIST-1D is generated from this seed (train and test streams)
MNIST1D_SIZES = (4000, 1000)  # examples (train, test), each class-balanced
_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
STANDIN_SEED = 0             # stand-ins are generated from this seed
STANDIN_PER_CLASS = (20, 5)  # stand-in examples per class (train, test)
_CIFAR_TARBALL = "cifar-10-python.tar.gz"
_CIFAR100_TARBALL = "cifar-100-python.tar.gz"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: X float32 (images (N, C, H, W), vectors (N, F)), y int64 in 0..k-1.

    ``classes`` holds the original labels kept, in the order of the new labels 0..k-1.
    ``superclasses`` holds the super-class of each kept class, in the same order (CIFAR-100's
    coarse labels 0..19); empty for datasets without super-classes.
    """

    name: str
    X_train: torch.Tensor = field(repr=False)
    y_train: torch.Tensor = field(repr=False)
    X_test: torch.Tensor = field(repr=False)
    y_test: torch.Tensor = field(repr=False)
    n_classes: int
    classes: tuple
    input_shape: tuple
    superclasses: tuple = ()

    def split(self, which="train", device="cpu", dtype=None):
        """(X, y) of the ``"train"`` or ``"test"`` split on ``device``, X cast to ``dtype`` when given."""
        if which not in ("train", "test"):
            raise ValueError(f"split {which!r} is not allowed; choose 'train' or 'test'")
        X, y = (self.X_train, self.y_train) if which == "train" else (self.X_test, self.y_test)
        return X.to(device, dtype), y.to(device)


@dataclass(frozen=True)
class _Spec:
    kind: str           # "builtin", "generated" or "files"
    description: str
    read: Callable      # () -> (X_train, y_train, X_test, y_test[, super-class of each label]); None: fetch() only
    sizes: tuple        # (train, test) examples in the full set
    unit: float | None  # the format's maximum, for normalize="unit" (None: left as is)
    origin: str = ""    # where a builtin or generated set comes from
    labels: tuple = tuple(range(10))
    images: bool = True  # inputs are (C, H, W) images (a CNN can read them); False: vectors


def _read_digits():
    bunch = load_digits()
    X, y = bunch.data.reshape(-1, 1, 8, 8), bunch.target.astype(np.int64)
    n_test = round(DIGITS_TEST_FRACTION * len(y))
    test = np.zeros(len(y), dtype=bool)
    test[stratified_pick(y, n_test, np.random.default_rng(DIGITS_SPLIT_SEED))] = True
    return X[~test], y[~test], X[test], y[test]


def _read_mnist1d():
    train = make_mnist1d(MNIST1D_SIZES[0], [MNIST1D_SEED, 0])
    test = make_mnist1d(MNIST1D_SIZES[1], [MNIST1D_SEED, 1])
    return (*train, *test)


def _read_idx(name):
    folder = files.locate(name) or files.fetch(name)
    payloads = [files.verified_bytes(folder / fname, files.file_entry(name, fname), name)
                for fname in _IDX_FILES]  # every file is checked before any is parsed
    arrays = [parse_idx(payload, folder / fname) for payload, fname in zip(payloads, _IDX_FILES)]
    for which, images, labels in (("train", *arrays[:2]), ("t10k", *arrays[2:])):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: {which} images {images.shape} and labels {labels.shape} "
                            "do not match: expected (N, H, W) images and N labels")
    return (arrays[0][:, None], arrays[1].astype(np.int64),
            arrays[2][:, None], arrays[3].astype(np.int64))


def _read_cifar():
    folder = files.locate("cifar10") or files.fetch("cifar10")
    tarball = folder / _CIFAR_TARBALL
    files.verify_file(tarball, files.file_entry("cifar10", _CIFAR_TARBALL), "cifar10")
    batches = archives.extracted(tarball, "cifar10", cifar.FOLDER)
    return (*cifar.read_split(batches, cifar.TRAIN_BATCHES),
            *cifar.read_split(batches, [cifar.TEST_BATCH]))


def _read_cifar100():
    folder = files.locate("cifar100") or files.fetch("cifar100")
    tarball = folder / _CIFAR100_TARBALL
    files.verify_file(tarball, files.file_entry("cifar100", _CIFAR100_TARBALL), "cifar100")
    extracted = archives.extracted(tarball, "cifar100", cifar.CIFAR100_FOLDER)
    X_train, fine_train, coarse_train = cifar.read_cifar100(extracted, cifar.CIFAR100_TRAIN)
    X_test, fine_test, coarse_test = cifar.read_cifar100(extracted, cifar.CIFAR100_TEST)
    fine, coarse = np.concatenate([fine_train, fine_test]), np.concatenate([coarse_train, coarse_test])
    if fine.min() < 0 or fine.max() > 99:
        raise DataError(f"{extracted}: fine labels must be 0..99, found {fine.min()}..{fine.max()}")
    superclass = np.full(100, -1, dtype=np.int64)
    superclass[fine] = coarse
    if (superclass[fine] != coarse).any() or (superclass < 0).any():
        raise DataError(f"{extracted}: every fine label 0..99 must occur and lie in exactly one coarse class; "
                        "delete the folder and the tarball and run `companion data fetch cifar100`")
    return X_train, fine_train, X_test, fine_test, superclass


def _read_standin(shape, n_classes, superclass_size=0):
    """Noisy class templates of a paper dataset's shape, value range 0-255 and classes (super-classes of
    ``superclass_size`` consecutive labels where given): data of the right form for checking that a paper
    preset runs end to end where its dataset cannot be downloaded. Learnable, but not the dataset."""
    rng = np.random.default_rng(STANDIN_SEED)
    templates = rng.uniform(0, 255, (n_classes, *shape))
    out = []
    for per_class in STANDIN_PER_CLASS:
        y = np.repeat(np.arange(n_classes), per_class)
        X = np.clip(templates[y] + rng.normal(0, 64, (len(y), *shape)), 0, 255).round()
        out += [X.astype(np.float32), y]
    if superclass_size:
        out.append(np.arange(n_classes) // superclass_size)
    return tuple(out)


def _standin(name, shape, n_classes, superclass_size=0):
    sizes = tuple(n * n_classes for n in STANDIN_PER_CLASS)
    return _Spec("generated", f"a stand-in of {name}'s shape {shape} and {n_classes} classes: noisy class "
                 f"templates, {sizes[0]}/{sizes[1]}, values 0-255 (for running paper presets where {name} "
                 "cannot be downloaded; not the dataset)",
                 lambda: _read_standin(shape, n_classes, superclass_size), sizes, 255.0,
                 origin="generated on demand", labels=tuple(range(n_classes)))


_SPECS = {
    "digits": _Spec("builtin", "scikit-learn's 8x8 handwritten digits, 1797 images, values 0-16; "
                    "no official split: a fixed stratified 20% test split (seed 0)",
                    _read_digits, (1438, 359), 16.0, origin="installed with scikit-learn"),
    "fashion-mnist": _Spec("files", "Zalando's 28x28 greyscale clothing images, official "
                           "60000/10000 split (Debian package dataset-fashion-mnist, or download)",
                           lambda: _read_idx("fashion-mnist"), (60000, 10000), 255.0),
    "mnist": _Spec("files", "LeCun's 28x28 handwritten digits, official 60000/10000 split "
                   "(downloaded)", lambda: _read_idx("mnist"), (60000, 10000), 255.0),
    "cifar10": _Spec("files", "32x32 colour images of 10 object classes, official 50000/10000 "
                     "split (downloaded)", _read_cifar, (50000, 10000), 255.0),
    "cifar100": _Spec("files", "32x32 colour images of 100 object classes in 20 super-classes (coarse labels), "
                      "official 50000/10000 split (downloaded)", _read_cifar100, (50000, 10000), 255.0,
                      labels=tuple(range(100))),
    "mnist1d": _Spec("generated", "MNIST-1D (Greydanus 2020): 1-D digits of 40 samples, "
                     "4000/1000, generated offline from seed 0", _read_mnist1d, MNIST1D_SIZES,
                     None, origin="generated on demand", images=False),
    "omniglot": _Spec("files", "Omniglot's two small background subsets (Lake et al. 2015, MIT): 8 alphabets, "
                      "242 characters x 20 drawers, 28x28, ink 1; alphabet-disjoint split, Latin and Tagalog "
                      "test; with Lake's 20 one-shot runs (downloaded)",
                      lambda: omniglot.as_arrays("omniglot"), (3980, 860), 1.0, labels=tuple(range(242))),
    "omniglot-full": _Spec("files", "Omniglot background (964 characters, 30 alphabets) as train and evaluation "
                           "(659 characters, 20 alphabets) as test, 20 drawers each, 28x28, ink 1 (downloaded)",
                           lambda: omniglot.as_arrays("omniglot-full"), (19280, 13180), 1.0,
                           labels=tuple(range(1623))),
    "wfi-geant4": _Spec("files", "Geant4 simulations of the Athena WFI particle background (MIT; "
                        "erwocky/geant4-scripts test_data): FITS pixel lists, event lists, blobs, frames; "
                        "not images, so fetch() it (downloaded)", None, (0, 0), None, labels=()),
    "standin-mnist": _standin("mnist", (1, 28, 28), 10),
    "standin-cifar10": _standin("cifar10", (3, 32, 32), 10),
    "standin-cifar100": _standin("cifar100", (3, 32, 32), 100, superclass_size=5),
}
DATASETS = tuple(_SPECS)
LOADABLE = tuple(name for name, spec in _SPECS.items() if spec.read is not None)  # what load() returns
IMAGE_DATASETS = tuple(name for name in LOADABLE if _SPECS[name].images)  # loadable sets of (C, H, W) images


def load(name, n_train=None, n_test=None, classes=None, normalize="unit", seed=0):
    """Load dataset ``name`` as a :class:`Dataset`; every argument is checked before any I/O.

    ``n_train``/``n_test``: a stratified subset of that many examples drawn with ``seed``
    (None: all). ``classes``: keep only these original labels, relabelled 0..k-1 in the
    given order. ``normalize``: "none" (raw values as float), "unit" (divide by the format's
    maximum: 16 for digits, 255 for images; MNIST-1D is left as is) or "standard" (zero mean,
    unit variance per feature with training-set statistics). Same arguments, same bits.
    """
    spec = _spec(name)
    if spec.read is None:
        raise ValueError(f"name={name!r} is a folder of files, not images with labels, so load() cannot return "
                         f"it; companion.data.fetch({name!r}) returns its verified folder")
    keep = _check_classes(classes, spec.labels)
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize={normalize!r} is not allowed; allowed: {', '.join(NORMALIZE)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    _check_count("n_train", n_train, spec.sizes[0], f"training examples of {name}")
    _check_count("n_test", n_test, spec.sizes[1], f"test examples of {name}")

    X_train, y_train, X_test, y_test, *extra = spec.read()
    superclasses = tuple(int(extra[0][label]) for label in keep) if extra else ()
    where = f" in classes {keep}" if classes is not None else ""
    X_train, y_train = _select(X_train, y_train, keep, n_train, np.random.default_rng([seed, 0]),
                               "n_train", f"training examples of {name}{where}")
    X_test, y_test = _select(X_test, y_test, keep, n_test, np.random.default_rng([seed, 1]),
                             "n_test", f"test examples of {name}{where}")
    if normalize == "standard":
        X_train, X_test = standardize(X_train, X_test)
    else:
        X_train, X_test = unit_scale(X_train, X_test, spec.unit if normalize == "unit" else None)
    return Dataset(name, torch.from_numpy(np.ascontiguousarray(X_train)), torch.from_numpy(y_train),
                   torch.from_numpy(np.ascontiguousarray(X_test)), torch.from_numpy(y_test),
                   len(keep), keep, tuple(X_train.shape[1:]), superclasses)


def dataset_status():
    """One row per dataset: name, source (builtin/generated/files), where, description."""
    rows = []
    for name, spec in _SPECS.items():
        where = spec.origin
        if spec.kind == "files":
            where = str(files.locate(name) or "missing")
        rows.append({"name": name, "source": spec.kind, "where": where,
                     "description": spec.description})
    return rows


def fetch(name):
    """Make the files of ``name`` present (downloading if needed) and verified; return the folder."""
    if _spec(name).kind != "files":
        raise ValueError(f"name={name!r} is {_spec(name).kind}: there is nothing to fetch; "
                         f"datasets with files: {', '.join(_file_datasets())}")
    return files.fetch(name)


def verify(name=None):
    """Check every present file of ``name`` (None: all datasets) against the manifest, and every
    extracted folder against the list of files (sizes, sha256) written when it was extracted.

    One row per file found in any search folder and per extracted folder: dataset, path, ok (bool),
    message. Builtin and generated datasets have no files, so no rows.
    """
    names = _file_datasets() if name is None else [name]
    return [row for each in names if _spec(each).kind == "files"
            for row in files.check_rows(each) + archives.check_rows(each)]


def _spec(name):
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"name={name!r} is not a known dataset; allowed: {', '.join(DATASETS)}")
    return _SPECS[name]


def _file_datasets():
    return [name for name, spec in _SPECS.items() if spec.kind == "files"]


def _check_classes(classes, labels):
    """Return the labels to keep, in order; all labels when ``classes`` is None."""
    if classes is None:
        return labels
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes={classes!r} must be None or a sequence of labels from {labels}")
    keep = tuple(int(c) if isinstance(c, np.integer) else c for c in classes)
    bad = [c for c in keep if isinstance(c, bool) or not isinstance(c, int) or c not in labels]
    if bad or not keep or len(set(keep)) != len(keep):
        problem = f"unknown labels {bad}" if bad else "empty" if not keep else "repeated labels"
        raise ValueError(f"classes={classes!r}: {problem}; allowed: distinct labels from {labels}")
    return keep


def _check_count(arg, n, available, what):
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{arg}={n!r} must be None (all) or a positive integer")
    if n > available:
        raise ValueError(f"{arg}={n} is more than the {available} {what}; "
                         f"allowed: None or 1..{available}")


def _select(X, y, keep, n, rng, arg, what):
    """Keep the classes ``keep`` (relabelled 0..k-1), then a stratified subset of ``n``."""
    mask = np.isin(y, keep)
    X, old = X[mask], y[mask]
    y = np.empty_like(old)
    for new, label in enumerate(keep):
        y[old == label] = new
    _check_count(arg, n, len(y), what)
    if n is None:
        return X, y
    index = stratified_pick(y, n, rng)
    return X[index], y[index]
