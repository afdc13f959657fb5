"""Deep ensembles from the loss-landscape view (Fort, Hu & Lakshminarayanan, arXiv:1912.02757), measured.

Independent runs from different random initialisations are compared with functions from one
run: its own checkpoints and samples from subspaces around it (diagonal Gaussian, rank-5 PCA
Gaussian, random directions, dropout masks on the weights; ``companion.landscape.function_space``).
Training follows the official notebook: Adam with the learning rate halved every
``lr_halving_epochs`` epochs, ``floor(N / batch_size)`` mini-batches per epoch drawn *with*
replacement, dropout while training, Xavier weights *and* biases (the official TF initialiser is
Xavier-uniform on both; here weights are ``companion.nn``'s Xavier normal of the same variance, and
biases, shaped (1, n) in TF, are uniform within sqrt(6 / (1 + n))), one checkpoint per epoch.
The subspace samplers fit the checkpoints of epochs >= ``collect_after`` (official: 30 of 40).

Absolute lengths of the official notebook (the random-direction radius, the PCA step) were
set for MediumCNN's 971,146 parameters; they are multiplied by sqrt(D / ``length_reference``)
so that each parameter moves by the same typical amount in a model of D parameters
(``length_reference = 0`` uses them as given). The random-direction acceptance floor is a
fraction of the base run's validation accuracy (official: 0.70 absolute with a base of about
0.71, so 0.986).
"""

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..data import IMAGE_DATASETS, LOADABLE, load
from ..data.shift import CORRUPTIONS, shifted_sets
from ..landscape import connectors
from ..landscape import function_space as fs
from ..nn import cnn, flat_params, mlp
from ..params import Param, ParameterError

METHODS = ("diag", "pca", "random", "dropout")
LABELS = {"independent": "independent runs", "trajectory": "one trajectory", "diag": "diagonal Gaussian",
          "pca": "PCA Gaussian (rank 5)", "random": "random directions", "dropout": "dropout masks"}
COLORS = {"independent": "C3", "trajectory": "0.5", "diag": "C4", "pca": "C6", "random": "C0", "dropout": "C1"}

PARAMETERS = (
    Param("dataset", str, choices=LOADABLE),
    Param("n_train", int, 100, 60000),
    Param("n_val", int, 20, 10000),
    Param("n_test", int, 50, 10000),
    Param("normalize", str, choices=("none", "unit", "standard")),
    Param("model", str, choices=("mlp", "cnn")),
    Param("widths", int, 1, 4096, many=True),
    Param("channels", int, 1, 1024, many=True),
    Param("dropout", float, 0.0, 0.9),
    Param("n_runs", int, 3, 50),
    Param("n_trajectories", int, 2, 50),
    Param("epochs", int, 2, 1000),
    Param("batch_size", int, 1, 8192),
    Param("lr", float, 1e-6, 1.0),
    Param("lr_halving_epochs", int, 1, 1000),
    Param("collect_after", int, 0, 999),
    Param("n_samples", int, 2, 1000),
    Param("plane_samples", int, 2, 1000),
    Param("pca_rank", int, 1, 100),
    Param("diag_scale", float, 0.0, 100.0),
    Param("plane_diag_scale", float, 0.0, 100.0),
    Param("pca_scale", float, 0.0, 1000.0),
    Param("plane_pca_scale", float, 0.0, 1000.0),
    Param("random_radius", float, 0.0, 100000.0),
    Param("plane_random_radius", float, 0.0, 100000.0),
    Param("length_reference", int, 0, 10**10),
    Param("random_acc_floor", float, 0.0, 1.0),
    Param("random_tries", int, 1, 100),
    Param("dropout_rate", float, 0.0, 0.99),
    Param("max_subsets", int, 1, 100000),
    Param("match_tol", float, 0.0, 1.0),
    Param("corruptions", str, choices=CORRUPTIONS, many=True),
    Param("severities", int, 1, 5, many=True),
    Param("shift_sizes", int, 2, 50, many=True),
    Param("connector_steps", int, 1, 1000000),
    Param("connector_lr", float, 1e-6, 10.0),
    Param("connector_points", int, 3, 1001),
)


def check(p):
    """Constraints between parameters, checked before any compute."""
    late = p.epochs - p.collect_after
    problems = []
    if p.n_trajectories > p.n_runs:
        problems.append(f"n_trajectories = {p.n_trajectories} must be at most n_runs = {p.n_runs}")
    if late < 2:
        problems.append(f"collect_after = {p.collect_after} leaves {late} checkpoint(s) of {p.epochs} epochs for the "
                        "subspaces; allowed: collect_after <= epochs - 2")
    elif p.pca_rank > late - 1:
        problems.append(f"pca_rank = {p.pca_rank} needs at least {p.pca_rank + 1} checkpoints; epochs - collect_after "
                        f"= {late} gives at most rank {late - 1}")
    if p.n_val >= p.n_train:
        problems.append(f"n_val = {p.n_val} is held out of n_train = {p.n_train}; allowed: n_val < n_train")
    elif p.batch_size > p.n_train - p.n_val:
        problems.append(f"batch_size = {p.batch_size} exceeds the {p.n_train - p.n_val} training examples left "
                        "after holding out n_val")
    if p.model == "cnn" and p.dataset not in IMAGE_DATASETS:
        problems.append(f"model = 'cnn' needs images; {p.dataset} has vector inputs; use model = 'mlp' or one of "
                        f"{', '.join(IMAGE_DATASETS)}")
    if max(p.shift_sizes) > p.n_runs:
        problems.append(f"shift_sizes = {p.shift_sizes} asks for ensembles larger than n_runs = {p.n_runs}")
    if problems:
        raise ParameterError("; ".join(problems))


