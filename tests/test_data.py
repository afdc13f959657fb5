"""Tests of the dataset registry (companion.data). No network: every file is written here or
comes from the Debian package dataset-fashion-mnist."""

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from companion.data import DATASETS, DataError, dataset_status, fetch, load, verify
from companion.data import files, manifest, registry
from companion.data.cifar import read_batch
from companion.data.mnist1d import make_mnist1d

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


pytestmark = pytest.mark.usefixtures("data_root")  # every test reads empty temporary data folders


def register(tmp_path, monkeypatch, name, file_hashes):
    """Use the real manifest with ``name`` replaced by ``{filename: {kind: hash}}``."""
    entries = yaml.safe_load(manifest.MANIFEST_PATH.read_text())
    entries[name] = {"files": {fname: {"url": f"https://example.invalid/{fname}", **hashes}
                               for fname, hashes in file_hashes.items()}}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(entries))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", path)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- digits and arguments

def test_digits_shapes_split_and_unit_scale():
    ds = load("digits")
    assert ds.X_train.shape == (1438, 1, 8, 8) and ds.X_test.shape == (359, 1, 8, 8)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.input_shape == (1, 8, 8) and ds.n_classes == 10 and ds.classes == tuple(range(10))
    assert ds.X_train.min() == 0 and ds.X_train.max() == 1  # 16 is the format's maximum
    # the fixed 20% test split is stratified: each class within one image of its share
    per_class = torch.bincount(ds.y_train) + torch.bincount(ds.y_test)
    assert (torch.bincount(ds.y_test) - 359 * per_class / 1797).abs().max() < 1


def test_digits_is_bit_identical_and_the_seed_moves_subsets():
    a, b = load("digits", n_train=100, seed=3), load("digits", n_train=100, seed=3)
    assert torch.equal(a.X_train, b.X_train) and torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.X_train, load("digits", n_train=100, seed=4).X_train)
    assert torch.bincount(a.y_train).tolist() == [10] * 10  # stratified
    assert torch.equal(a.X_test, load("digits").X_test)  # the test split does not move


def test_digits_normalisations():
    raw = load("digits", normalize="none")
    assert raw.X_train.max() == 16
    std = load("digits", normalize="standard")
    mean = raw.X_train.double().mean(0)
    sd = raw.X_train.double().std(0, unbiased=False)
    sd[sd == 0] = 1
    assert torch.allclose(std.X_train.double(), (raw.X_train - mean) / sd, atol=1e-5)
    # the test set uses the training statistics, so it is not exactly centred
    assert torch.allclose(std.X_test.double(), (raw.X_test - mean) / sd, atol=1e-5)
    assert std.X_test.double().mean().abs() > 1e-4


def test_classes_keep_and_remap_in_the_given_order():
    full = load("digits", normalize="none")
    sub = load("digits", classes=(7, 3), normalize="none")
    assert sub.classes == (7, 3) and sub.n_classes == 2
    assert set(sub.y_train.tolist()) == {0, 1}
    assert torch.equal(sub.X_train[sub.y_train == 0], full.X_train[full.y_train == 7])
    assert torch.equal(sub.X_test[sub.y_test == 1], full.X_test[full.y_test == 3])


@pytest.mark.parametrize("kwargs, words", [
    ({"name": "imagenet"}, ["name='imagenet'", "digits", "mnist1d"]),
    ({"name": "digits", "classes": (3, 11)}, ["classes", "[11]", "allowed"]),
    ({"name": "digits", "classes": (3, 3)}, ["classes", "repeated"]),
    ({"name": "digits", "classes": ()}, ["classes", "empty"]),
    ({"name": "digits", "n_train": 5000}, ["n_train=5000", "1..1438"]),
    ({"name": "digits", "n_test": 0}, ["n_test=0", "positive integer"]),
    ({"name": "digits", "n_train": 400, "classes": (0, 1)}, ["n_train=400", "classes (0, 1)"]),
    ({"name": "digits", "normalize": "zscore"}, ["normalize='zscore'", "none, unit, standard"]),
    ({"name": "digits", "seed": -1}, ["seed=-1", "non-negative"]),
    ({"name": "mnist", "n_test": 20000}, ["n_test=20000", "1..10000"]),
])
def test_bad_arguments_name_the_argument_and_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError) as info:
        load(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_status_rows_and_fetch_refuses_builtin_sets():
    rows = {row["name"]: row for row in dataset_status()}
    assert tuple(rows) == DATASETS
    assert rows["digits"]["source"] == "builtin" and rows["mnist1d"]["source"] == "generated"
    assert rows["mnist"]["source"] == "files" and rows["mnist"]["where"] == "missing"
    with pytest.raises(ValueError, match="nothing to fetch"):
        fetch("digits")


# ---------------------------------------------------------------- IDX files

def write_idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file: magic, big-endian dims, values."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def idx_set(folder):
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (30, 28, 28)), np.arange(30) % 10,
              rng.integers(0, 256, (10, 28, 28)), np.arange(10) % 10)
    folder.mkdir(parents=True, exist_ok=True)
    for fname, array in zip(IDX_FILES, arrays):
        write_idx(folder / fname, array)
    return arrays


