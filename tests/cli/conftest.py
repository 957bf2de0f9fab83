"""Models the command-line tests share, each built once for ``tests/cli``: one fitted through the CLI, and a tiny
model saved with two sets of training-input statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurova.cli.lightning import NeurovaCLI
from neurova.events import make_events
from neurova.io import write_events
from tests.helpers.paths import REPO

CHECK_CONTRACT = {"encoding": "tbr", "n_bits": 4, "bin_us": 5000, "channels": 1, "image_size": 16, "clip_length": 2,
                  "frame_interval_us": 20_000, "face_crop": "box"}
"""The input recipe of the tiny model of ``check_setup``."""


@pytest.fixture(scope="package")
def trained(tmp_path_factory) -> tuple[Path, Path, dict[str, float]]:
    """A ResNetFusion fitted for 4 epochs through the CLI on small synthetic faces (40 subjects, 32x32 crops).

    Fewer subjects do not generalise to the held-out ones: the validation loss is only a fair
    test of learning when the model has seen enough identities.
    """
    root = tmp_path_factory.mktemp("cli")
    data = ["--data.n_subjects", "40", "--data.clips_per_subject", "1", "--data.frames_per_clip", "12",
            "--data.image_size", "32", "--data.emotion_clips_per_emotion", "1", "--data.val_fraction", "0.25",
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


def blob_recording(path: Path, seed: int = 0, n: int = 6000) -> Path:
    """Events of a blob in the middle of a 64x48 sensor over 0.3 s."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 300_000, n))
    x = np.clip(np.rint(32 + rng.normal(0, 6, n)), 0, 63)
    y = np.clip(np.rint(24 + rng.normal(0, 6, n)), 0, 47)
    return write_events(path, make_events(x, y, t, rng.integers(0, 2, n)), (64, 48))


@pytest.fixture(scope="package")
def check_setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tiny model saved twice: with its own recording's input statistics, and with 3x denser training inputs."""
    from neurova.domain import input_stats
    from neurova.inference import predict
    from neurova.models import create_model

    root = tmp_path_factory.mktemp("check")
    source = blob_recording(root / "rec.h5")
    model = create_model("resnet18", backbone="test_resnet", input_contract=CHECK_CONTRACT)
    model.input_stats = predict(model, source).input_stats
    model.save_pretrained(root / "matching")
    denser = np.zeros((8, 2, 1, 16, 16), np.float32)
    denser.reshape(8, -1)[:, : round(3 * model.input_stats.nonzero_fraction * 512)] = model.input_stats.nonzero_median
    model.input_stats = input_stats(denser)
    model.save_pretrained(root / "denser")
    return source, root / "matching", root / "denser"
