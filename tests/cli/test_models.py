"""neurova.cli.models: `neurova models` lists the registry and what saved models need."""

from __future__ import annotations

from neurova.cli import main
from neurova.models import list_models


def test_models_lists_the_registry(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROVA_HOME", str(tmp_path))  # no saved models listed after the registry
    assert main(["models", "resnet18*"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == list_models("resnet18*") and "resnet18_fusion" in printed


def test_models_states_the_minimum_recording_length(check_setup, tmp_path, capsys, monkeypatch):
    import shutil

    _, matching, _ = check_setup
    capsys.readouterr()
    assert main(["models", "--model", str(matching)]) == 0
    printed = capsys.readouterr().out
    assert "minimum recording length 40 ms" in printed and "training inputs" in printed
    monkeypatch.setenv("NEUROVA_HOME", str(tmp_path))
    shutil.copytree(matching, tmp_path / "models" / "tiny")
    assert main(["models", "resnet18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "resnet18" and lines[2] == f"saved models in {tmp_path / 'models'}:"
    assert lines[3].startswith("  tiny: resnet18: input 2 tbr frame(s) of 4 x 5000 µs") and "minimum recording length 40 ms" in lines[3]
