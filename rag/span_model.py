"""The trained span reader's mechanics, shared by training and serving so both read text the same way:
question + context windows with character offsets, span decoding from start/end logits, and the ONNX
Runtime model the service runs (`SpanModel`).

Scores are raw logits (start + end), not softmax probabilities over one window, so spans from different
windows and passages compare on one scale (as Haystack's ExtractiveReader does); a window's no-answer
score is the logit pair at [CLS], which the model learned on windows that do not hold the answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_QUESTION_TOKENS = 48
# The shipped model lies inside the package, tokenizer and card beside it (`make reader` writes it).
PACKAGED_MODEL_DIR = Path(__file__).with_name("models") / "reader"


@dataclass(frozen=True, slots=True)
class WindowBatch:
    """Token windows over (question, context) pairs. `offsets[i, t]` is token t's [start, end) in its context
    text, (0, 0) outside the context; `context_of[i]` says which context window i belongs to."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: np.ndarray
    in_context: np.ndarray  # bool, token t of window i is a context token
    context_of: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def encode_windows(tokenizer, question: str, contexts: list[str], max_length: int, stride: int,
                   pad_to_max: bool = False) -> WindowBatch:
    """Each context split into overlapping windows of at most `max_length` tokens with the question in front
    (truncated to MAX_QUESTION_TOKENS), as BERT reads SQuAD."""
    q_ids = tokenizer(question, add_special_tokens=False, truncation=True, max_length=MAX_QUESTION_TOKENS)["input_ids"]
    question = tokenizer.decode(q_ids) if len(q_ids) >= MAX_QUESTION_TOKENS else question
    encoded = tokenizer(
        [question] * len(contexts), contexts, truncation="only_second", max_length=max_length, stride=stride,
        return_overflowing_tokens=True, return_offsets_mapping=True,
        padding="max_length" if pad_to_max else "longest", return_tensors="np",
    )
    n, width = encoded["input_ids"].shape
    in_context = np.zeros((n, width), dtype=bool)
    for i in range(n):
        in_context[i] = [s == 1 for s in encoded.sequence_ids(i)]
    offsets = np.where(in_context[..., None], encoded["offset_mapping"], 0)
    token_type_ids = encoded.get("token_type_ids")
    if token_type_ids is None:
        token_type_ids = np.zeros_like(encoded["input_ids"])
    return WindowBatch(encoded["input_ids"].astype(np.int64), encoded["attention_mask"].astype(np.int64),
                       token_type_ids.astype(np.int64), offsets.astype(np.int64), in_context,
                       np.asarray(encoded["overflow_to_sample_mapping"], dtype=np.int64))


@dataclass(frozen=True, slots=True)
class ScoredSpan:
    context: int  # which context of the batch
    start: int  # character offsets into that context
    end: int
    score: float  # start logit + end logit
    no_answer: float  # the window's [CLS] start + end logit


def decode_spans(batch: WindowBatch, start_logits: np.ndarray, end_logits: np.ndarray, max_answer_tokens: int,
                 per_window: int = 3) -> list[ScoredSpan]:
    """The best `per_window` spans of every window (start <= end, both context tokens, at most
    `max_answer_tokens` long), best first over the whole batch."""
    n, width = start_logits.shape
    if n == 0:
        return []
    s = np.where(batch.in_context, start_logits, -np.inf)
    e = np.where(batch.in_context, end_logits, -np.inf)
    # Only the band of legal lengths is scored, all windows at once: pair[i, d, a] = s[i, a] + e[i, a + d], a span
    # of d + 1 tokens starting at a (the full width x width matrix and a Python loop per window cost ~6 ms).
    lengths = min(max_answer_tokens, width)
    pair = np.full((n, lengths, width), -np.inf)
    for d in range(lengths):
        pair[:, d, : width - d] = s[:, : width - d] + e[:, d:]
    flat = pair.reshape(n, -1)
    k = min(per_window, flat.shape[1])
    best = np.argpartition(-flat, k - 1, axis=1)[:, :k]
    no_answer = start_logits[:, 0] + end_logits[:, 0]
    spans: list[ScoredSpan] = []
    for i, j in zip(np.repeat(np.arange(n), k), best.ravel()):
        score = flat[i, j]
        if not np.isfinite(score):
            continue
        d, a = divmod(int(j), width)
        start, end = int(batch.offsets[i, a, 0]), int(batch.offsets[i, a + d, 1])
        if end > start:
            spans.append(ScoredSpan(int(batch.context_of[i]), start, end, float(score), float(no_answer[i])))
    spans.sort(key=lambda sp: -sp.score)
    return spans


# Window settings of a Hugging Face model directory without reader.json (RAG_READER_MODEL).
_DEFAULT_CONFIG = {"max_length": 256, "stride": 64, "max_answer_tokens": 30}


class SpanModel:
    """An extractive-QA model: the shipped one, exported to ONNX (int8) and run with onnxruntime, or any local
    Hugging Face extractive-QA model directory, run with PyTorch."""

    def __init__(self, model_dir: Path | str = PACKAGED_MODEL_DIR, threads: int = 2):
        from transformers import AutoTokenizer

        from rag.embedding import ModelNotAvailable

        self.model_dir = Path(model_dir)
        config_file = self.model_dir / "reader.json"
        config = {**_DEFAULT_CONFIG, **(json.loads(config_file.read_text()) if config_file.exists() else {})}
        self.max_length = int(config["max_length"])
        self.stride = int(config["stride"])
        self.max_answer_tokens = int(config["max_answer_tokens"])
        self.name = f"span-model:{config.get('name', self.model_dir.name)}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
            if (self.model_dir / "model.onnx").exists():
                self._run = self._onnx(threads)
            else:
                self._run = self._torch(threads)
        except (OSError, ValueError) as exc:
            raise ModelNotAvailable(f"cannot load the reader model {str(self.model_dir)!r} (RAG_READER_MODEL) "
                                    f"offline: {exc}") from exc

    def _onnx(self, threads: int):
        from rag.onnx_runtime import inference_session

        session = inference_session(self.model_dir / "model.onnx", threads)
        inputs = {i.name for i in session.get_inputs()}

        def run(feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            start, end = session.run(None, {k: v for k, v in feeds.items() if k in inputs})
            return start, end

        return run

    def _torch(self, threads: int):
        import torch
        from transformers import AutoModelForQuestionAnswering

        model = AutoModelForQuestionAnswering.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        inputs = set(self.tokenizer.model_input_names)

        def run(feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            with torch.no_grad():
                out = model(**{k: torch.from_numpy(v) for k, v in feeds.items() if k in inputs})
            return out.start_logits.numpy(), out.end_logits.numpy()

        return run

    def logits(self, batch: WindowBatch) -> tuple[np.ndarray, np.ndarray]:
        return self._run({"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
                          "token_type_ids": batch.token_type_ids})

    def read(self, question: str, contexts: list[str], per_window: int = 3) -> list[ScoredSpan]:
        """The best spans of every context, best first, in character offsets of their context."""
        if not contexts:
            return []
        batch = encode_windows(self.tokenizer, question, contexts, self.max_length, self.stride)
        start, end = self.logits(batch)
        return decode_spans(batch, start, end, self.max_answer_tokens, per_window)
