# radiolib: the two commands of the README, and a few helpers.
#   make pretrain  the CPU pre-training study and its longer setting (cached; notebook 10)
#   make book   build the whole book (profile quick by default; PROFILE=smoke|quick|paper)
#   make test   the test suite (what CI runs)
#   make test-fast  the everyday run: tests not marked slow (no notebooks, book or browser)
#   make lint   ruff, and the import-layer contract (.importlinter)
#   make mutate mutation testing of the core modules (slow, not CI; MODULES=... to scope it)
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= quick
BIN     := $(VENV)/bin

# The data mirror: a folder laid out as radiolib/data_manifests/ says (see README). Beside a
# checkout that has ../shared/data (tests, CI), that folder is the default mirror.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin RADIOLIB_MIRROR), undefined)
  ifneq ($(wildcard $(SHARED_DATA)/README.md),)
    export RADIOLIB_MIRROR := $(SHARED_DATA)
  endif
endif

.PHONY: pretrain book test test-fast env browser-deps lint bench mutate clean repository-url

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The CPU pre-training budget study (notebook 10) with its longer setting: trained once,
# cached in book/_work/budget (a second call reuses every run whose config and code match).
pretrain: env
	nice -n 10 $(BIN)/radiolib study --long --out book/_work/budget

book: env
	$(BIN)/radiolib reproduce --profile $(PROFILE)
	$(BIN)/jupyter-book build book -W -n --keep-going
	@echo
	@echo "The book is built: open file://$(abspath book/_build/html/index.html)"

browser-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser tests will be skipped"; fi

test: env browser-deps
	$(BIN)/python -m pytest

test-fast: env
	$(BIN)/python -m pytest -m "not slow"

lint: env
	$(BIN)/ruff check radiolib tests benchmarks
	$(BIN)/lint-imports --no-cache

bench: env
	$(BIN)/python benchmarks/run.py

# Mutation testing (mutmut, configured in pyproject.toml): see tests/README.md. MODULES picks
# entries of tests/mutate.py's SCOPE, e.g. `make mutate MODULES="ntxent verdict"`.
MODULES ?=
mutate: env
	$(BIN)/python tests/mutate.py $(MODULES)

clean:
	rm -rf book/_build book/notebooks book/_results book/_failed mutants

# Copy book/_config.yml's repository.url into the notebooks' Colab cells and book/running.md.
repository-url: env
	$(BIN)/python -c "from radiolib.reproduce import sync_repository_url; \
	  print(*sync_repository_url(), sep='\n')"
