"""A reproducible companion to ten papers by Fort and co-authors.

The notebooks in ``notebooks/`` tell each paper's story; this package does the work:
``data`` (dataset registry), ``nn`` (models and the recording training loop),
``landscape`` (curvature and subspaces), ``experiments`` (one module per paper) and
``notebook`` (parameters, records and the claims table).

Importing the package pins the CPU instruction set that torch's kernels, MKL and oneDNN
use to AVX2, unless the environment already chooses one. Left alone, each picks the widest
the processor offers, and AVX-512 sums in another order than AVX2: the printed numbers,
which ``pytest --nbval`` compares, then depend on the machine. These libraries read the
variables at their first computation, so this holds when ``companion`` is imported before
any torch computation runs, as every notebook does. It removes one source of machine
dependence, not all: numpy's OpenBLAS picks its kernels by processor, and MKL takes another
path on AMD processors (see the README).
"""

import os

NUMERICS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
for _name, _value in NUMERICS.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
