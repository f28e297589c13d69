"""Paper text made parseable (LaTeX, spaced subscripts undone), and the number patterns all drafting shares."""

from __future__ import annotations

import re

from ...schema.names import clean_text

_SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_JOIN_NEXT = r"(?:\s+(?=(?:[A-Z][a-z]?)+(?:\s*(?:_|[₀-₉])|\d)|[-–,+]))?"
# (?<!\s): a match starts where a run of blanks starts, never inside it, so a long run is scanned once,
# not once per position (20,000 spaces took 17 s).
_UNICODE_SUB = re.compile(r"(?<!\s)\s*([₀-₉]+(?:\.[₀-₉]+)?)" + _JOIN_NEXT)
_LATEX_SUB = re.compile(r"(?<!\s)(?:\s*_\{\s*([^{}]*?)\s*\}" + _JOIN_NEXT + r"|\s*_(\d)" + _JOIN_NEXT + ")")
_LATEX_SUP = re.compile(r"\^\{\s*([^{}]*?)\s*\}")
_TIMES = re.compile(r"\\times|\\cdot|(?<![A-Za-z\\])imes(?=\s*10)")


def clean(text: object) -> str:
    """Text as extracted from a paper, made parseable: LaTeX (\\times, _{12}, ^{-6}, $...$) and
    subscripts with stray spaces ('Si ₃ N ₄') undone, Markdown emphasis dropped, then clean_text."""
    t = str(text or "")
    t = _TIMES.sub("×", t)
    t = _UNICODE_SUB.sub(lambda m: m.group(1).translate(_SUBSCRIPT), t)
    t = _LATEX_SUB.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), t)
    t = _LATEX_SUP.sub(lambda m: "^" + m.group(1), t)
    t = re.sub(r"\\(?:mathrm|text|mathit|rm|it)\b", "", t)
    t = t.replace("\\sigma", "σ").replace("\\sim", "~").replace("\\pm", "±").replace("\\circ", "°")
    t = re.sub(r"[${}*\\]", "", t)
    return clean_text(t)


_ORIENTATION_AFTER = re.compile(r"\s*[(\[<{]\s*(-?\d\s*-?\d\s*-?\d)\s*[)\]>}]")
_SCI = r"\d+(?:\.\d+)?(?:\s*[x×·]\s*10\s*\^?\s*[-+]?\s*\d+|[eE][-+]?\d+)?|10\s*\^\s*[-+]?\d+"
_THICKNESS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*-?\s*(nm|μm|µm|um)\b")
_COND_UNIT = r"(?:m|μ|µ)?S\s*(?:/\s*cm|·?\s*cm\s*\^?\s*-\s*1)"
