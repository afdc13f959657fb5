"""Omniglot in the data registry: checksums, safe extraction, PNG reading, rotations and alphabet splits.

Most tests build small fake Omniglot zips here (no network); the last ones read the reference copy in
$COMPANION_DATA/omniglot when it is there (CI has it and must not skip them).
"""

import hashlib
import io
import json
import os
import shutil
import stat
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from companion.data import DataError, dataset_status, fetch, load, verify
from companion.data import archives, files, manifest
from companion.data import omniglot as og

SHARED = os.environ.get("COMPANION_DATA")


def png(ink):
    """A 1-bit PNG (as the Omniglot files are) of a bool array, True where there is ink."""
    stream = io.BytesIO()
    Image.fromarray(~np.asarray(ink, dtype=bool)).convert("1").save(stream, format="PNG")
    return stream.getvalue()


def glyph(alphabet, character, drawer):
    """A 105x105 drawing: a bar whose place encodes the character and whose width the drawer."""
    ink = np.zeros((105, 105), dtype=bool)
    top = 5 + 20 * character + 3 * alphabet
    ink[top:top + 10, 10:10 + 20 * (drawer + 1)] = True
    return ink


def write_set(path, stem, alphabets, drawers=3):
    """A zip laid out as the official ones: <stem>/<alphabet>/characterNN/<id>_<drawer>.png."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{stem}/", b"")
        for a, (alphabet, n_chars) in enumerate(alphabets.items()):
            for c in range(n_chars):
                for d in range(drawers):
                    z.writestr(f"{stem}/{alphabet}/character{c + 1:02d}/{a:02d}{c:02d}_{d + 1:02d}.png",
                               png(glyph(a if alphabet not in SHARED_NAMES else 7, c, d)))


SHARED_NAMES = ("Latin",)  # the two small subsets share alphabets: written identically in both


def write_runs(path):
    """A fake all_runs.zip with the official layout (two classes per run, 20 runs)."""
    with zipfile.ZipFile(path, "w") as z:
        for r in range(1, 21):
            labels = []
            for c in (1, 2):
                z.writestr(f"run{r:02d}/training/class{c:02d}.png", png(glyph(0, c, 0)))
                z.writestr(f"run{r:02d}/test/item{c:02d}.png", png(glyph(0, 3 - c, 1)))
                labels.append(f"run{r:02d}/test/item{c:02d}.png run{r:02d}/training/class{3 - c:02d}.png")
            z.writestr(f"run{r:02d}/class_labels.txt", "\n".join(labels) + "\n")


def register(tmp_path, monkeypatch, name, folder):
    """Use the real manifest with ``name``'s files replaced by the ones in ``folder`` (their sha256)."""
    entries = yaml.safe_load(manifest.MANIFEST_PATH.read_text())
    entries[name] = {"files": {f.name: {"url": f"https://example.invalid/{f.name}",
                                        "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
                               for f in sorted(folder.iterdir()) if f.suffix == ".zip"}}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(entries))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", path)


@pytest.fixture()
def small(tmp_path, monkeypatch, data_root):
    """A fake `omniglot` dataset: two subsets sharing Latin, plus the runs; registered with its sha256."""
    folder = data_root / "omniglot"
    folder.mkdir()
    write_set(folder / "images_background_small1.zip", "images_background_small1", {"Greek": 2, "Latin": 2})
    write_set(folder / "images_background_small2.zip", "images_background_small2", {"Latin": 2, "Tagalog": 3})
    write_runs(folder / "all_runs.zip")
    register(tmp_path, monkeypatch, "omniglot", folder)
    return folder


# ---------------------------------------------------------------- the registry

def test_manifest_lists_both_omniglot_datasets_with_sha256():
    entries = manifest.load_manifest()
    assert set(entries["omniglot"]["files"]) == {"images_background_small1.zip", "images_background_small2.zip",
                                                 "all_runs.zip"}
    assert set(entries["omniglot-full"]["files"]) == {"images_background.zip", "images_evaluation.zip"}
    for name in ("omniglot", "omniglot-full"):
        for entry in entries[name]["files"].values():
            assert entry["hash_kind"] == "sha256" and entry["url"].startswith("https://raw.githubusercontent.com/")
    rows = {row["name"]: row for row in dataset_status()}
    assert rows["omniglot"]["source"] == rows["omniglot-full"]["source"] == "files"


