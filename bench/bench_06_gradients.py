"""Per-example gradients (stiffness, notebook 06): companion against a loop of backward passes and BackPACK.

Two models: a ~100k-parameter MLP on 1,000 examples and a small CNN (two conv layers and a
linear head) on 256 CIFAR-shaped examples. Wall times: the methods run interleaved in one
process (``common.interleaved``: A B C A B C ..., five times), the minimum and the median.
Peak memory: one more run of each method alone in a fresh process (spawned, one thread, after
a warm-up on 8 examples), so that memory an earlier method left to the allocator cannot hide
its peak. BackPACK works on its own copy of the model, since ``extend`` changes its modules.
"""

import multiprocessing
from importlib.metadata import version

import torch

from common import interleaved, measure, timing
from companion.landscape.gradients import chunk_size, layerwise_bytes_per_example, loop_grads, per_example_grads
from companion.nn import cnn, mlp

PROBLEMS = {  # name: (model builder, input shape, N)
    "mlp": (lambda: mlp(784, [120, 64], 10, seed=0), (784,), 1000),  # 784-120-64-10: 102,594 parameters
    "cnn": (lambda: cnn((3, 32, 32), [16, 32], 10, seed=0), (3, 32, 32), 256),  # 25,578 parameters
}
BUDGETS_MB = (64, 8)
WARMUP = 8


def problem(name, seed=0):
    """The seeded model (float32, PyTorch's default init), N Gaussian inputs and random labels.

    Per-example gradient cost does not depend on what the inputs show, so no dataset is needed.
    """
    build, shape, n = PROBLEMS[name]
    gen = torch.Generator().manual_seed(seed)
    return build(), torch.randn(n, *shape, generator=gen), torch.randint(10, (n,), generator=gen)


def backpack_grads(model, X, y):
    """BackPACK's BatchGrad on a sum-reduced cross-entropy (grad_batch is then each example's own gradient),
    concatenated into the (N, D) matrix; ``model`` is already extended."""
    from backpack import backpack, extend
    from backpack.extensions import BatchGrad

    loss = extend(torch.nn.CrossEntropyLoss(reduction="sum"))(model(X), y)
    with backpack(BatchGrad()):
        loss.backward()
    G = torch.cat([p.grad_batch.reshape(len(X), -1) for p in model.parameters()], dim=1)
    for p in model.parameters():
        p.grad, p.grad_batch = None, None
    return G


def methods(name):
    """The problem's model, X, y and method name -> function of (X, y) giving the (N, D) per-example gradients."""
    from backpack import extend

    model, X, y = problem(name)
    peer = extend(problem(name)[0].eval())
    found = {"loop": lambda X, y: loop_grads(model, X, y), "backpack": lambda X, y: backpack_grads(peer, X, y)}
    for mb in BUDGETS_MB:
        found[mb] = lambda X, y, mb=mb: per_example_grads(model, X, y, memory_budget=mb * 2**20)
    return model, X, y, found


def _peak_child(name, key, queue):
    torch.set_num_threads(1)
    _, X, y, found = methods(name)
    found[key](X[:WARMUP], y[:WARMUP])  # one-time costs (imports, dispatch caches) stay out of the peak
    queue.put(measure(lambda: found[key](X, y))[2])


def fresh_peak(name, key):
    """Peak MB above the start of one run of method ``key`` on problem ``name``, alone in a fresh process."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(name, key, queue))
    proc.start()
    peak = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"the {key} run on {name} failed with exit code {proc.exitcode}")
    return peak


def rel_err(G, exact):
    """max |G - exact| / max |exact| over all N x D entries (entry-wise ratios blow up at ReLU zeros)."""
    return float((G - exact).abs().max() / exact.abs().max())


def _ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}x"


def per_example_rows(name):
    """Rows of one problem: the loop (reference), companion at two memory budgets, BackPACK."""
    model, X, y, found = methods(name)
    runs = interleaved({key: lambda f=f: f(X, y) for key, f in found.items()})
    for key, run in runs.items():
        run["peak_mem_mb"] = fresh_peak(name, key)
    exact, bp = runs["loop"]["result"], runs["backpack"]
    N, D = exact.shape
    result_mb = N * D * 4 / 2**20
    fastest = min(runs["loop"]["wall_s"], bp["wall_s"])
    rows = [dict(library="loop", method="one backward per example", **timing(runs["loop"]), matvecs=N,
                 max_rel_err=0.0, note=f"the reference; D={D}, N={N}, float32, one thread; result {result_mb:.0f} MB; "
                                       "error: max|G - loop| / max|loop|; memory: a fresh process per method")]
    for mb in BUDGETS_MB:
        run, chunk = runs[mb], chunk_size(model, X, mb * 2**20, layerwise_bytes_per_example)
        rows.append(dict(library="companion", method=f"per_example_grads, budget {mb} MiB", **timing(run),
                         matvecs=-(-N // chunk), max_rel_err=rel_err(run["result"], exact),
                         note=f"layerwise, chunks of {chunk}; time {run['wall_s'] / fastest:.2f}x the faster of loop "
                              f"and BackPACK (minima), memory {_ratio(run['peak_mem_mb'], bp['peak_mem_mb'])} BackPACK's"))
    rows.append(dict(library=f"backpack {version('backpack-for-pytorch')}", method="BatchGrad", **timing(bp),
                     matvecs=1, max_rel_err=rel_err(bp["result"], exact),
                     note="one extended backward, grad_batch concatenated to (N, D); matvecs: backward passes (chunks)"))
    return rows


def per_example_1000():
    """Per-example cross-entropy gradients of a 784-120-64-10 MLP, N=1000: companion vs a loop and BackPACK."""
    return per_example_rows("mlp")


def per_example_cnn():
    """Per-example cross-entropy gradients of a 2-conv CNN on 3x32x32, N=256: companion vs a loop and BackPACK."""
    return per_example_rows("cnn")


ENTRIES = {"per_example_1000": per_example_1000, "per_example_cnn": per_example_cnn}
