# memspec: `make certify` certifies a memory manager, `make test` runs every check.
# Both set themselves up: they create .venv and install the project into it when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memspec-installed
TARGET ?= memspec.reference:InMemoryManager
CERTIFY_ARGS ?=
PACKAGES := spec reference conformance
LINTED := $(PACKAGES) tests benchmarks docs/hooks examples tools
MUTATION_STAMP := $(VENV)/.memspec-mutation-installed
MUTATION_ARGS ?=
# setuptools installs the package-dir mapping in editable mode through an import hook and says
# so in a nine-line notice on every install; that notice, and only it, is silenced.
QUIET_EDITABLE := ignore:Editable installation:UserWarning
# The tests start many Python processes (the command, the docs build, the examples); with
# bytecode caches (in __pycache__, ignored by git) each compiles the project once instead of
# on every start. An environment that turns them off is overridden for these targets.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: certify test setup tree lint typecheck schemas pytest docs serve docs-deploy bench mutation clean

setup: $(STAMP)

# uv installs the dependencies in parallel, several times faster than pip on a fresh machine;
# where uv cannot be had or cannot reach the index (it reads no pip configuration), pip does.
INSTALL := $(BIN)/python -m uv pip install --quiet --python $(BIN)/python
PIP_INSTALL := $(BIN)/python -m pip install --quiet

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP_INSTALL) uv 2>/dev/null || echo "uv could not be installed: installing with pip"
	PYTHONWARNINGS="$(QUIET_EDITABLE)" $(INSTALL) -e '.[redis,postgres,openai,memcached,docs,dev]' \
	  || PYTHONWARNINGS="$(QUIET_EDITABLE)" $(PIP_INSTALL) -e '.[redis,postgres,openai,memcached,docs,dev]'
	@touch $(STAMP)

certify: $(STAMP)
	$(BIN)/memspec certify $(TARGET) $(CERTIFY_ARGS)

# The static checks run side by side (mypy alone keeps one core busy for half a minute), with
# each one's output kept together; then the tests.
test: $(STAMP)
	@$(MAKE) --no-print-directory -j 4 --output-sync=target lint typecheck schemas docs
	@$(MAKE) --no-print-directory pytest

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(LINTED))
	$(BIN)/ruff format --check $(wildcard $(LINTED))

# mypy and mkdocstrings cannot follow setuptools' package-dir mapping through an editable
# install, so they read a tree of links laid out the way the package is imported
# (docs/hooks/tree.py; the docs build lays it itself).
tree: $(STAMP)
	@$(BIN)/python docs/hooks/tree.py -q

typecheck: tree
	cd build/memspec-tree && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p memspec

# NO_MKDOCS_2_WARNING: Material prints an end-of-life banner on every mkdocs run without it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The hosted site: this checkout's spec version deployed with mike to the gh-pages branch,
# beside the versions deployed before, as `latest`. DOCS_DEPLOY_ARGS="--push" publishes it.
DOCS_DEPLOY_ARGS ?=
docs-deploy: $(STAMP)
	$(BIN)/python tools/deploy_docs.py $(DOCS_DEPLOY_ARGS)

schemas: $(STAMP)
	$(BIN)/python -m memspec.schemas --check

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/in_memory.py
	$(BIN)/python benchmarks/sqlite_manager.py
	$(BIN)/python benchmarks/redis_manager.py
	$(BIN)/python benchmarks/postgres_manager.py

# Mutation testing of reference/in_memory.py and tests/corpus/simple.py against the suite, with
# cosmic-ray, in copies under build/mutation (the work tree is never written); not part of
# `make test`. MUTATION_ARGS="--rev HEAD --jobs 2 --timeout 60" passes options through.
mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py run $(MUTATION_ARGS)

$(MUTATION_STAMP): $(STAMP)
	PYTHONWARNINGS="$(QUIET_EDITABLE)" $(INSTALL) -e '.[mutation]' \
	  || PYTHONWARNINGS="$(QUIET_EDITABLE)" $(PIP_INSTALL) -e '.[mutation]'
	@touch $(MUTATION_STAMP)

clean:
	rm -rf build dist site .mypy_cache .pytest_cache .ruff_cache .hypothesis
