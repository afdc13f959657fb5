"""Benchmarks: this library against its peer on the same input, in one process.

``python bench/run.py [ENTRY ...]`` runs every entry in ``ENTRIES`` (or the named ones),
prints one side-by-side table per entry and writes all rows to ``build/bench.json``.

To add an entry, write a function that returns a list of row dicts and add it to
``ENTRIES``. Row keys: library, method, wall_s, matvecs (work: matrix-vector products or
updates), max_rel_err (against the exact answer; 0 for the exact answer itself),
peak_mem_mb (peak resident memory above the start of the measurement; None where the
platform cannot reset the peak) and note.
"""

import importlib
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from companion.data import load
from companion.landscape import HessianOperator, dense_hessian, lanczos
from companion.nn import mlp, train
from companion.notebook import write_json_atomic

# The module, not the class ``pyhessian.hessian`` that pyhessian/__init__.py puts over its name.
pyhessian_module = importlib.import_module("pyhessian.hessian")
BUILD = Path(__file__).resolve().parents[1] / "build"
COLUMNS = ("library", "method", "wall_s", "matvecs", "max_rel_err", "peak_mem_mb", "note")
FORMATS = {"wall_s": ".2f", "max_rel_err": ".1e", "peak_mem_mb": ".0f"}


def _status_kb(field):
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1])


def measure(fn):
    """Run ``fn()``; return (its result, wall seconds, peak RSS in MB above the start).

    The peak is Linux's VmHWM, reset before the run through /proc/self/clear_refs; where
    that is not possible the peak is None. Memory the allocator kept from earlier runs is
    reused without showing up, so small numbers are lower bounds.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        start_kb = _status_kb("VmRSS")
    except OSError:
        start_kb = None
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    peak = None if start_kb is None else (_status_kb("VmHWM") - start_kb) / 1024
    return result, wall, peak


def max_rel_err(values, exact):
    """Largest |value - exact| / |exact| over paired eigenvalues."""
    values, exact = np.asarray(values, dtype=float), np.asarray(exact, dtype=float)
    return float(np.max(np.abs(values - exact) / np.abs(exact)))


def by_magnitude(values):
    values = np.asarray(values, dtype=float)
    return values[np.argsort(-np.abs(values), kind="stable")]


def digits_mlp(n=1400, steps=300, seed=0):
    """A 64-32-32-10 ReLU MLP in float64 trained full batch with Adam on n training digits from the registry."""
    data = load("digits", n_train=n, seed=seed)
    X, y = data.X_train.double(), data.y_train
    model = mlp(64, [32, 32], 10, dtype=torch.float64, seed=seed)
    trajectory = train(model, X, y, optimizer="adam", lr=1e-3, steps=steps, seed=seed)
    return model, X, y, trajectory.final


def pyhessian_top(model, X, y, top_n, seed=0):
    """PyHessian's power iteration with deflation, counting its HVPs; leaves the model's grads and mode as they were."""
    calls, training = [0], model.training
    hvp = pyhessian_module.hessian_vector_product

    def counted(*args):
        calls[0] += 1
        return hvp(*args)

    torch.manual_seed(seed)  # PyHessian draws its start vectors from the global RNG
    pyhessian_module.hessian_vector_product = counted
    try:
        with warnings.catch_warnings():  # its backward(create_graph=True) warns of a grad cycle; cleared below
            warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
            values, _ = pyhessian_module.hessian(model, F.cross_entropy, data=(X, y), cuda=False).eigenvalues(top_n=top_n)
    finally:
        pyhessian_module.hessian_vector_product = hvp
        model.zero_grad(set_to_none=True)
        model.train(training)
    return values, calls[0]


def hessian_top10():
    """Top-10 Hessian eigenvalues of a trained digits MLP: Lanczos and PyHessian against the dense Hessian."""
    k = 10
    model, X, y, final = digits_mlp()
    op = HessianOperator(model, X, y)
    lam, wall, peak = measure(lambda: torch.linalg.eigvalsh(dense_hessian(op)).numpy()[::-1])
    exact_la, exact_lm = lam[:k], by_magnitude(lam)[:k]
    setting = f"D={op.dim}, N={len(X)}, train loss {final['train_loss']:.3f}"
    rows = [dict(library="companion", method="dense_hessian + eigvalsh", wall_s=wall, matvecs=op.dim,
                 max_rel_err=0.0, peak_mem_mb=peak, note=f"exact answer; {setting}")]
    for which, exact, order in (("LA", exact_la, "largest algebraic"), ("LM", exact_lm, "largest |l|")):
        op = HessianOperator(model, X, y)
        res, wall, peak = measure(lambda: lanczos(op, k, which=which))
        values = res.eigenvalues.numpy()
        rows.append(dict(library="companion", method=f"lanczos which={which}", wall_s=wall, matvecs=res.n_matvecs,
                         max_rel_err=max_rel_err(values, exact), peak_mem_mb=peak,
                         note=f"{order}; n_iter={res.n_iter}, estimated max residual {res.residuals.max():.0e}"))
    (values, calls), wall, peak = measure(lambda: pyhessian_top(model, X, y, k))
    rows.append(dict(library=f"pyhessian {version('pyhessian')}", method="eigenvalues(top_n=10)", wall_s=wall,
                     matvecs=calls, max_rel_err=max_rel_err(by_magnitude(values), exact_lm), peak_mem_mb=peak,
                     note="largest |l| (power iteration + deflation, maxIter=100, tol=1e-3), "
                          "its values sorted by |l| against the dense ones"))
    return rows


ENTRIES = {"hessian_top10": hessian_top10}


def format_table(rows):
    """A fixed-width side-by-side table of ``rows``."""
    cells = [["n/a" if row[key] is None else format(row[key], FORMATS.get(key, "")) for key in COLUMNS]
             for row in rows]
    widths = [max(len(key), *(len(c[i]) for c in cells)) for i, key in enumerate(COLUMNS)]
    lines = ["  ".join(key.ljust(w) for key, w in zip(COLUMNS, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


def main(names):
    unknown = sorted(set(names) - set(ENTRIES))
    if unknown:
        sys.exit(f"unknown benchmark entries {unknown}; choose from {sorted(ENTRIES)}")
    torch.set_num_threads(1)  # small models: one thread is faster and steadier than two
    rows = []
    for name in names or ENTRIES:
        entry_rows = [{"entry": name, **row} for row in ENTRIES[name]()]
        print(f"\n== {name}: {ENTRIES[name].__doc__}\n{format_table(entry_rows)}")
        rows += entry_rows
    payload = {"torch": torch.__version__, "pyhessian": version("pyhessian"), "threads": torch.get_num_threads(), "rows": rows}
    write_json_atomic(BUILD / "bench.json", payload)
    print(f"\nwrote {len(rows)} rows to {BUILD / 'bench.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
