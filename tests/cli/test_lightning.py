"""The ``neurova`` command: LightningCLI configs and the plain subcommands, end to end on tiny data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from neurova.cli import main
from neurova.cli.lightning import NeurovaCLI
from neurova.events import make_events
from neurova.io import write_events
from neurova.models import from_pretrained, list_models
from tests.data.nefer.data import make_nefer
from tests.helpers.events import random_events
from tests.helpers.paths import REPO

CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
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
    args = ["--config", str(REPO / "configs" / "synthetic_resnet18_fusion.yaml"),
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
    config = REPO / "configs" / "synthetic_resnet18.yaml"
    code = main(["fit", "--config", str(config), "--data.cache_dir", str(tmp_path / "cache"), *TINY_DATA,
                 "--model.backbone", "test_resnet", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar",
                 "false", "--trainer.default_root_dir", str(tmp_path), "--save_pretrained.dirpath",
                 str(tmp_path / "model")])
    assert code == 0
    assert from_pretrained(tmp_path / "model").hparams.in_chans == 1


def test_models_lists_the_registry(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROVA_HOME", str(tmp_path))  # no saved models listed after the registry
    assert main(["models", "resnet18*"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == list_models("resnet18*") and "resnet18_fusion" in printed


def test_encode_writes_tbr_frames(tmp_path):
    events = random_events(5000, (40, 30), t0=0, span_us=200_000)
    source = write_events(tmp_path / "rec.h5", events, (40, 30))
    assert main(["encode", str(source), "-o", str(tmp_path / "frames.npz"), "--n-bits", "4"]) == 0
    frames = np.load(tmp_path / "frames.npz")["frames"]
    assert frames.shape[1:] == (1, 30, 40) and frames.max() <= 1 and frames.max() > 0


def test_predict_and_zero_shot_with_the_trained_model(trained, tmp_path, capsys):
    root, model_dir, _ = trained
    events = random_events(20_000, (48, 40), seed=1, t0=0, span_us=600_000)
    source = write_events(tmp_path / "rec.h5", events, (48, 40))
    out = tmp_path / "pred.csv"
    assert main(["predict", str(source), "--model", str(model_dir), "-o", str(out),
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


def test_checkpoint_file_names_have_no_metric_folders(trained):
    root, _, _ = trained
    checkpoints = sorted(root.rglob("*.ckpt"))
    assert checkpoints and all(p.parent.name == "checkpoints" for p in checkpoints)
    assert all(p.name.startswith("epoch") and "ccc_mean" in p.name for p in checkpoints)


def test_lightning_predict_writes_a_csv_and_says_where(trained, tmp_path, capsys):
    root, _, _ = trained
    checkpoint = sorted(root.rglob("*.ckpt"))[0]
    out = tmp_path / "predictions.csv"
    capsys.readouterr()
    code = main(["predict-dataset", "--config", str(CONFIGS[0].parent / "synthetic_resnet18_fusion.yaml"),
                 "--data", "SyntheticFacesDataModule",  # a datamodule by its short class name
                 "--data.cache_dir", str(tmp_path / "cache"), *TINY_DATA[:-4], "--data.test_fraction", "0.34",
                 "--data.batch_size", "8", "--model.backbone", "test_resnet", "--trainer.enable_progress_bar", "false",
                 "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", str(checkpoint),
                 "--predictions.path", str(out)])
    assert code == 0
    assert f"predictions -> {out}" in capsys.readouterr().out
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"clip_id", "subject", "timestamp_us", "valence", "arousal"}
    assert all(-1 <= float(r["valence"]) <= 1 and int(r["timestamp_us"]) > 0 for r in rows)


def test_fast_dev_run_leaves_the_exported_model_alone(tmp_path, capsys):
    from neurova.models import create_model

    model_dir = create_model("resnet18", backbone="test_resnet").save_pretrained(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    config = CONFIGS[0].parent / "synthetic_resnet18.yaml"
    assert main(["fit", "--config", str(config), "--data.cache_dir", str(tmp_path / "cache"), *TINY_DATA,
                 "--model.backbone", "test_resnet", "--trainer.fast_dev_run", "true", "--trainer.enable_progress_bar",
                 "false", "--trainer.default_root_dir", str(tmp_path), "--save_pretrained.dirpath",
                 str(model_dir)]) == 0
    assert "fast_dev_run: no model exported" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before


def test_console_script_gives_lightning_no_args_warning(monkeypatch, capsys):
    import sys
    import warnings

    monkeypatch.setattr(sys, "argv", ["neurova", "fit", "--config", str(CONFIGS[0]), "--print_config"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SystemExit) as exit_:
            main()
    assert exit_.value.code in (0, None) and "class_path" in capsys.readouterr().out
    assert not [w for w in caught if "args parameter" in str(w.message)]


def test_console_script_runs_lightning_predict_as_predict_dataset(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys, "argv", ["neurova", "predict-dataset", "--config", str(CONFIGS[0]), "--print_config"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code in (0, None) and "class_path" in capsys.readouterr().out
    assert sys.argv[1] == "predict-dataset"  # the words LightningCLI read are put back


def test_predict_with_lightning_options_is_the_former_predict_loop(capsys):
    with pytest.warns(FutureWarning, match="predict-dataset"), pytest.raises(SystemExit) as exit_:
        main(["predict", "--config", str(CONFIGS[0]), "--print_config"])
    assert exit_.value.code in (0, None) and "ckpt_path" in capsys.readouterr().out  # Lightning's predict options


def test_command_names_do_not_collide():
    from neurova.cli import LIGHTNING_COMMANDS, build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(LIGHTNING_COMMANDS) <= set(commands)
    assert "predict" in commands and "predict" not in LIGHTNING_COMMANDS  # neurova predict = neurova.predict
    assert LIGHTNING_COMMANDS["predict-dataset"] == "predict"


def test_former_names_still_work_with_a_warning():
    import neurova.training

    with pytest.warns(DeprecationWarning, match=r"neurova\.cli\.lightning\.NeurovaCLI"):
        assert neurova.training.NeurovaCLI is NeurovaCLI
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        neurova.training.Nothing  # noqa: B018


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


# -- the domain check, predict's face flags, and what models need -----------------------------------------------

CHECK_CONTRACT = {"encoding": "tbr", "n_bits": 4, "bin_us": 5000, "channels": 1, "image_size": 16, "clip_length": 2,
                  "frame_interval_us": 20_000, "face_crop": "box"}


def _blob_recording(path: Path, seed: int = 0, n: int = 6000) -> Path:
    """Events of a blob in the middle of a 64x48 sensor over 0.3 s."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 300_000, n))
    x = np.clip(np.rint(32 + rng.normal(0, 6, n)), 0, 63)
    y = np.clip(np.rint(24 + rng.normal(0, 6, n)), 0, 47)
    return write_events(path, make_events(x, y, t, rng.integers(0, 2, n)), (64, 48))


