"""Shared fixtures: the real embedding model (loaded once) and a small real index built per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.embedding import Encoder
from rag.pipeline import QAPipeline
from rag.settings import Settings
from tests.corpus_factory import make_corpus


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def tiny_settings(tiny_corpus, tmp_path_factory) -> Settings:
    return Settings(corpus_dir=tiny_corpus, index_dir=tmp_path_factory.mktemp("index"), chunk_words=40,
                    chunk_overlap_words=10)


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_settings, encoder) -> QAPipeline:
    pipeline, _ = QAPipeline.build(tiny_settings, encoder=encoder)
    return pipeline


@pytest.fixture(scope="session")
def client(tiny_pipeline) -> TestClient:
    with TestClient(create_app(tiny_pipeline), base_url="http://127.0.0.1") as test_client:
        yield test_client


def assert_citations_exact(answer: dict, documents: dict[str, str]) -> None:
    """The citation invariant: every cited span is the document's text at its offsets."""
    for citation in answer["citations"] + [p for p in answer["passages"]]:
        assert documents[citation["doc_id"]][citation["start"]:citation["end"]] == citation["text"]
    if answer["answer"] is not None:
        assert answer["citations"], "an answer must carry a citation"
        assert answer["answer"] in answer["citations"][0]["text"]
