# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The exact versions that produced the committed outputs (torch 2.13.0: the CPU build where pip is offered one).
LOCK   := requirements.lock

.PHONY: install browser run test test-browser site bench verify clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK) Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11, 5) and "$(LOCK) needs Python >= 3.11.5: rm -r $(VENV), make PYTHON=python3.11")'
	@echo "installing the versions of $(LOCK) into $(VENV) (first time: a few minutes)"
	$(PY) -m pip install -q -c $(LOCK) -e ".[test,bench]"
	$(PY) -m pip install -q -c $(LOCK) --no-deps backpack-for-pytorch einops unfoldNd
	@touch $@

# Playwright and Debian's Chromium (the browser test drives the system browser; nothing is downloaded by Playwright).
browser: $(VENV)/.browser

$(VENV)/.browser: $(VENV)/.installed
	bash .ci/apt-install chromium chromium-driver
	$(PY) -m pip install -q -c $(LOCK) -e ".[browser]"
	@touch $@

run: install
	$(VENV)/bin/companion build --out build

test: install
	$(PY) -m pytest --nbval --nbval-cell-timeout=300 --durations=15 --ignore=tests/browser tests notebooks

# Every notebook run top to bottom in JupyterLab in headless Chromium; screenshots in build/screenshots.
test-browser: browser
	$(PY) -m pytest tests/browser

# The committed (executed) notebooks as a static site with the claims summary as its index; nothing is run.
site: install
	$(VENV)/bin/companion site --out build/site

# Every paper notebook at seeds 0-4 (two runs at a time): the committed verdicts/ (about 30 min on two cores).
verify: install
	for nb in notebooks/[0-9][0-9]_*.ipynb; do case $$nb in *99_*) continue;; esac; \
	  $(VENV)/bin/companion verify $$nb --seeds 5 --workers 2 || exit 1; done

bench: install
	$(PY) bench/run.py

clean:
	rm -rf build .pytest_cache
