"""Archives (tar and zip) extracted without trusting them, and their extracted trees checked on every use.

Every member is checked before anything is written: it must be a plain file or folder whose
path stays inside the target (no absolute path, no ``..`` that climbs out, no drive letter, no
link or device), and the whole archive must unpack to at most ``MAX_UNPACKED`` bytes. Extraction
goes into the user cache (``$COMPANION_DATA`` is only read), to a temporary folder that is renamed
into place, so an interrupted run never leaves a half-extracted folder behind. Its last step writes
the list of the tree's files with their sizes and sha256 (``LISTING``, inside the tree, so it
appears with the tree in one rename); every use checks names and sizes against it, and
``companion data verify`` every sha256.
"""

import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from . import files
from .manifest import DataError

MAX_UNPACKED = 1 << 30  # refuse an archive that would unpack to more than 1 GiB (a zip bomb; CIFAR is 0.2 GiB)
LISTING = ".companion-files.json"  # at the root of an extracted tree: {"archive", "files": {path: {size, sha256}}}
_SHOWN = 3  # problems named in one message before "and N more"


def check_member(member_name, plain, target, archive):
    """Raise DataError unless the member ``member_name`` is ``plain`` (a file or folder) and stays inside ``target``."""
    name = member_name.replace("\\", "/")  # backslashes are separators to a Windows unzip
    if not plain:
        raise DataError(f"{archive}: refusing member {member_name!r}: only plain files and "
                        "folders are allowed, not links or devices")
    first = PurePosixPath(name).parts[:1]
    drive = " (a drive letter)" if first and ":" in first[0] else ""
    if drive or PurePosixPath(name).is_absolute() or not (target / name).resolve().is_relative_to(target):
        raise DataError(f"{archive}: refusing member {member_name!r}: it would be written outside {target}{drive}")


def _zip_plain(info):
    kind = stat.S_IFMT(info.external_attr >> 16)
    return kind in (0, stat.S_IFREG, stat.S_IFDIR)  # 0: no Unix file type recorded (zipfile, Windows)


def safe_extract(archive, target, name):
    """Extract the tar or zip ``archive`` into ``target`` after checking every member; raise DataError if unsafe.

    ``name`` is the registry dataset, for the message that says how to download it again.
    """
    target = Path(target).resolve()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                members = z.infolist()
                for info in members:
                    check_member(info.filename, _zip_plain(info), target, archive)
                _check_size(sum(info.file_size for info in members), archive)
                z.extractall(target, members=members)
        else:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                for member in members:
                    check_member(member.name, member.isfile() or member.isdir(), target, archive)
                _check_size(sum(member.size for member in members), archive)
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(target, members=members, **extra)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise DataError(f"cannot extract {archive}: {err}. The archive is damaged; delete it and "
                        f"run `companion data fetch {name}` to download it again.") from err


def _check_size(unpacked, archive):
    if unpacked > MAX_UNPACKED:
        raise DataError(f"{archive}: refusing to extract {unpacked} bytes (more than {MAX_UNPACKED}); "
                        "this is not the dataset's archive")


def extracted(archive, name, folder, wrap=False):
    """The folder ``folder`` that ``archive`` (of registry dataset ``name``) unpacks to, extracted first if needed.

    It lives in the user cache, ``CACHE/<name>/<folder>``, wherever the archive is. The archive holds
    ``<folder>/...``, or, with ``wrap``, its members are put into ``<folder>``. A folder already there is
    checked against the list written at its extraction (names and sizes) before it is returned.
    """
    parent = files.cache_folder(name)
    final = parent / folder
    if final.is_dir():
        check_tree(final)
        return final
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=parent))
        try:
            safe_extract(archive, tmp / folder if wrap else tmp, name)
            if not (tmp / folder).is_dir():
                raise DataError(f"{archive} has no folder {folder}/; is it the {name} archive?")
            write_listing(tmp / folder, archive)
            _move_into_place(tmp / folder, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        raise DataError(f"cannot extract {archive} into {parent} ({err}); make the folder writable, or set "
                        "XDG_CACHE_HOME to a writable folder") from err
    return final


def _move_into_place(tree, final):
    try:
        os.replace(tree, final)
    except OSError:
        if not final.is_dir():  # another process may have won the race; that is fine
            raise


def write_listing(tree, archive):
    """Write ``tree/LISTING``: every file under ``tree`` with its size and sha256, and the archive's name."""
    listed = {rel: {"size": path.stat().st_size, "sha256": _sha256(path)}
              for rel, path in sorted(_tree_files(tree).items())}
    (tree / LISTING).write_text(json.dumps({"archive": Path(archive).name, "files": listed}, indent=1))


def check_tree(tree, hashes=False):
    """Raise DataError unless ``tree`` holds exactly the files listed at its extraction, with their sizes
    (and, if ``hashes``, their sha256); return how many files it holds."""
    listed = _read_listing(tree)
    found = _tree_files(tree)
    problems = [f"{rel} is missing" for rel in listed if rel not in found]
    problems += [f"{rel} was not extracted from the archive" for rel in found if rel not in listed]
    try:
        for rel in (rel for rel in listed if rel in found):
            problems += _file_problems(found[rel], rel, listed[rel], hashes)
    except OSError as err:
        raise DataError(f"cannot check {tree} against its list of extracted files ({err}). "
                        f"{_reextract(tree)}") from err
    if problems:
        more = f" and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise DataError(f"{tree} is not as extracted: {'; '.join(problems[:_SHOWN])}{more}. "
                        f"{_reextract(tree)}")
    return len(found)


def check_rows(name):
    """One row per extracted folder of ``name`` in the cache (every sha256 checked): dataset, path, ok, message.

    Every folder in ``CACHE/<name>`` is an extracted tree (downloads there are files); hidden ones
    (``.extract-*``) are unfinished extractions, never data.
    """
    parent, rows = files.CACHE / name, []
    if not parent.is_dir():
        return rows
    for tree in sorted(p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            count = check_tree(tree, hashes=True)
            rows.append(files.row(name, tree, True, f"{tree}: its {count} files match the list written at "
                                                    "extraction (names, sizes, sha256)"))
        except DataError as err:
            rows.append(files.row(name, tree, False, str(err)))
    return rows


def _file_problems(path, rel, expected, hashes):
    size = path.stat().st_size
    if size != expected["size"]:
        return [f"{rel} has {size} bytes, not {expected['size']}"]
    if hashes and _sha256(path) != expected["sha256"]:
        return [f"{rel} has changed (its sha256 differs from the one recorded at extraction)"]
    return []


def _read_listing(tree):
    """The ``files`` mapping of ``tree/LISTING``; DataError if it is missing or malformed."""
    path = tree / LISTING
    try:
        listed = json.loads(path.read_text())["files"]
        if all(isinstance(e["size"], int) and isinstance(e["sha256"], str) for e in listed.values()):
            return listed
    except FileNotFoundError:
        raise DataError(f"{tree} has no list of its files ({LISTING}), so it cannot be checked. "
                        f"{_reextract(tree)}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    raise DataError(f"{path} is not a readable list of extracted files. {_reextract(tree)}")


def _tree_files(tree):
    """{relative POSIX path: path} of every file under ``tree``, its ``LISTING`` left out."""
    paths = (Path(folder) / fname for folder, _, fnames in os.walk(tree) for fname in fnames)
    found = {path.relative_to(tree).as_posix(): path for path in paths}
    found.pop(LISTING, None)
    return found


def _sha256(path):
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _reextract(tree):
    return f"Delete the folder {tree}; the next load extracts it again from the checked archive."
