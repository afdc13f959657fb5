"""Finding, downloading and checksumming a dataset's files.

Search order for ``<name>``: ``$COMPANION_DATA/<name>`` (input: only ever read, whether or not it
is writable), the user cache ``CACHE/<name>``, then the manifest's ``system_dirs`` (the Debian
Fashion-MNIST folder). Downloads go only into the cache: each file is streamed into a temporary
file there (``.download-*.part``), checked (checksum, and gzip or zip format), and only then given
its name, so a bad or interrupted download never enters the cache. Every file is checked against the
manifest before anything parses it.
"""

import gzip
import hashlib
import http.client
import math
import os
import tempfile
import time
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path

import pooch

from .manifest import DataError, load_manifest

CACHE = Path(pooch.os_cache("companion"))
DOWNLOAD_TIMEOUT = 1800.0  # seconds one file's download may take in all (CIFAR's 170 MB at 100 kB/s)
TIMEOUT_ENV = "COMPANION_DOWNLOAD_TIMEOUT"  # overrides DOWNLOAD_TIMEOUT (seconds)
TEMP_PREFIX, TEMP_SUFFIX = ".download-", ".part"  # an unfinished download in the cache: never data
_CHUNK = 1 << 20
_READ_ERRORS = (OSError, EOFError, zlib.error)  # what reading a truncated or damaged file raises


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


def search_roots(name):
    """The folders searched for ``name``'s files, in order: $COMPANION_DATA, the cache, system folders."""
    env = os.environ.get("COMPANION_DATA")
    return ([Path(env) / name] if env else []) + [CACHE / name] + entries(name)["system_dirs"]


def locate(name):
    """The first search root that holds every file of ``name``, or None."""
    files = entries(name)["files"]
    for root in search_roots(name):
        if all((root / fname).is_file() for fname in files):
            return root
    return None


def cache_folder(name):
    """``CACHE/<name>``, created if needed: the one folder downloads and extractions of ``name`` go to."""
    folder = CACHE / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the cache folder {folder} ({err}); make it writable, or set "
                        "XDG_CACHE_HOME to a writable folder ($COMPANION_DATA is only read)") from err
    return folder


def verified_bytes(path, entry, name):
    """Return the payload of ``path`` (decompressed if .gz) after checking its checksum."""
    data = _verified(path, entry, name, keep=True)
    if path.suffix != ".gz" or _of_content(entry, path.name):
        return data
    try:
        return gzip.decompress(data)
    except _READ_ERRORS as err:
        raise DataError(f"{path} matches its checksum but is not valid gzip ({err})") from err


def verify_file(path, entry, name):
    """Check ``path`` against its manifest checksum without keeping its bytes; raise DataError."""
    _verified(path, entry, name, keep=False)


def fetch(name):
    """Make every file of ``name`` present and verified; return the folder that holds them.

    A complete, good copy anywhere in the search order is used as is. A corrupted copy is an
    error (delete it first), except in a system folder: a download, searched before it,
    shadows it. Otherwise the files missing from the cache are downloaded into it.
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
    try:
        target = cache_folder(name)
    except DataError as err:
        raise shadowed or err  # a damaged system copy says more than an unwritable cache
    deadline = download_deadline()
    remove_stale_downloads(target, deadline)
    for fname, entry in files.items():
        if not (target / fname).is_file():
            _download_checked(target, fname, entry, name, deadline)
        verify_file(target / fname, entry, name)
    return target


def download_deadline():
    """Seconds one file's download may take in all: ``$COMPANION_DOWNLOAD_TIMEOUT``, else ``DOWNLOAD_TIMEOUT``."""
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DOWNLOAD_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise DataError(f"{TIMEOUT_ENV}={raw!r} is not allowed; give a positive number of seconds "
                        f"(default {DOWNLOAD_TIMEOUT:g})")
    return seconds


def remove_stale_downloads(folder, deadline):
    """Delete the temporary files of downloads into ``folder`` that a killed fetch left behind.

    A download still running writes to its file at least once per ``deadline``, so only files
    untouched for longer than that are removed.
    """
    for path in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        try:
            if time.time() - path.stat().st_mtime > deadline:
                path.unlink()
        except OSError:  # gone already (another fetch removed it) or not ours to remove: never data anyway
            pass


def download(url, dest, deadline):
    """Stream ``url`` into the file ``dest``; raise TimeoutError once ``deadline`` seconds have passed.

    Each read returns what has arrived and the clock is checked after it, so a server trickling
    bytes is stopped at the deadline; a server that goes silent fails when one wait for it reaches
    the deadline (the socket timeout).
    """
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=deadline) as response, open(dest, "wb") as out:
        while chunk := response.read1(_CHUNK):
            out.write(chunk)
            if time.monotonic() - start > deadline:
                raise TimeoutError(f"still downloading after {deadline:g} s")
        if getattr(response, "length", None):  # the server closed the connection before the promised end
            raise http.client.IncompleteRead(b"", response.length)


def check_rows(name):
    """One row per present file of ``name`` in every search root: dataset, path, ok, message."""
    rows, files = [], entries(name)["files"]
    for root in search_roots(name):
        for fname, entry in files.items():
            path = root / fname
            if not path.is_file():
                continue
            if entry["hash_kind"] is None:
                rows.append(row(name, path, False, _no_checksum(path)))
                continue
            try:
                verify_file(path, entry, name)
                rows.append(row(name, path, True, f"{path}: {entry['hash_kind']} matches"))
            except DataError as err:
                rows.append(row(name, path, False, str(err)))
    return rows