def test_fake_subsets_load_through_the_registry_with_shared_alphabets_read_once(small):
    chars = og.load_omniglot("omniglot", size=28)
    assert chars.group_names == ("Greek", "Latin", "Tagalog")
    assert chars.n_classes == 2 + 2 + 3 and len(chars.X) == 7 * 3  # Latin once
    assert chars.X.shape[1:] == (1, 28, 28) and chars.X.dtype == torch.float32
    assert 0 <= float(chars.X.min()) and float(chars.X.max()) <= 1
    assert chars.class_names[:3] == ("Greek/character01", "Greek/character02", "Latin/character01")
    # ink is 1: the drawn bar is bright, the paper dark, at the place the glyph put it
    native = og.load_omniglot("omniglot", size=105)
    assert torch.equal(native.X[0, 0] > 0.5, torch.from_numpy(glyph(0, 0, 0)))
    ds = load("omniglot", normalize="none")  # the standard split: Latin and Tagalog held out
    assert ds.n_classes == 242 and ds.input_shape == (1, 28, 28)
    assert len(ds.X_train) == 2 * 3 and len(ds.X_test) == 5 * 3
    assert set(ds.y_train.tolist()) == {0, 1} and set(ds.y_test.tolist()) == {2, 3, 4, 5, 6}
    assert (files.CACHE / "omniglot" / "images_background_small1" / "Greek" / "character01").is_dir()


def test_read_only_folders_are_never_written(small, tmp_path):
    for path in sorted(small.rglob("*"), reverse=True):
        path.chmod(stat.S_IRUSR | stat.S_IXUSR if path.is_dir() else stat.S_IRUSR)
    small.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        og.load_omniglot("omniglot", size=8)
        assert sorted(p.name for p in small.iterdir()) == ["all_runs.zip", "images_background_small1.zip",
                                                           "images_background_small2.zip"]
        assert (files.CACHE / "omniglot" / "images_background_small2" / "Tagalog").is_dir()
    finally:
        small.chmod(0o755)


def test_one_shot_runs_are_read_with_their_answers(small):
    runs = og.one_shot_runs(size=28)
    assert len(runs) == 20 and runs[0]["name"] == "run01"
    assert runs[0]["train"].shape == (2, 1, 28, 28) and runs[0]["answer"].tolist() == [1, 0]


def test_a_wrong_sha256_is_refused_before_reading(small):
    target = small / "images_background_small2.zip"
    data = bytearray(target.read_bytes())
    data[-30] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(DataError, match="checksum mismatch") as info:
        og.load_omniglot("omniglot")
    assert "images_background_small2.zip" in str(info.value) and "companion data fetch omniglot" in str(info.value)
    assert not (small / "images_background_small2").exists()
    assert [row["ok"] for row in verify("omniglot") if row["path"].endswith("small2.zip")] == [False]


def test_missing_files_say_how_to_get_them(tmp_path, monkeypatch, data_root):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    write_set(folder / "images_background.zip", "images_background", {"Greek": 1})
    register(tmp_path, monkeypatch, "omniglot-full", folder)

    def offline(url, dest, deadline):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(files, "download", offline)
    with pytest.raises(DataError, match="could not download omniglot-full file images_background.zip") as info:
        fetch("omniglot-full")
    assert f"copy the file by hand to {files.CACHE / 'omniglot-full' / 'images_background.zip'}" in str(info.value)


# ---------------------------------------------------------------- extracted trees and $COMPANION_DATA

