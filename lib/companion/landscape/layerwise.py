"""Per-example gradients of Linear and Conv2d layers as per-layer outer products: one forward and one backward pass.

A Linear layer z = W a + b gives example n's scalar l_n the gradients dl_n/dW = g_n a_n^T and
dl_n/db = g_n, with a_n the layer's input and g_n = dl_n/dz_n (summed over any positions
between batch and features). One backward pass of sum_n l_n gives every g_n at once, because in
eval mode example n's output depends on its own input alone (see
:mod:`companion.landscape.gradients`): each example's weight gradient is then one outer product,
written by a batched matrix product straight into the result. A Conv2d layer's dl_n/dW is the
weight gradient of a convolution with the single input a_n and output gradient g_n; folding the
batch into the channel groups (B groups per group of the layer) gives all B of them from one
convolution backward, and dl_n/db = g_n summed over positions. These are the forms of BackPACK's
BatchGrad and Opacus's grad samplers, written here from the formulas above. A layer called more
than once adds its uses; parameters tied between layers add.

:func:`supports` says which models take this path: those whose every module holding parameters
is exactly a Linear or a zero-padded Conv2d (padding given in numbers); parameter-free modules
(activations, pooling, flatten, dropout) may sit anywhere. Batch norm, other parametrised layers
and subclasses (which may change ``forward``) take the vmap path of ``gradients``.
"""

import torch
from torch import nn
from torch.func import vmap


def _outer_form(module):
    """Whether ``module``'s own parameters get their per-example gradients as outer products here."""
    if type(module) is nn.Linear:
        return True
    return type(module) is nn.Conv2d and module.padding_mode == "zeros" and not isinstance(module.padding, str)


def supports(model):
    """True when every module of ``model`` that holds parameters is an outer-form layer, and none is batch norm."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            return False  # without running statistics even a parameter-free one mixes the examples of a batch
        if list(module.parameters(recurse=False)) and not _outer_form(module):
            return False
    return True


def _slots(model):
    """{id(parameter): (start, numel)} of the parameters that require grad, at their place in a flat row."""
    slots, start = {}, 0
    for p in model.parameters():
        if p.requires_grad:
            slots[id(p)] = (start, p.numel())
            start += p.numel()
    return slots


def _conv_weight(module, a, g):
    """(B, numel) per-example weight gradients of one Conv2d call: the batch folded into the groups."""
    n, w = len(a), module.weight.detach()
    _, grad_w, _ = torch.ops.aten.convolution_backward(
        g.reshape(1, -1, *g.shape[2:]), a.reshape(1, -1, *a.shape[2:]), w.repeat(n, 1, 1, 1), None,
        module.stride, module.padding, module.dilation, False, (0, 0), n * module.groups, (False, True, False))
    return grad_w.view(n, -1)


def _put_weight(module, a, g, dest, add):
    """Write (or, with ``add``, add) the per-example weight gradients of one call of ``module`` into ``dest``."""
    n = len(a)
    if type(module) is nn.Conv2d:
        value = _conv_weight(module, a, g)
        if add:
            dest.add_(value)
        else:
            dest.copy_(value)
        return
    G, A = g.reshape(n, -1, g.shape[-1]).transpose(1, 2), a.reshape(n, -1, a.shape[-1])
    dest = dest.view(n, G.shape[1], A.shape[2])
    if add:
        dest.baddbmm_(G, A)
    else:
        torch.bmm(G, A, out=dest)


def _bias(module, g):
    """(B, out) per-example bias gradients: the output gradients summed over positions."""
    return g.flatten(2).sum(2) if type(module) is nn.Conv2d else g.reshape(len(g), -1, g.shape[-1]).sum(1)


def _forward(model, x, t, fn, layers):
    """sum_n fn(model(x)_n, t_n) and every (layer, input, output) of a call of one of ``layers``, with autograd on."""
    uses = []
    hooks = [m.register_forward_hook(lambda m, inputs, output: uses.append((m, inputs[0].detach(), output)))
             for m in layers]
    try:
        with torch.enable_grad():
            loss = vmap(fn)(model(x), t).sum()
    finally:
        for h in hooks:
            h.remove()
    return loss, uses


def _slot(out, slots, p):
    """The columns of ``out`` that hold parameter ``p``'s gradients (None for no parameter or a frozen one)."""
    if p is None or id(p) not in slots:
        return None
    start, size = slots[id(p)]
    return out[:, start:start + size]


def write_grads(model, x, t, fn, out):
    """Write the per-example gradients of ``fn(model(x)_n, t_n)`` into ``out`` (B, D), rows in flat_params order.

    ``model`` is in eval mode and :func:`supports` it. Writes go straight into ``out`` (no
    per-chunk copy); slots of layers that the forward pass does not use are set to zero.
    """
    slots = _slots(model)
    layers = [m for m in model.modules() if any(id(p) in slots for p in m.parameters(recurse=False))]
    loss, uses = _forward(model, x, t, fn, layers)
    grads = torch.autograd.grad(loss, [o for _, _, o in uses], materialize_grads=True)
    written = set()
    for (module, a, _), g in zip(uses, grads):
        w, b = _slot(out, slots, module.weight), _slot(out, slots, module.bias)
        if w is not None:
            _put_weight(module, a, g, w, id(module.weight) in written)
        if b is not None and id(module.bias) in written:
            b.add_(_bias(module, g))
        elif b is not None:
            b.copy_(_bias(module, g))
        written.update(id(p) for p in (module.weight, module.bias) if p is not None)
    for key in slots.keys() - written:
        start, size = slots[key]
        out[:, start:start + size].zero_()
