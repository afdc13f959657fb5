"""Evaluate a model in a chosen train/eval mode, then give every module its own mode back."""

from contextlib import contextmanager


@contextmanager
def in_mode(model, training=False):
    """Run ``model`` with every module in eval mode (running batch-norm statistics, no dropout) or, with
    ``training``, in training mode (batch statistics, dropout); afterwards each module's mode is as before."""
    modes = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, was_training in modes:
            module.training = was_training