def test_idx_round_trip_through_the_registry(tmp_path, monkeypatch, data_root):
    arrays = idx_set(data_root / "mnist")
    register(tmp_path, monkeypatch, "mnist",
             {f: {"sha256": sha256((data_root / "mnist" / f).read_bytes())} for f in IDX_FILES})
    ds = load("mnist", normalize="none")
    assert ds.X_train.shape == (30, 1, 28, 28) and ds.input_shape == (1, 28, 28)
    assert torch.equal(ds.X_train[:, 0], torch.tensor(arrays[0], dtype=torch.float32))
    assert torch.equal(ds.y_test, torch.tensor(arrays[3]))
    assert load("mnist").X_train.max() <= 1
    assert {row["where"] for row in dataset_status() if row["name"] == "mnist"} == {
        str(data_root / "mnist")}
    rows = verify("mnist")
    assert len(rows) == 4 and all(row["ok"] for row in rows)


def test_content_sha256_holds_for_any_compression(tmp_path, monkeypatch, data_root):
    folder = data_root / "mnist"
    idx_set(folder)
    payloads = {f: gzip.decompress((folder / f).read_bytes()) for f in IDX_FILES}
    register(tmp_path, monkeypatch, "mnist",
             {f: {"content_sha256": sha256(p)} for f, p in payloads.items()})
    (folder / IDX_FILES[1]).write_bytes(gzip.compress(payloads[IDX_FILES[1]], 1, mtime=7))
    assert load("mnist").y_train.tolist() == [i % 10 for i in range(30)]


def test_no_recorded_checksum_is_loud(tmp_path, monkeypatch, data_root):
    idx_set(data_root / "mnist")
    register(tmp_path, monkeypatch, "mnist", {f: {} for f in IDX_FILES})
    with pytest.warns(UserWarning, match="no checksum recorded"):
        load("mnist")
    rows = verify("mnist")
    assert rows and not any(row["ok"] for row in rows)
    assert all("no checksum recorded" in row["message"] for row in rows)


def test_manifest_with_two_checksums_for_one_file_is_refused(tmp_path, monkeypatch):
    register(tmp_path, monkeypatch, "mnist",
             {IDX_FILES[0]: {"sha256": "0" * 64, "content_sha256": "1" * 64}})
    with pytest.raises(DataError, match="exactly one"):
        load("mnist")


# ---------------------------------------------------------------- Fashion-MNIST

needs_debian = pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                                  reason="Debian package dataset-fashion-mnist not installed")


@needs_debian
def test_debian_fashion_mnist_loads_through_the_registry():
    ds = load("fashion-mnist", n_train=1000)
    assert ds.X_train.shape == (1000, 1, 28, 28) and ds.X_test.shape == (10000, 1, 28, 28)
    assert ds.n_classes == 10 and torch.bincount(ds.y_train).tolist() == [100] * 10
    assert ds.y_test[:5].tolist() == [9, 2, 1, 1, 6]  # ankle boot, pullover, trouser, ...
    assert 0 <= ds.X_test.min() and ds.X_test.max() == 1


