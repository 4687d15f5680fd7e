from pathlib import Path

import pytest

from rag.loaders import LoadError, load_corpus, load_document, normalize_text


def test_every_format_loads_with_title_metadata_and_text(tiny_corpus):
    loaded = load_corpus(tiny_corpus)
    assert loaded.skipped == []
    documents = {d.doc_id: d for d in loaded.documents}
    assert set(documents) == {"kyoto-varanasi", "delhi-metro", "bullet-train", "freight-corridor", "nihongo-partners"}
    assert {d.metadata["format"] for d in documents.values()} == {"md", "html", "txt", "pdf", "docx"}
    for document in documents.values():
        assert document.title and document.text
        assert document.metadata["sources"][0].startswith("https://example.org/")


def test_markdown_front_matter_and_boilerplate(tiny_corpus):
    document = load_document(tiny_corpus / "kyoto-varanasi.md", tiny_corpus)
    assert document.title == "Kyoto and Varanasi: partner cities"
    assert document.metadata["date"] == "2014-09-01"
    assert document.metadata["tags"] == ["culture", "cities"]
    assert "Also Read" not in document.text and "Ten places" not in document.text
    assert "---" not in document.text and "# " not in document.text
    assert "signed a partner-city agreement on 30 August 2014." in document.text


def test_html_keeps_main_text_and_drops_page_chrome(tiny_corpus):
    document = load_document(tiny_corpus / "delhi-metro.html", tiny_corpus)
    assert document.title == "The Delhi Metro and Japanese loans"
    assert document.metadata["tags"] == ["infrastructure", "oda"]
    assert "The Delhi Metro opened its first line on 24 December 2002." in document.text
    assert "The Red Line was the first line of the network." in document.text
    for chrome in ("Home", "Subscribe", "Copyright", "tracking", "color: red"):
        assert chrome not in document.text


def test_pdf_lines_are_rejoined_into_paragraphs(tiny_corpus):
    document = load_document(tiny_corpus / "freight-corridor.pdf", tiny_corpus)
    assert document.title == "The Western Dedicated Freight Corridor"
    assert "financed in part by Japanese loans that were agreed over several years of negotiation" in document.text
    assert "The corridor connects the ports of Gujarat and Maharashtra with the north of India." in document.text


def test_docx_paragraphs_and_sidecar_metadata(tiny_corpus):
    document = load_document(tiny_corpus / "nihongo-partners.docx", tiny_corpus)
    assert document.title == "Nihongo Partners in India"
    assert document.metadata["date"] == "2025-09-15"
    assert "first five Nihongo Partners volunteers" in document.text


def test_txt_title_comes_from_sidecar(tiny_corpus):
    document = load_document(tiny_corpus / "bullet-train.txt", tiny_corpus)
    assert document.title == "The Mumbai-Ahmedabad bullet train"
    assert document.metadata["tags"] == ["rail", "infrastructure"]


def test_doc_id_is_the_relative_path_without_suffix(tmp_path):
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "a.txt").write_text("Title\nBody text here.")
    assert [d.doc_id for d in load_corpus(tmp_path).documents] == ["news/a"]


def test_normalization_collapses_whitespace_and_drops_teasers():
    text = normalize_text("One\u00a0 two\t three.\r\n\r\n\r\n\r\nAlso Read: Something else\nFour.")
    assert text == "One two three.\n\nFour."


@pytest.mark.parametrize("name, content, message", [
    ("notes.rtf", "x", "unsupported format"),
    ("bad.md", "---\ntitle: [unclosed\n---\nBody", "invalid YAML"),
    ("broken.pdf", "not a pdf", "not a PDF"),
    ("cut.pdf", "%PDF-1.4\n1 0 obj", "unreadable PDF|no text in it"),
])
def test_bad_files_raise_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LoadError, match=message):
        load_document(path, tmp_path)


def test_of_two_files_with_one_doc_id_the_second_is_skipped_with_the_reason(tmp_path):
    (tmp_path / "same.md").write_text("# B\nTwo.")
    (tmp_path / "same.txt").write_text("A\nOne.")
    loaded = load_corpus(tmp_path)
    assert [d.text for d in loaded.documents] == ["B\nTwo."]
    assert loaded.skipped == [("same.txt", "doc_id 'same' is taken by another file; rename one of them")]


def test_missing_corpus_directory(tmp_path):
    with pytest.raises(LoadError, match="not found"):
        load_corpus(Path(tmp_path / "nope"))