def _seed(p, *keys):
    """An independent 63-bit seed for each purpose, derived from ``p.seed`` and the purpose's keys."""
    return int(np.random.SeedSequence([p.seed, *keys]).generate_state(2, np.uint64)[0] >> np.uint64(1))


# --- data and models ---------------------------------------------------------------------------------------------

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


def make_model(data, p, seed):
    """The notebook's network on ``p.device``: an MLP or the official CNN, Xavier weights and biases, dropout.

    CNN (the official ``multilayer_CNN``): per entry of ``channels`` a 3x3 'same' conv, dropout,
    2x2 max-pooling ('same' padding: ceil mode) and ReLU, except no ReLU after the last conv; then
    a linear classifier. channels (16, 32, 32) is SmallCNN, (64, 128, 256, 256) MediumCNN
    (971,146 parameters on CIFAR-10). MLP: ReLU then dropout after every hidden layer.
    Weights come from ``companion.nn`` (Xavier, normal with the same variance as TF's uniform).
    """
    if p.model == "mlp":
        base = mlp(int(np.prod(data.input_shape)), p.widths, data.n_classes, init="xavier", seed=seed)
        layers = []
        for layer in base:
            layers.append(layer)
            if isinstance(layer, nn.ReLU) and p.dropout > 0:
                layers.append(nn.Dropout(p.dropout))
    else:
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
        layers.append(mlp(size, [], data.n_classes, init="xavier", seed=seed + 1)[-1])
    net = nn.Sequential(*layers)
    _xavier_biases(net, seed + 2)
    return net.to(p.device)


def n_params(model):
    """Number of parameters D (every weight and bias)."""
    return sum(t.numel() for t in model.parameters())


def length_factor(p, D):
    """sqrt(D / length_reference): the factor on the official absolute lengths (1 when length_reference = 0)."""
    return math.sqrt(D / p.length_reference) if p.length_reference else 1.0


# --- training: independent runs with their trajectories ----------------------------------------------------------

@dataclass
class Run:
    """One training run: its final parameters, one checkpoint per epoch (on the CPU) and per-epoch history."""

    theta: torch.Tensor
    checkpoints: torch.Tensor
    history: pd.DataFrame


def fit(model, data, p, seed):
    """Train ``model`` in place with the official recipe and return its :class:`Run`.

    Adam, lr = ``p.lr`` / 2^floor(epoch / ``lr_halving_epochs``), floor(N / batch_size) steps per
    epoch on mini-batches drawn with replacement, no weight decay. After each epoch: a
    checkpoint and the validation and test loss and accuracy (dropout off). Dropout draws from the
    global torch stream, seeded with ``seed`` inside a forked RNG state, so a run does not depend
    on what ran before it. (``companion.nn.train`` has neither a schedule nor sampling with replacement.)
    """
    devices = [torch.device(p.device)] if torch.device(p.device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed) % 2**63)  # dropout masks come from the global stream: fix it per run
        return _fit(model, data, p, seed)


