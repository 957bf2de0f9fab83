"""neurova.cli.lightning: every config builds, `neurova fit` learns, `neurova predict-dataset`, the console script."""

from __future__ import annotations

import csv

import pytest

from neurova.cli import main
from neurova.cli.lightning import NeurovaCLI
from neurova.models import from_pretrained
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


def test_fit_lowers_the_validation_loss_and_saves_the_model(trained):
    _, model_dir, losses = trained
    assert losses["after"] < losses["before"]
    model = from_pretrained(model_dir)
    assert model.input_contract is not None and model.input_contract.image_size == 32
    assert (model_dir / "README.md").is_file()


def test_fit_subcommand_runs_from_main(tmp_path):
    config = REPO / "configs" / "synthetic_resnet18.yaml"
    code = main(["fit", "--config", str(config), "--data.cache_dir", str(tmp_path / "cache"), *TINY_DATA,
                 "--model.backbone", "test_resnet", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar",
                 "false", "--trainer.default_root_dir", str(tmp_path), "--save_pretrained.dirpath",
                 str(tmp_path / "model")])
    assert code == 0
    assert from_pretrained(tmp_path / "model").hparams.in_chans == 1


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


def test_train_phases_reach_the_datamodule_from_the_command_line(capsys):
    config = next(c for c in CONFIGS if c.name == "synthetic_tiny_cnn_fusion.yaml")
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(config), "--data.train_phases_us", "[0, 20000]", "--print_config"])
    assert exit_.value.code in (0, None)
    assert "train_phases_us:\n    - 0\n    - 20000" in capsys.readouterr().out
