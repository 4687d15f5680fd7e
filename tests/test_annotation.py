from rag.annotation import EntityTagger, pattern_spans
from rag.documents import Document

TEXT = ("On 16 January 2026 Toshimitsu Motegi met S. Jaishankar in New Delhi. Japan set a target of "
        "10 trillion yen (about US$68 billion) and sent 5 volunteers; the loan carries 0.1 percent interest "
        "over 508 kilometres at 320 km/h, from 12 to 26 January 2023, in the first half of 2026.")


def spans_by_label(spans, text):
    found = {}
    for span in spans:
        found.setdefault(span.label, []).append(text[span.start:span.end])
    return found


def test_patterns_find_dates_money_percentages_and_measures():
    found = spans_by_label(pattern_spans(TEXT), TEXT)
    assert {"16 January 2026", "12 to 26 January 2023", "the first half of 2026"} <= set(found["DATE"])
    assert {"10 trillion yen", "US$68 billion"} <= set(found["MONEY"])
    assert found["PERCENT"] == ["0.1 percent"]
    assert {"508 kilometres", "320 km/h"} <= set(found["QUANTITY"])


def test_tagger_merges_spacy_names_and_keeps_only_maximal_spans():
    spans = EntityTagger().run_many([Document("d", "t", TEXT)])[0]
    found = spans_by_label(spans, TEXT)
    assert "Toshimitsu Motegi" in found["PERSON"]
    assert "New Delhi" in found["GPE"]
    assert "16 January 2026" in found["DATE"] and "2026" not in found.get("CARDINAL", [])
    assert "January 2023" not in found["DATE"], "a date inside a longer date is dropped"
    assert "5" in found["CARDINAL"]
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    for span in spans:
        assert TEXT[span.start:span.end] == TEXT[span.start:span.end].strip(" ,.;")


def test_patterns_only_backend():
    tagger = EntityTagger(use_spacy=False)
    assert tagger.backend == "patterns"
    labels = {s.label for s in tagger.run_many([Document("d", "t", TEXT)])[0]}
    assert "PERSON" not in labels and "DATE" in labels