def _fit(model, data, p, seed):
    device = p.device
    X, y = data.X_train.to(device), data.y_train.to(device)
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=p.lr, foreach=True)
    steps, rows, checkpoints = len(X) // p.batch_size, [], []
    for epoch in range(p.epochs):
        lr = p.lr / 2 ** (epoch // p.lr_halving_epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        total = 0.0
        for _ in range(steps):
            idx = torch.randint(len(X), (p.batch_size,), generator=gen).to(device)
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        theta = flat_params(model).cpu()
        checkpoints.append(theta)
        row = {"epoch": epoch, "lr": lr, "train_loss": total / steps}
        for split in ("val", "test"):
            logits = fs.predict_many(model, theta, getattr(data, f"X_{split}"), output="logits")[0]
            target = getattr(data, f"y_{split}")
            row[f"{split}_loss"] = F.cross_entropy(logits, target).item()
            row[f"{split}_acc"] = (logits.argmax(1) == target).double().mean().item()
        rows.append(row)
    return Run(checkpoints[-1], torch.stack(checkpoints), pd.DataFrame(rows))


def train_runs(data, p):
    """``n_runs`` independent runs, differing only in the seed of their initialisation and of their batches."""
    runs = []
    for i in range(p.n_runs):
        model = make_model(data, p, _seed(p, 1, i) % 2**31)
        runs.append(fit(model, data, p, _seed(p, 2, i)))
    return runs


def run_table(runs):
    """One row per run: its final validation and test accuracy and test loss."""
    return pd.DataFrame([{"run": i, "val_acc": r.history.val_acc.iloc[-1], "test_acc": r.history.test_acc.iloc[-1],
                          "test_loss": r.history.test_loss.iloc[-1]} for i, r in enumerate(runs)])


def trajectory_predictions(model, runs, data):
    """Test-set probabilities at every checkpoint of every run: (runs, epochs, N, C)."""
    return torch.stack([fs.predict_many(model, r.checkpoints, data.X_test) for r in runs])


def late(p):
    """Indices of the late checkpoints, epochs >= collect_after (the subspaces' checkpoints)."""
    return list(range(p.collect_after, p.epochs))


# --- C1, C2: weights and functions, within one trajectory and across runs ----------------------------------------

def geometry(runs, preds, p):
    """Cosine and disagreement matrices: along run 0 (epoch x epoch) and between the final solutions (run x run)."""
    finals = torch.stack([r.theta for r in runs])
    return {"cos_trajectory": fs.cosine_matrix(runs[0].checkpoints),
            "dis_trajectory": fs.disagreement_matrix(preds[0]),
            "cos_independent": fs.cosine_matrix(finals),
            "dis_independent": fs.disagreement_matrix(preds[:, -1])}


def _off_diagonal(m):
    m = np.asarray(m)
    return m[~np.eye(len(m), dtype=bool)]


def geometry_summary(runs, preds, p):
    """Late checkpoints of each run (pairs within it) against the final solutions of different runs (pairs across).

    One row per comparison with the mean, min and max pairwise cosine and disagreement.
    """
    rows, idx = [], late(p)
    for i, r in enumerate(runs):
        cos = _off_diagonal(fs.cosine_matrix(r.checkpoints[idx]))
        dis = _off_diagonal(fs.disagreement_matrix(preds[i, idx]))
        rows.append({"pairs": f"late checkpoints of run {i}", "cos_mean": cos.mean(), "cos_min": cos.min(),
                     "cos_max": cos.max(), "dis_mean": dis.mean(), "dis_min": dis.min(), "dis_max": dis.max()})
    cos = _off_diagonal(fs.cosine_matrix(torch.stack([r.theta for r in runs])))
    dis = _off_diagonal(fs.disagreement_matrix(preds[:, -1]))
    rows.append({"pairs": "independent runs", "cos_mean": cos.mean(), "cos_min": cos.min(), "cos_max": cos.max(),
                 "dis_mean": dis.mean(), "dis_min": dis.min(), "dis_max": dis.max()})
    return pd.DataFrame(rows)


def tsne_embedding(preds, p):
    """t-SNE (scikit-learn, exact, seeded) of the prediction vectors (N x C softmax outputs) of every checkpoint
    of the first ``n_trajectories`` runs; one row per checkpoint with run, epoch, x, y and whether its nearest
    neighbour in the embedding belongs to the same run."""
    from sklearn.manifold import TSNE

    P = preds[:p.n_trajectories].numpy()
    R, E = P.shape[:2]
    vectors = P.reshape(R * E, -1).astype(np.float64)
    perplexity = min(30.0, (R * E - 1) / 3)
    emb = TSNE(n_components=2, perplexity=perplexity, init="pca", method="exact", random_state=p.seed % 2**32
               ).fit_transform(vectors)
    run = np.repeat(np.arange(R), E)
    dist = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.argmin(1)
    return pd.DataFrame({"run": run, "epoch": np.tile(np.arange(E), R), "x": emb[:, 0], "y": emb[:, 1],
                         "same_run_neighbour": run[nearest] == run})


# --- subspace samples --------------------------------------------------------------------------------------------

def sample(method, run, model, data, p, plane=False, seed=0):
    """(S, D) parameter vectors from one subspace method around ``run``.

    ``plane=False``: the official ensemble settings (``n_samples``; diag and PCA scale from
    ``diag_scale``/``pca_scale``; random radius ``random_radius`` * U(0, 1), a sample kept only if its
    validation accuracy reaches ``random_acc_floor`` x the run's, ``random_tries`` tries);
    ``plane=True``: the diversity-plot settings (``plane_samples``, ``plane_*``, no floor).
    Absolute lengths (PCA step, random radius) are scaled by :func:`length_factor`.
    """
    n = p.plane_samples if plane else p.n_samples
    scale = length_factor(p, run.theta.numel())
    ckpts = run.checkpoints[late(p)]
    if method == "diag":
        return fs.diagonal_gaussian(ckpts, n, scale=p.plane_diag_scale if plane else p.diag_scale,
                                    random_scale=plane, seed=seed)
    if method == "pca":
        return fs.pca_gaussian(ckpts, n, rank=p.pca_rank, scale=(p.plane_pca_scale if plane else p.pca_scale) * scale,
                               seed=seed)
    if method == "random":
        if plane:
            return fs.random_directions(run.theta, n, radius=p.plane_random_radius * scale, seed=seed)
        floor = p.random_acc_floor * run.history.val_acc.iloc[-1]

        def accept(theta):
            probs = fs.predict_many(model, theta, data.X_val)[0]
            return (probs.argmax(1) == data.y_val).double().mean().item() >= floor

        return fs.random_directions(run.theta, n, radius=p.random_radius * scale, seed=seed, accept=accept,
                                    tries=p.random_tries)
    if method == "dropout":
        return fs.dropout_masks(run.theta, n, rate=p.dropout_rate, seed=seed)
    raise ValueError(f"method={method!r} is not allowed; choose one of {', '.join(METHODS)}")


# --- C3: the diversity-accuracy plane ----------------------------------------------------------------------------

def diversity_plane(runs, preds, model, data, p):
    """Every method on the plane around run 0 (the base): one row per model with method, accuracy,
    disagreement with the base, diversity = disagreement / (1 - accuracy), and its position between the
    analytic curves (0 lower, 1 upper). Independent runs (the base included) and run 0's checkpoints too."""
    y, base = data.y_test, preds[0, -1]
    ref = float((base.argmax(1) == y).double().mean())
    frames = [fs.diversity_plane(preds[:, -1], y, base).assign(method="independent", sample=range(len(runs))),
              fs.diversity_plane(preds[0, :-1], y, base).assign(method="trajectory", sample=range(p.epochs - 1))]
    for k, method in enumerate(METHODS):
        thetas = sample(method, runs[0], model, data, p, plane=True, seed=_seed(p, 3, k))
        frames.append(fs.diversity_plane(fs.predict_many(model, thetas, data.X_test), y, base)
                      .assign(method=method, sample=range(len(thetas))))
    plane = pd.concat(frames, ignore_index=True)
    plane["position"] = fs.curve_position(plane.accuracy, plane.disagreement, ref, data.n_classes)
    return plane[["method", "sample", "accuracy", "disagreement", "diversity", "position"]]


def plane_summary(plane, p):
    """Per method: its samples at matched accuracy, within ``match_tol`` of the accuracy range of the independent
    runs (base included), with their mean accuracy, mean and max diversity and mean position between the curves;
    first the independent runs other than the base (whose disagreement with itself is 0)."""
    ind = plane[plane.method == "independent"]
    lo, hi = ind.accuracy.min() - p.match_tol, ind.accuracy.max() + p.match_tol
    others = ind[ind["sample"] > 0]
    rows = [{"method": "independent", "samples": len(others), "matched": len(others),
             "accuracy": others.accuracy.mean(), "diversity_mean": others.diversity.mean(),
             "diversity_max": others.diversity.max(),
             "position_mean": others.position.mean()}]
    for method in ("trajectory", *METHODS):
        t = plane[plane.method == method]
        m = t[(t.accuracy >= lo) & (t.accuracy <= hi)]
        rows.append({"method": method, "samples": len(t), "matched": len(m),
                     "accuracy": m.accuracy.mean() if len(m) else np.nan,
                     "diversity_mean": m.diversity.mean() if len(m) else np.nan,
                     "diversity_max": m.diversity.max() if len(m) else np.nan,
                     "position_mean": m.position.mean() if len(m) else np.nan})
    return pd.DataFrame(rows)


# --- C4-C6: ensembles, clean and under shift ---------------------------------------------------------------------

def test_sets(data, p):
    """The clean test set and its corruptions at every severity (``companion.data.shift``), mapped to [0, 1]
    with the training set's range."""
    lo, hi = float(data.X_train.min()), float(data.X_train.max())
    return shifted_sets(data.X_test, p.corruptions, p.severities, seed=_seed(p, 4) % 2**32, value_range=(lo, hi))


def ensemble_predictions(runs, model, data, p, sets):
    """Probabilities on every test set: the final solutions (runs, N, C) and, per method and run, the
    ``n_samples`` subspace samples around that run (S, N, C). Keys: ('independent', None) and (method, run)."""
    out = {name: {} for name in _set_names(sets)}
    finals = torch.stack([r.theta for r in runs])
    for name, (_, _, X) in zip(out, sets):
        out[name][("independent", None)] = fs.predict_many(model, finals, X)
    for k, method in enumerate(METHODS):
        for i, run in enumerate(runs):
            thetas = sample(method, run, model, data, p, seed=_seed(p, 5, k, i))
            if not len(thetas):
                raise RuntimeError(f"no {method} sample around run {i} reached the accuracy floor in "
                                   f"{p.random_tries} tries; lower random_radius or random_acc_floor")
            for name, (_, _, X) in zip(out, sets):
                out[name][(method, i)] = fs.predict_many(model, thetas, X)
    return out


def _set_names(sets):
    return [kind if severity == 0 else f"{kind} {severity}" for kind, severity, _ in sets]


def ensemble_curves(probs, y, p):
    """Ensemble accuracy and Brier against size k = 1..n_runs on one test set, one row per (method, kind, size).

    kind "independent": k final solutions (all k-subsets); "subspace": k samples of one method around
    one run (up to ``max_subsets`` k-subsets of its samples), averaged over runs; "combined": k runs,
    each the average of its subspace samples (the official "subspace + ensemble").
    """
    R = p.n_runs
    frames = [fs.ensemble_metrics(probs[("independent", None)], y).assign(method="independent", kind="independent")]
    for method in METHODS:
        alone = [fs.ensemble_metrics(probs[(method, i)], y, sizes=range(1, min(R, len(probs[(method, i)])) + 1),
                                     max_subsets=p.max_subsets, seed=_seed(p, 6, i) % 2**32) for i in range(R)]
        frames.append(pd.concat(alone).groupby("size", as_index=False)[["accuracy", "brier", "subsets"]].mean()
                      .assign(method=method, kind="subspace"))
        models = torch.stack([probs[(method, i)].mean(0) for i in range(R)])
        frames.append(fs.ensemble_metrics(models, y).assign(method=method, kind="combined"))
    out = pd.concat(frames, ignore_index=True)
    return out[["method", "kind", "size", "accuracy", "brier", "subsets"]]


def shift_curves(probs, sets, y, p):
    """Under shift, the official comparison: one run, ensembles of ``shift_sizes`` runs, each method's
    subspace model (all its samples around one run averaged, mean over runs) and ensembles of ``shift_sizes``
    such models. One row per (set, method, size)."""
    rows = []
    for name, (kind, severity, _) in zip(_set_names(sets), sets):
        P = probs[name]
        runs_ = fs.ensemble_metrics(P[("independent", None)], y, sizes=[1, *p.shift_sizes])
        for size, row in runs_.set_index("size").iterrows():
            rows.append({"corruption": kind, "severity": severity, "method": "independent", "size": size,
                         "accuracy": row.accuracy, "brier": row.brier})
        for method in METHODS:
            models = torch.stack([P[(method, i)].mean(0) for i in range(p.n_runs)])
            for size, row in fs.ensemble_metrics(models, y, sizes=[1, *p.shift_sizes]).set_index("size").iterrows():
                rows.append({"corruption": kind, "severity": severity, "method": method, "size": size,
                             "accuracy": row.accuracy, "brier": row.brier})
    return pd.DataFrame(rows)


def js_under_shift(probs, sets, runs, model, p):
    """Jensen-Shannon diversity on every test set: of the independent runs, of run 0's late checkpoints and of
    each method's samples around run 0. One row per (set, method)."""
    rows = []
    traj = runs[0].checkpoints[late(p)]
    for name, (kind, severity, X) in zip(_set_names(sets), sets):
        P = probs[name]
        groups = {"independent": P[("independent", None)], "trajectory": fs.predict_many(model, traj, X),
                  **{m: P[(m, 0)] for m in METHODS}}
        for method, g in groups.items():
            rows.append({"corruption": kind, "severity": severity, "method": method, "models": len(g),
                         "js": fs.jensen_shannon(g)})
    return pd.DataFrame(rows)


def shift_table(shift, p):
    """Accuracy and Brier per severity (mean over corruptions) for one run, the largest ensemble of runs and each
    method's subspace model."""
    k = max(p.shift_sizes)
    runs_ = shift.method == "independent"
    keep = (runs_ & shift["size"].isin([1, k])) | (~runs_ & (shift["size"] == 1))
    names = np.where(runs_, shift["size"].map({1: "1 run", k: f"{k} runs"}), shift.method + " (one run)")
    t = shift.assign(model=names)[keep]
    return t.groupby(["severity", "model"], sort=False)[["accuracy", "brier"]].mean().reset_index()


# --- C7: a low-loss connector between two modes ------------------------------------------------------------------

def connector_study(runs, model, data, p):
    """Train one bend between runs 0 and 1 and evaluate the trained path and the straight line.

    Returns (path, history): path has one row per (kind, t) with train and test loss, test accuracy and
    test disagreement with each end; history the per-step training loss of the bend.
    """
    a, b = runs[0].theta.to(p.device), runs[1].theta.to(p.device)
    conn = connectors.connect_pair(a, b, n_bends=1).to(p.device)
    line = connectors.connect_pair(a, b, n_bends=1).to(p.device)
    history = connectors.train_connector(model, conn, data.X_train.to(p.device), data.y_train.to(p.device),
                                         steps=p.connector_steps, lr=p.connector_lr, batch_size=p.batch_size,
                                         seed=_seed(p, 7))
    ts = np.linspace(0, 1, p.connector_points)
    rows = []
    for kind, c in (("straight line", line), ("connector", conn)):
        thetas = c.points(ts).cpu()
        train = fs.predict_many(model, thetas, data.X_train, output="logits")
        test = fs.predict_many(model, thetas, data.X_test, output="logits")
        ends = test[[0, -1]].argmax(-1)
        for j, t in enumerate(ts):
            rows.append({"kind": kind, "t": t,
                         "train_loss": F.cross_entropy(train[j], data.y_train).item(),
                         "test_loss": F.cross_entropy(test[j], data.y_test).item(),
                         "test_acc": (test[j].argmax(1) == data.y_test).double().mean().item(),
                         "dis_a": (test[j].argmax(1) != ends[0]).double().mean().item(),
                         "dis_b": (test[j].argmax(1) != ends[1]).double().mean().item()})
    return pd.DataFrame(rows), history


def barrier(path, column="train_loss"):
    """Highest value of ``column`` along a path above the mean of its two ends."""
    return path[column].max() - (path[column].iloc[0] + path[column].iloc[-1]) / 2


# --- claims ------------------------------------------------------------------------------------------------------

def claims(p, geo_summary, tsne, plane_sum, curves, shift, js, path):
    """The claims table. Thresholds say what each claim means: near-orthogonal is |cos| < 0.1 (84 to 96 degrees)
    against cos > 0.9 within late checkpoints; 'separate clusters' is >= 90% of checkpoints with their t-SNE
    nearest neighbour in their own run; a comparison at matched accuracy uses samples within ``match_tol`` of the
    independent runs' accuracy range; 'low-loss' is a trained path whose training-loss barrier is at most a fifth
    of the straight line's; 'not connected in prediction space' is a path midpoint that disagrees with both ends more
    than any two late checkpoints of one run disagree with each other."""
    rows = []
    within = geo_summary[geo_summary.pairs != "independent runs"]
    across = geo_summary[geo_summary.pairs == "independent runs"].iloc[0]
    cos_ind = max(abs(across.cos_min), abs(across.cos_max))
    rows.append({"claim": "C1 independent solutions are near-orthogonal in weights, late checkpoints of one run not",
                 "measured": f"max |cos| across runs {cos_ind:.3f}; "
                             f"min cos within late checkpoints {within.cos_min.min():.3f}",
                 "threshold": "|cos| < 0.1 across, cos > 0.9 within",
                 "holds": bool(cos_ind < 0.1 and within.cos_min.min() > 0.9)})
    rows.append({"claim": "C1 independent solutions disagree more than late checkpoints of any one run",
                 "measured": f"disagreement across runs: mean {across.dis_mean:.3f}, min {across.dis_min:.3f}; "
                             f"within late checkpoints: max {within.dis_max.max():.3f}",
                 "threshold": "min across > max within", "holds": bool(across.dis_min > within.dis_max.max())})
    purity = tsne.same_run_neighbour.mean()
    rows.append({"claim": "C2 t-SNE of predictions: one cluster per trajectory",
                 "measured": f"{purity:.0%} of {len(tsne)} checkpoints have their nearest neighbour in their own run",
                 "threshold": ">= 90%", "holds": bool(purity >= 0.9)})
    ind = plane_sum.set_index("method").loc["independent"]
    parts, ok = [], True
    for method in METHODS:
        r = plane_sum.set_index("method").loc[method]
        if r.matched == 0:
            parts.append(f"{method}: no sample within {p.match_tol}")
            ok = False
        else:
            parts.append(f"{method} {r.diversity_mean:.2f} (n={int(r.matched)})")
            ok = ok and ind.diversity_mean > r.diversity_mean
    rows.append({"claim": "C3 at matched accuracy, independent runs are more diverse than every subspace method",
                 "measured": f"d/(1-a): independent {ind.diversity_mean:.2f} (position {ind.position_mean:.2f}); "
                             + ", ".join(parts),
                 "threshold": f"independent mean > each method's mean, accuracy within {p.match_tol} of the runs'",
                 "holds": bool(ok)})
    k = p.n_runs
    at_k = curves[curves["size"] == k].set_index(["method", "kind"])
    indep = at_k.loc[("independent", "independent")]
    parts, ok = [], True
    for method in METHODS:
        if (method, "subspace") not in at_k.index:
            parts.append(f"{method}: fewer than {k} samples")
            ok = False
            continue
        s = at_k.loc[(method, "subspace")]
        parts.append(f"{method} {s.accuracy:.3f}/{s.brier:.3f}")
        ok = ok and indep.accuracy > s.accuracy and indep.brier < s.brier
    rows.append({"claim": f"C4 an ensemble of {k} independent runs beats {k} subspace samples (accuracy and Brier)",
                 "measured": f"acc/Brier: independent {indep.accuracy:.3f}/{indep.brier:.3f}; " + ", ".join(parts),
                 "threshold": "higher accuracy and lower Brier than every method", "holds": bool(ok)})
    parts, ok = [], True
    for method in METHODS:
        c = at_k.loc[(method, "combined")]
        parts.append(f"{method} {c.accuracy:.3f}/{c.brier:.3f}")
        ok = ok and c.accuracy > indep.accuracy and c.brier < indep.brier
    rows.append({"claim": f"C5 subspace sampling adds to ensembling: {k} runs, each averaged over its samples, "
                          f"beat {k} runs",
                 "measured": f"acc/Brier: {k} runs {indep.accuracy:.3f}/{indep.brier:.3f}; combined "
                             + ", ".join(parts),
                 "threshold": "higher accuracy and lower Brier for every method", "holds": bool(ok)})
    kk = max(p.shift_sizes)
    shifted = shift[shift.severity > 0]
    by = shifted.groupby(["corruption", "severity"])
    wins, total = 0, 0
    for _, g in by:
        e = g[(g.method == "independent") & (g["size"] == kk)].iloc[0]
        subs = g[(g.method != "independent") & (g["size"] == 1)]
        total += 1
        wins += bool((e.accuracy > subs.accuracy).all() and (e.brier < subs.brier).all())
    rows.append({"claim": f"C6 under shift, {kk} independent runs beat every subspace method's "
                          f"{p.n_samples}-sample model",
                 "measured": f"better in accuracy and Brier at {wins} of {total} (corruption, severity) sets",
                 "threshold": "all sets", "holds": bool(total and wins == total)})
    js_s = js[js.severity > 0]
    js_wins = sum(bool(g.set_index("method").js["independent"] > g.set_index("method").js[list(METHODS)].max())
                  for _, g in js_s.groupby(["corruption", "severity"]))
    n_sets = js_s.groupby(["corruption", "severity"]).ngroups
    rows.append({"claim": "C6 under shift, independent runs are more diverse (Jensen-Shannon) than every "
                          "subspace method",
                 "measured": f"higher at {js_wins} of {n_sets} sets",
                 "threshold": "all sets", "holds": bool(n_sets and js_wins == n_sets)})
    conn, line = path[path.kind == "connector"], path[path.kind == "straight line"]
    b_conn, b_line = barrier(conn), barrier(line)
    rows.append({"claim": "C7 a path with one trained bend joins two independent solutions at low loss",
                 "measured": f"train-loss barrier {b_conn:.3f} on the path vs {b_line:.3f} on the straight line "
                             f"(test loss {barrier(conn, 'test_loss'):.3f} vs {barrier(line, 'test_loss'):.3f}; "
                             f"lowest test accuracy {conn.test_acc.min():.3f} vs {line.test_acc.min():.3f})",
                 "threshold": "barrier <= 0.2 x the straight line's", "holds": bool(b_conn <= 0.2 * b_line)})
    mid = conn.iloc[(conn.t - 0.5).abs().argmin()]
    within_max = within.dis_max.max()
    rows.append({"claim": "C7 ... yet it is not connected in prediction space: its ends disagree",
                 "measured": f"ends disagree on {conn.dis_b.iloc[0]:.3f}; "
                             f"midpoint vs ends {mid.dis_a:.3f} / {mid.dis_b:.3f}; "
                             f"late checkpoints of one run at most {within_max:.3f}",
                 "threshold": "midpoint disagrees with both ends more than within-run",
                 "holds": bool(min(mid.dis_a, mid.dis_b) > within_max)})
    return rows


# --- figures -----------------------------------------------------------------------------------------------------

def plot_geometry(geo):
    """Fig. 2-3 of the paper: cosine and disagreement along one trajectory and between independent solutions."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("cos_trajectory", "cosine along run 0", "epoch"),
              ("dis_trajectory", "disagreement along run 0", "epoch"),
              ("cos_independent", "cosine between runs", "run"),
              ("dis_independent", "disagreement between runs", "run")]
    for ax, (key, title, label) in zip(axes, panels):
        vmin, vmax = (-1, 1) if key.startswith("cos") else (0, max(0.01, float(np.max(geo[key]))))
        im = ax.imshow(geo[key], cmap="bwr" if key.startswith("cos") else "viridis", origin="lower",
                       vmin=vmin, vmax=vmax)
        ax.set(title=title, xlabel=label, ylabel=label)
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_tsne(tsne):
    """Fig. 4 of the paper: t-SNE of the prediction vectors along each trajectory (star: first epoch)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for run, t in tsne.groupby("run"):
        ax.plot(t.x, t.y, "-", color=f"C{run}", alpha=0.3)
        ax.scatter(t.x, t.y, color=f"C{run}", s=14, label=f"run {run}")
        ax.scatter(t.x.iloc[:1], t.y.iloc[:1], color=f"C{run}", marker="*", s=250, edgecolor="k")
    ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2", title="prediction vectors along each trajectory")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_plane(plane, ref_acc, n_classes):
    """Fig. 5 of the paper: accuracy against disagreement with the base / (1 - accuracy), both analytic curves."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    curves = fs.plane_curves(ref_acc, n_classes)
    ax.plot(curves.accuracy, curves.upper, "k-.", label="upper limit (independent errors)")
    ax.plot(curves.accuracy, curves.lower, "k--", label="lower limit (perturbed base)")
    for method in ("trajectory", *METHODS):
        t = plane[plane.method == method]
        ax.scatter(t.accuracy, t.diversity, s=12, alpha=0.6, color=COLORS[method], label=LABELS[method])
    ind = plane[plane.method == "independent"]
    ax.scatter(ind.accuracy[1:], ind.diversity[1:], marker="*", s=300, color=COLORS["independent"],
               edgecolor="k", label=LABELS["independent"], zorder=5)
    ax.scatter(ind.accuracy[:1], ind.diversity[:1], marker="*", s=300, color="C2", edgecolor="k",
               label="base solution (run 0)", zorder=5)
    top = max(1.2, float(curves.upper.max()), float(np.nanmax(plane.diversity))) + 0.05
    ax.set(xlabel="test accuracy", ylabel="fraction of labels changed / (1 - accuracy)",
           ylim=(-0.1, top), xlim=(0, min(1, ref_acc + 0.07)))
    ax.legend(fontsize=8, loc="lower left", framealpha=0.6)
    fig.tight_layout()
    return fig


def plot_ensembles(curves):
    """Fig. 7 of the paper: ensemble accuracy and Brier against size, per method alone and combined with runs."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    for ax, metric in zip(axes, ("accuracy", "brier")):
        ind = curves[curves.kind == "independent"]
        ax.plot(ind["size"], ind[metric], "s-", color=COLORS["independent"], lw=2.5, label=LABELS["independent"])
        for method in METHODS:
            for kind, ls in (("subspace", ":"), ("combined", "--")):
                t = curves[(curves.method == method) & (curves.kind == kind)]
                what = "samples around one run" if kind == "subspace" else "+ ensemble of runs"
                ax.plot(t["size"], t[metric], ls, marker="o", ms=4, color=COLORS[method],
                        label=f"{LABELS[method]}: {what}")
        ax.set(xlabel="ensemble size k", ylabel=f"test {metric}")
    axes[1].legend(fontsize=7, ncol=1, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def plot_shift(shift, js, p):
    """Fig. 8 of the paper: accuracy, Brier and Jensen-Shannon diversity against corruption intensity."""
    import matplotlib.pyplot as plt

    k = max(p.shift_sizes)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    mean = shift.groupby(["severity", "method", "size"], as_index=False)[["accuracy", "brier"]].mean()
    for ax, metric in zip(axes[:2], ("accuracy", "brier")):
        for method in ("independent", *METHODS):
            sizes = [1, k]
            for size, ls in zip(sizes, ("--", "-")):
                t = mean[(mean.method == method) & (mean["size"] == size)]
                label = (f"{'1 run' if size == 1 else f'{k} runs'}" if method == "independent"
                         else f"{LABELS[method]}{'' if size == 1 else f' + {k} runs'}")
                ax.plot(t.severity, t[metric], ls, marker="s", ms=4, color=COLORS[method], label=label)
        ax.set(xlabel="corruption intensity (0 = clean)", ylabel=f"test {metric}")
    js_mean = js.groupby(["severity", "method"], as_index=False).js.mean()
    for method in ("independent", "trajectory", *METHODS):
        t = js_mean[js_mean.method == method]
        axes[2].plot(t.severity, t.js, marker="s", ms=4, color=COLORS[method], label=LABELS[method])
    axes[2].set(xlabel="corruption intensity (0 = clean)", ylabel="Jensen-Shannon diversity")
    axes[1].legend(fontsize=7, loc="upper left")
    axes[2].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_connector(path):
    """Loss, accuracy and disagreement with each end along the trained connector and the straight line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for kind, ls in (("straight line", "--"), ("connector", "-")):
        t = path[path.kind == kind]
        axes[0].plot(t.t, t.train_loss, ls, color="C0", label=f"train, {kind}")
        axes[0].plot(t.t, t.test_loss, ls, color="C1", label=f"test, {kind}")
        axes[1].plot(t.t, t.test_acc, ls, color="C2", label=kind)
        axes[2].plot(t.t, t.dis_a, ls, color="C3", label=f"vs run 0, {kind}")
        axes[2].plot(t.t, t.dis_b, ls, color="C4", label=f"vs run 1, {kind}")
    axes[0].set(xlabel="t along the path (0: run 0, 1: run 1)", ylabel="cross-entropy")
    axes[1].set(xlabel="t", ylabel="test accuracy")
    axes[2].set(xlabel="t", ylabel="test disagreement with the end")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- explore -----------------------------------------------------------------------------------------------------

def explorer(runs, preds, model, data, p):
    """Sliders: a subspace method, a multiple of its plane setting and a seed -> fresh samples on the plane."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    base = preds[0, -1]
    ref = float((base.argmax(1) == data.y_test).double().mean())
    ind = fs.diversity_plane(preds[:, -1], data.y_test, base)

    def show(method, multiple, seed):
        q = SimpleNamespace(**{**vars(p), "plane_samples": 20,
                               "plane_diag_scale": p.plane_diag_scale * multiple,
                               "plane_pca_scale": p.plane_pca_scale * multiple,
                               "plane_random_radius": p.plane_random_radius * multiple,
                               "dropout_rate": min(0.95, p.dropout_rate * multiple)})
        thetas = sample(method, runs[0], model, data, q, plane=True, seed=seed)
        pts = fs.diversity_plane(fs.predict_many(model, thetas, data.X_test), data.y_test, base)
        fig, ax = plt.subplots(figsize=(6, 4))
        curves = fs.plane_curves(ref, data.n_classes)
        ax.plot(curves.accuracy, curves.upper, "k-.", curves.accuracy, curves.lower, "k--")
        ax.scatter(pts.accuracy, pts.diversity, color=COLORS[method], label=LABELS[method])
        ax.scatter(ind.accuracy[1:], ind.diversity[1:], marker="*", s=200, color=COLORS["independent"],
                   label=LABELS["independent"])
        ax.set(xlabel="test accuracy", ylabel="disagreement / (1 - accuracy)", xlim=(0, min(1, ref + 0.07)),
               ylim=(-0.1, 2))
        ax.legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        show,
        method=widgets.Dropdown(options=list(METHODS), value="diag", description="method"),
        multiple=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, description="scale x"),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
    )
