"""onnxruntime, set up once for both models the service runs (the question encoder and the span reader)."""

from __future__ import annotations

from pathlib import Path


def inference_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads must not spin: a spinning reader took the cores the next question's encoder needed and
    # doubled its time (docs/measurements.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 with one scale per output channel: per-tensor scales lost far more of the fp32 model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), per_channel=True, weight_type=QuantType.QInt8)
