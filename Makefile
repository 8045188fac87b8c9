# Two commands for a new machine: `make run` (everything, embedded) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Debian packages the platform needs: Pango and the fonts WeasyPrint renders certificates
# with (Noto covers Latin with every diacritic, Arabic and CJK), poppler-utils (the
# certificate tests render pages to images), and the chromium the browser tests drive
# (Playwright never downloads a browser of its own).
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-noto-cjk \
  fonts-dejavu-core poppler-utils chromium

.PHONY: install system-packages run test test-fast fuzz bench lint format openapi lock clean

install: $(STAMP)

# Re-runs only when the pinned dependencies or the project metadata change.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@$(MAKE) --no-print-directory system-packages
	@touch $(STAMP)

# Installs the missing ones with apt-get (as root, or through sudo). Not fatal here: without
# them certificates cannot be rendered and the browser tests skip (they fail in CI).
system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	missing=$$(echo $$missing); echo "Installing Debian packages: $$missing"; \
	if ! command -v apt-get >/dev/null; then \
	  echo "There is no apt-get here: install $$missing yourself"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -q && apt-get install -y -q $$missing; } || echo "Installing $$missing failed"; \
	elif command -v sudo >/dev/null; then \
	  { sudo apt-get update -q && sudo apt-get install -y -q $$missing; } || echo "Installing $$missing failed"; \
	else \
	  echo "Missing Debian packages: as root, run apt-get install -y $$missing"; \
	fi

run: install
	$(BIN)/lms run

# In parallel, one pytest-xdist worker per core (at most 8; see "Tests" in README.md).
# worksteal hands each worker one contiguous run of the suite, so a worker mostly builds the
# per-backend fixtures (database, apps) of one backend only.
test: install
	$(BIN)/pytest -n auto --maxprocesses=8 --dist worksteal \
	  --cov --cov-report=term --cov-report=xml:var/coverage.xml

# The suite without the slow end-to-end process tests, for quick iterations.
test-fast: install
	$(BIN)/pytest -n auto --maxprocesses=8 --dist worksteal -m 'not slow'

# The bounded schemathesis run over every operation, as a student, an instructor and an
# admin, on both databases (tests/fuzz; `make test` leaves it out).
fuzz: install
	$(BIN)/pytest tests/fuzz -n auto --maxprocesses=8 --dist worksteal

# Speed targets, measured in one run on this machine (benchmarks, not timed tests): a
# certificate's rendering, cold and warm, for names in several scripts.
bench: install
	$(BIN)/python bench/certificate_render.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

openapi: install
	$(BIN)/lms openapi

# Re-resolve every dependency to the newest versions pyproject.toml allows, and pin them.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ sed -n '1,2p' requirements.lock; .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage *.egg-info
