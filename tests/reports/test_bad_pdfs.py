"""A corpus of bad PDFs (generated here, including decompression bombs): every
file ends as exactly one report or one classified problem, the parent never
crashes and its memory stays flat, and the pool recovers for the next file."""

from __future__ import annotations

import json
import os
import random
import re
import zipfile
import zlib
from pathlib import Path

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen.canvas import Canvas

from extract.reports import ERROR_KINDS, ParseTimeout, extract_report
from extract.sandbox import Limits, SandboxPool, extract_many, run_sandboxed
from registry.reports.reports import load_reports
from registry.schema.db import open_registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOOD = FIXTURES / "pdfs" / "full-inspection-sccif-good.pdf"
GOOD_JSON = FIXTURES / "expected" / "full-inspection-sccif-good.json"

# Tight limits so the corpus runs in seconds: bombs hit the memory limit; the
# slow file hits the counted work limit (drawing objects), whatever the
# machine's speed, long before the CPU limit.
LIMITS = Limits(
    memory_bytes=384 << 20,
    cpu_seconds=2,
    wall_seconds=30,
    max_bytes=4_000_000,
    max_pages=200,
)


def pdf_with_stream(data: bytes, filters: bytes = b"") -> bytes:
    """A minimal one-page PDF whose content stream is ``data``."""
    filter_entry = b"/Filter [" + filters + b"]" if filters else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d %s >>\nstream\n" % (len(data), filter_entry)
        + data
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_many_pages(data: bytes, pages: int, filters: bytes = b"") -> bytes:
    """A PDF of ``pages`` pages that all share one content stream."""
    filter_entry = b"/Filter [" + filters + b"]" if filters else b""
    kids = b" ".join(b"%d 0 R" % (5 + n) for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Length %d %s >>\nstream\n" % (len(data), filter_entry)
        + data
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    ] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def deflate_repeated(block: bytes, times: int) -> bytes:
    """zlib data that inflates to ``block * times``, built without compressing
    all of it: after a full flush, identical input gives identical output."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == first
    end = compressor.flush()
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(block, checksum)
    return b"\x78\xda" + first * times + end + checksum.to_bytes(4, "big")


def canvas_pdf(path: Path, lines: list[str], *, pages: int = 1, **options) -> Path:
    canvas = Canvas(str(path), invariant=1, **options)
    for _ in range(pages):
        y = 780
        for line in lines:
            canvas.drawString(60, y, line)
            y -= 14
        canvas.showPage()
    canvas.save()
    return path


REPORT_LINES = [
    "SC123456",
    "Full inspection",
    "Inspected under the social care common inspection framework",
    "Inspection dates: 7 and 8 November 2023",
    "How well children and young people are helped and protected good",
    "Since the last inspection, a child went missing 4 times.",
]


def build_corpus(folder: Path) -> list[tuple[Path, str | None]]:
    """(file, the class it must get); None: any outcome but a wrong judgement."""
    corpus: list[tuple[Path, str | None]] = []
    good = GOOD.read_bytes()

    def add(name: str, data: bytes, kind: str | None) -> None:
        path = folder / name
        path.write_bytes(data)
        corpus.append((path, kind))

    # not_pdf
    add("empty.pdf", b"", "not_pdf")
    add(
        "html-error-page.pdf",
        b"<!DOCTYPE html><html><body>403 Forbidden</body></html>",
        "not_pdf",
    )
    add("json.pdf", json.dumps({"error": "rate limited"}).encode(), "not_pdf")
    buffer = folder / "zip.tmp"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.pdf", good)
    add("zip.pdf", buffer.read_bytes(), "not_pdf")
    add("png.pdf", b"\x89PNG\r\n\x1a\n" + bytes(200), "not_pdf")
    add("text.pdf", b"This is a PDF about PDFs, honestly.\n" * 5, "not_pdf")
    add("nul-bytes.pdf", bytes(4096), "not_pdf")
    add("half-header.pdf", b"%PD\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "not_pdf")
    # truncated downloads
    for fraction in (0.1, 0.3, 0.5, 0.9, 0.995):
        add(f"truncated-{fraction}.pdf", good[: int(len(good) * fraction)], "truncated")
    # encrypted with a user password
    for strength in (40, 128):
        path = folder / f"encrypted-{strength}.pdf"
        canvas_pdf(
            path,
            REPORT_LINES,
            encrypt=StandardEncryption("secret", "owner", strength=strength),
        )
        corpus.append((path, "encrypted"))
    # too large (for LIMITS) and too many pages
    add("too-large.pdf", good + b"%" + b"x" * 4_100_000 + b"\n%%EOF\n", "too_large")
    corpus.append(
        (
            canvas_pdf(folder / "too-many-pages.pdf", ["page"], pages=201),
            "too_many_pages",
        )
    )
    # decompression bombs (memory) and a CPU hog (timeout)
    layer = deflate_repeated(b"0 0 m " * (1 << 20), 200)  # 1.2 GB of operators
    add("bomb-flate.pdf", pdf_with_stream(layer, b"/FlateDecode"), "memory")
    add(
        "bomb-nested-flate.pdf",
        pdf_with_stream(zlib.compress(layer, 9), b"/FlateDecode /FlateDecode"),
        "memory",
    )
    add(
        "bomb-nested-flate-3.pdf",
        pdf_with_stream(
            zlib.compress(zlib.compress(layer, 9), 9),
            b"/FlateDecode /FlateDecode /FlateDecode",
        ),
        "memory",
    )
    slow = zlib.compress(b"BT /F1 1 Tf 10 10 Td (x) Tj ET\n" * 20_000, 9)
    add("cpu-hog.pdf", pdf_many_pages(slow, 190, b"/FlateDecode"), "timeout")
    # damaged beyond repair
    rng = random.Random(3)
    for number in range(3):
        noise = bytes(rng.randrange(256) for _ in range(3000))
        add(
            f"garbage-{number}.pdf", b"%PDF-1.7\n" + noise + b"\n%%EOF\n", "parse_error"
        )
    add(
        "no-objects.pdf",
        b"%PDF-1.4\nxref\n0 0\ntrailer\n<<>>\nstartxref\n9\n%%EOF\n",
        "parse_error",
    )
    # no text, or not a report
    corpus.append((canvas_pdf(folder / "blank.pdf", []), "empty_text"))
    path = folder / "shapes-only.pdf"
    canvas = Canvas(str(path), invariant=1)
    for i in range(40):
        canvas.rect(10 + i * 5, 10 + i * 5, 100, 50, fill=1)
    canvas.showPage()
    canvas.save()
    corpus.append((path, "empty_text"))
    corpus.append(
        (
            canvas_pdf(
                folder / "owner-only-blank.pdf",
                [],
                encrypt=StandardEncryption("", "owner"),
            ),
            "empty_text",
        )
    )
    corpus.append(
        (
            canvas_pdf(
                folder / "parish-minutes.pdf",
                ["Minutes of the parish council meeting", "Present: six councillors"],
            ),
            "unrecognised_layout",
        )
    )
    corpus.append(
        (
            canvas_pdf(
                folder / "school-report.pdf",
                ["School inspection report", "Unique reference number 123456", "Good"],
            ),
            "unrecognised_layout",
        )
    )
    no_urn = [line for line in REPORT_LINES if not re.fullmatch(r"SC\d{6}", line)]
    corpus.append(
        (canvas_pdf(folder / "report-without-urn.pdf", no_urn), "unrecognised_layout")
    )
    # bit flips of a good report: any class, or a report without a wrong judgement
    for number in range(8):
        damaged = bytearray(good)
        for _ in range(20):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        add(f"bit-flips-{number}.pdf", bytes(damaged), None)
    # good files, last, to show the pool recovered
    add("good-after-bombs.pdf", good, "ok")
    corpus.append(
        (
            canvas_pdf(
                folder / "owner-password-only.pdf",
                REPORT_LINES,
                encrypt=StandardEncryption("", "owner"),
            ),
            "ok",
        )
    )
    return corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str | None]]:
    return build_corpus(tmp_path_factory.mktemp("bad-pdfs"))


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(scope="module")
def outcomes(corpus: list) -> tuple[dict, int]:
    before = _rss_bytes()
    results = {
        o.path: o
        for o in extract_many([p for p, _ in corpus], workers=2, limits=LIMITS)
    }
    return results, _rss_bytes() - before


def test_corpus_is_big_enough(corpus: list) -> None:
    assert len(corpus) >= 30
    kinds = {kind for _, kind in corpus}
    assert set(ERROR_KINDS) <= kinds


def test_every_file_gets_exactly_one_outcome(corpus: list, outcomes: tuple) -> None:
    results, _ = outcomes
    assert set(results) == {path for path, _ in corpus}


def test_every_file_gets_its_class(corpus: list, outcomes: tuple) -> None:
    results, _ = outcomes
    wrong = {}
    for path, kind in corpus:
        outcome = results[path]
        got = "ok" if outcome.ok else outcome.error_kind
        if kind is not None and got != kind:
            wrong[path.name] = (kind, got, outcome.message)
        assert outcome.seconds < 90
        if not outcome.ok:
            assert outcome.error_kind in ERROR_KINDS
            assert path.name in outcome.message
    assert not wrong


def test_damaged_reports_never_give_a_wrong_judgement(
    corpus: list, outcomes: tuple
) -> None:
    results, _ = outcomes
    golden = json.loads(GOOD_JSON.read_text())["judgements"]
    for path, kind in corpus:
        outcome = results[path]
        if kind is None and outcome.ok:
            for field in ("overall", "helped_and_protected", "leaders_and_managers"):
                got = getattr(outcome.report.judgements, field)
                assert got in (golden[field], None), (path.name, field, got)


def test_parent_memory_stays_flat(outcomes: tuple) -> None:
    _, growth = outcomes
    assert growth < 50 << 20, f"the parent grew by {growth >> 20} MB"


def test_owner_password_pdf_is_read(corpus: list, outcomes: tuple) -> None:
    results, _ = outcomes
    outcome = results[next(p for p, _ in corpus if p.name == "owner-password-only.pdf")]
    assert outcome.ok
    assert outcome.report.urn == "SC123456"
    assert outcome.report.judgements.helped_and_protected == "Good"


def test_cpu_hog_is_stopped_by_a_count_not_a_clock(corpus: list) -> None:
    """Its class cannot depend on the machine's speed: with CPU and wall-clock
    limits an hour long, the drawing-object count still stops it."""
    slow = next(p for p, _ in corpus if p.name == "cpu-hog.pdf")
    generous = Limits(cpu_seconds=3600, wall_seconds=3600)
    (outcome,) = list(extract_many([slow], workers=1, limits=generous))
    assert outcome.error_kind == "timeout"
    assert "more than 200,000 drawing objects" in outcome.message


def test_the_work_limit_counts_drawing_objects() -> None:
    # the good report draws 81 objects: a limit of 81 reads it, 80 stops it
    assert extract_report(GOOD, max_objects=81).urn
    with pytest.raises(ParseTimeout, match="more than 80 drawing objects"):
        extract_report(GOOD, max_objects=80)


def test_wall_clock_limit_kills_the_worker(tmp_path: Path) -> None:
    # a named pipe nobody writes to: opening it blocks for ever, on any machine
    stuck = tmp_path / "stuck.pdf"
    os.mkfifo(stuck)
    limits = Limits(cpu_seconds=60, wall_seconds=0.5)
    with SandboxPool(workers=1, limits=limits) as pool:
        first = next(iter(pool.map([stuck])))
        assert first.error_kind == "timeout"
        assert "0.5 s" in first.message
        # the pool starts a fresh worker for the next file
        second = next(iter(pool.map([GOOD])))
        assert second.ok


def test_progress_is_reported_for_every_file(corpus: list) -> None:
    seen = []
    paths = [p for p, kind in corpus if kind in ("not_pdf", "truncated", "ok")]
    list(
        extract_many(
            paths,
            workers=2,
            limits=LIMITS,
            progress=lambda d, t, o: seen.append((d, t)),
        )
    )
    assert [d for d, _ in seen] == list(range(1, len(paths) + 1))
    assert {t for _, t in seen} == {len(paths)}


def test_single_file_sandbox_classifies() -> None:
    outcome = run_sandboxed(GOOD)
    assert outcome.ok
    assert outcome.report.judgements.overall == "Good"


def test_registry_keeps_one_row_per_file(corpus: list, tmp_path: Path) -> None:
    db = open_registry(tmp_path / "registry.db")
    results = load_reports(db, [p for p, _ in corpus], workers=2, limits=LIMITS)
    assert len(results) == len(corpus)
    reports = db["reports"].count
    errors = db["pdf_errors"].count
    distinct = len({p.read_bytes() for p, _ in corpus})
    assert reports + errors == distinct
    overlap = db.execute(
        "select count(*) from reports r join pdf_errors e on e.sha256 = r.sha256"
    ).fetchone()[0]
    assert overlap == 0
    assert {row[0] for row in db.execute("select error_kind from pdf_errors")} <= set(
        ERROR_KINDS
    )
    # a failed file leaves no page, mention or requirement behind
    orphans = db.execute(
        "select count(*) from report_pages where report in (select sha256 from pdf_errors)"
    ).fetchone()[0]
    assert orphans == 0
    assert db.execute("pragma foreign_key_check").fetchall() == []
