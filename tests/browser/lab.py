"""Drive JupyterLab in headless Chromium: open a notebook, run it all, move its first Explore widget.

Used by ``make test-browser``. The notebooks are copied to a scratch folder first, so
JupyterLab's autosave can never touch the committed ones.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
NOTEBOOK = "window.jupyterapp.shell.currentWidget"
SETTINGS = {  # JupyterLab user settings for the test server
    # Render every cell: JupyterLab 4 otherwise builds only the cells in view, and the Explore cell is last.
    "notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    # No "news" pop-up over the screenshots (and no request to the network for it).
    "apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false", "checkForUpdates": false}',
}
ERROR_MIME = 'data-mime-type="application/vnd.jupyter.stderr"'  # how JupyterLab renders a traceback


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(root):
    """A JupyterLab server on localhost with no token, serving ``root``; yields its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}", "--allow-root",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
           f"--LabApp.workspaces_dir={Path(root) / '.workspaces'}", "--ServerApp.disable_check_xsrf=True"]
    settings = Path(root) / ".lab-settings" / "@jupyterlab"
    for plugin, value in SETTINGS.items():
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / plugin).write_text(value)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(Path(root) / ".lab-settings")}
    log = open(Path(root) / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"JupyterLab did not start; see {log.name}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def scratch_copy(project, dest):
    """Copy the notebooks (and the example data the sweep summary reads) to ``dest``; return the notebooks folder."""
    shutil.copytree(project / "notebooks", dest / "notebooks", ignore=shutil.ignore_patterns("*.record.json"))
    if (project / "data" / "examples").exists():
        shutil.copytree(project / "data" / "examples", dest / "data" / "examples")
    return dest / "notebooks"


def errors_in_notebook(page):
    """Every error output of the open notebook, as 'cell N: ename: evalue'."""
    return page.evaluate(f"""() => {{
        const found = [];
        {NOTEBOOK}.content.widgets.forEach((cell, i) => {{
            if (cell.model.type !== 'code') return;
            for (const out of cell.model.outputs.toJSON()) {{
                if (out.output_type === 'error') found.push(`cell ${{i + 1}}: ${{out.ename}}: ${{out.evalue}}`);
            }}
        }});
        return found;
    }}""")


def run_all(page, url, name, timeout_s):
    """Open ``name``, clear its outputs, run every cell and wait until each has run and the kernel is idle."""
    page.goto(f"{url}/lab/tree/{name}?reset")  # reset: a fresh workspace, only this notebook open
    page.wait_for_function(f"() => window.jupyterapp && {NOTEBOOK} && {NOTEBOOK}.sessionContext "
                           f"&& {NOTEBOOK}.sessionContext.session && {NOTEBOOK}.sessionContext.session.kernel "
                           f"&& {NOTEBOOK}.sessionContext.session.kernel.connectionStatus === 'connected'",
                           timeout=120_000)
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); "
                  "await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(f"""() => {{
        const nb = {NOTEBOOK};
        const code = nb.content.widgets.filter(c => c.model.type === 'code');
        return nb.sessionContext.session.kernel.status === 'idle'
            && code.every(c => c.model.executionCount !== null);
    }}""", timeout=timeout_s * 1000)


def _explore_js(body):
    """A JavaScript function of one argument that sees ``output`` (the Explore cell's widget output, or null),
    ``figures`` (the src of each image in it, once every one has loaded) and ``idle`` (the kernel is idle)."""
    return f"""(arg) => {{
        const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
        const output = cells.length ? cells[cells.length - 1].querySelector('.jp-OutputArea .widget-output') : null;
        const images = output ? [...output.querySelectorAll('img')] : [];
        const figures = images.every(img => img.complete && img.naturalWidth > 0) ? images.map(img => img.src) : [];
        const idle = {NOTEBOOK}.sessionContext.session.kernel.status === 'idle';
        {body}
    }}"""


# The Explore output shows at least one figure, every one loaded, and the kernel is idle: a finished drawing.
DRAWN = _explore_js("return idle && figures.length > 0 ? figures : null;")
# After a move (arg: the figures before): a finished drawing of other figures, or an error shown.
REDRAWN_OR_FAILED = _explore_js(
    "const failed = output !== null && output.querySelector('[" + ERROR_MIME + "]') !== null;\n"
    "        return idle && (failed || (figures.length > 0 && figures.join(' ') !== arg.join(' ')));")


def explore_output(page):
    """The Explore section's cell (the last code cell): its widgets, its output and the figures the output
    shows once they are drawn and the kernel is idle."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").last
    widgets, output = cell.locator(".widget-slider, .widget-dropdown"), cell.locator(".jp-OutputArea .widget-output")
    widgets.first.wait_for(timeout=60_000)
    figures = page.wait_for_function(DRAWN, arg=None, timeout=120_000).json_value()
    return widgets, output, figures


def move(page, widgets):
    """Move the first Explore widget that can move: a slider by one step, a dropdown to its next option."""
    for widget in widgets.all():
        select = widget.locator("select")
        if select.count():
            n, current = select.evaluate("s => [s.options.length, s.selectedIndex]")
            if n > 1:
                select.select_option(index=(current + 1) % n)
                return
        else:
            handle = widget.locator(".noUi-handle").first
            at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            handle.focus()
            page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
            return
    raise AssertionError("the Explore section has no widget that can move")


def redrawn_output(page, output, before, timeout_s=120):
    """Wait until the Explore output shows figures other than ``before``, drawn, with the kernel idle (or
    shows an error); return its HTML then."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(REDRAWN_OR_FAILED, arg=before, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"moving the first Explore widget did not redraw its figure in {timeout_s} s") from None
    return output.inner_html()


def check_notebook(browser, url, name, shots, timeout_s=300):
    """Run ``name`` in JupyterLab, fail on any error output, move its first Explore widget and check that
    it redrew its figure without an error; screenshots before and after go to ``shots``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        run_all(page, url, name, timeout_s)
        errors = errors_in_notebook(page)
        assert not errors, f"{name}: error outputs after Run All: {errors}"
        stem = Path(name).stem
        widgets, output, before = explore_output(page)
        explore = page.locator(".jp-Notebook .jp-CodeCell").last  # the screenshots show the Explore cell only
        explore.screenshot(path=str(shots / f"{stem}.widget-before.png"))
        move(page, widgets)
        after = redrawn_output(page, output, before)
        explore.screenshot(path=str(shots / f"{stem}.widget-after.png"))
        errors = errors_in_notebook(page) + (["the widget's output shows an error"] if ERROR_MIME in after else [])
        assert not errors, f"{name}: errors after moving the first Explore widget: {errors}"
    finally:
        page.close()
        shutdown_kernels(url)


def shutdown_kernels(url):
    """Stop every kernel of the server, so each notebook starts from a fresh kernel and memory is freed."""
    import json

    for kernel in json.load(urllib.request.urlopen(f"{url}/api/kernels", timeout=10)):
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30)


def chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      env={**os.environ, "HOME": os.environ.get("HOME", "/tmp")})
