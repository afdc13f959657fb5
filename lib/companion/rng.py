"""Independent random streams derived from one seed.

``derive(seed, *keys)`` names a stream: the seed of a run and the keys that say what the stream
is for ("init", a run index, ...). Streams are mixed by NumPy's SeedSequence, so seed 0 run 1 and
seed 1 run 0 share nothing, unlike ``seed + k``, where they would be the same stream.
"""

import zlib

import numpy as np


def _word(key):
    """A key as a non-negative int: ints as they are, strings by CRC-32 (stable across runs and machines)."""
    if isinstance(key, str):
        return zlib.crc32(key.encode())
    if isinstance(key, (bool, float)) or int(key) != key or key < 0:
        raise ValueError(f"stream key {key!r} must be a non-negative int or a string")
    return int(key)


def derive(seed, *keys):
    """An int seed in [0, 2**63) for the stream ``keys`` of ``seed``: for torch.manual_seed or numpy."""
    sequence = np.random.SeedSequence(_word(seed), spawn_key=tuple(_word(k) for k in keys))
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def numpy_rng(seed, *keys):
    """A NumPy Generator for the stream ``keys`` of ``seed``."""
    return np.random.default_rng(derive(seed, *keys))


def torch_generator(seed, *keys, device="cpu"):
    """A torch Generator for the stream ``keys`` of ``seed``."""
    import torch

    return torch.Generator(device=device).manual_seed(derive(seed, *keys))
