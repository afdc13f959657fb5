"""The data, the models and the SGD runs whose checkpoints the stiffness is measured at."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import rng
from ...data import load
from ...nn import cnn, mlp, n_parameters, threads, train
from ...params import ParameterError
from .params import FASHION_GROUPS, THREADS


def load_data(p):
    """The notebook's dataset, inputs scaled to [0, 1] (MNIST-1D as generated)."""
    return load(p.dataset, n_train=p.n_train, n_test=p.n_test, seed=p.seed, normalize="unit")


def superclasses(data):
    """The super-class of each class (a tuple aligned with labels 0..k-1), or None when the dataset has none.

    From the registry where it provides them (CIFAR-100's coarse labels, as ``data.superclasses``),
    else :data:`FASHION_GROUPS` for Fashion-MNIST.
    """
    groups = tuple(getattr(data, "superclasses", ()) or ())
    if groups:
        return groups
    if data.name == "fashion-mnist":
        return tuple(FASHION_GROUPS[c] for c in data.classes)
    return None


def make_model(data, p, run=0):
    """The MLP or CNN of seed index ``run`` (float32, PyTorch's default init from its own stream) on ``p.device``."""
    seed = rng.derive(p.seed, "init", run)
    if p.model == "mlp":
        net = mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, activation=p.activation, seed=seed,
                  batch_norm=p.batch_norm)
    else:
        if len(data.input_shape) != 3:
            raise ParameterError(f"parameter 'model' = 'cnn' needs image inputs (C, H, W); {data.name} has inputs "
                                 f"of shape {data.input_shape}: use model = 'mlp'")
        net = cnn(data.input_shape, p.channels, data.n_classes, activation=p.activation, seed=seed,
                  batch_norm=p.batch_norm)
    return net.to(p.device)


def model_size(data, p):
    """D: the number of parameters of the notebook's model."""
    return n_parameters(make_model(data, p))


def schedule(p):
    """(steps per epoch, steps between checkpoints, total steps): total is n_checkpoints whole intervals."""
    per_epoch = p.n_train // p.batch_size
    every = max(1, round(p.epochs * per_epoch / p.n_checkpoints))
    return per_epoch, every, every * p.n_checkpoints


@dataclass
class Run:
    """One training run: its learning rate, seed index and :class:`companion.nn.Trajectory`."""

    lr: float
    seed: int
    trajectory: object


@dataclass
class Runs:
    """The trained runs in order (seed by seed, each over ``p.lrs``); iterable. A container rather than a list,
    so that a notebook global holding it is not mistaken for a parameter."""

    items: list

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def train_runs(data, p):
    """Every (lr, seed) run with plain SGD; a seed index gives the same init and batch order at every lr."""
    _, every, total = schedule(p)
    X, y = data.split("train", p.device)
    Xt, yt = data.split("test", p.device)
    runs = []
    with threads(THREADS):
        for s in range(p.n_seeds):
            for lr in p.lrs:
                traj = train(make_model(data, p, s), X, y, optimizer="sgd", lr=lr, batch_size=p.batch_size,
                             steps=total, seed=rng.derive(p.seed, "batches", s), X_test=Xt, y_test=yt,
                             eval_every=every, checkpoint_every=every)
                runs.append(Run(lr, s, traj))
    return Runs(runs)


def histories(runs, p):
    """All runs' evaluation rows (step, epoch, train/test loss and accuracy), one table."""
    per_epoch = schedule(p)[0]
    return pd.concat([r.trajectory.history.assign(lr=r.lr, seed=r.seed, epoch=r.trajectory.history.step / per_epoch)
                      for r in runs], ignore_index=True)


def run_summary(history):
    """Per (lr, seed): the epoch and value of the lowest test loss, and the final losses and test accuracy."""
    rows = []
    for (lr, s), t in history.groupby(["lr", "seed"]):
        best, end = t.loc[t.test_loss.idxmin()], t.iloc[-1]
        rows.append({"lr": lr, "seed": s, "epoch_min_test": best.epoch, "min_test_loss": best.test_loss,
                     "final_train_loss": end.train_loss, "final_test_loss": end.test_loss,
                     "final_test_acc": end.test_acc})
    return pd.DataFrame(rows)
