"""Downloads of dataset files (companion.data.files): checked before they enter the cache, bounded by a
deadline, never written into $COMPANION_DATA. No network: a local HTTP server on 127.0.0.1 serves the files."""

import gzip
import hashlib
import io
import os
import socket
import threading
import time
import urllib.error
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from companion.data import DataError, dataset_status, fetch, files, manifest

TRICKLE_PAUSE = 0.02  # seconds between two bytes of a trickled file


class Site:
    """What the local server serves: ``files`` {path: bytes}; paths in ``trickle`` go out one byte at a time,
    paths in ``short`` promise more bytes than they send."""

    def __init__(self, base):
        self.base = base
        self.files, self.trickle, self.short, self.stop = {}, set(), set(), threading.Event()

    def url(self, path):
        return f"{self.base}/{path}"


@pytest.fixture
def site():
    """A local HTTP server in a thread, stopped (with any trickle under way) when the test ends."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            promised = len(body) + (100 if self.path.lstrip("/") in served.short else 0)
            self.send_header("Content-Length", str(promised))
            self.end_headers()
            try:
                self.send_body(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: that is the point
                pass

        def send_body(self, body):
            if self.path.lstrip("/") not in served.trickle:
                self.wfile.write(body)
                return
            for i in range(len(body)):
                if served.stop.wait(TRICKLE_PAUSE):
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    served = Site(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served
    served.stop.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def data_root(tmp_path, monkeypatch):
    """A writable $COMPANION_DATA (which must stay untouched) and an empty user cache."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("COMPANION_DATA", str(root))
    monkeypatch.delenv(files.TIMEOUT_ENV, raising=False)
    monkeypatch.setattr(files, "CACHE", tmp_path / "cache")
    return root


def register(tmp_path, monkeypatch, name, file_entries):
    """Use the real manifest with ``name`` replaced by ``{filename: entry}`` (url and checksum)."""
    entries = yaml.safe_load(manifest.MANIFEST_PATH.read_text())
    entries[name] = {"files": file_entries}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(entries))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", path)


def snapshot(folder):
    """Every path under ``folder`` (and itself) with its type, size and modification time: any write shows."""
    paths = [folder, *folder.rglob("*")]
    return {p.relative_to(folder).as_posix(): (p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns)
            for p in paths}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


LABELS = "t10k-labels-idx1-ubyte.gz"
PAYLOAD = bytes([0, 0, 8, 1, 0, 0, 0, 4, 9, 2, 1, 1])  # an IDX file of four labels


@pytest.fixture
def fashion(site, tmp_path, monkeypatch):
    """A one-file fashion-mnist (content_sha256, as the real entry) served by ``site``; returns its cache folder."""
    register(tmp_path, monkeypatch, "fashion-mnist",
             {LABELS: {"url": site.url(LABELS), "content_sha256": sha256(PAYLOAD)}})
    return files.CACHE / "fashion-mnist"


# ---------------------------------------------------------------- checked before the cache

def test_a_bad_download_never_enters_the_cache_and_does_not_block_the_next_fetch(site, fashion, data_root):
    before = snapshot(data_root)
    site.files[LABELS] = gzip.compress(PAYLOAD[:-1] + b"\x07")  # valid gzip, one changed label
    with pytest.raises(DataError) as info:
        fetch("fashion-mnist")
    message = str(info.value)
    assert "\n" not in message and site.url(LABELS) in message and "it was not kept" in message
    assert f"expected content_sha256 {sha256(PAYLOAD)}" in message
    assert "companion data fetch fashion-mnist" in message and str(fashion / LABELS) in message
    assert list(fashion.iterdir()) == [] and snapshot(data_root) == before
    site.files[LABELS] = gzip.compress(PAYLOAD)  # the server is fixed: the next fetch just works
    assert fetch("fashion-mnist") == fashion
    assert gzip.decompress((fashion / LABELS).read_bytes()) == PAYLOAD and snapshot(data_root) == before


def test_a_download_without_a_checksum_is_still_checked_for_its_format(site, tmp_path, monkeypatch):
    register(tmp_path, monkeypatch, "mnist", {LABELS: {"url": site.url(LABELS)}})
    site.files[LABELS] = b"<html>503 Service Unavailable</html>"  # what a proxy sends instead of the file
    with pytest.raises(DataError, match=r"was refused: not a valid gz file .*it was not kept"):
        fetch("mnist")
    assert list((files.CACHE / "mnist").iterdir()) == []


def test_a_connection_closed_before_the_promised_length_is_an_incomplete_download(site, fashion):
    site.files[LABELS] = gzip.compress(PAYLOAD)  # the right bytes, but the server promised 100 more
    site.short.add(LABELS)
    with pytest.raises(DataError, match=r"could not download .*100 more expected.*nothing was kept"):
        fetch("fashion-mnist")
    assert list(fashion.iterdir()) == []


def test_a_damaged_zip_download_is_refused(site, tmp_path, monkeypatch):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as z:
        z.writestr("a.txt", b"hello world" * 100)
    data = bytearray(stream.getvalue())
    data[data.index(b"hello")] ^= 0xFF  # the member's bytes no longer match its CRC
    register(tmp_path, monkeypatch, "omniglot", {"a.zip": {"url": site.url("a.zip")}})
    site.files["a.zip"] = bytes(data)
    with pytest.raises(DataError, match="damaged zip .*a.txt"):
        fetch("omniglot")
    assert list((files.CACHE / "omniglot").iterdir()) == []


