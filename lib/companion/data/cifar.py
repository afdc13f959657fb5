"""CIFAR-10 and CIFAR-100 from the official "python version" tarballs, read without trusting them.

The tarball is extracted by :mod:`companion.data.archives` (every member checked first). Its batches are pickles (Python 2 ``cPickle`` dicts
holding a numpy array); they are read with an unpickler that resolves only the three numpy
globals an array needs and refuses every other global, so a crafted batch cannot run code.
"""

import io
import pickle
from pathlib import Path

import numpy as np

from .manifest import DataError

try:  # numpy >= 2 (numpy 1.26 has the same function under numpy.core)
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CIFAR100_FOLDER = "cifar-100-python"  # one batch per split, each with fine (0-99) and coarse (0-19) labels
CIFAR100_TRAIN, CIFAR100_TEST = "train", "test"

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # pickles written by numpy 1.x
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # pickles written by numpy 2.x
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


def read_split(folder, batches):
    """Concatenate ``batches`` under ``folder``: X uint8 (N, 3, 32, 32), y int64 (N,)."""
    parts = [read_batch((Path(folder) / batch).read_bytes(), Path(folder) / batch)
             for batch in batches]
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def read_cifar100(folder, split):
    """One CIFAR-100 split under ``folder``: X uint8 (N, 3, 32, 32), fine labels (N,), coarse labels (N,), int64."""
    path = Path(folder) / split
    return read_batch_labels(path.read_bytes(), path, (b"fine_labels", b"coarse_labels"))


def read_batch(data, source, label_key=b"labels"):
    """Parse one pickled CIFAR batch (bytes) with the restricted unpickler; check its layout."""
    X, y = read_batch_labels(data, source, (label_key,))
    return X, y


def read_batch_labels(data, source, label_keys):
    """Parse one pickled CIFAR batch: X uint8 (N, 3, 32, 32) and one int64 (N,) array per key of ``label_keys``."""
    try:
        batch = _Unpickler(io.BytesIO(data), source).load()
    except DataError:
        raise
    except Exception as err:  # a malformed pickle can fail in many ways; all mean a bad file
        raise DataError(f"{source} is not a readable CIFAR batch: {type(err).__name__}: {err}") from err
    keys = (b"data", *label_keys)
    if not isinstance(batch, dict) or any(key not in batch for key in keys):
        raise DataError(f"{source}: expected a dict with keys {', '.join(map(repr, keys))}")
    X = batch[b"data"]
    if not isinstance(X, np.ndarray) or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != 3072:
        raise DataError(f"{source}: b'data' must be a uint8 array of shape (N, 3072), got "
                        f"{getattr(X, 'dtype', type(X).__name__)} {getattr(X, 'shape', '')}")
    labels = []
    for key in label_keys:
        y = np.asarray(batch[key])
        if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{source}: {key!r} must hold {len(X)} integers, got shape {y.shape}")
        labels.append(y.astype(np.int64))
    return (X.reshape(-1, 3, 32, 32), *labels)


class _Unpickler(pickle.Unpickler):
    """Resolves only the numpy array globals in ``_ALLOWED``; any other global is refused."""

    def __init__(self, file, source):
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in _ALLOWED)
            raise DataError(f"{self.source}: refusing to unpickle the global {module}.{name}; "
                            f"a CIFAR batch may only reference {allowed}. The file is not a "
                            "genuine CIFAR batch: do not use it.") from None
