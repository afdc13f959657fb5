"""The dataset registry: every notebook gets its data from ``load(name, ...)``.

``DATASETS`` names every registered set; ``IMAGE_DATASETS`` the loadable ones whose inputs are (C, H, W)
images; ``LOADABLE`` those that ``load`` returns as images or
vectors with labels: ``digits`` (scikit-learn, offline), ``mnist1d`` (generated offline), and
``fashion-mnist``, ``mnist``, ``cifar10``, ``cifar100`` (files, found in ``$COMPANION_DATA/<name>``, the user
cache or, for Fashion-MNIST, the Debian package folder, else downloaded), ``omniglot`` (the two small
background subsets and Lake's one-shot runs) and ``omniglot-full`` (background and evaluation sets),
their zips extracted safely into the user cache and checked on every load (:mod:`companion.data.archives`).
``wfi-geant4`` is a folder of FITS files: ``fetch`` returns it verified. Files are checked against
``companion/data/manifest.yaml`` before they are parsed; a bad file raises :class:`DataError` saying how to fetch it
again. ``$COMPANION_DATA`` is only ever read: downloads and extractions go to the user cache. CIFAR-100 comes
with its super-classes: ``Dataset.superclasses`` holds the coarse label of each class.
"""

from .manifest import DataError
from .registry import DATASETS, IMAGE_DATASETS, LOADABLE, Dataset, dataset_status, fetch, load, verify

__all__ = ["DATASETS", "IMAGE_DATASETS", "LOADABLE", "DataError", "Dataset", "dataset_status", "fetch", "load", "verify"]
