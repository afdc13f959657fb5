"""Data, networks and the independent runs with their per-epoch trajectories.

Training follows the official notebook: Adam with the learning rate halved every
``lr_halving_epochs`` epochs, ``floor(N / batch_size)`` mini-batches per epoch drawn *with*
replacement, dropout while training, Xavier weights *and* biases (the official TF initialiser is
Xavier-uniform on both; here weights are ``companion.nn``'s Xavier normal of the same variance, and
biases, shaped (1, n) in TF, are uniform within sqrt(6 / (1 + n))), one checkpoint per epoch.

Random streams (:func:`companion.rng.derive` of ``p.seed``): run i's init ``("init", i)``, its
mini-batches ``("batches", i)`` and its dropout masks ``("dropout", i)``.
"""

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from torch import nn

from ... import rng
from ...data import load
from ...nn import cnn, evaluate, halving, mlp, n_parameters, train


def load_data(p):
    """The dataset with the last ``n_val`` training examples held out for validation (as the official notebook)."""
    data = load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize=p.normalize)
    n = len(data.X_train) - p.n_val
    return SimpleNamespace(name=data.name, n_classes=data.n_classes, input_shape=data.input_shape,
                           X_train=data.X_train[:n], y_train=data.y_train[:n],
                           X_val=data.X_train[n:], y_val=data.y_train[n:], X_test=data.X_test, y_test=data.y_test)


def _xavier_biases(net, seed):
    """Draw every bias like TF's Xavier-uniform on a (1, n) tensor: U(-sqrt(6 / (1 + n)), +sqrt(6 / (1 + n)))."""
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)) and layer.bias is not None:
                limit = math.sqrt(6.0 / (1 + layer.bias.numel()))
                layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) * limit)


def _official_cnn(data, p, seed):
    """The official ``multilayer_CNN`` layers: conv, dropout, 2x2 'same' max-pool and ReLU (none after the last conv)."""
    convs = [layer for layer in cnn(data.input_shape, p.channels, data.n_classes, init="xavier", seed=seed)
             if isinstance(layer, nn.Conv2d)]
    layers = []
    for i, conv in enumerate(convs):
        layers += [conv] + ([nn.Dropout(p.dropout)] if p.dropout > 0 else []) + [nn.MaxPool2d(2, ceil_mode=True)]
        if i < len(convs) - 1:
            layers.append(nn.ReLU())
    layers.append(nn.Flatten())
    with torch.no_grad():
        size = nn.Sequential(*layers).eval()(torch.zeros(1, *data.input_shape)).shape[1]
    layers.append(mlp(size, [], data.n_classes, init="xavier", seed=rng.derive(seed, "classifier"))[-1])
    return layers


def model_size(data, p):
    """D: the number of parameters of the notebook's network."""
    return n_parameters(make_model(data, p, seed=0))


def make_model(data, p, seed):
    """The notebook's network on ``p.device``: an MLP or the official CNN, Xavier weights and biases, dropout.

    CNN (the official ``multilayer_CNN``): per entry of ``channels`` a 3x3 'same' conv, dropout,
    2x2 max-pooling ('same' padding: ceil mode) and ReLU, except no ReLU after the last conv; then
    a linear classifier. channels (16, 32, 32) is SmallCNN, (64, 128, 256, 256) MediumCNN
    (971,146 parameters on CIFAR-10). MLP: ReLU then dropout after every hidden layer.
    Weights come from ``companion.nn`` (Xavier, normal with the same variance as TF's uniform);
    ``seed`` names the init, and the CNN's classifier and every bias draw from streams derived from it.
    """
    if p.model == "mlp":
        layers = []
        for layer in mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, init="xavier", seed=seed):
            layers.append(layer)
            if isinstance(layer, nn.ReLU) and p.dropout > 0:
                layers.append(nn.Dropout(p.dropout))
    else:
        layers = _official_cnn(data, p, seed)
    net = nn.Sequential(*layers)
    _xavier_biases(net, rng.derive(seed, "biases"))
    return net.to(p.device)


def length_factor(p, D):
    """sqrt(D / length_reference): the factor on the official absolute lengths (1 when length_reference = 0)."""
    return math.sqrt(D / p.length_reference) if p.length_reference else 1.0


def late(p):
    """Indices of the late checkpoints, epochs >= collect_after (the subspaces' checkpoints)."""
    return list(range(p.collect_after, p.epochs))


@dataclass
class Run:
    """One training run: its final parameters, one checkpoint per epoch (on the CPU) and per-epoch history."""

    theta: torch.Tensor
    checkpoints: torch.Tensor
    history: pd.DataFrame


def fit(model, data, p, run):
    """Train ``model`` in place with the official recipe as run number ``run``; return its :class:`Run`.

    ``companion.nn.train`` with Adam, lr = ``p.lr`` / 2^floor(epoch / ``lr_halving_epochs``),
    floor(N / batch_size) steps per epoch on mini-batches drawn with replacement, no weight decay.
    After each epoch: a checkpoint, and the loss and accuracy (dropout off) on the whole training,
    validation and test sets. Dropout draws from the global torch stream, seeded inside a forked
    RNG state, so a run does not depend on what ran before it.
    """
    spe = len(data.X_train) // p.batch_size  # steps per epoch
    X, y = data.X_train.to(p.device), data.y_train.to(p.device)
    X_val, y_val = data.X_val.to(p.device), data.y_val.to(p.device)

    def validation(step, model):
        return dict(zip(("val_loss", "val_acc"), evaluate(model, X_val, y_val)))

    devices = [torch.device(p.device)] if torch.device(p.device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(rng.derive(p.seed, "dropout", run))  # dropout masks come from the global stream
        traj = train(model, X, y, optimizer="adam", lr=p.lr, batch_size=p.batch_size, steps=spe * p.epochs,
                     seed=rng.derive(p.seed, "batches", run), replacement=True,
                     schedule=halving(spe * p.lr_halving_epochs), eval_every=spe, checkpoint_every=spe,
                     X_test=data.X_test.to(p.device), y_test=data.y_test.to(p.device), hooks=[validation])
    if traj.outcome != "completed":
        raise RuntimeError(f"run {run} {traj.outcome} at step {int(traj.history.step.iloc[-1])}; lower lr")
    hist = traj.history[traj.history.step > 0].reset_index(drop=True)  # the rows after each epoch, not the init
    epoch = hist.step // spe - 1
    hist.insert(0, "epoch", epoch)
    hist.insert(1, "lr", p.lr * 0.5 ** (epoch // p.lr_halving_epochs))
    checkpoints = torch.stack([theta.cpu() for step, theta in traj.checkpoints if step > 0])
    return Run(checkpoints[-1], checkpoints, hist.drop(columns="step"))


def train_runs(data, p):
    """``n_runs`` independent runs, differing only in the streams of their init, batches and dropout masks."""
    return [fit(make_model(data, p, rng.derive(p.seed, "init", i)), data, p, i) for i in range(p.n_runs)]


def run_table(runs):
    """One row per run: its final validation and test accuracy and test loss."""
    return pd.DataFrame([{"run": i, "val_acc": r.history.val_acc.iloc[-1], "test_acc": r.history.test_acc.iloc[-1],
                          "test_loss": r.history.test_loss.iloc[-1]} for i, r in enumerate(runs)])
