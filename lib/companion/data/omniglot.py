"""Omniglot (Lake, Salakhutdinov & Tenenbaum 2015) from the official zips, read without trusting them.

Every zip is checked against its sha256 (``companion/data/manifest.yaml``) and extracted only after every
member is checked to be a plain file or folder that stays inside the target folder
(:mod:`companion.data.archives`). Extraction goes into the user cache (``$COMPANION_DATA`` is
only read), and an extracted folder is checked against the list of files written at its extraction
on every load.

Two registry datasets hold the files (a dataset is one folder, ``$COMPANION_DATA/<name>``):

- ``omniglot``: ``images_background_small1.zip`` and ``images_background_small2.zip`` (two small
  subsets of the background set: together 8 alphabets, 242 characters, 4,840 images; Greek and Latin
  are in both and are read once) and ``all_runs.zip`` (Lake's 20 one-shot classification runs);
- ``omniglot-full``: ``images_background.zip`` (30 alphabets, 964 characters) and
  ``images_evaluation.zip`` (20 alphabets, 659 characters), 20 drawers each.

Images are 105x105 1-bit PNGs. They are loaded as float32 in [0, 1] with the ink at 1 and the paper
at 0 (like MNIST), resized with antialiased bilinear interpolation to ``size`` (28 by default, as
in the few-shot literature). :class:`ClassImages` keeps each image's class and each class's
alphabet; :func:`rotations_as_classes` turns every character into four classes (rotations by 0, 90,
180 and 270 degrees), and :func:`group_split` splits classes by alphabet, so no alphabet, and no
character or rotation of one, is on both sides.
"""

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F

from . import archives, files
from .manifest import DataError

SIZE = 28                  # default side length of loaded images, in pixels
NATIVE = 105               # side length of the PNGs
SMALL, FULL = "omniglot", "omniglot-full"
SETS = {SMALL: ("images_background_small1", "images_background_small2"),
        FULL: ("images_background", "images_evaluation")}
RUNS = "all_runs"          # Lake's 20 within-alphabet 20-way 1-shot runs (in the ``omniglot`` dataset)
# The fixed alphabet-disjoint split of the small subsets: the two test alphabets were drawn once
# from the 8 sorted names with numpy.random.default_rng(0).choice(8, 2, replace=False), before any
# model was trained, and are the same for every user (like the digits test split).
SMALL_TEST_ALPHABETS = ("Latin", "Tagalog")
_CHUNK = 512               # images resized per batch while reading (bounds memory on the full set)


@dataclass(frozen=True, eq=False)
class ClassImages:
    """Images of many classes, each class in one group (an alphabet).

    ``X``: float32 (N, 1, S, S), ink 1, paper 0. ``y``: int64 (N,), the class of each image,
    0..n_classes-1. ``class_names``: one name per class (``Alphabet/characterNN``, with
    ``/rot90`` etc. after :func:`rotations_as_classes`). ``class_group``: the group index of each
    class into ``group_names``.
    """

    X: torch.Tensor = field(repr=False)
    y: torch.Tensor = field(repr=False)
    class_names: tuple
    class_group: tuple
    group_names: tuple

    def __post_init__(self):
        n = len(self.class_names)
        if len(self.X) != len(self.y) or len(self.class_group) != n:
            raise ValueError(f"{len(self.X)} images, {len(self.y)} labels, {n} class names and "
                             f"{len(self.class_group)} class groups: they must agree")
        if len(self.y) and (int(self.y.min()) < 0 or int(self.y.max()) >= n):
            raise ValueError(f"labels must lie in 0..{n - 1}")

    @property
    def n_classes(self):
        return len(self.class_names)

    @property
    def groups(self):
        """The names of the groups that hold at least one class, in order."""
        return tuple(self.group_names[g] for g in sorted(set(self.class_group)))

    def image_groups(self):
        """The group index of every image, int64 (N,)."""
        return torch.as_tensor(self.class_group, dtype=torch.int64)[self.y]


