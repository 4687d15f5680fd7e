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


def test_tagger_repairs_spans_the_small_model_cuts_wrong():
    text = ("The sixth edition was held in the Bay of Bengal. On 9 September 2020, India and Japan signed the pact. "
            "The year 2024 marked the 10th anniversary of the partnership declared in Tokyo in 2014. Abe spoke at the Tokyo International Conference on African "
            "Development (TICAD VI) in Nairobi. It was Foreign Minister Taro Aso's visit.")
    spans = EntityTagger().run_many([Document("d", "t", text)])[0]
    found = {text[s.start:s.end]: s.label for s in spans}
    assert found.get("Bay of Bengal") == "LOC" and "Bay of" not in found and "Bengal" not in found
    assert [s.label for s in spans if text[s.start:s.end] == "9 September 2020"] == ["DATE"]
    assert found.get("2024") and "year 2024" not in found
    assert not any("(" in name and ")" not in name for name in found)
    assert found.get("Taro Aso") == "PERSON" and "Taro Aso's" not in found


def test_a_bare_number_keeps_spacys_date_label():
    text = "The Royal University of Warsaw was established in 1816."
    spans = EntityTagger().run_many([Document("d", "t", text)])[0]
    assert "DATE" in {s.label for s in spans if text[s.start:s.end] == "1816"}
