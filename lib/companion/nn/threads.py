"""Run a block on a fixed number of threads, then give the caller its own setting back."""

from contextlib import contextmanager

import torch


@contextmanager
def threads(n, blas=False):
    """``n`` torch threads inside the block (and, with ``blas``, ``n`` BLAS threads for NumPy).

    A fixed count fixes the order of reductions, so results are bit-reproducible on any machine.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        if blas:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(n):
                yield
        else:
            yield
    finally:
        torch.set_num_threads(before)
