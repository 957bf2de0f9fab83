"""Fine-tuning on a user's own labelled event files: the dataset and the example script that uses it."""

from __future__ import annotations

import csv
import dataclasses
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurova.contract import InputContract
from neurova.datasets import LabelledEventFiles, read_label_csv
from neurova.errors import AnnotationError, DatasetNotFoundError
from neurova.events import make_events
from neurova.io import write_events
from neurova.models import ResNetFusion, from_pretrained
from neurova.transforms import ToTBR

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "finetune_own_events.py"
CONTRACT = InputContract(n_bits=4, bin_us=5000, image_size=16, clip_length=2, frame_interval_us=20_000)
SENSOR = (24, 16)


def blob_events(seed: int, n: int = 3000, duration_us: int = 400_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, duration_us, n))
    x = np.clip(np.rint(12 + 6 * np.sin(t / 5e4 + seed) + rng.normal(0, 2, n)), 0, SENSOR[0] - 1)
    y = np.clip(np.rint(8 + rng.normal(0, 2, n)), 0, SENSOR[1] - 1)
    return make_events(x, y, t, rng.integers(0, 2, n))


@pytest.fixture()
def recordings(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "events"
    rows = []
    for i in range(4):
        name = f"subject{i}_take.h5"
        write_events(folder / name, blob_events(i), SENSOR)
        for t in (100_000, 200_000, 300_000):
            rows.append({"file": name, "t_us": t, "valence": round(np.sin(i + t / 1e5) * 0.8, 3),
                         "arousal": round(np.cos(i) * 0.5, 3), "subject": f"s{i}"})
    labels = folder / "labels.csv"
    with open(labels, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder, labels


def test_dataset_encodes_the_contract_at_the_labelled_time(recordings):
    folder, labels = recordings
    dataset = LabelledEventFiles(folder, labels, CONTRACT)
    assert len(dataset) == 12
    sample = dataset[1]
    assert sample["frames"].shape == (2, 1, 16, 16)
    assert sample["meta"]["timestamps_us"].tolist() == [180_000, 200_000]
    assert torch.isnan(sample["va"][0]).all() and torch.isfinite(sample["va"][1]).all()
    # the centred 16x16 box of the 24x16 sensor, encoded directly: no resize needed
    events = blob_events(0)
    box = events[(events["x"] >= 4) & (events["x"] < 20)]
    box["x"] -= 4
    expected = ToTBR((16, 16), n_bits=4, bin_us=5000)(box, ends_us=np.array([180_000, 200_000]))
    np.testing.assert_array_equal(sample["frames"].numpy(), expected)


def test_h5_recordings_are_read_window_by_window(recordings, monkeypatch):
    """An .h5 recording is never read whole (only each sample's window), and gives the samples the same recording
    read whole from another format gives."""
    import neurova.datasets.event_files as event_files
    from neurova.io import read_events

    folder, labels = recordings
    rows = read_label_csv(labels)
    for name in {row.file for row in rows}:
        write_events(folder / name.replace(".h5", ".npz"), read_events(folder / name), SENSOR)
    whole = LabelledEventFiles(folder, [dataclasses.replace(row, file=row.file.replace(".h5", ".npz")) for row in rows],
                               CONTRACT)
    expected = [whole[i]["frames"] for i in range(len(whole))]
    monkeypatch.setattr(event_files, "read_recording", lambda path: pytest.fail(f"{path} was read whole"))
    windowed = LabelledEventFiles(folder, labels, CONTRACT)
    for i, frames in enumerate(expected):
        assert torch.equal(windowed[i]["frames"], frames)
    late = [dataclasses.replace(rows[0], t_us=5_000_000)]  # after the recording's last event
    with pytest.raises(AnnotationError, match=r"lie in \[\d+, \d+\] µs"):
        LabelledEventFiles(folder, late, CONTRACT)[0]


def test_box_jitter_moves_each_samples_box_before_the_crop(recordings):
    folder, labels = recordings
    plain = LabelledEventFiles(folder, labels, CONTRACT)
    jittered = LabelledEventFiles(folder, labels, CONTRACT, box_jitter=(0.2, 0.3))
    torch.manual_seed(0)
    first, again = jittered[1]["frames"], jittered[1]["frames"]
    assert not torch.equal(first, plain[1]["frames"]) and not torch.equal(first, again)  # a new box every call
    assert torch.equal(LabelledEventFiles(folder, labels, CONTRACT, box_jitter=(0.0, 0.0))[1]["frames"],
                       plain[1]["frames"])
    with pytest.raises(ValueError, match="shift and scale"):
        LabelledEventFiles(folder, labels, CONTRACT, box_jitter=(0.1, -0.1))


def test_label_csv_errors_name_the_file(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("file,t_us,valence\nx.h5,1,0.1\n")
    with pytest.raises(AnnotationError, match=r"labels\.csv.*arousal"):
        read_label_csv(bad)
    bad.write_text("file,t_us,valence,arousal\nx.h5,1,0.1,1.5\n")
    with pytest.raises(AnnotationError, match="line 2"):
        read_label_csv(bad)
    bad.write_text("file,t_us,valence,arousal\nmissing.h5,1,0.1,0.5\n")
    with pytest.raises(DatasetNotFoundError, match=r"missing\.h5"):
        LabelledEventFiles(tmp_path, bad, CONTRACT)


def test_example_finetunes_a_saved_model(recordings, tmp_path, monkeypatch):
    folder, labels = recordings
    torch.manual_seed(0)
    model = ResNetFusion(in_chans=1, backbone="test_resnet", num_frames=2, input_contract=CONTRACT.to_dict())
    base = model.save_pretrained(tmp_path / "base")
    out = tmp_path / "finetuned"
    argv = ["finetune_own_events.py", "--model", str(base), "--events", str(folder), "--labels", str(labels),
            "--out", str(out), "--epochs", "2", "--batch-size", "4", "--val-fraction", "0.25",
            "--box-jitter", "0.04,0.09"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    tuned = from_pretrained(out)
    assert tuned.input_contract == CONTRACT
    before = from_pretrained(base).state_dict()
    changed = [k for k, v in tuned.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, "fine-tuning changed no weight"


def _fit_steps(model: torch.nn.Module, steps: int = 3) -> dict[str, bool]:
    """Fit ``steps`` batches; return, per module name, whether it was in training mode at the first batch."""
    import lightning as L
    from torch.utils.data import DataLoader

    modes: dict[str, bool] = {}

    class RecordModes(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
            if batch_idx == 0:
                modes.update((name, m.training) for name, m in pl_module.named_modules())

    generator = torch.Generator().manual_seed(0)
    batches = [{"frames": torch.rand(4, 1, 1, 32, 32, generator=generator),
                "va": torch.rand(4, 1, 2, generator=generator) * 2 - 1, "meta": {}} for _ in range(steps)]
    trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", callbacks=[RecordModes()])
    trainer.fit(model, DataLoader(batches, batch_size=None))
    return modes


@pytest.mark.parametrize("freeze_backbone", [False, True])
def test_loaded_model_trains_in_training_mode(tmp_path: Path, freeze_backbone: bool) -> None:
    """A model from ``from_pretrained`` (eval mode) fits in training mode and updates BatchNorm statistics and
    weights, unless ``freeze_backbone`` (the only way to freeze) keeps the trunk in eval mode."""
    from neurova.models import create_model

    create_model("resnet18", in_chans=1).save_pretrained(tmp_path / "model")
    model = from_pretrained(tmp_path / "model")
    assert not model.training
    model.hparams["freeze_backbone"] = freeze_backbone
    bn = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    stats, weight = bn.running_mean.clone(), bn.weight.detach().clone()
    head = [p.detach().clone() for n, p in model.named_parameters() if not n.startswith("net.trunk")]
    modes = _fit_steps(model)
    trunk = {name: training for name, training in modes.items() if name.startswith("net.trunk")}
    assert trunk and set(trunk.values()) == {not freeze_backbone}  # every BatchNorm of the trunk, not just one
    assert all(training for name, training in modes.items() if name not in trunk)  # the head always trains
    assert torch.equal(stats, bn.running_mean) == freeze_backbone
    assert torch.equal(weight, bn.weight.detach()) == freeze_backbone
    after = [p.detach() for n, p in model.named_parameters() if not n.startswith("net.trunk")]
    assert any(not torch.equal(a, b) for a, b in zip(head, after))