# ---------------------------------------------------------------- deadline and temporary files

def test_a_trickling_server_is_stopped_at_the_deadline(site, fashion, data_root, monkeypatch):
    before = snapshot(data_root)
    site.files[LABELS] = gzip.compress(PAYLOAD) + bytes(200)  # 200+ bytes at 50 B/s: seconds past the deadline
    site.trickle.add(LABELS)
    monkeypatch.setenv(files.TIMEOUT_ENV, "0.3")
    with pytest.raises(DataError) as info:
        fetch("fashion-mnist")
    message = str(info.value)
    assert "deadline of 0.3 s" in message and LABELS in message and site.url(LABELS) in message
    assert files.TIMEOUT_ENV in message and "\n" not in message
    assert list(fashion.iterdir()) == [] and snapshot(data_root) == before  # its temporary file is gone


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_the_deadline_variable_must_be_a_positive_number_of_seconds(value, monkeypatch):
    monkeypatch.setenv(files.TIMEOUT_ENV, value)
    with pytest.raises(DataError, match=f"{files.TIMEOUT_ENV}='{value}' .*positive number of seconds"):
        files.download_deadline()


def test_the_deadline_defaults_to_the_module_constant_and_the_variable_overrides_it(monkeypatch):
    assert files.download_deadline() == files.DOWNLOAD_TIMEOUT
    monkeypatch.setenv(files.TIMEOUT_ENV, "12.5")
    assert files.download_deadline() == 12.5


def test_a_failed_download_removes_its_temporary_file_in_the_cache(fashion, data_root, monkeypatch):
    before, written = snapshot(data_root), []

    def broken(url, dest, deadline):  # the connection drops half way
        dest.write_bytes(b"half a file")
        written.append(dest)
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(files, "download", broken)
    with pytest.raises(DataError, match="could not download fashion-mnist file .*connection reset"):
        fetch("fashion-mnist")
    [temp] = written
    assert temp.parent == fashion and temp.name.startswith(files.TEMP_PREFIX) and temp.name.endswith(files.TEMP_SUFFIX)
    assert not temp.exists() and list(fashion.iterdir()) == [] and snapshot(data_root) == before


def test_stale_temporary_files_are_not_data_and_the_next_fetch_removes_them(site, fashion, monkeypatch):
    fashion.mkdir(parents=True)
    stale = fashion / f"{files.TEMP_PREFIX}killed{files.TEMP_SUFFIX}"
    live = fashion / f"{files.TEMP_PREFIX}live{files.TEMP_SUFFIX}"
    stale.write_bytes(gzip.compress(PAYLOAD))
    live.write_bytes(b"a download under way")
    monkeypatch.setenv(files.TIMEOUT_ENV, "60")
    old = time.time() - 120  # untouched for twice the deadline: its fetch was killed
    os.utime(stale, (old, old))
    assert files.locate("fashion-mnist") is None
    assert {row["name"]: row["where"] for row in dataset_status()}["fashion-mnist"] == "missing"
    site.files[LABELS] = gzip.compress(PAYLOAD)
    assert fetch("fashion-mnist") == fashion
    assert sorted(p.name for p in fashion.iterdir()) == sorted([LABELS, live.name])


# ---------------------------------------------------------------- errors and $COMPANION_DATA

def free_port():
    """A port on 127.0.0.1 that nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("where, words", [("site", "HTTP Error 404"), ("closed port", "Connection refused")])
def test_http_errors_and_refused_connections_are_one_line_data_errors(where, words, site, tmp_path, monkeypatch):
    base = site.base if where == "site" else f"http://127.0.0.1:{free_port()}"  # the site serves nothing
    register(tmp_path, monkeypatch, "fashion-mnist",
             {LABELS: {"url": f"{base}/{LABELS}", "content_sha256": sha256(PAYLOAD)}})
    cache = files.CACHE / "fashion-mnist"
    with pytest.raises(DataError) as info:
        fetch("fashion-mnist")
    message = str(info.value)
    assert words in message and "could not download fashion-mnist file" in message and "\n" not in message
    assert f"copy the file by hand to {cache / LABELS}" in message and list(cache.iterdir()) == []


def test_no_url_error_escapes_as_anything_but_a_data_error(fashion, monkeypatch):
    def offline(url, dest, deadline):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(files, "download", offline)
    with pytest.raises(DataError, match="no network"):
        fetch("fashion-mnist")


def test_fetch_downloads_into_the_cache_never_into_companion_data(site, tmp_path, monkeypatch, data_root):
    payload = {"a.fits": b"first file", "b.fits": b"second file"}
    register(tmp_path, monkeypatch, "wfi-geant4",
             {f: {"url": site.url(f), "sha256": sha256(b)} for f, b in payload.items()})
    site.files.update(payload)
    (data_root / "wfi-geant4").mkdir()
    (data_root / "wfi-geant4" / "a.fits").write_bytes(payload["a.fits"])  # an incomplete copy there
    before = snapshot(data_root)
    assert fetch("wfi-geant4") == files.CACHE / "wfi-geant4"
    assert sorted(p.name for p in (files.CACHE / "wfi-geant4").iterdir()) == ["a.fits", "b.fits"]
    assert snapshot(data_root) == before
