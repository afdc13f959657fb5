"""A reproducible companion to ten papers by Fort and co-authors.

The notebooks in ``notebooks/`` tell each paper's story; this package does the work:
``data`` (dataset registry), ``nn`` (models and the recording training loop),
``landscape`` (curvature and subspaces), ``experiments`` (one module per paper) and
``notebook`` (parameters, records and the claims table).

Importing the package pins the numerical kernels to ones that every x86 processor with AVX2 runs the
same way, Intel or AMD, over whatever the environment set (``COMPANION_NUMERICS=native`` leaves the
environment's choice, or the libraries', in place): torch's own kernels and oneDNN to AVX2, MKL to
its vendor-independent branch (``COMPATIBLE``; its AVX2 branch takes another path on AMD
processors), numpy's OpenBLAS to its Haswell kernels, and numpy's own loops to AVX2. Left alone,
each picks by processor, and the wider kernels sum in another order: the printed numbers, which
``pytest --nbval`` compares, would then depend on the machine. The libraries read these variables
when they load, so the pin holds for processes started after the import (the kernels of ``companion
run``, ``verify`` and ``pytest --nbval``) and in a notebook that imports ``companion`` before numpy,
as every notebook's setup cell does.
"""

import os

NUMERICS = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}
PINNED = os.environ.get("COMPANION_NUMERICS") != "native"
if PINNED:
    os.environ.update(NUMERICS)

__version__ = "0.1.0"
