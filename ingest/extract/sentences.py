"""Drafts from sentences stating a film's conditions and conductivity (less sure than tables)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from ..normalise import CellError, normalise_orientation, parse_quantity
from .compositions import composition_in_text
from .names import _Names, _names
from .quantities import _fmt, quantity_cell
from .rows import BASE_CONFIDENCE, KEY_FIELDS, Draft, _Context, _empty_row
from .text import _COND_UNIT, _ORIENTATION_AFTER, _SCI, _THICKNESS, clean

_ABBREVS = ("et al", "e.g", "i.e", "Fig", "Figs", "Ref", "Refs", "Eq", "ca", "approx", "vs", "No", "Tab", "resp")
_COND = re.compile(rf"(?<![\w.])(?P<num>{_SCI})\s*(?P<unit>{_COND_UNIT})(?![\w])")
_TEMP = re.compile(r"(?<![\w.])(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>°\s*C|℃|K)(?![\w])"
                   r"|\b(?P<room>room[- ]temperature|RT)\b")
_DEPOSITION_WORDS = re.compile(r"deposit|grown|growth|sputter|ablat|anneal|heat|sinter|crystalli|substrate temp|"
                               r"prepar|fabricat|synthesi|calcin|spin|dip|coat|post|process", re.I)
_MEASURE_WORDS = re.compile(r"measur|conductiv|impedance|record|test|σ", re.I)
_PHASE_WORDS = re.compile(r"\b(?:(c|t)-LLZO|(cubic|tetragonal|amorphous))\b", re.I)


def _sentences(lines: list, skip: set, paragraphs: bool = False) -> list:
    """(sentence, [(offset, Line)]) pairs of the running text; lines of tables are left out."""
    out, text, marks = [], "", []

    def flush():
        nonlocal text, marks
        if text.strip():
            offsets = [o for o, _ in marks]
            for s, e in _sentence_spans(text):
                lo, hi = max(0, bisect_right(offsets, s) - 1), bisect_left(offsets, e)
                out.append((text[s:e], [(o - s, ln) for o, ln in marks[lo:max(hi, lo + 1)]], s))
        text, marks = "", []

    for i, ln in enumerate(lines):
        if i in skip or not ln.text.strip():
            flush()
            continue
        piece = clean(ln.text)
        if text.endswith("-") and piece[:1].islower():
            text = text[:-1]
        elif text:
            text += " "
        marks.append((len(text), ln))
        text += piece
        if paragraphs:
            flush()
    flush()
    return [(s, m) for s, m, _ in out]


def _sentence_spans(text: str) -> list:
    spans, start = [], 0
    for m in re.finditer(r"[.!?](?=\s+[A-Z(\[])", text):
        before = text[start:m.start()].split()[-1:] or [""]
        if before[0].rstrip(".") in _ABBREVS or re.fullmatch(r"[A-Z]", before[0]):
            continue
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def _line_at(marks: list, offset: int):
    line = marks[0][1] if marks else None
    for o, ln in marks:
        if o <= offset:
            line = ln
    return line


def _sentence_drafts(lines: list, skip: set, ctx: _Context, paragraphs: bool = False) -> list:
    names = _names(ctx.vocab)
    drafts = []
    for sentence, marks in _sentences(lines, skip, paragraphs):
        values = list(_COND.finditer(sentence))
        if not values:
            continue
        found = {"composition": composition_in_text(sentence)}
        method = next(names.methods(sentence), None)
        found["method"] = method.group(0) if method else None
        substrate = _sentence_substrate(sentence, names)
        found["substrate"], found["substrate_orientation"] = substrate
        t_dep, t_meas = _sentence_temperatures(sentence, values[0].start())
        found["deposition_temp_c"], found["measurement_temp_c"] = t_dep, t_meas
        found["thickness_nm"] = _sentence_thickness(sentence)
        found["phase"] = _sentence_phase(sentence)
        if sum(1 for k in ("composition", "method", "substrate", "deposition_temp_c") if found[k]) < 2:
            continue
        for m in values:
            row = _empty_row(ctx)
            for key, value in found.items():
                if value not in (None, "") and key in row:
                    row[key] = _fmt(value) if isinstance(value, float) else value
            try:
                value = quantity_cell(f"{m.group('num')} {m.group('unit')}", "conductivity_s_cm")
                row["conductivity_s_cm"] = _fmt(value)
            except CellError:
                continue
            missing = [f for f in KEY_FIELDS if not row.get(f) and f != "phase"]
            confidence = BASE_CONFIDENCE["sentence"] - 0.08 * len(missing) - (0.15 if len(values) > 1 else 0.0)
            line = _line_at(marks, m.start())
            quote = " ".join(sentence.split())
            row["notes"] = f"from the sentence: \"{quote[:200]}{'...' if len(quote) > 200 else ''}\""
            if len(values) > 1:
                row["notes"] += f"; one of {len(values)} conductivities in it: check which film it belongs to"
            drafts.append(Draft(row, round(max(0.05, confidence), 2), line.where() if line else "", "sentence"))
    return drafts


def _sentence_substrate(sentence: str, names: _Names) -> tuple:
    """Substrate after 'on'/'onto' (or before 'substrate'), with an orientation next to it."""
    for m in names.substrates(sentence):
        before = sentence[max(0, m.start() - 40):m.start()]
        after = sentence[m.end():m.end() + 30]
        anchored = re.search(r"\b(?:on|onto|upon)\s+(?:an?\s+|the\s+)?(?:single[- ]crystal(?:line)?\s+|"
                             r"\(?-?\d{3}\)?[- ]?(?:oriented\s+)?)?$", before, re.I)
        if not anchored and not re.match(r"\s*(?:\(\s*-?\d{3}\s*\)\s*)?substrates?\b", after, re.I):
            continue
        o = _ORIENTATION_AFTER.match(sentence, m.end())
        orientation = o.group(1) if o else None
        if not orientation:
            p = re.search(r"[(\[<{](-?\d\s*-?\d\s*-?\d)[)\]>}][- ]?(?:oriented\s+)?$", before)
            orientation = p.group(1) if p else None
        try:
            orientation = normalise_orientation(orientation) if orientation else ""
        except CellError:
            orientation = ""
        return m.group(0), orientation
    return None, None


def _sentence_temperatures(sentence: str, cond_at: int) -> tuple:
    """(deposition, measurement) temperatures in °C: each classified by the nearest cue word before it."""
    t_dep = t_meas = None
    for m in _TEMP.finditer(sentence):
        if m.group("room"):
            value = 25.0
        else:
            try:
                value = parse_quantity(f"{m.group('num')} {m.group('unit')}", "degC")
            except CellError:
                continue
        before = sentence[max(0, m.start() - 80):m.start()]
        dep = [d.end() for d in _DEPOSITION_WORDS.finditer(before)]
        meas = [d.end() for d in _MEASURE_WORDS.finditer(before)]
        if (meas and (not dep or max(meas) > max(dep))) or (not dep and m.start() > cond_at):
            t_meas = t_meas if t_meas is not None else value
        elif t_dep is None:
            t_dep = value
    return t_dep, t_meas


def _sentence_thickness(sentence: str) -> float | None:
    for m in _THICKNESS.finditer(sentence):
        around = sentence[max(0, m.start() - 40):m.end() + 12]
        if re.search(r"thick", around, re.I):
            try:
                return parse_quantity(f"{m.group(1)} {m.group(2)}", "nm")
            except CellError:
                return None
    return None


def _sentence_phase(sentence: str) -> str | None:
    found = set()
    for m in _PHASE_WORDS.finditer(sentence):
        word = (m.group(1) or m.group(2)).lower()
        found.add({"c": "cubic", "t": "tetragonal"}.get(word, word))
    if len(found) == 1:
        return found.pop()
    return "mixed" if {"cubic", "tetragonal"} <= found else None


def _restated(draft: Draft, table_drafts: list) -> bool:
    """A sentence that repeats a table row's conductivity adds nothing: the table row is better."""
    try:
        value = float(draft.cells["conductivity_s_cm"])
    except ValueError:
        return False
    for d in table_drafts:
        try:
            if abs(float(d.cells["conductivity_s_cm"]) - value) <= 0.01 * value:
                return True
        except ValueError:
            continue
    return False
