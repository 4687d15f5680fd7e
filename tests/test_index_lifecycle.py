"""The index survives concurrent builds, kills, damage on disk and a hostile corpus folder (rag.generations,
rag.file_checks). Subprocess tests run the real `rag` command and are bounded in time."""

from __future__ import annotations

import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from rag.generations import CURRENT_FILE, IndexDamaged, IndexLocked, live_generation, read_manifest, write_lock
from rag.index import load_index
from rag.settings import Settings
from rag.store import IndexBuilder

RAG = [sys.executable, "-m", "rag.cli"]


@pytest.fixture
def corpus_copy(tiny_corpus, tmp_path):
    return shutil.copytree(tiny_corpus, tmp_path / "corpus")


@pytest.fixture
def settings(corpus_copy, tmp_path):
    return Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", chunk_words=40, chunk_overlap_words=10)


def build(settings, encoder, **kwargs):
    return IndexBuilder(settings, encoder).run(settings.corpus_dir, settings.index_dir, **kwargs)


def live(index_dir: Path) -> Path:
    return index_dir / (index_dir / CURRENT_FILE).read_text()


def rag_env(settings: Settings) -> dict[str, str]:
    """The environment of a `rag` subprocess over the test's corpus and index, chunked as `settings` says."""
    return {**os.environ, "RAG_CORPUS_DIR": str(settings.corpus_dir), "RAG_INDEX_DIR": str(settings.index_dir),
            "RAG_CHUNK_WORDS": str(settings.chunk_words), "RAG_CHUNK_OVERLAP_WORDS": str(settings.chunk_overlap_words)}


def rag(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*RAG, *args], env=rag_env(settings), capture_output=True, text=True, timeout=timeout)


def test_a_second_writer_fails_fast_naming_the_first(settings, encoder):
    build(settings, encoder)
    with write_lock(settings.index_dir):
        with pytest.raises(IndexLocked, match=f"being written by pid {os.getpid()}"):
            build(settings, encoder, force=True)
        result = rag(settings, "index", "--force", "--quiet")
    assert result.returncode == 2 and "being written by pid" in result.stderr and "Traceback" not in result.stderr
    assert build(settings, encoder, force=True).status == "built"  # released with its holder


