"""Suggest the next experiment: the acquisition math by hand, the ranking and diversity rules, the
candidate grid, and the job and command on a real knowledge base with a trained recommended model."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from filmkb import kb
from filmkb.errors import FilmkbError
from filmkb.ml import acquisition
from filmkb.jobs.grid import parse_range

from .kbtools import content, run

ISSUE = ["suggest", "--substrate", "MgO", "--substrate", "SrTiO3", "--method", "PLD", "--temp-c", "500:900:50",
         "--top", "5", "--format", "json"]


@pytest.fixture
def db(recommended_db, tmp_path):
    """A private copy of the knowledge base with a trained recommended model (conftest's, small candidates;
    its model files stay where the run recorded them)."""
    path = str(tmp_path / "filmkb.duckdb")
    shutil.copy2(recommended_db, path)
    return path


# ------------------------------------------------------------------------------------ acquisition math


def test_expected_improvement_matches_hand_values():
    # y ~ N(6, 1), best 5.5: z = -0.5, EI = -0.5 * Phi(-0.5) + phi(-0.5) = -0.5 * 0.3085375387 + 0.3520653268
    ei = acquisition.expected_improvement([6.0, 5.0, 7.0, 4.0], [1.0, 2.0, 0.0, 0.0], 5.5)
    assert ei[0] == pytest.approx(0.1977965574, abs=1e-9)
    assert ei[1] == pytest.approx(0.5 * 0.5987063257 + 2 * 0.3866681168, abs=1e-9)  # z = 0.25: Phi, phi
    assert ei[2] == 0.0 and ei[3] == pytest.approx(1.5)  # sd 0: the improvement itself
    # lower -log10 sigma (higher conductivity) is better
    assert acquisition.score("exploit", [5.0, 6.0], [1.0, 1.0], 5.5).argmax() == 0


def test_ucb_is_the_optimistic_log10_sigma_and_explore_takes_the_largest_sd_first():
    mean, sd = np.array([6.0, 6.5, 5.0]), np.array([0.1, 1.0, 0.0])
    ucb = acquisition.score("balanced", mean, sd, best=5.0)
    np.testing.assert_allclose(ucb, [-6.0 + 1.96 * 0.1, -6.5 + 1.96, -5.0])
    inside, _ = acquisition.rank(ucb, [True] * 3, [0.0] * 3, "balanced")
    assert inside.tolist() == [1, 2, 0]
    explore = acquisition.score("explore", mean, sd, best=5.0)
    assert explore.tolist() == pytest.approx([0.01, 1.0, 0.0])
    assert acquisition.rank(explore, [True] * 3, [0.0] * 3, "explore")[0].tolist() == [1, 0, 2]


def test_out_of_domain_candidates_are_never_in_the_ranked_list_and_ties_go_untested_then_nearest():
    scores = np.array([9.0, 1.0, 1.0, 1.0, 5.0])
    in_domain = np.array([False, True, True, True, False])
    distance = np.array([0.1, 0.5, 0.2, 0.3, 9.0])
    tested = [False, False, True, False, False]
    inside, outside = acquisition.rank(scores, in_domain, distance, "exploit", tested=tested)
    assert inside.tolist() == [3, 1, 2] and outside.tolist() == [0, 4]
    assert acquisition.rank(scores, in_domain, distance, "explore")[0].tolist() == [1, 3, 2]  # farthest first


def test_diverse_keeps_no_two_on_one_substrate_closer_than_a_step():
    substrate = np.array(["MgO", "MgO", "MgO", "STO", "MgO"])
    temperature = np.array([600.0, 600.0, 650.0, 600.0, 700.0])  # row 1: 600 again (other thickness)
    assert acquisition.diverse([0, 1, 2, 3, 4], substrate, temperature, gap=50.0).tolist() == [0, 2, 3, 4]
    assert acquisition.diverse([0, 1, 2, 3, 4], substrate, temperature, gap=100.0).tolist() == [0, 3, 4]
    assert acquisition.diverse([0, 1, 2, 3, 4], substrate, temperature, gap=50.0, top=2).tolist() == [0, 2]


# ------------------------------------------------------------------------------------ the grid


def test_ranges_include_their_stop_and_refuse_what_is_not_a_range():
    assert parse_range("400:900:50", "--temp-c", "°C", -273.15).values.tolist() == list(range(400, 901, 50))
    assert parse_range((100, 1000, 100), "--thickness-nm", "nm", 0).values.tolist() == list(range(100, 1001, 100))
    assert parse_range("700", "--temp-c", "°C", -273.15).values.tolist() == [700.0]
    for bad, why in [("900:500:50", "impossible range"), ("500:900:0", "step must be positive"),
                     ("hot", "plain numbers"), ("500C:900C:50", "plain numbers"), ("500:900", "plain numbers"),
                     ("-300:100:50", "impossible"), ("nan", "plain numbers")]:
        with pytest.raises(FilmkbError, match=why):
            parse_range(bad, "--temp-c", "°C", -273.15)


def test_the_grid_descriptors_come_from_one_statement_equal_to_the_per_set_views(kbase):
    from filmkb.schema.descriptors import EXTENDED_COLUMNS, PAPER7

    conditions = pd.DataFrame({"substrate_id": [1, 2, 3], "substrate": ["a", "b", "c"],
                               "deposition_temp_c": [500.0, 600.0, 700.0],
                               "thickness_nm": [100.0, 250.0, 900.0], "phase": ["cubic", None, "amorphous"]})
    both = kbase.condition_model_columns(conditions)
    paper = kbase.condition_descriptors(conditions, "paper7")
    extended = kbase.condition_descriptors(conditions, "extended")
    pd.testing.assert_frame_equal(both[list(PAPER7)], paper[list(PAPER7)])
    pd.testing.assert_frame_equal(both[list(EXTENDED_COLUMNS)], extended[list(EXTENDED_COLUMNS)])


def test_default_grid_is_every_substrate_x_11_temperatures_x_10_thicknesses(db):
    from filmkb.jobs import suggest

    res = suggest(db, {}, goal="exploit", top=3, store=False)
    c = res.counts
    assert (c["substrates"], c["temperatures"], c["thicknesses"], c["candidates"]) == (9, 11, 10, 990)
    assert c["in_domain"] + c["out_of_domain"] == 990 and len(res.suggestions) == 3
    assert any(n.startswith("method PLD (the most common") for n in res.notes)  # 6 films: tie, alphabetical
    assert any(n.startswith("composition Li7La3Zr2O12") for n in res.notes)
    assert res.stored == 0 and res.run_id == ""


# ------------------------------------------------------------------------------------ the job and the command


def test_cli_json_contract_and_the_stored_suggestions_carry_the_model_run(db):
    result = run(db, *ISSUE)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {"model_run", "suggest_run", "goal", "best_stored_log10_sigma", "suggestions", "out_of_domain"} <= set(doc)
    keys = {"substrate", "orientation", "deposition_temp_c", "thickness_nm", "log10_sigma", "sigma_s_cm",
            "sigma_low_s_cm", "sigma_high_s_cm", "score", "in_domain", "out_of_range"}
    rows = doc["suggestions"] + doc["out_of_domain"]
    assert all(keys <= set(r) for r in rows) and len(doc["suggestions"]) == 5
    assert all(r["in_domain"] and r["out_of_range"] == "" for r in doc["suggestions"])
    assert all(not r["in_domain"] and r["out_of_range"] for r in doc["out_of_domain"])
    assert {r["substrate"] for r in rows} <= {"MgO", "SrTiO3"} and doc["goal"] == "balanced"
    assert all(r["sigma_low_s_cm"] < r["sigma_s_cm"] < r["sigma_high_s_cm"] for r in rows)
    assert [r["rank"] for r in doc["suggestions"]] == [1, 2, 3, 4, 5]
    assert doc["best_stored_log10_sigma"] == pytest.approx(np.log10(1.61e-5), abs=1e-9)  # film 23
    with kb.open(db) as k:
        stored = k.suggestions(doc["suggest_run"])
        runs = k.sql("SELECT id, kind, config_json FROM model_runs WHERE id = ?", [doc["suggest_run"]])
    assert len(stored) == len(rows) and set(stored["model_run_id"]) == {doc["model_run"]}
    assert stored["in_domain"].sum() == 5 and (stored["goal"] == "balanced").all()
    assert runs["kind"].tolist() == ["suggest"]
    config = json.loads(runs["config_json"].iloc[0])
    assert config["model_run"] == doc["model_run"] and config["constraints"]["temp_c"] == [500.0, 900.0, 50.0]
    listed = run(db, "suggestions", "--format", "json")
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == len(rows)


@pytest.mark.parametrize("option, value, message", [
    ("--temp-c", "900:500:50", "impossible range: stop 500 °C is below start 900 °C"),
    ("--temp-c", "3000:3500:100", "no possible candidate"),
    ("--substrate", "Unobtainium", "unknown substrate 'Unobtainium'"),
    ("--thickness-nm", "0.5 um", "plain numbers in nm"),
])
def test_an_impossible_request_is_one_line_and_nothing_is_stored(db, option, value, message):
    before = content(db)
    result = run(db, "suggest", option, value, "--format", "json")
    assert result.exit_code == 1 and message in result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert content(db) == before


def test_exclude_tested_drops_a_stored_condition(db):
    from filmkb.jobs import suggest

    given = {"substrate": ["MgO"], "method": "PLD", "temp_c": "500:700:50", "thickness_nm": "100:300:100"}
    every = suggest(db, given, top=100, store=False)
    listed = pd.concat([every.suggestions, every.out_of_domain])
    conditions = set(zip(listed["deposition_temp_c"], listed["thickness_nm"]))
    assert {(600.0, 200.0), (550.0, 200.0)} <= conditions  # films 22 and 24: MgO, PLD
    assert every.counts["tested"] == 2 and listed["tested"].sum() == 2
    fresh = suggest(db, {**given, "exclude_tested": True}, top=100, store=False)
    left = pd.concat([fresh.suggestions, fresh.out_of_domain])
    assert (600.0, 200.0) not in set(zip(left["deposition_temp_c"], left["thickness_nm"]))
    assert len(left) == 15 - 2 and fresh.counts["excluded_tested"] == 2 and not left["tested"].any()


def test_plot_file_is_a_png_and_diverse_spreads_the_temperatures(db, tmp_path):
    out = tmp_path / "next.png"
    result = run(db, "suggest", "--substrate", "MgO", "--substrate", "STO", "--top", "4", "--diverse",
                 "--goal", "explore", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert f"plot written to {out}" in result.output and "next films (explore" in result.output
    with kb.open(db) as k:
        shown = k.suggestions()
    shown = shown[shown["in_domain"]]
    assert len(shown) == 4 and not shown.duplicated(["substrate", "deposition_temp_c"]).any()


def test_suggest_needs_a_trained_recommended_model(db_path):
    result = run(db_path, "suggest")
    assert result.exit_code == 1 and "run `filmkb train` first" in result.output


def test_ml_suggest_returns_a_dataframe(db):
    import filmkb.ml

    frame = filmkb.ml.suggest(db, {"substrate": "GGG", "temp_c": (600, 800, 100), "thickness_nm": 300},
                              goal="exploit", top=2, store=False)
    assert isinstance(frame, pd.DataFrame) and frame["in_domain"].dtype == bool
    assert set(frame["substrate"]) == {"GGG"} and set(frame["thickness_nm"]) == {300.0}
    assert frame.attrs["model_run"].startswith("train-") and frame.attrs["goal"] == "exploit"


def test_a_version_3_file_gains_the_suggestions_table_and_stored_ones_pass_validation(db):
    import duckdb

    con = duckdb.connect(db)
    con.execute("DROP TABLE suggestions")
    con.execute("DROP SEQUENCE suggestion_id_seq")
    con.execute("UPDATE schema_migrations SET version = 3")
    con.close()
    from filmkb.jobs import suggest

    from filmkb.schema.version import SCHEMA_VERSION

    res = suggest(db, {"substrate": ["MgO"], "temp_c": "600"}, top=2)
    with kb.open(db) as k:
        from filmkb.schema.version import SCHEMA_VERSION

        assert k.sql("SELECT max(version) AS v FROM schema_migrations")["v"].iloc[0] == SCHEMA_VERSION
        assert len(k.suggestions(res.run_id)) == res.stored > 0
        assert k.validate(["suggestions", "model_runs"]) == []


def test_a_later_paper_ensemble_run_is_passed_over_for_the_latest_recommended_one(db):
    import filmkb
    from filmkb.jobs.suggestion import suggest as job

    with kb.open(db) as k:
        recommended = k.model_run(None, "train")["id"]
        with k.transaction():
            k.store_run("train-paper-later", "train", {"model": "paper"}, "hash", 26, {}, models_dir="nowhere")
        assert k.model_run(None, "train")["id"] == "train-paper-later"
    assert filmkb.suggest is job
    res = filmkb.suggest(db, {"substrate": ["MgO"], "temp_c": "600"}, top=1, store=False)
    assert res.model_run_id == recommended
    refused = run(db, "suggest", "--run", "train-paper-later", "--model", "recommended")
    assert refused.exit_code == 1 and "is not a recommended-model run" in refused.output
