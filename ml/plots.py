"""The paper's figures redrawn from a user's own data: pure functions of DataFrames -> PNG files.

Figure 5 (conductivity against dCTE, substrate shear modulus and T_dep/T_m; thickness against
T_dep), Figure 6 (parity plot with error bars) and Figure 7 (SHAP beeswarm and mean |SHAP|).
matplotlib runs headless (Agg).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PHASE_MARKERS = {"cubic": "o", "tetragonal": "s", "mixed": "D", "amorphous": "^"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure5(films: pd.DataFrame, out: Path) -> Path:
    """Four panels; `films` needs log10_sigma, delta_cte_per_k, substrate_shear_modulus_gpa,
    t_dep_over_t_m, thickness_nm, deposition_temp_c, phase, substrate."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    panels = [
        ("delta_cte_per_k", "log10_sigma", "(a) ΔCTE substrate − film, 1/K", "log10 σ, S/cm"),
        ("substrate_shear_modulus_gpa", "log10_sigma", "(b) substrate shear modulus G, GPa", "log10 σ, S/cm"),
        ("t_dep_over_t_m", "log10_sigma", "(c) T_dep / T_m (substrate)", "log10 σ, S/cm"),
        ("deposition_temp_c", "thickness_nm", "(d) deposition temperature, °C", "film thickness, nm"),
    ]
    for ax, (x, y, xlabel, ylabel) in zip(axes.flat, panels):
        for phase, group in films.groupby("phase"):
            ax.scatter(group[x], group[y], marker=PHASE_MARKERS.get(phase, "x"), label=phase, alpha=0.8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if y == "thickness_nm":
            ax.set_yscale("log")
    axes.flat[0].legend(title="phase", fontsize=8)
    fig.suptitle(f"Li-ion conductivity of {len(films)} garnet films (cf. Kireeva et al. 2023, Figure 5)")
    fig.tight_layout()
    return _save(fig, out)


def parity(frame: pd.DataFrame, out: Path, title: str) -> Path:
    """Measured vs predicted -log10 sigma with ±1 sd error bars; `frame`: measured, mean, std[, label]."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.errorbar(frame["measured"], frame["mean"], yerr=frame["std"], fmt="o", capsize=3, alpha=0.8)
    lo = float(np.nanmin([frame["measured"].min(), (frame["mean"] - frame["std"]).min()])) - 0.3
    hi = float(np.nanmax([frame["measured"].max(), (frame["mean"] + frame["std"]).max()])) + 0.3
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured −log10(σ / S cm⁻¹)")
    ax.set_ylabel("predicted −log10(σ / S cm⁻¹)")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, out)


def parity_panels(panels: dict, out: Path, title: str) -> Path:
    """Figure 6 (a-c): one parity panel per model; `panels` maps a panel title to a frame with
    measured, mean, std (±1 sd error bars, the 1:1 line and ±1 log unit dashed)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 5), squeeze=False)
    frames = list(panels.values())
    lo = min(float(np.nanmin([f["measured"].min(), (f["mean"] - f["std"]).min()])) for f in frames) - 0.3
    hi = max(float(np.nanmax([f["measured"].max(), (f["mean"] + f["std"]).max()])) for f in frames) + 0.3
    for ax, (name, frame) in zip(axes.flat, panels.items()):
        ax.errorbar(frame["measured"], frame["mean"], yerr=frame["std"], fmt="o", capsize=3, alpha=0.8, ms=5)
        ax.plot([lo, hi], [lo, hi], "k-", lw=1)
        for shift in (-1, 1):
            ax.plot([lo, hi], [lo + shift, hi + shift], "k:", lw=0.7)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("measured −log10(σ / S cm⁻¹)")
        ax.set_ylabel("predicted −log10(σ / S cm⁻¹)")
        err = frame["mean"] - frame["measured"]
        ax.set_title(f"{name}\nRMSE {np.sqrt(np.mean(err ** 2)):.3f}, n = {len(frame)}", fontsize=10)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out)


