VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench soak screenshot clean octoprint

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) cli.py cluster --nodes 3

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# a real OctoPrint for tests/octoprint, in build/octoprint-venv (once; offline, those tests skip and say why)
octoprint: $(STAMP)
	$(PY) -m tests.support.octoprint

test: lint octoprint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/raft_core.py
	$(PY) bench/storage.py
	$(PY) bench/http_write.py
	$(PY) bench/peers.py

soak: $(STAMP)
	$(PY) -m tests.faults.soak $(SOAK_ARGS)

screenshot: $(STAMP)  # a local cluster with a little data, in headless Chromium -> docs/dashboard.png
	$(PY) docs/screenshot.py docs/dashboard.png

clean:
	rm -rf $(VENV) cluster_data .pytest_cache .ruff_cache .hypothesis
