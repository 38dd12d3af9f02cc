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

.PHONY: certify test setup tree lint typecheck schemas pytest docs bench mutation clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[redis,postgres,openai,docs,dev]'
	@touch $(STAMP)

certify: $(STAMP)
	$(BIN)/memspec certify $(TARGET) $(CERTIFY_ARGS)

test: $(STAMP) lint typecheck schemas docs pytest

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(LINTED))
	$(BIN)/ruff format --check $(wildcard $(LINTED))

# mypy and mkdocstrings cannot follow setuptools' package-dir mapping through an editable
# install, so they read a tree of links laid out the way the package is imported.
tree: $(STAMP)
	@rm -rf build/memspec-tree && mkdir -p build/memspec-tree/memspec
	@cp -rs $(CURDIR)/spec/. build/memspec-tree/memspec/
	@cp -rs $(CURDIR)/reference build/memspec-tree/memspec/reference
	@cp -rs $(CURDIR)/conformance build/memspec-tree/memspec/conformance

typecheck: tree
	cd build/memspec-tree && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p memspec

docs: tree
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

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
	$(BIN)/python -m pip install --quiet -e '.[mutation]'
	@touch $(MUTATION_STAMP)

clean:
	rm -rf build dist site .mypy_cache .pytest_cache .ruff_cache .hypothesis
