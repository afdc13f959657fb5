"""Top-10 Hessian eigenvalues of a trained MLP: Lanczos against PyHessian's power iteration (Goldilocks, notebook 03)."""

import importlib
import warnings
from importlib.metadata import version

import torch
import torch.nn.functional as F

from common import by_magnitude, interleaved, max_rel_err, timing
from companion.data import load
from companion.landscape import HessianOperator, dense_hessian, lanczos
from companion.nn import mlp, train

# The module, not the class ``pyhessian.hessian`` that pyhessian/__init__.py puts over its name.
pyhessian_module = importlib.import_module("pyhessian.hessian")


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
    dim = HessianOperator(model, X, y).dim
    runs = interleaved({
        "dense": lambda: torch.linalg.eigvalsh(dense_hessian(HessianOperator(model, X, y))).numpy()[::-1],
        "LA": lambda: lanczos(HessianOperator(model, X, y), k, which="LA"),
        "LM": lambda: lanczos(HessianOperator(model, X, y), k, which="LM"),
        "pyhessian": lambda: pyhessian_top(model, X, y, k)})
    lam = runs["dense"]["result"]
    exact = {"LA": lam[:k], "LM": by_magnitude(lam)[:k]}
    setting = f"D={dim}, N={len(X)}, train loss {final['train_loss']:.3f}"
    rows = [dict(library="companion", method="dense_hessian + eigvalsh", **timing(runs["dense"]), matvecs=dim,
                 max_rel_err=0.0, note=f"exact answer; {setting}")]
    for which, order in (("LA", "largest algebraic"), ("LM", "largest |l|")):
        res = runs[which]["result"]
        rows.append(dict(library="companion", method=f"lanczos which={which}", **timing(runs[which]), matvecs=res.n_matvecs,
                         max_rel_err=max_rel_err(res.eigenvalues.numpy(), exact[which]),
                         note=f"{order}; n_iter={res.n_iter}, estimated max residual {res.residuals.max():.0e}"))
    values, calls = runs["pyhessian"]["result"]
    rows.append(dict(library=f"pyhessian {version('pyhessian')}", method="eigenvalues(top_n=10)", **timing(runs["pyhessian"]),
                     matvecs=calls, max_rel_err=max_rel_err(by_magnitude(values), exact["LM"]),
                     note="largest |l| (power iteration + deflation, maxIter=100, tol=1e-3), "
                          "its values sorted by |l| against the dense ones"))
    return rows


ENTRIES = {"hessian_top10": hessian_top10}
