"""Archives (tar and zip) extracted without trusting them.

Every member is checked before anything is written: it must be a plain file or folder whose
path stays inside the target (no absolute path, no ``..`` that climbs out, no drive letter, no
link or device), and the whole archive must unpack to at most ``MAX_UNPACKED`` bytes. Extraction
goes to a temporary folder that is renamed into place, so an interrupted run never leaves a
half-extracted folder behind; a read-only data folder is left untouched and the user cache is used.
"""

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

    It goes beside the archive, or into the user cache when the archive's folder is read-only.
    The archive holds ``<folder>/...``, or, with ``wrap``, its members are put into ``<folder>``.
    """
    parent = Path(archive).parent
    if not files.writable(parent):
        parent = files.CACHE / name
        parent.mkdir(parents=True, exist_ok=True)
    final = parent / folder
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=parent))
    try:
        safe_extract(archive, tmp / folder if wrap else tmp, name)
        if not (tmp / folder).is_dir():
            raise DataError(f"{archive} has no folder {folder}/; is it the {name} archive?")
        try:
            os.replace(tmp / folder, final)
        except OSError:
            if not final.is_dir():  # another process may have won the race; that is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
