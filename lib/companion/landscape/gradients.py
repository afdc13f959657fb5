"""Per-example gradients: one gradient of a scalar per example, for every parameter, in one batched pass.

The stiffness notebook (06) needs g_i = grad_theta L(f_theta(x_i), y_i) for hundreds of
examples at once; a loop of backward passes does this one example at a time. Two batched
paths give the same numbers (to rounding):

- layerwise (:mod:`companion.landscape.layerwise`): models whose every parametrised module is a
  Linear or a plain Conv2d, with any parameter-free modules between them (activations,
  pooling, flatten; the project's ``mlp`` and ``cnn`` without batch norm). One forward and one
  backward pass per chunk give each layer's output gradients, and each example's weight
  gradient is their outer product with that layer's input, summed over a Conv2d's positions
  (BackPACK's and Opacus's form).
- vmap, for every other model (batch norm, other parametrised layers): ``torch.func.vmap``
  maps ``torch.func.grad`` of a single-example function (the model called through
  ``functional_call`` on one input) over the batch.

What is differentiated is any per-example scalar ``fn(output, target)`` of one example's
output (shape ``(C,)``) and its target: :func:`cross_entropy` (the default, the per-example
loss) or :func:`logit` (the gradient of output ``target``, for per-logit gradients and
tangent kernels). Rows come flattened in ``named_parameters()`` order, the order of
``companion.nn.flat_params``, so a row lives in the same configuration space as a checkpoint.

Batch normalisation: every gradient is that of the model in eval mode, so batch-norm layers
use their running statistics and each example's output depends on that example alone. That
is what makes a per-example gradient well defined (and what the layerwise path relies on);
with batch statistics every output depends on the whole batch (BackPACK refuses train-mode
batch norm for this reason, its issue #149). Dropout is off for the same reason.

Memory: ``memory_budget`` (bytes) bounds the transient memory of one chunk of examples,
estimated by :func:`bytes_per_example` (vmap) or :func:`layerwise_bytes_per_example`; the
examples are processed in chunks sized to it. :func:`per_example_grads` also returns the full
(N, D) matrix (N * D * itemsize bytes, on top of the budget); :func:`per_example_gram` returns
only the N1 x N2 matrix of dot products and never holds more than two chunks of gradients.
"""

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

from ..nn.flat import n_parameters, unflatten
from ..nn.modes import in_mode
from . import layerwise

DEFAULT_BUDGET = 64 * 2**20  # bytes: 64 MiB per chunk unless told otherwise
# Per example in a vmap chunk, the estimate counts this many gradient-sized and activation-sized tensors. Measured
# (784-120-64-10 MLP, float32, CPU): about 3.8 gradient sizes per example (the per-example gradients, their
# batched weight products, the flattened chunk and its copy into the result, which is now written in place: an
# upper bound since). The layerwise path writes each weight's outer products straight into the chunk: one
# gradient size (see layerwise_bytes_per_example).
GRADIENT_COPIES = 4
ACTIVATION_COPIES = 4  # forward values, their gradients and masks


def cross_entropy(output, target):
    """Cross-entropy of one example's logits ``output`` (C,) against its class index ``target``."""
    return F.cross_entropy(output.unsqueeze(0), target.unsqueeze(0))


def logit(output, target):
    """Output number ``target`` of one example: its gradient is one row of the Jacobian (per-logit gradients)."""
    return output.gather(0, target.reshape(1)).squeeze(0)


def _params(model):
    """The parameters gradients are taken for (those that require grad), detached, in named_parameters() order."""
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("the model has no parameters that require grad")
    return params


def _like_params(model, n):
    """An uninitialised (n, D) tensor of the parameters' dtype, on their device."""
    p = next(iter(_params(model).values()))
    return torch.empty(n, n_params(model), dtype=p.dtype, device=p.device)


def n_params(model):
    """D: how many numbers a per-example gradient of ``model`` holds (its parameters that require grad)."""
    return n_parameters(model, trainable=True)


