"""Per-example gradients of 1,000 examples of a ~100k-parameter MLP: vmap(grad) against a loop and BackPACK (stiffness, notebook 06).

Each method runs in a fresh process (spawned, one torch thread) on the same seeded model and
inputs, after a warm-up on 8 examples, so its peak memory is its own and not memory an earlier
method left to the allocator; its gradients come back through a temporary file and are
compared with the loop's in this process.
"""

import multiprocessing
import tempfile
from importlib.metadata import version
from pathlib import Path

import torch

N, IN, WIDTHS, CLASSES = 1000, 784, [120, 64], 10  # 784-120-64-10: 102,594 parameters
WARMUP = 8


def problem(seed=0):
    """The MLP (ReLU, float32, PyTorch's default init) and N seeded Gaussian inputs with random labels.

    Per-example gradient cost does not depend on what the inputs show, so no dataset is needed.
    """
    from companion.nn import mlp

    gen = torch.Generator().manual_seed(seed)
    model = mlp(IN, WIDTHS, CLASSES, seed=seed)
    return model, torch.randn(N, IN, generator=gen), torch.randint(CLASSES, (N,), generator=gen)


def backpack_grads(model, X, y):
    """BackPACK's BatchGrad on a sum-reduced cross-entropy (grad_batch is then each example's own gradient)."""
    from backpack import backpack, extend
    from backpack.extensions import BatchGrad

    model = extend(model)
    loss_fn = extend(torch.nn.CrossEntropyLoss(reduction="sum"))
    model.zero_grad()
    loss = loss_fn(model(X), y)
    with backpack(BatchGrad()):
        loss.backward()
    G = torch.cat([p.grad_batch.reshape(len(X), -1) for p in model.parameters()], dim=1)
    model.zero_grad(set_to_none=True)
    return G


def _method(name, budget):
    from companion.landscape.gradients import loop_grads, per_example_grads

    if name == "loop":
        return loop_grads
    if name == "companion":
        return lambda model, X, y: per_example_grads(model, X, y, memory_budget=budget)
    return backpack_grads


def _child(name, budget, out_path, queue):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import measure

    torch.set_num_threads(1)
    model, X, y = problem()
    fn = _method(name, budget)
    fn(model, X[:WARMUP], y[:WARMUP])  # one-time costs (imports, dispatch caches) stay out of the timing
    G, wall, peak = measure(lambda: fn(model, X, y))
    torch.save(G, out_path)
    queue.put((wall, peak))


def run_fresh(name, budget=None):
    """(gradients, wall seconds, peak MB above the start) of one method in a fresh spawned process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "G.pt"
        proc = ctx.Process(target=_child, args=(name, budget, str(out), queue))
        proc.start()
        wall, peak = queue.get()
        proc.join()
        if proc.exitcode:
            raise RuntimeError(f"the {name} run failed with exit code {proc.exitcode}")
        G = torch.load(out, weights_only=True)
    return G, wall, peak


def rel_err(G, exact):
    """max |G - exact| / max |exact| over all N x D entries (entry-wise ratios blow up at ReLU zeros)."""
    return float((G - exact).abs().max() / exact.abs().max())


def per_example_1000():
    """Per-example cross-entropy gradients, N=1000, D~100k: companion (vmap(grad), chunked) vs a loop and BackPACK."""
    from companion.landscape.gradients import chunk_size

    model, X, _ = problem()
    D = sum(p.numel() for p in model.parameters())
    result_mb = N * D * 4 / 2**20
    setting = f"D={D}, N={N}, float32, one thread, fresh process each; error: max|G - loop| / max|loop|"
    exact, wall, peak = run_fresh("loop")
    rows = [dict(library="loop", method="one backward per example", wall_s=wall, matvecs=N, max_rel_err=0.0,
                 peak_mem_mb=peak, note=f"the reference; {setting}")]
    for budget_mb in (64, 8):
        chunk = chunk_size(model, X, budget_mb * 2**20)
        n_chunks = -(-N // chunk)
        G, wall, peak = run_fresh("companion", budget_mb * 2**20)
        rows.append(dict(library="companion", method=f"per_example_grads, budget {budget_mb} MiB", wall_s=wall,
                         matvecs=n_chunks, max_rel_err=rel_err(G, exact), peak_mem_mb=peak,
                         note=f"vmap(grad); {n_chunks} chunks of {chunk}; peak - result "
                              f"{peak - result_mb:.0f} MB" if peak is not None else "vmap(grad)"))
    G, wall, peak = run_fresh("backpack")
    rows.append(dict(library=f"backpack {version('backpack-for-pytorch')}", method="BatchGrad", wall_s=wall,
                     matvecs=1, max_rel_err=rel_err(G, exact), peak_mem_mb=peak,
                     note=f"one extended backward; matvecs: backward passes (chunks); result {result_mb:.0f} MB"))
    return rows


ENTRIES = {"per_example_1000": per_example_1000}
