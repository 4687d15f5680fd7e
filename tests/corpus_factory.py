"""A tiny real corpus in every supported format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

MARKDOWN = """---
title: "Kyoto and Varanasi: partner cities"
date: 2014-09-01
type: briefing
tags: [culture, cities]
sources:
  - https://example.org/kyoto-varanasi
---
# Kyoto and Varanasi: partner cities

Kyoto and Varanasi signed a partner-city agreement on 30 August 2014.
The agreement links two ancient cities known for their temples and river ghats.
Also Read: Ten places to visit in Kyoto this autumn
Heritage conservation and city modernisation are the main areas of the partnership.
"""

HTML = """<!DOCTYPE html>
<html><head><title>The Delhi Metro and Japanese loans</title>
<meta name="date" content="2002-12-24"><meta name="tags" content="infrastructure, oda">
<meta name="source" content="https://example.org/delhi-metro">
<style>body { color: red; }</style><script>var tracking = "do not index me";</script></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>
<header><p>Subscribe to our newsletter</p></header>
<main><h1>The Delhi Metro and Japanese loans</h1>
<p>The Delhi Metro opened its first line on <b>24 December 2002</b>.</p>
<p>Japanese official loans financed a large part of the construction of the Delhi Metro.</p>
<ul><li>The Red Line was the first line of the network.</li></ul>
</main><footer><p>Copyright Example News</p></footer></body></html>
"""

TEXT = """The Mumbai-Ahmedabad bullet train
The Mumbai-Ahmedabad High-Speed Rail line is about 508 kilometres long.
Its trains are planned to use Japanese Shinkansen technology.
"""

TEXT_META = """title: The Mumbai-Ahmedabad bullet train
date: 2017-09-14
tags: [rail, infrastructure]
sources: [https://example.org/mahsr]
"""

PDF_PARAGRAPHS = [
    "The Western Dedicated Freight Corridor",
    ("The Western Dedicated Freight Corridor is a railway line built only for goods trains, and its construction "
    "was financed in part by Japanese loans that were agreed over several years of negotiation between the two "
    "governments."),
    "The corridor connects the ports of Gujarat and Maharashtra with the north of India.",
]

DOCX_PARAGRAPHS = [
    "Nihongo Partners in India",
    "The Japan Foundation sent its first five Nihongo Partners volunteers to India in September 2025.",
    "The volunteers assist Japanese-language teachers in secondary schools near Delhi.",
]


def write_pdf(path: Path, paragraphs: list[str], title: str) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 8, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    pdf.output(str(path))


def write_docx(path: Path, paragraphs: list[str], title: str) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(paragraphs[0], level=1)
    for paragraph in paragraphs[1:]:
        document.add_paragraph(paragraph)
    document.save(str(path))


def make_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kyoto-varanasi.md").write_text(MARKDOWN, encoding="utf-8")
    (root / "delhi-metro.html").write_text(HTML, encoding="utf-8")
    (root / "bullet-train.txt").write_text(TEXT, encoding="utf-8")
    (root / "bullet-train.meta.yaml").write_text(TEXT_META, encoding="utf-8")
    write_pdf(root / "freight-corridor.pdf", PDF_PARAGRAPHS, "The Western Dedicated Freight Corridor")
    (root / "freight-corridor.meta.yaml").write_text("sources: [https://example.org/dfc]\ntags: [rail]\n")
    write_docx(root / "nihongo-partners.docx", DOCX_PARAGRAPHS, "Nihongo Partners in India")
    (root / "nihongo-partners.meta.yaml").write_text("sources: [https://example.org/nihongo]\ndate: 2025-09-15\n")
    return root
