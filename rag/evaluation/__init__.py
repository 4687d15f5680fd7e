"""Evaluation: `rag eval` over a gold JSONL set (in-process or over HTTP), SQuAD v1.1 and BEIR datasets."""

from rag.evaluation.runner import main

__all__ = ["main"]