def test_two_forced_builds_at_once_leave_an_index_that_answers(settings, encoder):
    build(settings, encoder)
    runs = [subprocess.Popen([*RAG, "index", "--force", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=rag_env(settings)) for _ in range(2)]
    codes = [run.wait(timeout=180) for run in runs]
    errors = [run.stderr.read() for run in runs]
    assert sorted(codes) in ([0, 0], [0, 2]), errors
    assert all("being written" in e for code, e in zip(codes, errors) if code == 2)
    index = load_index(settings.index_dir)
    assert len(index.documents) == 5
    assert build(settings, encoder).status == "up to date"
    answer = rag(settings, "ask", "When did the Delhi Metro open its first line?")
    assert answer.returncode == 0 and "delhi-metro" in answer.stdout


@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_a_build_killed_at_any_point_leaves_the_previous_index_live(settings, encoder, delay):
    build(settings, encoder)
    before = read_manifest(settings.index_dir)
    (settings.corpus_dir / "extra.md").write_text("# Extra\nThe extra document names the river port of Haldia.\n")
    process = subprocess.Popen([*RAG, "index", "--force", "--quiet"], env=rag_env(settings), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    index = load_index(settings.index_dir)  # the old generation, or the new one if it was committed
    assert len(index.documents) in (5, 6)
    assert read_manifest(settings.index_dir)["documents"] == len(index.documents)
    if len(index.documents) == 5:
        assert read_manifest(settings.index_dir) == before
    report = build(settings, encoder)
    assert report.documents == 6
    leftovers = [p.name for p in settings.index_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    assert leftovers == []


def test_a_truncated_or_zeroed_file_is_caught_and_the_previous_generation_served(settings, encoder, caplog):
    build(settings, encoder)
    (settings.corpus_dir / "extra.md").write_text("# Extra\nThe extra document names the river port of Haldia.\n")
    build(settings, encoder)
    dense = live(settings.index_dir) / "dense.faiss"
    size = dense.stat().st_size
    with open(dense, "r+b") as fh:  # a zeroed quarter keeps the size
        fh.seek(size // 2)
        fh.write(b"\0" * (size // 4))
    with caplog.at_level("WARNING", logger="rag.index"):
        index = load_index(settings.index_dir)
    assert len(index.documents) == 5  # the generation before the damaged one
    assert "dense.faiss does not match its checksum" in caplog.text and "previous generation" in caplog.text
    assert build(settings, encoder).status == "built"  # "up to date" only over an intact index
    assert len(load_index(settings.index_dir).documents) == 6

    os.truncate(live(settings.index_dir) / "chunk_vectors.npy", 100)
    for generation in settings.index_dir.glob("gen-*"):
        if generation != live(settings.index_dir):
            shutil.rmtree(generation)  # no fallback left
    with pytest.raises(IndexDamaged, match=r"chunk_vectors.npy is 100 bytes.*rag index --force"):
        load_index(settings.index_dir)


def test_a_missing_current_falls_back_and_a_corrupt_manifest_is_rebuilt(settings, encoder):
    build(settings, encoder)
    first = live(settings.index_dir)
    (settings.index_dir / CURRENT_FILE).unlink()
    assert len(load_index(settings.index_dir).documents) == 5
    assert build(settings, encoder).status == "up to date"  # intact: CURRENT is repaired, nothing re-embedded
    assert live(settings.index_dir) == first

    (live(settings.index_dir) / "manifest.json").write_text("{not json")
    for forced in (False, True):
        assert build(settings, encoder, force=forced).status == "built"
        assert len(load_index(settings.index_dir).documents) == 5
    assert len(list(settings.index_dir.glob("gen-*"))) == 2  # the live one and the one before it


def test_a_half_written_generation_is_cleaned_by_a_build_that_changes_nothing(settings, encoder):
    build(settings, encoder)
    staging = settings.index_dir / ".gen-20260101T000000000000-abcdef.tmp"
    staging.mkdir()
    (staging / "dense.faiss").write_bytes(b"partial")
    assert build(settings, encoder).status == "up to date"
    assert not staging.exists()


def test_start_up_over_a_damaged_index_is_one_line_and_exit_2(settings, encoder):
    build(settings, encoder)
    os.truncate(live(settings.index_dir) / "dense.faiss", 10)
    for command in (["serve", "--port", "8766"], ["ask", "anything"]):
        result = rag(settings, *command)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "dense.faiss" in lines[0] and "rag index --force" in lines[0]
        assert "Traceback" not in result.stderr
    root = Path(__file__).resolve().parent.parent
    server = subprocess.run([sys.executable, str(root / "server.py")], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RAG_INDEX_DIR": str(settings.index_dir)})
    assert server.returncode == 2 and "dense.faiss" in server.stderr and "Traceback" not in server.stderr


def _zip_bomb(path: Path) -> None:
    """A small .docx whose document.xml unpacks 1,000 times its packed size."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:t>" + b" " * 20_000_000 + b"</w:t>")


def test_a_hostile_corpus_folder_skips_each_bad_file_with_its_reason(settings, encoder):
    corpus = settings.corpus_dir
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "noise.txt").write_bytes(os.urandom(20_000))
    (corpus / "random.docx").write_bytes(os.urandom(50_000))
    (corpus / "fake.pdf").write_bytes(b"this is not a pdf at all")
    pdf = (corpus / "freight-corridor.pdf").read_bytes()
    (corpus / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    _zip_bomb(corpus / "bomb.docx")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 \xe0 la gare\n".encode("latin-1") * 30)
    (corpus / "huge.md").write_text("# Huge\n" + "word " * 3_000)
    limited = settings.model_copy(update={"max_document_chars": 10_000})
    report = build(limited, encoder)
    skipped = dict(report.skipped)
    assert report.documents == 6  # the five good ones and latin1.txt, read as Windows-1252
    assert "Café à la gare" in load_index(settings.index_dir).document("latin1").text
    assert skipped["empty.txt"] == "empty file"
    assert skipped["noise.txt"].startswith("binary data, not text")
    assert skipped["random.docx"] == "not a .docx (no zip archive inside)"
    assert skipped["fake.pdf"] == "not a PDF (no %PDF- header)"
    assert skipped["truncated.pdf"].startswith(("unreadable PDF", "no text in it"))
    assert "zip bomb" in skipped["bomb.docx"]
    assert skipped["huge.md"].startswith("too large (15,00")
    assert read_manifest(settings.index_dir)["skipped"] == [{"path": p, "reason": r} for p, r in report.skipped]
    result = rag(settings, "index", "--force", "--quiet")
    assert result.returncode == 0
    assert "skipped bomb.docx:" in result.stderr and "skipped noise.txt:" in result.stderr
    # The largest of this test process's `rag` children so far, this build over the hostile folder included.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2 * 1024 * 1024  # KiB: under 2 GiB


def test_health_lists_the_skipped_files_and_the_generation(settings, encoder):
    from fastapi.testclient import TestClient

    from rag.api import create_app
    from rag.pipeline import QAPipeline

    (settings.corpus_dir / "empty.md").write_text("   \n")
    build(settings, encoder)
    with TestClient(create_app(QAPipeline(settings, encoder=encoder)), base_url="http://127.0.0.1") as client:
        body = client.get("/health").json()
    assert body["skipped"] == [{"path": "empty.md", "reason": "no text in it"}]
    assert body["generation"] == live_generation(settings.index_dir)[0].name


def test_control_characters_never_reach_the_stored_text(tmp_path):
    from rag.loaders import load_document

    # Two stray control characters in a page of text (more would make it binary data).
    (tmp_path / "bell.txt").write_text("Title line\nA bell\x07 rang\x1b[0m twice.\n" + "Plain words. " * 40)
    document = load_document(tmp_path / "bell.txt", tmp_path)
    assert "\x07" not in document.text and "\x1b" not in document.text and "rang" in document.text


def test_a_docx_within_its_limits_loads(tmp_path):
    import docx

    from rag.loaders import load_document

    document = docx.Document()
    document.add_paragraph("Plain words in a real document.")
    buffer = io.BytesIO()
    document.save(buffer)
    (tmp_path / "real.docx").write_bytes(buffer.getvalue())
    assert load_document(tmp_path / "real.docx", tmp_path).text == "Plain words in a real document."