def rotations_as_classes(data, quarter_turns=(0, 1, 2, 3)):
    """Every class becomes ``len(quarter_turns)`` classes: its images rotated by k * 90 degrees.

    Class c rotated by the i-th entry of ``quarter_turns`` is class ``c * len(quarter_turns) + i``;
    a rotation stays in its character's group, so group splits stay disjoint.
    """
    turns = tuple(int(k) for k in quarter_turns)
    if not turns or len(set(turns)) != len(turns) or any(k not in (0, 1, 2, 3) for k in turns):
        raise ValueError(f"quarter_turns={quarter_turns!r} must be distinct values from 0, 1, 2, 3")
    m = len(turns)
    X = torch.cat([torch.rot90(data.X, k, dims=(2, 3)) for k in turns])
    y = torch.cat([data.y * m + i for i in range(m)])
    names = tuple(f"{name}/rot{90 * k}" if k else name for name in data.class_names for k in turns)
    group = tuple(g for g in data.class_group for _ in turns)
    return ClassImages(X, y, names, group, data.group_names)


def group_split(data, test_groups):
    """Split ``data`` by group: (train, test), each with its classes relabelled 0..k-1 in order.

    ``test_groups``: names from ``data.group_names``. Every class lies in exactly one group, so
    no class, and no image, is on both sides.
    """
    test_groups = tuple(test_groups)
    unknown = [g for g in test_groups if g not in data.group_names]
    present = data.groups
    if unknown or not test_groups or len(set(test_groups)) != len(test_groups):
        raise ValueError(f"test_groups={test_groups!r}: want distinct names from {present}")
    test_ids = {data.group_names.index(g) for g in test_groups}
    test_classes = [c for c, g in enumerate(data.class_group) if g in test_ids]
    train_classes = [c for c, g in enumerate(data.class_group) if g not in test_ids]
    if not test_classes or not train_classes:
        raise ValueError(f"test_groups={test_groups!r} leaves no classes on one side; groups: {present}")
    return subset_classes(data, train_classes), subset_classes(data, test_classes)


def subset_classes(data, classes):
    """The images of ``classes`` (class indices of ``data``), relabelled 0..len(classes)-1 in that order."""
    classes = [int(c) for c in classes]
    new = torch.full((data.n_classes,), -1, dtype=torch.int64)
    new[classes] = torch.arange(len(classes))
    keep = new[data.y] >= 0
    return ClassImages(data.X[keep], new[data.y[keep]], tuple(data.class_names[c] for c in classes),
                       tuple(data.class_group[c] for c in classes), data.group_names)


def resize(X, size):
    """Resize images (N, C, H, W) to (N, C, size, size): bilinear, antialiased when shrinking."""
    if X.shape[-1] == size and X.shape[-2] == size:
        return X
    return F.interpolate(X, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


# ---------------------------------------------------------------- archives

def _verified_folder(name, stem, wrap=False):
    """The extracted folder ``stem`` of dataset ``name``, its zip checked against the manifest first."""
    folder = files.locate(name) or files.fetch(name)
    archive = folder / f"{stem}.zip"
    files.verify_file(archive, files.file_entry(name, archive.name), name)
    return archives.extracted(archive, name, stem, wrap)


# ---------------------------------------------------------------- images

def read_png(path):
    """One Omniglot PNG as a bool array (105, 105), True where there is ink."""
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    try:
        with Image.open(path) as image:
            ink = np.asarray(image.convert("L")) < 128
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"{path} is not a readable PNG ({err})") from err
    if ink.shape != (NATIVE, NATIVE):
        raise DataError(f"{path}: expected a {NATIVE}x{NATIVE} image, got {ink.shape}")
    return ink


def _to_tensor(inks, size):
    X = torch.from_numpy(np.stack(inks)[:, None].astype(np.float32))
    return resize(X, size)


def read_folder(root, size=SIZE, skip=()):
    """Read ``root/<alphabet>/<character>/*.png`` in sorted order into :class:`ClassImages`.

    Characters whose ``alphabet/character`` name is in ``skip`` are left out (used to read the
    alphabets the two small subsets share only once).
    """
    root = Path(root)
    alphabets = sorted(p.name for p in root.iterdir() if p.is_dir())
    chunks, pending, labels, names, group = [], [], [], [], []
    for a, alphabet in enumerate(alphabets):
        for character in sorted(p.name for p in (root / alphabet).iterdir() if p.is_dir()):
            name = f"{alphabet}/{character}"
            if name in skip:
                continue
            pngs = sorted((root / alphabet / character).glob("*.png"))
            if not pngs:
                raise DataError(f"{root / name} holds no PNG images")
            for png in pngs:
                pending.append(read_png(png))
                labels.append(len(names))
                if len(pending) == _CHUNK:
                    chunks.append(_to_tensor(pending, size))
                    pending = []
            names.append(name)
            group.append(a)
    if pending:
        chunks.append(_to_tensor(pending, size))
    if not names:
        raise DataError(f"{root} holds no <alphabet>/<character>/*.png images")
    return ClassImages(torch.cat(chunks), torch.tensor(labels, dtype=torch.int64), tuple(names),
                       tuple(group), tuple(alphabets))