def snapshot(folder):
    """Every path under ``folder`` (and itself) with its type, size and modification time: any write shows."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns)
            for p in [folder, *folder.rglob("*")]}


def test_a_writable_companion_data_folder_is_only_read(small, data_root):
    before = snapshot(data_root)
    assert load("omniglot").n_classes == 242 and len(og.one_shot_runs(size=8)) == 20
    assert fetch("omniglot") == small
    assert all(row["ok"] for row in verify("omniglot")) and dataset_status()
    assert snapshot(data_root) == before
    assert sorted(p.name for p in (files.CACHE / "omniglot").iterdir()) == [
        "all_runs", "images_background_small1", "images_background_small2"]


def test_extraction_lists_every_file_with_its_size_and_sha256(small):
    og.load_omniglot("omniglot", size=8)
    tree = files.CACHE / "omniglot" / "images_background_small2"
    listing = json.loads((tree / archives.LISTING).read_text())
    with zipfile.ZipFile(small / "images_background_small2.zip") as z:
        members = {i.filename.removeprefix("images_background_small2/"): z.read(i) for i in z.infolist()
                   if not i.is_dir()}
    assert listing["archive"] == "images_background_small2.zip"
    assert listing["files"] == {rel: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                                for rel, data in members.items()}
    rows = [row for row in verify("omniglot") if row["path"] == str(tree)]
    assert [row["ok"] for row in rows] == [True] and "its 15 files match" in rows[0]["message"]


def delete_class(tree):
    shutil.rmtree(tree / "Tagalog" / "character03")
    return "Tagalog/character03/0102_01.png is missing"


def add_file(tree):
    (tree / "Tagalog" / "character01" / "extra.png").write_bytes(b"x")
    return "Tagalog/character01/extra.png was not extracted from the archive"


def resize_file(tree):
    path = tree / "Latin" / "character01" / "0000_01.png"
    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"\0")
    return f"Latin/character01/0000_01.png has {size + 1} bytes, not {size}"


def delete_listing(tree):
    (tree / archives.LISTING).unlink()
    return f"has no list of its files ({archives.LISTING})"


@pytest.mark.parametrize("damage", [delete_class, add_file, resize_file, delete_listing])
def test_a_changed_extracted_tree_is_refused_until_it_is_deleted_and_extracted_again(damage, small):
    assert og.load_omniglot("omniglot", size=8).n_classes == 7
    tree = files.CACHE / "omniglot" / "images_background_small2"
    words = damage(tree)
    with pytest.raises(DataError) as info:
        og.load_omniglot("omniglot", size=8)
    message = str(info.value)
    assert words in message and f"Delete the folder {tree}" in message and "\n" not in message
    assert [row["ok"] for row in verify("omniglot") if row["path"] == str(tree)] == [False]
    shutil.rmtree(tree)  # as the message says: extracted again from the checked zip
    assert og.load_omniglot("omniglot", size=8).n_classes == 7
    assert all(row["ok"] for row in verify("omniglot"))


def test_an_altered_extracted_file_of_the_same_size_fails_verify(small):
    og.load_omniglot("omniglot", size=8)
    tree = files.CACHE / "omniglot" / "images_background_small1"
    target = tree / "Greek" / "character02" / "0001_02.png"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    [row] = [row for row in verify("omniglot") if row["path"] == str(tree)]
    assert not row["ok"] and "Greek/character02/0001_02.png has changed" in row["message"]
    assert f"Delete the folder {tree}" in row["message"]


# ---------------------------------------------------------------- safe extraction

def evil_zip(path, name, kind="file"):
    """A zip with one good member and one ``name``: a file, or a symbolic link to /etc/passwd."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("images_background_small1/Greek/character01/0001_01.png", png(glyph(0, 0, 0)))
        info = zipfile.ZipInfo(name)
        if kind == "symlink":
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
        else:
            z.writestr(info, b"evil")


