"""The dataset manifest (``manifest.yaml`` beside this module): each file's URL and checksum.

The manifest ships inside the package, so any install (editable or not) reads the same
reviewed, versioned checksums. Tests point ``MANIFEST_PATH`` at a
manifest of their own to register files they write.
"""

import re
from pathlib import Path

import yaml

MANIFEST_PATH = Path(__file__).with_name("manifest.yaml")

HASH_KINDS = ("sha256", "content_sha256")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class DataError(RuntimeError):
    """A dataset file is missing, corrupted, unsafe or unreadable; the message says what to do."""


def load_manifest(path=None):
    """Return ``{dataset: {"system_dirs": [Path], "files": {filename: entry}}}``, checked.

    Each file entry has ``url`` and, when one was published, ``hash_kind`` (one of
    ``HASH_KINDS``) and ``hash``. ``path`` defaults to ``MANIFEST_PATH``, read at call time.
    """
    path = Path(path or MANIFEST_PATH)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"cannot read the dataset manifest {path}: {err}") from err
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of dataset names, got {type(raw).__name__}")
    return {name: _check_dataset(path, name, body) for name, body in raw.items()}


def _check_dataset(path, name, body):
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict) or not body["files"]:
        raise DataError(f"{path}: dataset {name!r} needs a non-empty 'files' mapping")
    unknown = set(body) - {"files", "system_dirs"}
    if unknown:
        raise DataError(f"{path}: dataset {name!r} has unknown keys {sorted(unknown)}; "
                        "allowed: files, system_dirs")
    files = {fname: _check_file(path, name, fname, entry) for fname, entry in body["files"].items()}
    return {"system_dirs": [Path(d) for d in body.get("system_dirs", [])], "files": files}


def _check_file(path, name, fname, entry):
    where = f"{path}: {name}/{fname}"
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise DataError(f"{where} needs a 'url'")
    unknown = set(entry) - {"url", "size", *HASH_KINDS}
    if unknown:
        raise DataError(f"{where} has unknown keys {sorted(unknown)}; "
                        f"allowed: url, size, {', '.join(HASH_KINDS)}")
    kinds = [kind for kind in HASH_KINDS if kind in entry]
    if len(kinds) > 1:
        raise DataError(f"{where} has both {' and '.join(kinds)}; give exactly one")
    checked = {"url": entry["url"], "hash_kind": None, "hash": None}
    if kinds:
        value = str(entry[kinds[0]]).lower()
        if not _HEX64.fullmatch(value):
            raise DataError(f"{where}: {kinds[0]} must be 64 hex digits, got {entry[kinds[0]]!r}")
        checked.update(hash_kind=kinds[0], hash=value)
    return checked