def row(name, path, ok, message):
    """A row of ``companion data verify``: dataset, path, ok, message."""
    return {"dataset": name, "path": str(path), "ok": ok, "message": message}


def _download_checked(folder, fname, entry, name, deadline):
    """Download ``fname`` into ``folder`` through a temporary file that takes its name only once checked."""
    final = folder / fname
    try:
        handle, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
        os.close(handle)
    except OSError as err:
        raise DataError(f"cannot write a download of {name} file {fname} into {folder} ({err}); make the "
                        "folder writable, or set XDG_CACHE_HOME to a writable folder") from err
    tmp = Path(tmp)
    try:
        _download_into(tmp, fname, entry, name, deadline)
        _check_download(tmp, fname, entry, name)
        os.replace(tmp, final)
    except OSError as err:
        raise DataError(f"cannot store the download of {name} file {fname} at {final} ({err})") from err
    finally:
        tmp.unlink(missing_ok=True)


def _download_into(tmp, fname, entry, name, deadline):
    url = entry["url"]
    try:
        download(url, tmp, deadline)
    except TimeoutError as err:
        raise DataError(f"downloading {name} file {fname} from {url} did not finish within the deadline of "
                        f"{deadline:g} s ({err}); nothing was kept. On a slow connection set {TIMEOUT_ENV} "
                        f"to more seconds, or copy the file by hand to {tmp.parent / fname}") from err
    except (OSError, ValueError, http.client.HTTPException) as err:  # URLError, HTTPError, resets, bad URL
        raise DataError(f"could not download {name} file {fname} from {url}: {err}; nothing was kept. "
                        f"Without network, copy the file by hand to {tmp.parent / fname}") from err


def _check_download(tmp, fname, entry, name):
    """Raise DataError unless the downloaded ``tmp`` matches ``fname``'s checksum and format."""
    try:
        actual, _ = _digest(tmp, fname, entry, keep=False)
    except _READ_ERRORS as err:
        problem = f"truncated or unreadable ({err})"
    else:
        problem = _mismatch(entry, actual) or _format_problem(tmp, fname)
    if problem:
        kind = entry["hash_kind"] or "checksum"
        raise DataError(f"the download of {name} file {fname} from {entry['url']} was refused: {problem}; "
                        "it was not kept. "
                        "The server may have sent an error page or a changed file: run "
                        f"`companion data fetch {name}` again later, or download the file by hand, check its "
                        f"{kind} and copy it to {tmp.parent / fname}")


def _verified(path, entry, name, keep):
    """Check ``path`` against ``entry``; return what :func:`_digest` read if ``keep``; raise DataError."""
    try:
        actual, data = _digest(path, path.name, entry, keep)
    except _READ_ERRORS as err:
        what = "decompressed content " if _of_content(entry, path.name) else ""
        expected = f"; expected {entry['hash_kind']} {entry['hash']}" if entry["hash_kind"] else ""
        raise DataError(f"{path} is truncated or unreadable ({err}), so its {what}sha256 cannot be "
                        f"computed{expected}. {_refetch(path, name)}") from err
    if entry["hash_kind"] is None:
        warnings.warn(_no_checksum(path), stacklevel=3)
    elif problem := _mismatch(entry, actual):
        raise DataError(f"{path}: {problem}. The file is corrupted or incomplete. {_refetch(path, name)}")
    return data


def _of_content(entry, fname):
    """Whether ``entry`` checksums the decompressed content of ``fname`` rather than its bytes."""
    return entry["hash_kind"] == "content_sha256" and fname.endswith(".gz")


def _digest(path, fname, entry, keep):
    """Stream what ``entry`` checksums of ``path`` (file ``fname``) into sha256; return (hex, bytes or None)."""
    digest, chunks = hashlib.sha256(), []
    with (gzip.open if _of_content(entry, fname) else open)(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
    return digest.hexdigest(), (b"".join(chunks) if keep else None)


def _mismatch(entry, actual):
    """What differs between ``actual`` and ``entry``'s checksum; None if it matches or none is recorded."""
    if entry["hash_kind"] is None or actual == entry["hash"]:
        return None
    kind = entry["hash_kind"]
    return f"checksum mismatch: expected {kind} {entry['hash']}, actual {kind} {actual}"


def _format_problem(path, fname):
    """What is wrong with the format of ``path`` (a .gz must decompress, a .zip pass its CRCs), or None."""
    try:
        if fname.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                while stream.read(_CHUNK):
                    pass
        elif fname.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                return f"a damaged zip (member {bad} fails its CRC check)"
    except (*_READ_ERRORS, zipfile.BadZipFile) as err:
        return f"not a valid {fname.rsplit('.', 1)[-1]} file ({err})"
    return None


def _refetch(path, name):
    return (f"Delete {path} and run `companion data fetch {name}` to download it again "
            f"(into {CACHE / name}; $COMPANION_DATA is only read).")


def _no_checksum(path):
    return f"{path}: no checksum recorded in the dataset manifest; the file is UNVERIFIED"
