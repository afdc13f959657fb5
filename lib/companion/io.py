"""Files written so that a reader never sees half of one, and their sha256."""

import hashlib
import json
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename; return its sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results and models are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def write_json_atomic(path, obj):
    """Write ``obj`` as JSON (tables, arrays and tensors as lists) to ``path`` atomically."""
    write_bytes_atomic(path, json.dumps(obj, indent=1, default=jsonable).encode())


def jsonable(value):
    """A DataFrame as its records, an array or tensor as a list (a scalar as a number); else TypeError."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):
        return value.tolist() if getattr(value, "ndim", 0) else value.item()
    raise TypeError(f"cannot record a {type(value).__name__}")


def sha256(path):
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
