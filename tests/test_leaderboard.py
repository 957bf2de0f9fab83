"""The leaderboard: grids, shards, scoring, profiling, a small resumable run, and deterministic tagged builds."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest
import torch

from neurova import leaderboard as lb
from neurova.datasets.synthetic import CACHE_VERSION
from neurova.models import create_model, from_pretrained, list_models

# Small enough to render, simulate and train in seconds; the real protocol differs only in sizes.
SMALL = lb.Protocol(n_subjects=6, frames_per_clip=12, image_size=32, emotion_clips_per_emotion=0, clip_length=4,
                    stride=4, val_fraction=1 / 3, test_fraction=1 / 3, epochs=1, batch_size=4)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("leaderboard_cache")


def test_full_grid_covers_every_registered_model_the_baselines_and_tbr_bits() -> None:
    full = lb.entries("full")
    names = [e.name for e in full]
    assert len(names) == len(set(names))
    assert {e.model for e in full if e.kind == "model"} >= set(list_models())
    assert {"mean", "ridge"} <= set(names)
    bits = {e.n_bits for e in full if e.model == lb.TBR_VARIANT_MODEL and e.bin_us == 5000}
    assert bits == {1, 2, 4, 8, 16}
    assert {e.bin_us for e in full if e.model == lb.TBR_VARIANT_MODEL and e.n_bits == 8} == {2500, 5000, 10000}


def test_reduced_grid_is_the_full_grid_minus_entries_that_say_why() -> None:
    full, reduced = lb.entries("full"), lb.entries("reduced")
    assert set(reduced) < set(full)
    assert all(not e.skip_reason for e in reduced)
    assert all(e.skip_reason for e in set(full) - set(reduced))
    assert {"mean", "ridge", "tiny_cnn", "tiny_cnn_fusion", "tiny_cnn-tbr_n1_dt5000"} <= {e.name for e in reduced}
    with pytest.raises(ValueError, match="unknown grid"):
        lb.entries("medium")  # type: ignore[arg-type]


def test_tags_are_the_architectures_at_the_default_encoding() -> None:
    tags = lb.tags()
    assert set(tags) == {f"{name}.synthetic_faces" for name in list_models()}
    assert all((e.n_bits, e.bin_us) == (8, 5000) for e in tags.values())


def test_tags_follow_the_protocols_data() -> None:
    from dataclasses import replace

    from neurova.recipes import SYNTHETIC_FACES, SYNTHETIC_FACES_NOISE, data_name

    assert data_name(SYNTHETIC_FACES) == "synthetic_faces" and data_name(SMALL) == "synthetic_faces"
    assert data_name(replace(SYNTHETIC_FACES_NOISE, epochs=40)) == "synthetic_faces_noise"
    assert data_name(lb.Protocol(train_sensors=("dim",))) is None
    assert data_name(replace(SYNTHETIC_FACES_NOISE, train_phases_us=(0, 10_000))) is None  # another data
    entry, variant = lb.tags()["tiny_cnn.synthetic_faces"], lb.entries("full")[-1]
    assert entry.tag_for(SYNTHETIC_FACES_NOISE) == "tiny_cnn.synthetic_faces_noise"
    assert entry.tag_for(lb.Protocol(train_sensors=("dim",))) is None
    assert variant.n_bits != 8 or variant.bin_us != 5000
    assert variant.tag_for(SYNTHETIC_FACES_NOISE) is None and lb.entries("full")[0].tag_for(SYNTHETIC_FACES) is None


def test_parse_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lb.parse_shard("1/3") == (1, 3)
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert lb.parse_shard(None) == (2, 4)
    for bad in ("3/3", "-1/2", "a/b", "1"):
        with pytest.raises(ValueError, match="shard"):
            lb.parse_shard(bad)


def test_entry_key_changes_with_protocol_and_recipe() -> None:
    entry = lb.tags()["tiny_cnn.synthetic_faces"]
    assert entry.key(lb.Protocol()) == entry.key(lb.Protocol())
    assert entry.key(lb.Protocol()) != entry.key(lb.Protocol(epochs=11))
    assert entry.key(lb.Protocol()) != lb.Entry(entry.name, "model", entry.model, lb.Recipe(lr=1.0)).key(lb.Protocol())
    jittered = dataclasses.replace(entry, recipe=dataclasses.replace(entry.recipe, box_jitter=(0.04, 0.09)))
    assert jittered.key(lb.Protocol()) != entry.key(lb.Protocol())
    # fields added later count only when set, so older results keep their keys: this one was saved on 29 Nov
    assert lb.tags()["tiny_cnn_fusion.synthetic_faces"].key(lb.SYNTHETIC_FACES) == "32eb1cef4917bcb0"
    assert lb.tags()["tiny_cnn_fusion.synthetic_faces"].recipe.box_jitter is None
    assert entry.key(lb.Protocol(train_phases_us=(10_000,))) != entry.key(lb.Protocol())
    assert entry.key(lb.Protocol(train_box_jitter=(0.04, 0.09))) != entry.key(lb.Protocol())


def test_score_values(rng: np.random.Generator) -> None:
    true = rng.uniform(-1, 1, (50, 2))
    perfect = lb.score(true, true)
    assert perfect["ccc_valence"] == pytest.approx(1.0) and perfect["rmse_arousal"] == pytest.approx(0.0)
    assert perfect["sagr_valence"] == 1.0
    constant = lb.score(np.full_like(true, 0.5), true)
    assert constant["ccc_valence"] == pytest.approx(0.0) and constant["pcc_valence"] is None


def test_profile_model_counts_the_tiny_cnn_exactly() -> None:
    model = create_model("tiny_cnn")
    profile = lb.profile_model(model, torch.rand(4, 1, 64, 64))
    convs = [(1, 16, 64), (16, 32, 32), (32, 48, 16), (48, 64, 8)]  # (in, out, side) of each 3x3 convolution
    macs = sum(i * o * 9 * s * s for i, o, s in convs) + 64 * 2
    assert profile["params"] == model.num_parameters()
    assert profile["macs"] == macs
    assert profile["latency_ms"] > 0


def _results(out, name):
    return sorted((out / "results" / name).glob("seed*.json"))


def test_small_run_writes_results_table_checkpoint_and_resumes(tmp_path, cache_dir, monkeypatch) -> None:
    out = tmp_path / "board"
    only = ["mean", "ridge", "tiny_cnn"]
    report = lb.run_leaderboard(out, grid="reduced", protocol=SMALL, seeds=(0, 1), cache_dir=cache_dir,
                                progress=False, only=only)
    for name in only:
        files = _results(out, name)
        assert [f.name for f in files] == ["seed0.json", "seed1.json"]
        result = json.loads(files[0].read_text())
        assert result["entry"] == name and result["protocol"]["n_subjects"] == 6
        assert set(result["test"]) == {f"{m}_{d}" for m in lb.METRICS for d in lb.DIMS}
    tiny = [json.loads(f.read_text()) for f in _results(out, "tiny_cnn")]
    assert tiny[0]["params"] == 46674 and tiny[0]["macs"] > 0
    assert json.loads(_results(out, "mean")[0].read_text())["test"]["ccc_valence"] == pytest.approx(0.0)

    table = report.read_text()
    assert "| `tiny_cnn` |" in table and "| `ridge` |" in table
    missing = [line for line in table.splitlines() if line.startswith("Entries without results")]
    slow = next(line for line in missing if "skipped by the reduced grid: too slow" in line)  # it says what it skips
    assert "`resnet50`" in slow and "`tiny_cnn`" not in slow
    assert "`tiny_cnn_fusion`" in next(line for line in missing if "(not run yet)" in line)
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert {r["entry"] for r in rows} == set(only)
    assert (out / "leaderboard.png").stat().st_size > 0
    assert all("±" in r["ccc_valence"] for r in rows if r["entry"] != "mean")

    folder = out / "checkpoints" / "tiny_cnn.synthetic_faces"
    card = (folder / "README.md").read_text()
    for section in ("## Recipe", "## Metrics", "test/ccc_valence", "## Test metrics", "over 2 training seed(s)",
                    "## Intended use and limits", "Minimum recording length",
                    f"neurova synthetic faces ({CACHE_VERSION}): 6 subjects"):
        assert section in card
    seeds = [json.loads(f.read_text())["test"]["ccc_valence"] for f in _results(out, "tiny_cnn")]
    assert f"| CCC valence | {seeds[0]:.3f} | {np.mean(seeds):.3f} ± {np.std(seeds, ddof=1):.3f} |" in card
    assert card.count("## Recipe") == 1  # the report rewrites the section, never appends a second one
    assert f"]({lb.CARD_FIGURE})" in card and (folder / lb.CARD_FIGURE).stat().st_size > 0  # it among the others
    model = from_pretrained(folder)
    assert model.architecture == "tiny_cnn" and model.input_contract.clip_length == 4

    def fail(*args, **kwargs):
        raise AssertionError("a finished job was run again")

    monkeypatch.setattr(lb, "train_entry", fail)
    stamps = {f: f.stat().st_mtime_ns for name in only for f in _results(out, name)}
    lb.run_leaderboard(out, grid="reduced", protocol=SMALL, seeds=(0, 1), cache_dir=cache_dir, progress=False,
                       only=only)
    assert stamps == {f: f.stat().st_mtime_ns for name in only for f in _results(out, name)}


def test_a_noise_protocol_run_saves_its_data_tag(tmp_path, cache_dir) -> None:
    from dataclasses import replace

    from neurova.recipes import SYNTHETIC_FACES_NOISE

    protocol = replace(SMALL, train_sensors=SYNTHETIC_FACES_NOISE.train_sensors)
    out = tmp_path / "noise"
    lb.run_leaderboard(out, grid="reduced", protocol=protocol, seeds=(0,), cache_dir=cache_dir, progress=False,
                       only=["tiny_cnn"])
    result = json.loads(_results(out, "tiny_cnn")[0].read_text())
    assert result["samples"]["train"] == 4 * result["samples"]["val"]  # 2 training subjects, 4 sensors
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["tiny_cnn.synthetic_faces_noise"]
    card = (out / "checkpoints" / "tiny_cnn.synthetic_faces_noise" / "README.md").read_text()
    assert "also simulated by the noisy, dim, dark sensor(s)" in card
    assert from_pretrained(out / "checkpoints" / "tiny_cnn.synthetic_faces_noise").architecture == "tiny_cnn"


def test_shards_split_the_jobs(tmp_path, cache_dir) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for index, out in enumerate(outs):
        lb.run_leaderboard(out, grid="reduced", protocol=SMALL, seeds=(0, 1, 2), shard=(index, 2),
                           cache_dir=cache_dir, progress=False, only=["mean", "ridge"])
    done = [{(p.parent.name, p.name) for p in out.glob("results/*/*.json")} for out in outs]
    assert not done[0] & done[1]
    assert len(done[0] | done[1]) == 6


def test_unknown_entries_and_tags_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown entries"):
        lb.run_leaderboard(tmp_path, protocol=SMALL, only=["resnet1000"], progress=False)
    with pytest.raises(ValueError, match="known tags"):
        lb.build_tag("resnet1000.synthetic_faces", tmp_path)


def test_build_tag_is_zoo_build(tmp_path, monkeypatch) -> None:
    from neurova import zoo

    calls = []
    monkeypatch.setattr(zoo, "build", lambda *args, **kwargs: calls.append((args, kwargs)) or tmp_path)
    assert lb.build_tag("tiny_cnn.synthetic_faces", tmp_path, seed=2, protocol=SMALL, progress=False) == tmp_path
    assert calls == [(("tiny_cnn.synthetic_faces", tmp_path), {"seed": 2, "protocol": SMALL, "cache_dir": None,
                                                               "accelerator": "cpu", "progress": False})]


def test_cli_passes_the_data_and_a_budget(tmp_path, monkeypatch, capsys) -> None:
    from dataclasses import replace

    from neurova.cli import main
    from neurova.recipes import SYNTHETIC_FACES, SYNTHETIC_FACES_NOISE

    calls = []
    monkeypatch.setattr(lb, "run_leaderboard", lambda out, **kwargs: calls.append(kwargs) or tmp_path / "x.md")
    assert main(["leaderboard", "--out", str(tmp_path), "--data", "synthetic_faces_noise"]) == 0
    assert main(["leaderboard", "--out", str(tmp_path), "--epochs", "40", "--only", "tiny_cnn"]) == 0
    assert [c["protocol"] for c in calls] == [SYNTHETIC_FACES_NOISE, replace(SYNTHETIC_FACES, epochs=40)]
    assert calls[1]["only"] == ["tiny_cnn"]
    capsys.readouterr()


def test_cli_lists_entries_and_refuses_bad_shards(capsys) -> None:
    from neurova.cli import main

    assert main(["leaderboard", "--list", "--grid", "full"]) == 0
    listed = capsys.readouterr().out
    assert "tiny_cnn_fusion" in listed and "resnet50.synthetic_faces" in listed and "tiny_cnn-tbr_n16_dt5000" in listed
    assert main(["leaderboard", "--list", "--data", "synthetic_faces_noise"]) == 0
    assert "tiny_cnn_fusion.synthetic_faces_noise" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="shard"):
        main(["leaderboard", "--shard", "2/2"])
    with pytest.raises(SystemExit, match="known tags"):
        main(["leaderboard", "--build", "nothing.synthetic_faces"])


def test_the_docs_figure_is_drawn_from_the_documented_version_3_table(tmp_path) -> None:
    """docs/images/leaderboard_v3.png comes from docs/leaderboard.md's table: every row must read as an entry."""
    import importlib.util
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    spec = importlib.util.spec_from_file_location("make_leaderboard_figure", docs / "make_leaderboard_figure.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    points = script.table_points((docs / "leaderboard.md").read_text())
    by_name = {p.entry.name: p for p in points}
    assert len(by_name) == len(points)  # each entry once
    assert set(by_name) == {e.name for e in lb.entries("full")}  # every entry of the grid has its documented row
    fusion = by_name["resnet18_fusion"]
    assert fusion.ccc["valence"] == (0.849, 0.011) and fusion.macs == 567e6
    assert by_name["mean"].ccc["arousal"] == (0.0, None) and by_name["ridge"].macs == 16.9e3
    assert lb.plot_leaderboard(tmp_path / "figure.png", points).stat().st_size > 0
