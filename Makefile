# memspec: `make certify` certifies a memory manager, `make test` runs every check.
# Both set themselves up: they create .venv and install the project into it when needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.memspec-installed
TARGET ?= memspec.reference:InMemoryManager
CERTIFY_ARGS ?=
PACKAGES := spec reference conformance
LINTED := $(PACKAGES) tests benchmarks docs/hooks examples

.PHONY: certify test setup lint typecheck schemas pytest docs bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[redis,openai,docs,dev]'
	@touch $(STAMP)

certify: $(STAMP)
	$(BIN)/memspec certify $(TARGET) $(CERTIFY_ARGS)

test: $(STAMP) lint typecheck schemas pytest

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(LINTED))
	$(BIN)/ruff format --check $(wildcard $(LINTED))

# mypy cannot follow setuptools' package-dir mapping through an editable install, so it reads
# a tree of links laid out the way the package is imported (memspec/, memspec/reference/, ...).
typecheck: $(STAMP)
	@rm -rf build/typecheck && mkdir -p build/typecheck/memspec
	@cp -rs $(CURDIR)/spec/. build/typecheck/memspec/
	@cp -rs $(CURDIR)/reference build/typecheck/memspec/reference
	@cp -rs $(CURDIR)/conformance build/typecheck/memspec/conformance
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p memspec

schemas: $(STAMP)
	$(BIN)/python -m memspec.schemas --check

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/in_memory.py
	$(BIN)/python benchmarks/sqlite_manager.py
	$(BIN)/python benchmarks/redis_manager.py

clean:
	rm -rf build dist site .mypy_cache .pytest_cache .ruff_cache .hypothesis
