"""Importing ``companion`` pins the numerical kernels, over what the environment set, unless told to leave them.

Each probe is a fresh interpreter, since the libraries read the variables once, when they load.
"""

import json
import os
import subprocess
import sys

import companion

PROBE = """
import json
import companion, numpy, torch
from numpy._core._multiarray_umath import __cpu_features__
from threadpoolctl import threadpool_info
print(json.dumps({
    "blas": sorted({i.get("architecture") for i in threadpool_info() if i["internal_api"] == "openblas"}),
    "torch": torch.backends.cpu.get_cpu_capability(),
    "numpy_avx512": bool(__cpu_features__["X86_V4"]),
    "mkl": __import__("os").environ["MKL_CBWR"],
}))
"""

OTHER_CHOICE = {"OPENBLAS_CORETYPE": "Sandybridge", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "AUTO"}


def _probe(**env):
    base = {k: v for k, v in os.environ.items() if k not in companion.NUMERICS and k != "COMPANION_NUMERICS"}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_companion_pins_every_library_over_the_environment():
    assert _probe(**OTHER_CHOICE) == {"blas": ["Haswell"], "torch": "AVX2", "numpy_avx512": False, "mkl": "COMPATIBLE"}


def test_native_leaves_the_environment_choice_in_place():
    got = _probe(COMPANION_NUMERICS="native", **OTHER_CHOICE)
    assert got["blas"] == ["Sandybridge"] and got["torch"] == "DEFAULT" and got["mkl"] == "AUTO"