def corrupt(name, data):
    """The bytes of Debian file ``name`` damaged in one of three ways."""
    if name == "truncated":
        return data[:len(data) // 2]
    if name == "flipped":
        return data[:5000] + bytes(b ^ 0xFF for b in data[5000:5010]) + data[5010:]
    payload = bytearray(gzip.decompress(data))  # valid gzip, one changed value
    payload[-1] ^= 0x01
    return gzip.compress(bytes(payload))


@needs_debian
@pytest.mark.parametrize("damage", ["truncated", "flipped", "payload"])
def test_corrupted_fashion_mnist_names_file_hashes_and_the_fix(damage, data_root, monkeypatch):
    folder = data_root / "fashion-mnist"
    folder.mkdir()
    for fname in IDX_FILES:
        (folder / fname).symlink_to(DEBIAN_FASHION / fname)
    bad = folder / "t10k-labels-idx1-ubyte.gz"
    bad.unlink()
    data = corrupt(damage, (DEBIAN_FASHION / bad.name).read_bytes())
    bad.write_bytes(data)
    monkeypatch.setattr(registry, "parse_idx", lambda *a: pytest.fail("parsed before the check"))
    with pytest.raises(DataError) as info:
        load("fashion-mnist")
    message = str(info.value)
    expected = files.file_entry("fashion-mnist", bad.name)["hash"]
    assert str(bad) in message and expected in message
    assert "companion data fetch fashion-mnist" in message and "Delete" in message
    if damage == "payload":
        assert f"actual content_sha256 {sha256(gzip.decompress(data))}" in message and "\n" not in message
    else:
        assert "truncated or unreadable" in message
    assert [row["ok"] for row in verify("fashion-mnist") if row["path"] == str(bad)] == [False]
    with pytest.raises(DataError):
        fetch("fashion-mnist")  # a corrupted copy in a writable folder is never used


# ---------------------------------------------------------------- CIFAR-10

class Py2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 ``str`` (BINSTRING), like the original CIFAR batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def cifar_batch(n, start):
    """A batch in the official format, pickled like numpy 1.x under Python 2 wrote it."""
    data = (np.arange(n * 3072) + start).astype(np.uint8).reshape(n, 3072)
    stream = io.BytesIO()
    Py2Pickler(stream, protocol=2).dump({b"batch_label": b"batch", b"labels": [i % 10 for i in range(n)],
                                         b"data": data})
    return stream.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"), data


def write_tarball(path, members, extra=None):
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        if extra is not None:
            tar.addfile(extra, io.BytesIO(b"x" * extra.size))


def cifar_members():
    members, arrays = {}, []
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        members[name], data = cifar_batch(2 if i < 5 else 3, start=i)
        arrays.append(data)
    return members, arrays


def cifar_tarball(tmp_path, monkeypatch, data_root, members, extra=None):
    folder = data_root / "cifar10"
    folder.mkdir()
    tarball = folder / "cifar-10-python.tar.gz"
    write_tarball(tarball, members, extra)
    register(tmp_path, monkeypatch, "cifar10",
             {tarball.name: {"sha256": sha256(tarball.read_bytes())}})
    return folder


def test_cifar_batches_parse_into_images(tmp_path, monkeypatch, data_root):
    members, arrays = cifar_members()
    folder = cifar_tarball(tmp_path, monkeypatch, data_root, members)
    ds = load("cifar10", normalize="none")
    assert ds.X_train.shape == (10, 3, 32, 32) and ds.X_test.shape == (3, 3, 32, 32)
    expected = np.concatenate(arrays[:5]).reshape(-1, 3, 32, 32)
    assert torch.equal(ds.X_train, torch.from_numpy(expected.astype(np.float32)))
    assert ds.y_test.tolist() == [0, 1, 2]
    tree = files.CACHE / "cifar10" / "cifar-10-batches-py"  # extracted into the cache, never beside the tarball
    assert (tree / "test_batch").is_file() and [p.name for p in folder.iterdir()] == ["cifar-10-python.tar.gz"]
    assert [row["ok"] for row in verify("cifar10") if row["path"] == str(tree)] == [True]


def evil_member(kind):
    if kind == "symlink":
        info = tarfile.TarInfo("cifar-10-batches-py/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        return info
    info = tarfile.TarInfo(kind)
    info.size = 4
    return info


@pytest.mark.parametrize("kind, words", [("../evil", ["'../evil'", "outside"]),
                                         ("/tmp/companion-evil", ["outside"]),
                                         ("symlink", ["links"])])
def test_cifar_tarball_with_an_unsafe_member_is_refused(kind, words, tmp_path, monkeypatch,
                                                        data_root):
    members, _ = cifar_members()
    folder = cifar_tarball(tmp_path, monkeypatch, data_root, members, evil_member(kind))
    with pytest.raises(DataError) as info:
        load("cifar10")
    for word in words:
        assert word in str(info.value)
    assert not (data_root / "evil").exists() and not Path("/tmp/companion-evil").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-python.tar.gz"]


class Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_cifar_batch_with_a_forbidden_global_is_refused(tmp_path, monkeypatch, data_root):
    members, _ = cifar_members()
    members["test_batch"] = pickle.dumps({b"data": Exploit()}, protocol=4)
    cifar_tarball(tmp_path, monkeypatch, data_root, members)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"refusing to unpickle the global (posix|os)\.system"):
        load("cifar10")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(DataError, match="builtins.eval"):
        read_batch(b"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R.", "crafted")


# ---------------------------------------------------------------- MNIST-1D

def test_mnist1d_shape_determinism_and_balance():
    ds = load("mnist1d")
    assert ds.X_train.shape == (4000, 40) and ds.X_test.shape == (1000, 40)
    assert ds.input_shape == (40,) and ds.n_classes == 10
    assert torch.equal(ds.X_train, load("mnist1d").X_train)
    assert torch.bincount(ds.y_train).tolist() == [400] * 10
    assert torch.bincount(ds.y_test).tolist() == [100] * 10
    X, y = make_mnist1d(200, seed=5)
    X2, y2 = make_mnist1d(200, seed=5)
    assert X.tobytes() == X2.tobytes() and np.array_equal(y, y2)
    assert not np.array_equal(X, make_mnist1d(200, seed=6)[0])


def test_mnist1d_bits_are_pinned():
    """A change of these bits changes every MNIST-1D result: make it on purpose, not by accident."""
    X, y = make_mnist1d(64, seed=0)
    assert sha256(X.tobytes() + y.tobytes()) == PINNED_MNIST1D


def test_mnist1d_classes_are_learnable():
    """The templates survive the transformations: nearest class mean beats chance (0.10, with
    a standard error of 0.01 on 1000 test examples) clearly, though shifts keep it weak."""
    ds = load("mnist1d", normalize="standard")
    means = torch.stack([ds.X_train[ds.y_train == k].mean(0) for k in range(10)])
    predicted = torch.cdist(ds.X_test, means).argmin(1)
    assert (predicted == ds.y_test).float().mean() > 0.14


PINNED_MNIST1D = "358c5300ddb748615617e135c9b2a9692efa9c6a8056ec5071785b512752788b"


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_image_datasets_are_those_whose_inputs_are_images(name):
    from companion.data import IMAGE_DATASETS

    data = load(name, n_train=20, n_test=20)
    assert (len(data.input_shape) == 3) == (name in IMAGE_DATASETS)


def test_a_split_is_the_dataset_s_own_tensors_cast_as_asked():
    data = load("digits", n_train=60, n_test=30, seed=0)
    X, y = data.split("test", dtype=torch.float64)
    assert X.dtype == torch.float64 and torch.equal(X.float(), data.X_test) and torch.equal(y, data.y_test)
    assert data.split()[0] is data.X_train  # already on the device in its dtype: no copy
    with pytest.raises(ValueError, match="choose 'train' or 'test'"):
        data.split("val")


@pytest.mark.parametrize("name, shape, n_classes", [("standin-mnist", (1, 28, 28), 10),
                                                    ("standin-cifar10", (3, 32, 32), 10),
                                                    ("standin-cifar100", (3, 32, 32), 100)])
def test_a_stand_in_has_its_dataset_s_shape_classes_and_range_and_is_the_same_every_time(name, shape, n_classes):
    data, again = load(name, seed=0), load(name, seed=0)
    assert data.input_shape == shape and data.n_classes == n_classes
    assert torch.equal(data.X_train, again.X_train) and torch.equal(data.y_test, again.y_test)
    assert 0.0 <= float(data.X_train.min()) and float(data.X_train.max()) <= 1.0  # unit-scaled 0-255
    assert sorted(set(data.y_train.tolist())) == list(range(n_classes))
    if name == "standin-cifar100":  # CIFAR-100's 20 super-classes of five labels each
        assert data.superclasses == tuple(label // 5 for label in range(100))
