"""neurova.cli.experiments: `neurova zero-shot` on a miniature NEFER tree."""

from __future__ import annotations

import pytest

from neurova.cli import main
from tests.data.nefer.data import make_nefer


def test_zero_shot_on_a_nefer_tree(trained, tmp_path, capsys, monkeypatch):

    root = make_nefer(tmp_path / "NEFER", size=48)
    _, model_dir, _ = trained
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["zero-shot", "--model", str(model_dir), "--data", "nefer", "--root", str(root),
                 "--label-set", "reported"]) == 0
    printed = capsys.readouterr().out
    assert "majority" in printed and "None" in printed
    figures = tmp_path / "runs" / "zero_shot"  # the default --plot-dir
    assert (figures / "confusion_matrix.png").is_file() and (figures / "zero_shot_report.json").is_file()


def test_zero_shot_nefer_only_options_are_refused_for_synthetic_data(trained, tmp_path):
    _, model_dir, _ = trained
    for flags in (["--detect-face"], ["--raise-threshold", "2"]):
        with pytest.raises(SystemExit, match="apply to --data nefer only"):
            main(["zero-shot", "--model", str(model_dir), "--data", "synthetic", "--root", str(tmp_path), *flags])
