"""Split documents into sentences and into overlapping, sentence-aligned chunks.

Every sentence and chunk is a [start, end) span of Document.text, so quoting never alters text.
"""

from __future__ import annotations

from dataclasses import dataclass

import nupunkt

from rag.documents import Chunk, Document, Span


def split_sentences(document: Document) -> list[Span]:
    """Sentences of a document; a line break always ends a sentence (headings, list items)."""
    spans: list[Span] = []
    text = document.text
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            for start, end in nupunkt.sent_spans(line):
                piece = line[start:end]
                lead = len(piece) - len(piece.lstrip())
                trail = len(piece) - len(piece.rstrip())
                if end - start - lead - trail > 0:
                    spans.append(Span(document.doc_id, offset + start + lead, offset + end - trail))
        offset += len(line) + 1
    return spans


@dataclass(frozen=True, slots=True)
class Chunker:
    """Windows of about `chunk_words` words made of whole sentences, overlapping by about `overlap_words`."""

    chunk_words: int = 200
    overlap_words: int = 40

    def run(self, document: Document, sentences: list[Span], first_index: int = 0) -> list[Chunk]:
        """Chunk one document. `first_index` is the position of `sentences[0]` in the global sentence table."""
        words = [len(document.text[s.start:s.end].split()) for s in sentences]
        chunks: list[Chunk] = []
        begin = 0
        while begin < len(sentences):
            end, size = begin, 0
            while end < len(sentences) and (end == begin or size + words[end] <= self.chunk_words):
                size += words[end]
                end += 1
            chunks.append(Chunk(
                doc_id=document.doc_id,
                start=sentences[begin].start,
                end=sentences[end - 1].end,
                chunk_id=f"{document.doc_id}#{len(chunks)}",
                first_sentence=first_index + begin,
                last_sentence=first_index + end,
            ))
            if end == len(sentences):
                break
            # Step back over whole sentences to overlap, but always move forward.
            next_begin, carried = end, 0
            while next_begin - 1 > begin and carried + words[next_begin - 1] <= self.overlap_words:
                next_begin -= 1
                carried += words[next_begin]
            begin = next_begin
        return chunks
