"""The shipped corpus and its gold set: every document loads, every gold answer is quoted verbatim."""

import json
from collections import Counter

import pytest

from rag.loaders import load_corpus
from rag.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "docs_corpus"
GOLD = PROJECT_ROOT / "eval" / "gold.jsonl"
SEED_ID = "news-2026-01-16-ai-dialogue-critical-minerals"
KINDS = {"factoid", "list", "definition", "paraphrase", "multi", "unanswerable"}


@pytest.fixture(scope="module")
def documents():
    return {d.doc_id: d for d in load_corpus(CORPUS).documents}


@pytest.fixture(scope="module")
def gold():
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_document_loads_with_title_and_sources(documents):
    assert len(documents) >= 41
    for document in documents.values():
        assert document.title and document.title != document.doc_id, document.doc_id
        assert document.metadata.get("sources"), f"{document.doc_id} names no sources"
        assert len(document.text.split()) >= 100, document.doc_id


def test_every_format_is_present(documents):
    formats = Counter(d.metadata["format"] for d in documents.values())
    assert formats["pdf"] >= 2 and formats["docx"] >= 1
    assert formats["md"] and formats["html"] and formats["txt"]


def test_summaries_say_they_are_not_official_texts(documents):
    for doc_id, document in documents.items():
        if doc_id != SEED_ID:
            assert "summary written for" in document.text.lower() or "not an official" in document.text.lower(), doc_id


def test_seed_article_is_verbatim_without_teasers(documents):
    seed = documents[SEED_ID]
    assert seed.title == "India, Japan Boost Ties: Launch AI Dialogue & Critical Minerals Group"
    assert seed.metadata["type"] == "news" and seed.metadata["date"] == "2026-01-16"
    assert "Also Read" not in seed.text
    assert "External Affairs Minister S Jaishankar and his Japanese counterpart Toshimitsu Motegi" in seed.text


def test_gold_ids_are_unique_and_fields_valid(gold):
    ids = [row["id"] for row in gold]
    assert len(ids) == len(set(ids)) >= 200
    for row in gold:
        assert row["question"].strip() and row["kind"] in KINDS, row["id"]
        assert (row["answers"] == []) == (row["doc_ids"] == []) == (row["kind"] == "unanswerable"), row["id"]


def test_gold_mixes_kinds(gold):
    kinds = Counter(row["kind"] for row in gold)
    assert kinds["unanswerable"] >= 30
    assert all(kinds[k] >= 10 for k in KINDS), kinds


def test_every_gold_answer_is_verbatim_in_one_of_its_documents(gold, documents):
    for row in gold:
        for doc_id in row["doc_ids"]:
            assert doc_id in documents, f"{row['id']}: unknown doc_id {doc_id}"
        for answer in row["answers"]:
            assert any(answer in documents[d].text for d in row["doc_ids"]), f"{row['id']}: {answer!r}"


def test_multi_document_questions_name_two_documents(gold, documents):
    for row in (r for r in gold if r["kind"] == "multi"):
        assert len(set(row["doc_ids"])) >= 2, row["id"]
