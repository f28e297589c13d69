"""`filmkb models` and `filmkb descriptors --sets`: the registries as a user reads them."""

import json

from click.testing import CliRunner

from filmkb import kb
from filmkb.cli import main
from filmkb.schema.descriptors import SETS


def test_models_lists_every_registered_family_with_what_it_needs():
    out = CliRunner().invoke(main, ["models", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.output)}
    assert list(rows)[0] == "mean"  # simplest first
    assert {"mean", "ridge", "gp", "et", "rf", "pbp", "lstm", "ensemble", "knn"} <= set(rows)
    assert rows["pbp"]["stochastic"] and not rows["ridge"]["stochastic"]
    assert rows["ridge"]["candidate_lists"] == ["default", "full", "small"]
    assert rows["gp"]["descriptor_sets"] == ["paper7", "extended"] and rows["mean"]["descriptor_sets"] == []
    assert {"uses_groups", "accepts_missing", "summary"} <= set(rows["mean"])
    csv = CliRunner().invoke(main, ["models", "--format", "csv"]).output.splitlines()
    assert csv[0].startswith("name,summary,stochastic,uses_groups,accepts_missing,candidate_lists,descriptor_sets")
    assert any(line.startswith("ensemble,") and ",full,paper7 extended," in line for line in csv)


def test_descriptor_sets_list_columns_units_and_the_films_they_cover(built_db):
    out = CliRunner().invoke(main, ["--db", built_db, "descriptors", "--sets", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["set"]: r for r in json.loads(out.output)}
    assert list(rows) == list(SETS) and list(SETS)[:2] == ["paper7", "extended"]  # a further set: its own test
    assert [c["name"] for c in rows["paper7"]["columns"]] == list(SETS["paper7"].columns)
    assert {c["name"]: c["unit"] for c in rows["extended"]["columns"]}["log10_thickness_nm"] == "log10(nm)"
    assert all(c["source"] for r in rows.values() for c in r["columns"])
    with kb.open(built_db) as k:
        assert rows["paper7"]["films_complete"] == len(k.descriptor_matrix()) == 26
        assert rows["extended"]["films_complete"] == len(k.descriptor_matrix(descriptors="extended"))
    table = CliRunner().invoke(main, ["--db", built_db, "descriptors", "--sets"])
    assert "film_elastic_per_h [GPa/nm]" in table.output
    both = CliRunner().invoke(main, ["--db", built_db, "descriptors", "--sets", "--complete"])
    assert both.exit_code == 2 and "--sets lists the descriptor sets" in both.output
