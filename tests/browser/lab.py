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


def explore_output(page):
    """The Explore section's cell (the last code cell): its widgets and their output, once it shows a figure."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").last
    widgets, figure = cell.locator(".widget-slider, .widget-dropdown"), cell.locator(".jp-OutputArea .widget-output")
    widgets.first.wait_for(timeout=60_000)
    figure.locator("img").first.wait_for(timeout=60_000)
    return widgets, figure


def move_first_widget(page):
    """Move the first Explore widget that can move (a slider by one step, a dropdown to its next option);
    return the widget output's HTML before and after."""
    widgets, figure = explore_output(page)
    before = figure.inner_html()
    for widget in widgets.all():
        select = widget.locator("select")
        if select.count():
            n, current = select.evaluate("s => [s.options.length, s.selectedIndex]")
            if n > 1:
                select.select_option(index=(current + 1) % n)
                break
        else:
            handle = widget.locator(".noUi-handle").first
            at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
            handle.focus()
            page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
            break
    else:
        raise AssertionError("the Explore section has no widget that can move")
    deadline = time.time() + 60
    while figure.inner_html() == before and time.time() < deadline:
        time.sleep(0.25)
    page.wait_for_function(f"() => {NOTEBOOK}.sessionContext.session.kernel.status === 'idle'", timeout=60_000)
    return before, figure.inner_html()


def check_notebook(browser, url, name, shots, timeout_s=300):
    """Run ``name`` in JupyterLab, fail on any error output, move its first Explore widget and check that
    its output changed without an error; screenshots before and after go to ``shots``."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        run_all(page, url, name, timeout_s)
        errors = errors_in_notebook(page)
        assert not errors, f"{name}: error outputs after Run All: {errors}"
        stem = Path(name).stem
        explore_output(page)
        explore = page.locator(".jp-Notebook .jp-CodeCell").last  # the screenshots show the Explore cell only
        explore.screenshot(path=str(shots / f"{stem}.widget-before.png"))
        before, after = move_first_widget(page)
        explore.screenshot(path=str(shots / f"{stem}.widget-after.png"))
        errors = errors_in_notebook(page) + (["the widget's output shows an error"] if ERROR_MIME in after else [])
        assert not errors, f"{name}: errors after moving the first Explore widget: {errors}"
        assert after != before and "<img" in after, f"{name}: moving the first Explore widget did not redraw its figure"
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