@pytest.fixture(scope="module")
def check_setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tiny model saved twice: with its own recording's input statistics, and with 3x denser training inputs."""
    from neurova.domain import input_stats
    from neurova.inference import predict
    from neurova.models import create_model

    root = tmp_path_factory.mktemp("check")
    source = _blob_recording(root / "rec.h5")
    model = create_model("resnet18", backbone="test_resnet", input_contract=CHECK_CONTRACT)
    model.input_stats = predict(model, source).input_stats
    model.save_pretrained(root / "matching")
    denser = np.zeros((8, 2, 1, 16, 16), np.float32)
    denser.reshape(8, -1)[:, : round(3 * model.input_stats.nonzero_fraction * 512)] = model.input_stats.nonzero_median
    model.input_stats = input_stats(denser)
    model.save_pretrained(root / "denser")
    return source, root / "matching", root / "denser"


def test_check_prints_the_comparison_and_writes_the_figure(check_setup, tmp_path, capsys):
    source, matching, denser = check_setup
    capsys.readouterr()
    assert main(["check", str(source), "--model", str(matching), "--plot", str(tmp_path / "ok.png")]) == 0
    printed = capsys.readouterr().out
    assert "non-zero pixels" in printed and "1.00x" in printed and "within the training range" in printed
    assert "minimum recording length 40 ms" in printed and "face box (x0, y0, w, h) (8, 0, 48, 48)" in printed
    assert (tmp_path / "ok.png").stat().st_size > 0

    assert main(["check", str(source), "--model", str(denser), "--plot", str(tmp_path / "bad.png")]) == 1
    printed = capsys.readouterr().out
    assert "OUT OF RANGE" in printed and "0.33x" in printed and "OUTSIDE" in printed
    assert (tmp_path / "bad.png").stat().st_size > 0
    with pytest.raises(SystemExit):
        main(["check", str(source), "--model", str(denser), "--tolerance", "1"])


def test_predict_warns_about_inputs_outside_the_training_range(check_setup, tmp_path):
    from neurova.domain import DomainWarning

    source, matching, denser = check_setup
    with pytest.warns(DomainWarning, match=r"rec\.h5: .*non-zero pixels .* \(0\.33x\)"):
        assert main(["predict", str(source), "--model", str(denser), "-o", str(tmp_path / "p.csv")]) == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DomainWarning)
        assert main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "p.csv")]) == 0


def test_predict_face_box_stream_and_detection_flags(check_setup, tmp_path):
    source, matching, _ = check_setup

    def rows(*flags: str) -> list[dict[str, str]]:
        out = tmp_path / "pred.csv"
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out), *flags]) == 0
        with open(out) as fh:
            return list(csv.DictReader(fh))

    whole = rows()
    assert {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in whole} == {("8", "0", "48", "48")}
    boxed = rows("--face-box", "20,10,24,24")
    assert {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in boxed} == {("20", "10", "24", "24")}
    assert [r["valence"] for r in boxed] != [r["valence"] for r in whole]
    streamed = rows("--stream")
    assert [r["valence"] for r in streamed] == [r["valence"] for r in whole]
    assert "latency_ms" in streamed[0]
    for bad in ("1,2,3", "0,0,0,10", "a,b,c,d", "0,0,nan,5"):
        with pytest.raises(SystemExit):
            main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "x.csv"),
                  "--face-box", bad])


def test_predict_file_is_a_deprecated_alias_of_predict(check_setup, tmp_path):
    source, matching, _ = check_setup
    assert main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "new.csv")]) == 0
    with pytest.warns(FutureWarning, match="use 'neurova predict'"):
        assert main(["predict-file", str(source), "--model", str(matching), "-o", str(tmp_path / "old.csv")]) == 0
    assert (tmp_path / "old.csv").read_text() == (tmp_path / "new.csv").read_text()


@pytest.mark.parametrize("detector", ["auto", "haar"])
def test_predict_detect_face_falls_back_with_a_warning(check_setup, tmp_path, detector):
    pytest.importorskip("cv2")
    source, matching, _ = check_setup
    out = tmp_path / "pred.csv"
    with pytest.warns(UserWarning, match="face"):  # a blob is no face: the fallback box, with a warning
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out),
                     "--detect-face", detector, "--face-box", "20,10,24,24"]) == 0
    with open(out) as fh:
        boxes = {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in csv.DictReader(fh)}
    assert boxes == {("20", "10", "24", "24")}  # the given box is the fallback


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
