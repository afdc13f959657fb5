"""Top-C eigenpairs, spectral density and trace of one trained network's Hessian (Fort & Ganguli, notebook 08):
this library against PyHessian and hessian-eigenthings, each against the dense answer."""

import functools
import importlib
import math
import warnings
from contextlib import contextmanager
from importlib.metadata import version
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

import hessian_eigenthings as he
from bench_03_hessian import pyhessian_top
from common import by_magnitude, max_rel_err, measure
from companion.experiments import emergent_local_geometry as el
from companion.landscape import HessianOperator, dense_hessian, lanczos
from companion.landscape.spectrum import SpectralDensity, hutchinson, hutchpp, slq

pyhessian_module = importlib.import_module("pyhessian.hessian")
C = 10  # classes: the top-C eigenpairs
STEPS, PROBES = 80, 10  # SLQ: Lanczos steps per probe and probes, the same for every library
TRACE_MATVECS = 99


@functools.lru_cache(maxsize=1)
def setting():
    """The notebook's default network (digits, 64-32-32-10 ReLU, float64, SGD 60 epochs) and its dense spectrum."""
    p = SimpleNamespace(dataset="digits", n_train=1000, n_test=300, class_counts=[C], model="mlp", widths=[32, 32],
                        channels=[4], activation="relu", init="torch", lr=0.05, batch_size=50, epochs=60, seed=0,
                        device="cpu")
    data = el.load_data(p)[C]
    (net, traj), = el.train_all({C: data}, p).values()
    X, y = data.split("train", p.device, torch.float64)
    op = HessianOperator(net, X, y)
    (lam, vecs), wall, peak = measure(lambda: torch.linalg.eigh(dense_hessian(op)))
    order = torch.argsort(lam, descending=True)
    return SimpleNamespace(net=net, X=X, y=y, lam=lam[order], vecs=vecs[:, order], wall=wall, peak=peak, D=op.dim,
                           note=f"D={op.dim}, N={len(X)}, train loss {traj.final['train_loss']:.3f}")


def _counted_eigenthings_operator(s):
    """hessian-eigenthings' HessianOperator on the same full batch, with its products counted."""
    op = he.HessianOperator(s.net, [(s.X, s.y)], he.supervised_loss(F.cross_entropy))
    op.calls = 0
    matvec = op.matvec

    def counted(v):
        op.calls += 1
        return matvec(v)

    op.matvec = counted
    return op


def _max_sin(vectors, exact):
    """Largest sine of the angle between paired unit vectors (columns)."""
    cos = (F.normalize(vectors, dim=0) * exact).sum(dim=0).abs().clamp(max=1)
    return (1 - cos ** 2).clamp(min=0).sqrt().max().item()


def _row(library, method, wall, matvecs, err, peak, note):
    return dict(library=library, method=method, wall_s=wall, matvecs=matvecs, max_rel_err=err, peak_mem_mb=peak,
                note=note)


def top_c():
    """Top-10 Hessian eigenpairs of the notebook's trained digits MLP: Lanczos, PyHessian, hessian-eigenthings."""
    s = setting()
    exact, exact_vecs = s.lam[:C].numpy(), s.vecs[:, :C]
    rows = [_row("companion", "dense_hessian + eigh", s.wall, s.D, 0.0, s.peak, f"exact answer; {s.note}")]
    op = HessianOperator(s.net, s.X, s.y)
    res, wall, peak = measure(lambda: lanczos(op, C, seed=0))
    rows.append(_row("companion", "lanczos(k=10)", wall, res.n_matvecs, max_rel_err(res.eigenvalues, exact), peak,
                     f"n_iter={res.n_iter} (default), full reorth.; eigvec max sin {_max_sin(res.eigenvectors, exact_vecs):.0e}"))
    for label, kwargs in (("lanczos(k=10) defaults", {}), ("lanczos(k=10, max_iter=40, reorth.)",
                                                            dict(max_iter=40, reorthogonalize=True))):
        hop = _counted_eigenthings_operator(s)
        res, wall, peak = measure(lambda: he.lanczos(hop, k=C, which="LA", seed=0, **kwargs))
        vecs = res.eigenvectors.T
        rows.append(_row(f"hessian-eigenthings {version('hessian-eigenthings')}", label, wall, hop.calls,
                         max_rel_err(res.eigenvalues, exact), peak,
                         f"{int(res.converged.sum())}/{C} flagged converged; eigvec max sin {_max_sin(vecs, exact_vecs):.0e}"))
    (values, calls), wall, peak = measure(lambda: pyhessian_top(s.net, s.X, s.y, C))
    exact_lm = by_magnitude(s.lam.numpy())[:C]
    rows.append(_row(f"pyhessian {version('pyhessian')}", "eigenvalues(top_n=10)", wall, calls,
                     max_rel_err(by_magnitude(values), exact_lm), peak,
                     "power iteration + deflation (maxIter=100, tol=1e-3), largest |l|, compared by |l|"))
    return rows


def _density_error(sd, s, sigma, grid):
    """(max relative error of the first two moments against tr(H)/D and tr(H^2)/D, L1 distance of the densities)."""
    exact = SpectralDensity(s.lam[None], torch.full((1, s.D), 1 / s.D, dtype=torch.float64), s.D, s.D)
    moments = [abs(sd.moment(k) - exact.moment(k)) / abs(exact.moment(k)) for k in (1, 2)]
    l1 = torch.trapezoid((sd.density(grid, sigma) - exact.density(grid, sigma)).abs(), grid).item()
    return max(moments), l1


