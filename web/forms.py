"""The predict and suggest forms: their fields read from the request, the job called, the answer as text."""

from __future__ import annotations

from ..errors import FilmkbError
from . import params as P
from .render import cell, sci

PREDICT_FIELDS = ("composition", "method", "substrate", "orientation", "temp_c", "thickness_nm", "phase",
                  "measured_at")
MODELS = ("recommended", "paper")
GOALS = ("balanced", "exploit", "explore")


# The command-line option names the jobs' messages use, as the forms label them.
_LABELS = {"--temp-c": "deposition temperature", "--thickness-nm": "thickness", "--orientation": "orientation",
           "--measured-at": "measured at", "--measured": "measured", "--reference": "reference", "--top": "top"}


def _error(exc: FilmkbError) -> str:
    """The job's error as one line, in the form's words."""
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    for option, label in _LABELS.items():
        text = text.replace(f"{option}:", f"{label}:").replace(f"{option} ", f"{label} ")
    return text


def predict_form(db: str, q) -> tuple[dict, dict | None, str | None]:
    """The form's values, and when conditions were given the prediction (jobs.predict, nothing stored) or the
    one-line reason it could not be made."""
    from ..jobs import predict
    from ..jobs.runs import answered_by

    try:
        form = {name: P.text(q, name) for name in PREDICT_FIELDS}
        form["model"] = P.choice(q, "model", MODELS, "recommended")
    except FilmkbError as exc:
        return {}, None, _error(exc)
    if not any(form[name] for name in PREDICT_FIELDS):
        return form, None, None
    cells = {"composition": form["composition"], "method": form["method"], "substrate": form["substrate"],
             "substrate_orientation": form["orientation"], "deposition_temp_c": form["temp_c"],
             "thickness_nm": form["thickness_nm"], "phase": form["phase"], "measurement_temp_c": form["measured_at"]}
    try:
        res = predict(db=db, cells={k: v for k, v in cells.items() if v}, store=False, model=form["model"])
    except FilmkbError as exc:
        return form, None, _error(exc)
    rows = []
    for _, r in res.frame.iterrows():
        rows.append({"sigma": sci(r["sigma_s_cm"]), "low": sci(r["sigma_low_s_cm"]), "high": sci(r["sigma_high_s_cm"]),
                     "log10": f"{r['log10_sigma_mean']:.2f} ± {r['log10_sigma_std']:.2f}",
                     "domain": "inside" if r["in_domain"] else "OUTSIDE", "why": _domain_note(r, res.model)})
    return form, {"by": answered_by(res.model, res.run_id), "rows": rows, "warnings": list(res.warnings)}, None


def _domain_note(r, model: str) -> str:
    """Which descriptor is out of range and by how much, or the distance to the nearest training film."""
    if r["in_domain"]:
        return f"nearest training film at distance {r['domain_distance']:.2f} (threshold {r['domain_threshold']:.2f})"
    why = r["extrapolation"] or (f"nearest training film at distance {r['domain_distance']:.2f} "
                                 f"(threshold {r['domain_threshold']:.2f})")
    if model != "recommended":
        return f"{why}; the paper's ensemble is shown as trained: treat this number as a guess"
    if r["shrink_weight"] < 1:
        return f"{why}; shrunk toward the training mean (weight {r['shrink_weight']:.2f}), interval widened"
    return f"{why}; the interval is the between-paper one"


def suggest_form(k, q) -> tuple[dict, dict | None, str | None]:
    """The form's values, and when asked (go=1) the ranked conditions (jobs.suggest on the open read-only
    knowledge base `k`, nothing stored) or the one-line reason there are none."""
    from ..jobs import suggest
    from ..jobs.runs import answered_by
    from ..jobs.suggestion import SCORE_LABELS

    try:
        form = {"substrate": P.several(q, "substrate"), "method": P.text(q, "method"),
                "temp_c": P.text(q, "temp_c") or "400:900:50", "thickness_nm": P.text(q, "thickness_nm") or "100:1000:100",
                "composition": P.text(q, "composition"), "phase": P.text(q, "phase"),
                "goal": P.choice(q, "goal", GOALS, "balanced"), "top": P.whole(q, "top", 10, 1, 100),
                "model": P.choice(q, "model", MODELS, "recommended"), "go": P.text(q, "go")}
    except FilmkbError as exc:
        return {}, None, _error(exc)
    if not form["go"]:
        return form, None, None
    constraints = {"substrate": form["substrate"], "method": form["method"], "temp_c": form["temp_c"],
                   "thickness_nm": form["thickness_nm"], "composition": form["composition"], "phase": form["phase"],
                   "exclude_tested": False}
    try:
        res = suggest(constraints=constraints, goal=form["goal"], top=form["top"], store=False, k=k,
                      model=form["model"])
    except FilmkbError as exc:
        return form, None, _error(exc)

    def rows(frame):
        return [{"rank": cell(r["rank"]), "substrate": cell(r["substrate"]), "orientation": cell(r["substrate_orientation"]),
                 "temp": cell(r["deposition_temp_c"]), "thickness": cell(r["thickness_nm"]),
                 "log10": f"{r['log10_sigma_mean']:.2f} ± {r['log10_sigma_std']:.2f}",
                 "interval": f"{sci(r['sigma_low_s_cm'])} – {sci(r['sigma_high_s_cm'])}", "score": f"{r['score']:.3g}",
                 "outside": cell(r["out_of_range"])} for _, r in frame.iterrows()]

    return form, {"by": answered_by(res.model, res.model_run_id), "score": SCORE_LABELS[res.goal], "counts": res.counts,
                  "inside": rows(res.suggestions), "outside": rows(res.out_of_domain), "notes": list(res.notes),
                  "warnings": list(res.warnings), "best": f"{res.best_log10_sigma:.2f}"}, None