def merge(parts):
    """Concatenate :class:`ClassImages` with their own classes; groups of the same name are merged."""
    group_names = tuple(sorted({n for part in parts for n in part.group_names}))
    X, y, names, group, offset = [], [], [], [], 0
    for part in parts:
        X.append(part.X)
        y.append(part.y + offset)
        names += part.class_names
        group += [group_names.index(part.group_names[g]) for g in part.class_group]
        offset += part.n_classes
    return ClassImages(torch.cat(X), torch.cat(y), tuple(names), tuple(group), group_names)


def _check_size(size):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 4 <= size <= NATIVE:
        raise ValueError(f"size={size!r} must be an integer from 4 to {NATIVE} (pixels)")


def load_omniglot(dataset=SMALL, size=SIZE, sets=None):
    """Omniglot characters of ``dataset`` as :class:`ClassImages` at ``size`` x ``size``.

    ``dataset``: "omniglot" (the two small background subsets, their shared alphabets read once)
    or "omniglot-full" (background then evaluation). ``sets``: the zips' stems to read (default: all
    of the dataset's). Groups are alphabets.
    """
    if dataset not in SETS:
        raise ValueError(f"dataset={dataset!r} is not an Omniglot dataset; allowed: {', '.join(SETS)}")
    sets = SETS[dataset] if sets is None else tuple(sets)
    bad = [s for s in sets if s not in SETS[dataset]]
    if bad or not sets:
        raise ValueError(f"sets={sets!r}: want names from {SETS[dataset]}")
    _check_size(size)
    parts, seen = [], set()
    for stem in sets:
        part = read_folder(_verified_folder(dataset, stem), size, skip=seen)
        seen |= set(part.class_names)
        parts.append(part)
    return merge(parts)


def load_split(dataset=SMALL, size=SIZE):
    """The dataset's standard alphabet-disjoint (train, test) split.

    "omniglot-full": the background set trains and the evaluation set tests (as the paper's code
    does). "omniglot": the small subsets' 8 alphabets, ``SMALL_TEST_ALPHABETS`` held out.
    """
    if dataset == FULL:
        return tuple(load_omniglot(FULL, size, sets=(stem,)) for stem in SETS[FULL])
    return group_split(load_omniglot(dataset, size), SMALL_TEST_ALPHABETS)


def one_shot_runs(size=SIZE):
    """Lake et al.'s 20 one-shot runs: a list of dicts with ``train`` (20, 1, S, S), one image per
    class, ``test`` (20, 1, S, S) and ``answer`` (20,), the class of each test image."""
    _check_size(size)
    root = _verified_folder(SMALL, RUNS, wrap=True)
    runs = []
    for run in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("run")):
        pairs = [line.split() for line in (run / "class_labels.txt").read_text().splitlines() if line.strip()]
        train = sorted({PurePosixPath(cls).name for _, cls in pairs})
        test = [PurePosixPath(item).name for item, _ in pairs]
        answer = [train.index(PurePosixPath(cls).name) for _, cls in pairs]
        runs.append({"name": run.name,
                     "train": _to_tensor([read_png(run / "training" / f) for f in train], size),
                     "test": _to_tensor([read_png(run / "test" / f) for f in test], size),
                     "answer": torch.tensor(answer, dtype=torch.int64)})
    if len(runs) != 20:
        raise DataError(f"{root}: expected 20 runs run01..run20, found {len(runs)}")
    return runs


def as_arrays(dataset, size=SIZE):
    """(X_train, y_train, X_test, y_test) numpy arrays of the standard split for the registry.

    Labels are characters numbered over both sides (train first), no rotations.
    """
    train, test = load_split(dataset, size)
    return (train.X.numpy(), train.y.numpy(), test.X.numpy(), (test.y + train.n_classes).numpy())