@contextmanager
def _pyhessian_counted(s):
    """PyHessian on the setting's network with its Hessian-vector products counted (in calls[0]); the network is
    left as it was."""
    calls, hvp, training = [0], pyhessian_module.hessian_vector_product, s.net.training

    def counted(*args):
        calls[0] += 1
        return hvp(*args)

    torch.manual_seed(0)
    pyhessian_module.hessian_vector_product = counted
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
            yield calls, pyhessian_module.hessian(s.net, F.cross_entropy, data=(s.X, s.y), cuda=False)
    finally:
        pyhessian_module.hessian_vector_product = hvp
        s.net.zero_grad(set_to_none=True)
        s.net.train(training)


def _pyhessian_density(s):
    """PyHessian's SLQ with the same steps and probes, its products counted; (result or exception, calls)."""
    with _pyhessian_counted(s) as (calls, ph):
        try:
            out = ph.density(iter=STEPS, n_v=PROBES)
        except Exception as err:  # noqa: BLE001 - the failure is the result
            out = err
    return out, calls[0]


def density():
    """Spectral density by SLQ (80 steps, 10 probes) of the same Hessian; error in its moments and L1 vs dense."""
    s = setting()
    lo, hi = s.lam.min().item(), s.lam.max().item()
    sigma = (hi - lo) / 150
    grid = torch.linspace(lo - 5 * sigma, hi + 5 * sigma, 4000, dtype=torch.float64)
    rows = []
    op = HessianOperator(s.net, s.X, s.y)
    sd, wall, peak = measure(lambda: slq(op, n_iter=STEPS, n_probes=PROBES, seed=0))
    err, l1 = _density_error(sd, s, sigma, grid)
    rows.append(_row("companion", "slq (Gaussian probes)", wall, sd.n_matvecs, err, peak,
                     f"error: moments 1-2 vs tr(H)/D, tr(H^2)/D; L1 vs dense {l1:.3f} (broadening {sigma:.3g})"))
    op = HessianOperator(s.net, s.X, s.y)
    sd, wall, peak = measure(lambda: slq(op, n_iter=STEPS, n_probes=PROBES, seed=0, probes="rademacher"))
    err, l1 = _density_error(sd, s, sigma, grid)
    rows.append(_row("companion", "slq (Rademacher probes)", wall, sd.n_matvecs, err, peak, f"L1 vs dense {l1:.3f}"))
    hop = _counted_eigenthings_operator(s)
    res, wall, peak = measure(lambda: he.spectral_density(hop, num_runs=PROBES, lanczos_steps=STEPS, seed=0))
    weights = res.raw_weights.to(torch.float64)
    nodes = torch.nan_to_num(res.raw_eigenvalues.to(torch.float64))
    err, l1 = _density_error(SpectralDensity(nodes, weights, s.D, hop.calls), s, sigma, grid)
    rows.append(_row(f"hessian-eigenthings {version('hessian-eigenthings')}", "spectral_density", wall, hop.calls,
                     err, peak, f"Rademacher probes; L1 vs dense {l1:.3f} (its nodes and weights, our broadening)"))
    (out, calls), wall, peak = measure(lambda: _pyhessian_density(s))
    if isinstance(out, Exception):
        rows.append(_row(f"pyhessian {version('pyhessian')}", "density(iter=80, n_v=10)", None, calls, None, None,
                         f"fails: {type(out).__name__}: {str(out).splitlines()[0][:70]}"))
    else:
        nodes, weights = (torch.tensor(np.asarray(x), dtype=torch.float64) for x in out)
        err, l1 = _density_error(SpectralDensity(nodes, weights, s.D, calls), s, sigma, grid)
        rows.append(_row(f"pyhessian {version('pyhessian')}", "density(iter=80, n_v=10)", wall, calls, err, peak,
                         f"L1 vs dense {l1:.3f}"))
    return rows


def trace():
    """tr(H) with 99 products: Hutchinson and Hutch++ here and in hessian-eigenthings, PyHessian's Hutchinson."""
    s = setting()
    exact = s.lam.sum().item()
    rows = [_row("companion", "trace of the dense Hessian", s.wall, s.D, 0.0, s.peak, f"exact {exact:.3f}")]
    for name, fn in (("hutchinson", lambda op: hutchinson(op, TRACE_MATVECS, seed=0)),
                     ("hutchpp", lambda op: hutchpp(op, TRACE_MATVECS, seed=0))):
        op = HessianOperator(s.net, s.X, s.y)
        est, wall, peak = measure(lambda: fn(op))
        rows.append(_row("companion", name, wall, op.n_matvecs, abs(est.estimate - exact) / abs(exact), peak,
                         f"{est.estimate:.3f} +- {est.stderr:.3f} (stated s.e.)"))
    for method in ("hutchinson", "hutch++"):
        hop = _counted_eigenthings_operator(s)
        est, wall, peak = measure(lambda: he.trace(hop, num_matvecs=TRACE_MATVECS, method=method, seed=0))
        rows.append(_row(f"hessian-eigenthings {version('hessian-eigenthings')}", f"trace({method})", wall, hop.calls,
                         abs(est.estimate - exact) / abs(exact), peak, f"{est.estimate:.3f} +- {est.stderr:.3f}"))
    with _pyhessian_counted(s) as (calls, ph):
        samples, wall, peak = measure(lambda: ph.trace(maxIter=TRACE_MATVECS))
    value = float(np.mean(samples))
    se = float(np.std(samples, ddof=1) / math.sqrt(len(samples))) if len(samples) > 1 else float("nan")
    rows.append(_row(f"pyhessian {version('pyhessian')}", "trace(maxIter=99, tol=1e-3)", wall, calls[0],
                     abs(value - exact) / abs(exact), peak,
                     f"{value:.3f} +- {se:.3f}; stops early when the running mean settles ({len(samples)} probes)"))
    return rows


ENTRIES = {"emergent_top_c": top_c, "emergent_density": density, "emergent_trace": trace}
