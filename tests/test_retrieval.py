import datetime as dt

from rag.retrieval import Filters


def test_hybrid_search_ranks_the_right_document_first(tiny_pipeline):
    cases = {
        "When did the Delhi Metro open?": "delhi-metro",
        "partner city agreement between Kyoto and Varanasi": "kyoto-varanasi",
        "How long is the high speed rail line between Mumbai and Ahmedabad?": "bullet-train",
        "Japanese language volunteers in schools": "nihongo-partners",
        "railway for goods trains": "freight-corridor",
    }
    for query, doc_id in cases.items():
        passages = tiny_pipeline.search(query, top_k=3)
        assert passages[0].chunk.doc_id == doc_id, query
        assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_passages_quote_their_document(tiny_pipeline):
    for passage in tiny_pipeline.search("Japanese loans", top_k=10):
        document = tiny_pipeline.document(passage.chunk.doc_id)
        assert document.text[passage.chunk.start:passage.chunk.end] == passage.text


def test_filters_restrict_documents_tags_and_dates(tiny_pipeline):
    only = tiny_pipeline.search("Japanese loans", 10, Filters(doc_ids=("freight-corridor",)))
    assert only and {p.chunk.doc_id for p in only} == {"freight-corridor"}
    rail = tiny_pipeline.search("trains", 10, Filters(tags=("RAIL",)))
    assert {p.chunk.doc_id for p in rail} == {"bullet-train", "freight-corridor"}
    recent = tiny_pipeline.search("Japan", 10, Filters(date_from=dt.date(2015, 1, 1)))
    assert {p.chunk.doc_id for p in recent} == {"bullet-train", "nihongo-partners"}
    older = tiny_pipeline.search("Japan", 10, Filters(date_to=dt.date(2010, 1, 1)))
    assert {p.chunk.doc_id for p in older} == {"delhi-metro"}


def test_no_document_passes_the_filters(tiny_pipeline):
    assert tiny_pipeline.search("Japan", 5, Filters(tags=("no-such-tag",))) == []


def test_top_k_larger_than_the_index(tiny_pipeline):
    passages = tiny_pipeline.search("Japan", 50)
    assert len(passages) == len({p.chunk.chunk_id for p in passages}) == len(tiny_pipeline.index.chunks)
