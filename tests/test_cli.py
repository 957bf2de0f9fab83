"""The ``neurova`` command: LightningCLI configs and the plain subcommands, end to end on tiny data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from neurova.cli import main
from neurova.events import make_events
from neurova.io import write_events
from neurova.models import from_pretrained, list_models
from neurova.training import NeurovaCLI

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
TINY_DATA = ["--data.n_subjects", "6", "--data.clips_per_subject", "1", "--data.frames_per_clip", "16",
             "--data.image_size", "32", "--data.emotion_clips_per_emotion", "1", "--data.val_fraction", "0.34",
             "--data.test_fraction", "0.0", "--data.batch_size", "8"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_config_builds_its_model_and_datamodule(config, tmp_path):
    cli = NeurovaCLI(args=["--config", str(config), "--data.init_args.cache_dir", str(tmp_path),
                           "--trainer.logger", "false"], run=False)
    assert cli.model.hparams.in_chans == cli.datamodule.num_channels
    if hasattr(cli.model, "frames_used") and cli.model.frames_used:
        assert cli.datamodule.clip_length >= cli.model.frames_used


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict[str, float]]:
    """A ResNetFusion fitted for 4 epochs through the CLI on small synthetic faces (40 subjects, 48x48).

    Fewer subjects do not generalise to the held-out ones: the validation loss is only a fair
    test of learning when the model has seen enough identities.
    """
    root = tmp_path_factory.mktemp("cli")
    data = ["--data.n_subjects", "40", "--data.clips_per_subject", "1", "--data.frames_per_clip", "12",
            "--data.image_size", "48", "--data.emotion_clips_per_emotion", "1", "--data.val_fraction", "0.25",
            "--data.test_fraction", "0.0", "--data.batch_size", "8", "--data.stride", "2"]
    args = ["--config", str(Path(__file__).resolve().parents[1] / "configs" / "synthetic_resnet18_fusion.yaml"),
            "--data.cache_dir", str(root / "cache"), *data, "--model.backbone", "test_resnet",
            "--model.lr", "0.0005", "--model.loss", "mse", "--trainer.max_epochs", "4", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(root), "--save_pretrained.dirpath", str(root / "model")]
    cli = NeurovaCLI(args=args, run=False)
    before = cli.trainer.validate(cli.model, datamodule=cli.datamodule, verbose=False)[0]["val/loss"]
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    after = cli.trainer.validate(cli.model, datamodule=cli.datamodule, ckpt_path="best", verbose=False)[0]
    return root, root / "model", {"before": before, "after": after["val/loss"]}


def test_fit_lowers_the_validation_loss_and_saves_the_model(trained):
    _, model_dir, losses = trained
    assert losses["after"] < losses["before"]
    model = from_pretrained(model_dir)
    assert model.input_contract is not None and model.input_contract.image_size == 48
    assert (model_dir / "README.md").is_file()


def test_fit_subcommand_runs_from_main(tmp_path):
    config = Path(__file__).resolve().parents[1] / "configs" / "synthetic_resnet18.yaml"
    code = main(["fit", "--config", str(config), "--data.cache_dir", str(tmp_path / "cache"), *TINY_DATA,
                 "--model.backbone", "test_resnet", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar",
                 "false", "--trainer.default_root_dir", str(tmp_path), "--save_pretrained.dirpath",
                 str(tmp_path / "model")])
    assert code == 0
    assert from_pretrained(tmp_path / "model").hparams.in_chans == 1


def test_models_lists_the_registry(capsys):
    assert main(["models", "resnet18*"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == list_models("resnet18*") and "resnet18_fusion" in printed


def test_encode_writes_tbr_frames(tmp_path):
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 200_000, 5000))
    events = make_events(rng.integers(0, 40, 5000), rng.integers(0, 30, 5000), t, rng.integers(0, 2, 5000))
    source = write_events(tmp_path / "rec.h5", events, (40, 30))
    assert main(["encode", str(source), "-o", str(tmp_path / "frames.npz"), "--n-bits", "4"]) == 0
    frames = np.load(tmp_path / "frames.npz")["frames"]
    assert frames.shape[1:] == (1, 30, 40) and frames.max() <= 1 and frames.max() > 0


def test_predict_file_and_zero_shot_with_the_trained_model(trained, tmp_path, capsys):
    root, model_dir, _ = trained
    rng = np.random.default_rng(1)
    n = 20_000
    t = np.sort(rng.integers(0, 600_000, n))
    events = make_events(rng.integers(0, 48, n), rng.integers(0, 40, n), t, rng.integers(0, 2, n))
    source = write_events(tmp_path / "rec.h5", events, (48, 40))
    out = tmp_path / "pred.csv"
    assert main(["predict-file", str(source), "--model", str(model_dir), "-o", str(out),
                 "--plot", str(tmp_path / "pred.png")]) == 0
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"valence", "arousal", "emotion"} <= set(rows[0])
    assert (tmp_path / "pred.png").stat().st_size > 0

    capsys.readouterr()
    code = main(["zero-shot", "--model", str(model_dir), "--data", "synthetic", "--root", str(root / "zs"),
                 "--plot-dir", str(tmp_path / "figs")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "chance" in printed
    assert (tmp_path / "figs" / "confusion_matrix.png").is_file()


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    (tmp_path / "broken.h5").write_bytes(b"not hdf5 at all")
    assert main(["encode", str(tmp_path / "broken.h5"), "-o", str(tmp_path / "x.npz")]) == 2
    assert "broken.h5" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_simulate_writes_events_of_a_frame_folder(tmp_path):
    import torch
    from torchvision.io import write_png

    from neurova.io import read_recording

    (tmp_path / "clip").mkdir()
    for i in range(6):
        frame = torch.full((1, 24, 32), 30, dtype=torch.uint8)
        frame[0, 6:18, 4 + 3 * i : 12 + 3 * i] = 200  # a bright square moving right
        write_png(frame, str(tmp_path / "clip" / f"{i:05d}.png"))
    out = tmp_path / "clip.h5"
    assert main(["simulate", str(tmp_path / "clip"), "-o", str(out), "--fps", "25", "--quiet"]) == 0
    recording = read_recording(out)
    assert tuple(recording.sensor_size) == (32, 24)
    assert len(recording.events) > 0 and recording.events["p"].any() and (~recording.events["p"]).any()
    assert recording.events["t"].max() <= 5 * 40_000


def test_zero_shot_on_a_nefer_tree(trained, tmp_path, capsys, monkeypatch):
    import runpy

    make_nefer = runpy.run_path(str(Path(__file__).parent / "data" / "nefer" / "data.py"))["make_nefer"]
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
