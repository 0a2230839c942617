"""Draw children's home report PDFs whose text layer carries the artefacts of
real Ofsted PDFs, for the text-normalisation tests.

Real Ofsted PDFs (Word output) give a PDF text extractor:

* U+FFFE where a hyphen ended a line (pdfium's mark; the line is joined);
* bullets from symbol fonts as private-use code points (U+F06E, U+F03C,
  U+F0A7, U+F02D ...) or as U+25FC;
* ligatures, non-breaking spaces, curly quotes, en-dash date ranges.

The sample site's renderer draws clean text, so this module draws the text of
a report line by line with reportlab and reproduces each artefact the way a
real PDF does: a line that ends in "-" or a soft hyphen and a next line that
goes on (pdfium itself reports U+FFFE and joins the lines); a bullet drawn in
a symbol font whose ``/ToUnicode`` map says U+F06E (as Word's Wingdings
bullets do); ligatures and thin spaces drawn in an embedded TrueType font.

A line is a string with markup: ``{F06E}`` (any 4 hex digits from
:data:`SYMBOLS`) draws that bullet glyph; ``{DV}...{/DV}`` draws the text
between in DejaVu Sans (for ligatures and thin spaces). Output is
deterministic.
"""

from __future__ import annotations

import re
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: The code drawn in the symbol font -> what its /ToUnicode map says.
SYMBOLS = {
    "F06E": "n",  # Wingdings black square (2016-2019 Ofsted PDFs)
    "F03C": "<",  # seen in a 2016 school report's list of actions
    "F0A7": "s",  # Wingdings small square
    "F0B7": "l",  # Symbol bullet
    "F02D": "-",  # Symbol dash: second-level bullets
    "25FC": "p",  # black medium square (2023 Ofsted PDFs)
}
_MARKUP = re.compile(r"\{([0-9A-F]{4})\}|\{DV\}(.*?)\{/DV\}")
_TOP, _LEADING, _LEFT = A4[1] - 60, 14, 56


def _cmap() -> bytes:
    pairs = "\n".join(
        f"<{ord(code):02X}> <{unicode}>" for unicode, code in sorted(SYMBOLS.items())
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"{len(SYMBOLS)} beginbfchar\n{pairs}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode()


def render_lines(pages: list[list[str]], path: Path) -> None:
    """Draw ``pages`` (lists of marked-up lines) to ``path``."""
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
    canvas = Canvas(str(path), pagesize=A4, invariant=1, pageCompression=0)
    for lines in pages:
        y = _TOP
        for line in lines:
            x = _LEFT
            position = 0
            for match in [*_MARKUP.finditer(line), None]:
                plain = line[position : match.start() if match else len(line)]
                if plain:
                    canvas.setFont("Helvetica", 10)
                    canvas.drawString(x, y, plain)
                    x += canvas.stringWidth(plain, "Helvetica", 10)
                if match is None:
                    break
                if match.group(1):
                    # the code itself, not reportlab's re-encoding of a character
                    canvas.setFont("ZapfDingbats", 10)
                    font = canvas._doc.getInternalFontName("ZapfDingbats")
                    code = SYMBOLS[match.group(1)]
                    canvas._code.append(
                        f"BT {font} 10 Tf 1 0 0 1 {x:.2f} {y:.2f} Tm ({code}) Tj ET"
                    )
                    x += 14
                else:
                    canvas.setFont("DejaVuSans", 10)
                    canvas.drawString(x, y, match.group(2))
                    x += canvas.stringWidth(match.group(2), "DejaVuSans", 10)
                position = match.end()
            y -= _LEADING
        canvas.showPage()
    canvas.save()
    _add_symbol_unicode_map(path)


def _add_symbol_unicode_map(path: Path) -> None:
    """Give the symbol font the /ToUnicode map a Word-made PDF has, then write
    the file again with a correct cross-reference table."""
    data = path.read_bytes()
    objects = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(rb"\n(\d+) 0 obj\n(.*?)\nendobj", data, re.S)
    }
    trailer = re.search(rb"trailer\s*(<<.*?>>)\s*startxref", data, re.S)
    assert trailer and len(objects) == max(objects), "unexpected reportlab output"
    cmap_number = max(objects) + 1
    for number, body in objects.items():
        if b"/BaseFont /ZapfDingbats" in body:
            objects[number] = body.replace(
                b"/Subtype /Type1", b"/Subtype /Type1 /ToUnicode %d 0 R" % cmap_number
            )
    cmap = _cmap()
    objects[cmap_number] = b"<< /Length %d >>\nstream\n%s\nendstream" % (
        len(cmap),
        cmap,
    )
    out = bytearray(b"%PDF-1.4\n%\x93\x8c\x8b\x9e\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (cmap_number + 1)
    for number in range(1, cmap_number + 1):
        out += b"%010d 00000 n \n" % offsets[number]
    tail = re.sub(rb"/Size \d+", b"/Size %d" % (cmap_number + 1), trailer.group(1))
    out += b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (tail, xref)
    path.write_bytes(bytes(out))
