"""Finding, downloading and checksumming a dataset's files.

Search order for ``<name>``: ``$COMPANION_DATA/<name>`` (may be read-only), the user cache
``CACHE/<name>``, then the manifest's ``system_dirs`` (the Debian Fashion-MNIST folder).
Downloads go to the first writable of the first two. Every file is checked against the
manifest before anything parses it.
"""

import gzip
import hashlib
import os
import stat
import warnings
import zlib
from pathlib import Path

import pooch

from .manifest import DataError, load_manifest

CACHE = Path(pooch.os_cache("companion"))
_CHUNK = 1 << 20


def entries(name):
    """Return the manifest entry of the file dataset ``name``."""
    manifest = load_manifest()
    if name not in manifest:
        raise DataError(f"the dataset manifest has no entry for {name!r}; it lists {sorted(manifest)}")
    return manifest[name]


def file_entry(name, fname):
    """The manifest entry (url, hash_kind, hash) of file ``fname`` of dataset ``name``."""
    files = entries(name)["files"]
    if fname not in files:
        raise DataError(f"the dataset manifest lists no file {fname!r} for {name}; "
                        f"it lists {sorted(files)}")
    return files[fname]


def download_roots(name):
    """The folders ``name`` may be downloaded into, in order: $COMPANION_DATA, then CACHE."""
    env = os.environ.get("COMPANION_DATA")
    return ([Path(env) / name] if env else []) + [CACHE / name]


def search_roots(name):
    """The folders searched for ``name``'s files, in order."""
    return download_roots(name) + entries(name)["system_dirs"]


def locate(name):
    """The first search root that holds every file of ``name``, or None."""
    files = entries(name)["files"]
    for root in search_roots(name):
        if all((root / fname).is_file() for fname in files):
            return root
    return None


def verified_bytes(path, entry, name):
    """Return the payload of ``path`` (decompressed if .gz) after checking its checksum."""
    if entry["hash_kind"] == "sha256":
        actual, raw = _digest(path, entry, name, decompress=False, keep=True)
        _compare(path, entry, name, actual)
        if path.suffix != ".gz":
            return raw
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path} matches its sha256 but is not valid gzip ({err})") from err
    actual, payload = _digest(path, entry, name, decompress=path.suffix == ".gz", keep=True)
    _compare(path, entry, name, actual)
    return payload


def verify_file(path, entry, name):
    """Check ``path`` against its manifest checksum without keeping its bytes; raise DataError."""
    content = entry["hash_kind"] == "content_sha256" and path.suffix == ".gz"
    actual, _ = _digest(path, entry, name, decompress=content, keep=False)
    _compare(path, entry, name, actual)


def fetch(name):
    """Make every file of ``name`` present and verified; return the folder that holds them.

    A complete, good copy anywhere in the search order is used as is. A corrupted copy is an
    error (delete it first), except in a system folder: a download, searched before it,
    shadows it. Otherwise the missing files are downloaded with pooch.
    """
    files, system_dirs = entries(name)["files"], entries(name)["system_dirs"]
    shadowed = None
    for root in search_roots(name):
        if not all((root / fname).is_file() for fname in files):
            continue
        try:
            for fname, entry in files.items():
                verify_file(root / fname, entry, name)
            return root
        except DataError as err:
            if root not in system_dirs:
                raise
            shadowed = err
    target = next((root for root in download_roots(name) if writable(root)), None)
    if target is None:
        raise shadowed or DataError(f"no writable folder to download {name} into: tried "
                                    f"{', '.join(map(str, download_roots(name)))}; "
                                    "set COMPANION_DATA to a writable folder")
    for fname, entry in files.items():
        if not (target / fname).is_file():
            _download(target, fname, entry, name)
        verify_file(target / fname, entry, name)
    return target


def check_rows(name):
    """One row per present file of ``name`` in every search root: dataset, path, ok, message."""
    rows, files = [], entries(name)["files"]
    for root in search_roots(name):
        for fname, entry in files.items():
            path = root / fname
            if not path.is_file():
                continue
            if entry["hash_kind"] is None:
                rows.append(_row(name, path, False, _no_checksum(path)))
                continue
            try:
                verify_file(path, entry, name)
                rows.append(_row(name, path, True, f"{entry['hash_kind']} matches"))
            except DataError as err:
                rows.append(_row(name, path, False, str(err)))
    return rows


def _row(name, path, ok, message):
    return {"dataset": name, "path": str(path), "ok": ok, "message": message}


def _refetch(path, name):
    return (f"Delete {path} (or, if its folder is read-only, set COMPANION_DATA to a writable "
            f"folder) and run `companion data fetch {name}` to download it again.")


def _no_checksum(path):
    return f"{path}: no checksum recorded in the dataset manifest; the file is UNVERIFIED"


def _digest(path, entry, name, decompress, keep):
    """Stream ``path`` (through gzip if ``decompress``) into sha256; return (hex, bytes or None)."""
    digest, chunks = hashlib.sha256(), []
    try:
        with (gzip.open if decompress else open)(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                if keep:
                    chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as err:
        what = "decompressed content " if decompress else ""
        raise DataError(f"{path} is truncated or unreadable ({err}), so its {what}sha256 cannot be "
                        f"computed; expected {entry['hash_kind']} {entry['hash']}. "
                        f"{_refetch(path, name)}") from err
    return digest.hexdigest(), (b"".join(chunks) if keep else None)


def _compare(path, entry, name, actual):
    if entry["hash_kind"] is None:
        warnings.warn(_no_checksum(path), stacklevel=2)
    elif actual != entry["hash"]:
        raise DataError(f"checksum mismatch for {path}:\n  expected {entry['hash_kind']} "
                        f"{entry['hash']}\n  actual   {entry['hash_kind']} {actual}\n"
                        f"The file is corrupted or incomplete. {_refetch(path, name)}")


def _download(folder, fname, entry, name):
    known = f"sha256:{entry['hash']}" if entry["hash_kind"] == "sha256" else None
    try:
        pooch.retrieve(entry["url"], known_hash=known, fname=fname, path=folder, progressbar=False)
    except Exception as err:  # network and HTTP errors come in many types; all mean the same
        raise DataError(f"could not download {name} file {fname} from {entry['url']} into "
                        f"{folder}: {err}. Without network, copy the file there by hand.") from err


def writable(folder):
    """Whether ``folder`` exists (it is created if it can be) and may be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    # os.access says yes to root for every folder; a reference copy marked read-only (r-x) must stay untouched
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & stat.S_IWUSR)
