# Two commands do all the setup: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install index run test bench bench-peers eval lint reader calibrate

SQUAD ?= ../shared/data/squad-v1.1-dev/dev-v1.1.json
# Gold questions the confidence is fitted on (make calibrate GOLD=your-questions.jsonl).
GOLD ?= eval/gold.jsonl

# torch 2.13.0 (CPU) goes in first, so no dependency can pull a CUDA build.
$(STAMP): pyproject.toml
	@echo "==> Installing into $(VENV): torch (CPU) first, then Kizuna and its dependencies (3 to 4 minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Incremental: does nothing when the index matches docs_corpus/, re-embeds only changed documents otherwise.
index: $(STAMP)
	@echo "==> Building the index (RAG_CORPUS_DIR, default docs_corpus/, into RAG_INDEX_DIR, default index/); up to date in a second, under a minute the first time"
	$(BIN)/rag index

run: index
	@echo "==> Starting the server (Ctrl+C stops it)"
	$(BIN)/python server.py

test: $(STAMP)
	$(BIN)/pytest

# /ask over HTTP against a bare sentence-transformers encode of the same questions (reports/bench/bench.json).
bench: index
	$(BIN)/python bench/bench_api.py

# Retrieval side by side with txtai, Haystack, bm25s and dense FAISS, one after another (about 45 min; the peers'
# environments go to $$TMPDIR/peers, outside the repo): reports/bench/peers/table.md.
bench-peers: $(STAMP)
	bash bench/peers.sh

# Held-out figures: the gold test split (never tuned on).
eval: index
	$(BIN)/rag eval --gold eval/gold.jsonl --split test

# Trains the span reader on SQuAD's training pool (about 90 min on 2 CPU cores; resumable: run it again after a
# stop), exports it to ONNX int8 into rag/models/reader. Then refit the confidence: make calibrate.
reader: $(STAMP)
	$(BIN)/python -m rag.training.train_reader --squad $(SQUAD) --work build/reader --out rag/models/reader

calibrate: index
	$(BIN)/python -m rag.evaluation.calibration --gold $(GOLD) --split dev

lint: $(STAMP)
	$(BIN)/ruff check rag tests bench scripts server.py
