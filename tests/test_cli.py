import json
import shutil

import pytest

from rag import cli
from rag.settings import get_settings


@pytest.fixture
def env(tiny_corpus, tmp_path, monkeypatch):
    corpus = shutil.copytree(tiny_corpus, tmp_path / "corpus")
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_index_then_ask(env, capsys):
    assert cli.main(["index", "--quiet"]) == 0
    assert "built: 5 documents" in capsys.readouterr().out
    assert cli.main(["index", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("up to date")

    assert cli.main(["ask", "When did the Delhi Metro open its first line?"]) == 0
    out = capsys.readouterr().out
    assert "24 December 2002" in out and "delhi-metro [" in out

    assert cli.main(["ask", "--json", "How long is the Mumbai-Ahmedabad line?"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["question"] == "How long is the Mumbai-Ahmedabad line?"
    assert body["passages"][0]["doc_id"] == "bullet-train"
    assert body["answer"] is None or body["citations"][0]["doc_id"] == "bullet-train"


def test_ask_without_an_index_is_a_clear_error(env, capsys):
    assert cli.main(["ask", "anything"]) == 2
    assert "rag index" in capsys.readouterr().err
