"""Schemathesis against a real server over the tiny index: every operation, generated valid and invalid input,
all of its checks (no 5xx, responses as the schema says, invalid input refused, valid input accepted)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.api import create_app
from rag.pipeline import QAPipeline
from rag.settings import Settings
from tests.live_server import serve

EXAMPLES_PER_OPERATION = 150  # 10 operations: over 1,000 cases
UPLOADS = ["--include-operation-id", "add_document_documents_post",
           "--include-operation-id", "replace_document_documents__doc_id__put"]
FEEDBACK = ["--include-operation-id", "add_feedback_feedback_post"]
RUNS = {
    "every operation but /chat, uploads and POST /feedback, every check": [
        "--exclude-path", "/chat", "--exclude-operation-id", "add_document_documents_post",
        "--exclude-operation-id", "replace_document_documents__doc_id__put",
        "--exclude-operation-id", "add_feedback_feedback_post"],
    # JSON Schema cannot say that the last message must be the user's, so a conversation that ends with an
    # assistant turn fits the schema and is still, rightly, a 422: /chat runs every other check.
    "/chat, every check but the acceptance of schema-valid input": [
        "--include-path", "/chat", "--exclude-checks", "positive_data_acceptance"],
    # Nor can it say what a file must hold: a schema-valid upload of PNG bytes is, rightly, a 422.
    "uploads, every check but the acceptance of schema-valid input": [
        *UPLOADS, "--exclude-checks", "positive_data_acceptance"],
    # Nor that a feedback's doc_id must be in the collection and its span hold the answer.
    "POST /feedback, every check but the acceptance of schema-valid input": [
        *FEEDBACK, "--exclude-checks", "positive_data_acceptance"],
}


KEY = "fuzz-writer-key"


@pytest.fixture(scope="module")
def server_url(tiny_corpus, tmp_path_factory, encoder):
    """A collection of its own, writes enabled: the fuzzer adds, replaces and deletes documents too."""
    root = tmp_path_factory.mktemp("fuzz")
    settings = Settings(corpus_dir=shutil.copytree(tiny_corpus, root / "corpus"), index_dir=root / "index",
                        chunk_words=40, chunk_overlap_words=10, api_keys=[KEY], write_rate_per_minute=0)
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    with serve(create_app(pipeline)) as url:
        yield url


@pytest.mark.parametrize("selection", list(RUNS.values()), ids=list(RUNS))
def test_generated_requests_never_break_the_schema_or_the_server(server_url, selection, tmp_path):
    schemathesis = shutil.which("st", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency (pip install -e '.[dev]')"
    result = subprocess.run(
        [schemathesis, "--no-color", "run", f"{server_url}/openapi.json", "--checks", "all", *selection,
         "--header", f"Authorization: Bearer {KEY}",
         "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "1", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--max-time", "60", "--request-timeout", "30"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", output))
    assert generated >= (1000 if "--exclude-path" in selection else 150), output[-3000:]