def activation_numel(model, example):
    """Elements of every leaf module's output for the single input ``example`` (shaped like one row of X)."""
    total = [0]

    def count(module, inputs, output):
        if isinstance(output, torch.Tensor):
            total[0] += output.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad(), in_mode(model):
            model(example.unsqueeze(0))
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def bytes_per_example(model, example):
    """Estimated transient bytes one example costs inside a vmapped gradient chunk.

    ``(GRADIENT_COPIES * D + ACTIVATION_COPIES * A) * itemsize`` with D the parameter count
    and A the elements of all leaf-module outputs for one example (the constants are measured,
    see their comment). An estimate: allocator slack can add a little on top.
    """
    itemsize = next(iter(_params(model).values())).element_size()
    return (GRADIENT_COPIES * n_params(model) + ACTIVATION_COPIES * activation_numel(model, example)) * itemsize


def layerwise_bytes_per_example(model, example):
    """Estimated transient bytes one example costs in a chunk of the layerwise path (module docstring).

    ``(D + 2 * D_conv + ACTIVATION_COPIES * A) * itemsize``: its gradient row, D_conv the
    Conv2d weights (the convolution backward takes them repeated once per example and returns
    its result before it is copied into the row) and A as in :func:`bytes_per_example`.
    """
    itemsize = next(iter(_params(model).values())).element_size()
    conv = sum(m.weight.numel() for m in model.modules() if type(m) is torch.nn.Conv2d)
    return (n_params(model) + 2 * conv + ACTIVATION_COPIES * activation_numel(model, example)) * itemsize


def _estimate(model):
    """The per-example memory estimate of the path :func:`per_example_grads` takes for ``model``."""
    return layerwise_bytes_per_example if layerwise.supports(model) else bytes_per_example


