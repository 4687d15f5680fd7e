# Two commands do all the setup: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install index run test bench eval lint

# torch 2.13.0 (CPU) goes in first, so no dependency can pull a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Incremental: does nothing when the index matches docs_corpus/, re-embeds only changed documents otherwise.
index: $(STAMP)
	$(BIN)/rag index

run: index
	$(BIN)/python server.py

test: $(STAMP)
	$(BIN)/pytest

bench: index
	$(BIN)/python bench/bench_api.py

eval: index
	$(BIN)/rag eval --gold eval/gold.jsonl

lint: $(STAMP)
	$(BIN)/ruff check rag tests bench scripts server.py