@pytest.mark.parametrize("name, kind, words", [
    ("../evil", "file", ["'../evil'", "outside"]),
    ("images_background_small1/../../evil", "file", ["outside"]),
    ("/tmp/companion-omniglot-evil", "file", ["outside"]),
    ("..\\evil", "file", ["outside"]),
    ("C:/evil", "file", ["drive letter"]),
    ("images_background_small1/link", "symlink", ["links"]),
])
def test_malicious_archive_members_are_refused_and_nothing_is_written(tmp_path, name, kind, words):
    archive, target = tmp_path / "evil.zip", tmp_path / "out" / "deeper"
    target.mkdir(parents=True)
    evil_zip(archive, name, kind)
    with pytest.raises(DataError) as info:
        archives.safe_extract(archive, target, "omniglot")
    for word in words:
        assert word in str(info.value)
    assert list(target.iterdir()) == []  # not even the good member
    assert not (tmp_path / "out" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not Path("/tmp/companion-omniglot-evil").exists()


def test_malicious_archive_in_the_registry_leaves_only_the_zips(tmp_path, monkeypatch, data_root):
    folder = data_root / "omniglot"
    folder.mkdir()
    evil_zip(folder / "images_background_small1.zip", "../../evil")
    write_set(folder / "images_background_small2.zip", "images_background_small2", {"Latin": 1})
    write_runs(folder / "all_runs.zip")
    register(tmp_path, monkeypatch, "omniglot", folder)
    with pytest.raises(DataError, match="refusing member '../../evil'"):
        og.load_omniglot("omniglot")
    assert sorted(p.name for p in folder.iterdir()) == ["all_runs.zip", "images_background_small1.zip",
                                                        "images_background_small2.zip"]
    assert not (data_root / "evil").exists() and not (tmp_path / "evil").exists()


def test_an_archive_that_would_unpack_too_large_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("images_background_small1/zeros.bin", bytes(10_000))
    monkeypatch.setattr(archives, "MAX_UNPACKED", 1000)
    with pytest.raises(DataError, match="refusing to extract 10000 bytes"):
        archives.safe_extract(archive, tmp_path / "out", "omniglot")
    assert not (tmp_path / "out").exists()


def test_a_damaged_archive_is_a_data_error(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="damaged"):
        archives.safe_extract(archive, tmp_path / "out", "omniglot")


# ---------------------------------------------------------------- rotations and splits

def _chars():
    X = torch.zeros(6, 1, 4, 4)
    X[:, 0, 0, 1] = 1.0  # one ink pixel in the top row, left of centre
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    return og.ClassImages(X, y, ("A/c1", "A/c2", "B/c1"), (0, 0, 1), ("A", "B"))


def test_rotations_are_new_classes_in_the_same_group():
    rot = og.rotations_as_classes(_chars())
    assert rot.n_classes == 12 and len(rot.X) == 24
    assert rot.class_names[:4] == ("A/c1", "A/c1/rot90", "A/c1/rot180", "A/c1/rot270")
    assert rot.class_group == (0,) * 8 + (1,) * 4
    for i, k in enumerate(range(4)):  # class 0 rotated by k quarter turns is class 4 * 0 + k
        images = rot.X[rot.y == k]
        assert len(images) == 2 and torch.equal(images[0, 0], torch.rot90(_chars().X[0, 0], k))
    assert torch.nonzero(rot.X[rot.y == 1][0, 0]).tolist() == [[2, 0]]  # 90 degrees counter-clockwise
    with pytest.raises(ValueError, match="distinct values from 0, 1, 2, 3"):
        og.rotations_as_classes(_chars(), (0, 4))


def test_group_split_is_disjoint_and_relabels():
    train, test = og.group_split(og.rotations_as_classes(_chars()), ["B"])
    assert train.groups == ("A",) and test.groups == ("B",)
    assert train.n_classes == 8 and test.n_classes == 4
    assert sorted(set(test.y.tolist())) == [0, 1, 2, 3] and not set(train.class_names) & set(test.class_names)
    with pytest.raises(ValueError, match="distinct names from"):
        og.group_split(_chars(), ["Z"])
    with pytest.raises(ValueError, match="no classes on one side"):
        og.group_split(_chars(), ["A", "B"])


def test_resize_keeps_constants_and_shrinks():
    X = torch.full((2, 1, 105, 105), 0.25)
    assert og.resize(X, 28).shape == (2, 1, 28, 28) and torch.allclose(og.resize(X, 28), torch.full((2, 1, 28, 28), 0.25))
    assert og.resize(X, 105) is X
    with pytest.raises(ValueError, match="from 4 to 105"):
        og.load_omniglot("omniglot", size=200)


# ---------------------------------------------------------------- the reference copy

def _reference():
    folder = Path(SHARED) / "omniglot" if SHARED else None
    if folder is None or not (folder / "images_background_small1.zip").is_file():
        if os.environ.get("CI"):
            pytest.fail("CI must provide the Omniglot reference copy in $COMPANION_DATA/omniglot (../shared/data)")
        pytest.skip("no Omniglot reference copy in $COMPANION_DATA/omniglot")
    return folder


def test_reference_subsets_match_the_manifest_and_load(tmp_path, monkeypatch):
    _reference()
    monkeypatch.setattr(files, "CACHE", tmp_path / "cache")  # extraction goes here if the copy is read-only
    assert all(row["ok"] for row in verify("omniglot")), verify("omniglot")
    train, test = og.load_split("omniglot", 28)
    assert train.n_classes + test.n_classes == 242 and len(train.X) + len(test.X) == 4840
    assert test.groups == og.SMALL_TEST_ALPHABETS and len(train.groups) == 6
    assert test.n_classes == 26 + 17 and (torch.bincount(train.y) == 20).all()
    runs = og.one_shot_runs(28)
    assert len(runs) == 20 and all(sorted(r["answer"].tolist()) == list(range(20)) for r in runs)
