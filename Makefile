# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; where this exact release is not offered, pip falls back to the newest torch.
TORCH  ?= torch==2.13.0

.PHONY: install browser run test test-browser site bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (first time: a few minutes)"
	$(PY) -m pip install -q "$(TORCH)" || $(PY) -m pip install -q torch
	$(PY) -m pip install -q -e ".[test,bench]"
	$(PY) -m pip install -q --no-deps backpack-for-pytorch==1.7.1 einops unfoldNd
	@touch $@

# Playwright and Debian's Chromium (the browser test drives the system browser; nothing is downloaded by Playwright).
browser: $(VENV)/.browser

$(VENV)/.browser: $(VENV)/.installed
	bash .ci/apt-install chromium chromium-driver
	$(PY) -m pip install -q -e ".[browser]"
	@touch $@

run: install
	$(VENV)/bin/companion build --out build

test: install
	$(PY) -m pytest --nbval --nbval-cell-timeout=300 --ignore=tests/browser tests notebooks

# Every notebook run top to bottom in JupyterLab in headless Chromium; screenshots in build/screenshots.
test-browser: browser
	$(PY) -m pytest tests/browser

# The committed (executed) notebooks as a static site with the claims summary as its index; nothing is run.
site: install
	$(VENV)/bin/companion site --out build/site

bench: install
	$(PY) bench/run.py

clean:
	rm -rf build .pytest_cache
