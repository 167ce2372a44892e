# qtlatlas developer targets. Every target installs into ./.venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-atlas
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test bench lint clean chromium plink2

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qtlatlas demo --out $(DEMO_DIR) --host $(HOST) --port $(PORT)

test: $(STAMP) chromium plink2
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium (never a downloaded browser); install it when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# tests/test_twas_predict.py compares `qtlatlas twas predict` with Debian's plink2 --score (a test tool, never a
# dependency of qtlatlas); install it when missing.
plink2:
	@command -v plink2 >/dev/null 2>&1 || { echo "installing Debian's plink2 for the prediction tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q plink2; }

bench: $(STAMP) chromium plink2
	$(BIN)/python -m benchmarks.run

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache $(DEMO_DIR)