def chunk_size(model, X, memory_budget=DEFAULT_BUDGET, estimate=bytes_per_example):
    """Examples per chunk so that one chunk's estimated memory stays within ``memory_budget`` bytes (at least 1).

    ``estimate(model, example)``: bytes per example (:func:`bytes_per_example`, the vmap one, by default).
    """
    if not memory_budget > 0:
        raise ValueError(f"memory_budget={memory_budget!r} must be a positive number of bytes")
    if len(X) == 0:
        raise ValueError("X holds no examples")
    per = estimate(model, X[0])
    return int(max(1, min(len(X), memory_budget // per)))


def _as_targets(targets, n, device):
    if targets is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    targets = torch.as_tensor(targets, device=device)
    if len(targets) != n:
        raise ValueError(f"targets has {len(targets)} entries for {n} examples; give one target per example")
    return targets


def _state(model):
    """(parameters that require grad, buffers) as they are now, detached, for ``functional_call``."""
    return _params(model), {k: v.detach() for k, v in model.named_buffers()}


def _vmapped(model, fn):
    """vmap(grad(one-example fn)) over (x, t), with the parameters and buffers as they are now."""
    params, buffers = _state(model)

    def one(p, x, t):
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return fn(out.squeeze(0), t)

    return params, vmap(grad(one), in_dims=(None, 0, 0))


def _chunks(model, X, targets, fn, memory_budget, chunk, out=None):
    """Yield ``(start, stop, G)``, G the chunk's (stop - start, D) gradients, written into ``out[start:stop]`` if given."""
    n, fast = len(X), layerwise.supports(model)
    chunk = chunk_size(model, X, memory_budget, _estimate(model)) if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk={chunk!r} must be at least 1 example")
    targets = _as_targets(targets, n, X.device)
    with in_mode(model):
        params, per_example = _vmapped(model, fn)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            G = _like_params(model, stop - start) if out is None else out[start:stop]
            if fast:
                layerwise.write_grads(model, X[start:stop], targets[start:stop], fn, G)
            else:
                grads = per_example(params, X[start:stop], targets[start:stop])
                torch.cat([g.reshape(stop - start, -1) for g in grads.values()], dim=1, out=G)
            yield start, stop, G


def iter_per_example_grads(model, X, targets=None, fn=cross_entropy, memory_budget=DEFAULT_BUDGET, chunk=None):
    """Yield ``(start, stop, G)`` with G the (stop - start, D) flat per-example gradients of one chunk.

    ``chunk`` fixes the examples per chunk; by default it is sized to ``memory_budget`` by the
    estimate of the path taken (module docstring). The model is evaluated in eval mode.
    """
    yield from _chunks(model, X, targets, fn, memory_budget, chunk)


def per_example_grads(model, X, targets=None, fn=cross_entropy, memory_budget=DEFAULT_BUDGET, chunk=None):
    """The (N, D) matrix of per-example gradients of ``fn(model(x_i), targets_i)``, rows in flat_params order.

    ``targets``: one per example (class indices for :func:`cross_entropy`, output indices for
    :func:`logit`; None passes 0). Chunks are sized to ``memory_budget`` bytes and written
    straight into the result, which is never held twice.
    """
    out = _like_params(model, len(X))
    for _ in _chunks(model, X, targets, fn, memory_budget, chunk, out):
        pass
    return out


def per_example_gram(model, X1, targets1=None, X2=None, targets2=None, fn=cross_entropy,
                     memory_budget=DEFAULT_BUDGET):
    """K[i, j] = g(x1_i) . g(x2_j) (N1 x N2) without holding all gradients: chunks sized to the budget
    (the N1 x N2 result comes on top of it).

    X2 None means X1 with itself. When both sets' gradients fit in half the budget they are
    computed once; otherwise blocks of rows are recomputed, never more than two chunks of
    gradients at a time (one of X1, one of X2), at the cost of recomputing the X2 chunks
    once per X1 chunk.
    """
    same = X2 is None
    X2, targets2 = (X1, targets1) if same else (X2, targets2)
    D = n_params(model)
    itemsize = next(iter(_params(model).values())).element_size()
    stored = (len(X1) + (0 if same else len(X2))) * D * itemsize
    if stored <= memory_budget / 2:
        G1 = per_example_grads(model, X1, targets1, fn, memory_budget / 2)
        G2 = G1 if same else per_example_grads(model, X2, targets2, fn, memory_budget / 2)
        return G1 @ G2.T
    # Two chunks of stored gradients plus the working memory of computing one.
    per = _estimate(model)(model, X1[0]) + D * itemsize
    chunk = int(max(1, memory_budget // (2 * per)))
    K = torch.empty(len(X1), len(X2), dtype=next(iter(_params(model).values())).dtype, device=X1.device)
    for a, b, G1 in iter_per_example_grads(model, X1, targets1, fn, chunk=chunk):
        for c, d, G2 in iter_per_example_grads(model, X2, targets2, fn, chunk=chunk):
            K[a:b, c:d] = G1 @ G2.T
    return K


def load_checkpoint(model, theta, X_stats=None, chunk=4096):
    """Put the flat parameter vector ``theta`` (a ``companion.nn.train`` checkpoint) into ``model``, in place.

    A checkpoint holds parameters only, not batch-norm running statistics. When the model
    has batch-norm layers, ``X_stats`` (say, the training inputs) is required: their running
    statistics are recomputed as the average over ``X_stats`` (one train-mode pass in chunks,
    no parameter changes), so that eval mode at this checkpoint uses statistics of this
    checkpoint rather than those of wherever the model was last trained.
    """
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in unflatten(model, theta.to(next(iter(params.values())).device)).items():
            params[name].copy_(value)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return model
    if X_stats is None:
        raise ValueError("the model has batch-norm layers: give X_stats to recompute their running statistics")
    saved = [(m, m.momentum) for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the chunks
    try:
        with torch.no_grad(), in_mode(model):
            for m in layers:
                m.train()  # only batch norm collects statistics; dropout stays off
            for start in range(0, len(X_stats), chunk):
                model(X_stats[start:start + chunk])
    finally:
        for m, momentum in saved:
            m.momentum = momentum
    return model


def loop_grads(model, X, targets=None, fn=cross_entropy):
    """The reference: one backward pass per example (eval mode), rows in flat_params order. Slow; for checks."""
    targets = _as_targets(targets, len(X), X.device)
    params = [p for p in model.parameters() if p.requires_grad]
    out = torch.empty(len(X), n_params(model), dtype=params[0].dtype, device=X.device)
    with in_mode(model), torch.enable_grad():
        for i, (x, t) in enumerate(zip(X, targets)):
            value = fn(model(x.unsqueeze(0)).squeeze(0), t)
            out[i] = torch.cat([g.reshape(-1) for g in torch.autograd.grad(value, params)])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Per-logit gradients: every row of every example's Jacobian dz/dtheta (notebook 08, Fort & Ganguli's logit gradients)


def n_outputs(model, example):
    """C: how many outputs (logits) ``model`` gives for the single input ``example``."""
    with torch.no_grad(), in_mode(model):
        return model(example.unsqueeze(0)).reshape(-1).numel()


def logit_chunk_size(model, X, memory_budget=DEFAULT_BUDGET):
    """Examples per chunk of :func:`iter_per_logit_grads` so that one chunk stays within ``memory_budget`` bytes.

    One example costs C per-example gradients (and C backward passes' activations), so this is
    :func:`chunk_size` with the budget divided by C.
    """
    if not memory_budget > 0:
        raise ValueError(f"memory_budget={memory_budget!r} must be a positive number of bytes")
    if len(X) == 0:
        raise ValueError("X holds no examples")
    return chunk_size(model, X, memory_budget / n_outputs(model, X[0]))


def iter_per_logit_grads(model, X, memory_budget=DEFAULT_BUDGET, chunk=None):
    """Yield ``(start, stop, J)`` with J the (stop - start, C, D) per-logit gradients of one chunk of examples.

    ``J[i, c]`` is the gradient of logit c of example ``start + i`` w.r.t. all parameters, flattened in
    flat_params order: ``vmap`` over examples of ``jacrev`` of one example's logits, so one batched pass
    per chunk. Eval mode, as for :func:`iter_per_example_grads`; chunks sized by :func:`logit_chunk_size`.
    """
    n = len(X)
    chunk = logit_chunk_size(model, X, memory_budget) if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk={chunk!r} must be at least 1 example")
    with in_mode(model):
        params, buffers = _state(model)

        def logits(p, x):
            return functional_call(model, (p, buffers), (x.unsqueeze(0),)).reshape(-1)

        jac = vmap(torch.func.jacrev(logits), in_dims=(None, 0))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            rows = jac(params, X[start:stop])
            yield start, stop, torch.cat([g.reshape(stop - start, g.shape[1], -1) for g in rows.values()], dim=2)


def per_logit_grads(model, X, memory_budget=DEFAULT_BUDGET, chunk=None):
    """The (N, C, D) per-logit gradients: ``J[i, c]`` = d z_c(x_i) / d theta, rows in flat_params order.

    Holds N * C * D numbers (on top of the chunk budget); for statistics over many examples use
    :func:`iter_per_logit_grads` and accumulate instead.
    """
    out = None
    for start, stop, J in iter_per_logit_grads(model, X, memory_budget, chunk):
        if out is None:
            out = torch.empty(len(X), *J.shape[1:], dtype=J.dtype, device=J.device)
        out[start:stop] = J
    return out


def loop_logit_grads(model, X):
    """The reference for :func:`per_logit_grads`: one backward pass per (example, logit), eval mode. Slow; for checks."""
    C = n_outputs(model, X[0])
    return torch.stack([loop_grads(model, X, torch.full((len(X),), c), fn=logit) for c in range(C)], dim=1)