def uncertainty_bars(frame: pd.DataFrame, out: Path, title: str) -> Path:
    """Per-film standard deviation of the prediction (right part of Figure 6)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.3 * len(frame)), 4))
    ax.bar(range(len(frame)), frame["std"])
    ax.set_xticks(range(len(frame)), frame["label"], rotation=90, fontsize=7)
    ax.set_ylabel("sd of −log10 σ prediction")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, out)


def shap_plots(values: np.ndarray, features: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Figure 7: beeswarm (value coloured by feature value) and mean |SHAP| bar chart."""
    plt = _pyplot()
    names = list(features.columns)
    order = np.argsort(np.abs(values).mean(axis=0))
    fig, ax = plt.subplots(figsize=(8, 5))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        col = features.iloc[:, j].to_numpy(dtype=float)
        span = np.ptp(col) or 1.0
        ax.scatter(values[:, j], row + rng.uniform(-0.2, 0.2, len(col)), c=(col - col.min()) / span,
                   cmap="coolwarm", s=18)
    ax.set_yticks(range(len(order)), [names[j] for j in order])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("SHAP value (impact on predicted −log10 σ)")
    ax.set_title("SHAP values per film (colour: descriptor value, low blue to high red)")
    fig.tight_layout()
    beeswarm = _save(fig, Path(out_dir) / "shap_beeswarm.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.barh(range(len(order)), np.abs(values).mean(axis=0)[order])
    ax.set_yticks(range(len(order)), [names[j] for j in order])
    ax.set_xlabel("mean |SHAP value|")
    ax.set_title("Descriptor importance (cf. Kireeva et al. 2023, Figure 7)")
    fig.tight_layout()
    return [beeswarm, _save(fig, Path(out_dir) / "shap_bar.png")]


def _save(fig, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    _pyplot().close(fig)
    return out


def calibration(curves: dict, out: Path, title: str) -> Path:
    """Observed against nominal coverage of central intervals, one line per model (curves: name ->
    (nominal levels, observed shares)); the diagonal is perfect calibration."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="ideal")
    for name, (nominal, observed) in curves.items():
        ax.plot(nominal, observed, marker="o", ms=3, label=name)
    ax.set(xlabel="nominal coverage of the central interval", ylabel="observed share of films inside",
           xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, out)


def learning_curve(rows, out: Path, title: str) -> Path:
    """RMSE on unseen papers against the number of training papers (mean and range over draws)."""
    import pandas as pd

    plt = _pyplot()
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for column, label in (("rmse_recommended", "recommended"), ("rmse_mean", "training mean")):
        g = frame.groupby("papers")[column]
        ax.plot(g.mean().index, g.mean().to_numpy(), marker="o", label=label)
        ax.fill_between(g.mean().index, g.min().to_numpy(), g.max().to_numpy(), alpha=0.15)
    ax.set(xlabel="training papers", ylabel="RMSE on the other papers' films (decades)", title=title)
    ax.legend()
    return _save(fig, out)


def suggestion_curves(panels: list, out: Path, title: str) -> Path:
    """One panel per suggested substrate: predicted log10 sigma against T_dep with its 95 % band at one
    thickness (out-of-domain points hollow), the measured films on that substrate as points and the
    suggested conditions as stars. Each panel: dict(substrate, thickness_nm, curve, measured, suggested),
    curve with deposition_temp_c, log10_sigma_mean, low, high, in_domain; measured with deposition_temp_c,
    log10_sigma; suggested with deposition_temp_c, thickness_nm, log10_sigma_mean, rank."""
    plt = _pyplot()
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False)
    for ax, p in zip(axes.flat, panels):
        c = p["curve"].sort_values("deposition_temp_c")
        ax.plot(c["deposition_temp_c"], c["log10_sigma_mean"], "-", color="C0",
                label=f"predicted, {p['thickness_nm']:g} nm")
        ax.fill_between(c["deposition_temp_c"], c["low"], c["high"], color="C0", alpha=0.2, label="95 % interval")
        far = c[~c["in_domain"].astype(bool)]
        ax.scatter(far["deposition_temp_c"], far["log10_sigma_mean"], facecolors="none", edgecolors="C0", s=25,
                   label="out of domain")
        m = p["measured"]
        ax.scatter(m["deposition_temp_c"], m["log10_sigma"], color="C3", marker="o", zorder=3,
                   label=f"measured, any method ({len(m)})")
        s = p["suggested"]
        ax.scatter(s["deposition_temp_c"], s["log10_sigma_mean"], color="C2", marker="*", s=160, zorder=4,
                   edgecolors="k", label="suggested")
        stacked: dict = {}  # labels of suggestions at one temperature go one above the other
        for _, r in s.iterrows():
            other = "" if np.isclose(r["thickness_nm"], p["thickness_nm"]) else f" ({r['thickness_nm']:g} nm)"
            k = stacked[r["deposition_temp_c"]] = stacked.get(r["deposition_temp_c"], -1) + 1
            ax.annotate(f"#{int(r['rank'])}{other}", (r["deposition_temp_c"], r["log10_sigma_mean"]), fontsize=8,
                        xytext=(4, 4 + 10 * k), textcoords="offset points")
        ax.set(title=p["substrate"], xlabel="deposition temperature, °C", ylabel="log10 σ, S/cm")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, out)
