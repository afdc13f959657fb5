"""Few-shot episodes: N classes, K support and Q query images per class, drawn without replacement.

A :class:`Split` holds the training and test :class:`~companion.data.omniglot.ClassImages` and
refuses to exist when a group (an alphabet, a digit) is on both sides. A sampler is built on one
side's labels and returns indices into that side only, so an episode can never mix the splits.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..data.omniglot import ClassImages


@dataclass(frozen=True)
class Split:
    """Meta-training and meta-test images whose groups (and so classes) are disjoint."""

    train: ClassImages
    test: ClassImages

    def __post_init__(self):
        shared = set(self.train.groups) & set(self.test.groups)
        if shared:
            raise ValueError(f"groups {sorted(shared)} are on both sides of the split; a few-shot split "
                             "must keep every group (alphabet) on one side")
        overlap = set(self.train.class_names) & set(self.test.class_names)
        if overlap:
            raise ValueError(f"classes {sorted(overlap)[:5]} are on both sides of the split")


@dataclass(frozen=True)
class Episode:
    """One episode: ``classes`` (N,), and image indices ``support`` (N, K) and ``query`` (N, Q).

    Row i of ``support`` and ``query`` holds images of ``classes[i]``; the episode label of a query
    is its row i.
    """

    classes: np.ndarray
    support: np.ndarray
    query: np.ndarray

    @property
    def n_way(self):
        return len(self.classes)

    def indices(self):
        """Support then query indices, flattened row by row: the order the encoder sees them."""
        return np.concatenate([self.support.ravel(), self.query.ravel()])

    def query_labels(self):
        """Episode labels 0..N-1 of the flattened queries, int64 (N * Q,)."""
        return torch.arange(self.n_way).repeat_interleave(self.query.shape[1])


class EpisodeSampler:
    """Draws episodes from labels ``y`` (one side of a split), seeded.

    Each episode takes ``n_way`` distinct classes uniformly, then ``n_shot + n_query`` distinct
    images of each. The same seed gives the same sequence of episodes.
    """

    def __init__(self, y, n_way, n_shot, n_query, seed):
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        for name, value, low in (("n_way", n_way, 2), ("n_shot", n_shot, 1), ("n_query", n_query, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name}={value!r} must be an integer >= {low}")
        classes, counts = np.unique(y, return_counts=True)
        if n_way > len(classes):
            raise ValueError(f"n_way={n_way} is more than the {len(classes)} classes of this split; "
                             f"allowed: 2..{len(classes)}")
        if n_shot + n_query > counts.min():
            raise ValueError(f"n_shot + n_query = {n_shot + n_query} images per class, but the smallest class "
                             f"of this split has {counts.min()}; allowed: n_shot + n_query <= {counts.min()}")
        self.classes = classes
        self.members = [np.flatnonzero(y == c) for c in classes]
        self.n_way, self.n_shot, self.n_query = int(n_way), int(n_shot), int(n_query)
        self.rng = np.random.default_rng(seed)

    def sample(self):
        """The next episode."""
        pick = self.rng.choice(len(self.classes), self.n_way, replace=False)
        rows = np.stack([self.rng.choice(self.members[c], self.n_shot + self.n_query, replace=False)
                         for c in pick])
        return Episode(self.classes[pick], rows[:, :self.n_shot], rows[:, self.n_shot:])

    def take(self, n):
        """The next ``n`` episodes, as a list."""
        return [self.sample() for _ in range(n)]
