"""neurova.zero_shot.evaluate: scoring predictions, running frame and video models over clips, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neurova.emotions import EKMAN7, EKMAN7_NAMES
from neurova.zero_shot import LABEL_SETS, ZeroShotEvaluator, evaluate_predictions, run_zero_shot_report
from neurova.zero_shot.evaluate import model_frames
from tests.data.nefer.data import make_nefer


def _clip_at(name: str, scale: float = 1.0) -> list[float]:
    return [EKMAN7[name][0] * scale, EKMAN7[name][1] * scale]


def test_evaluate_predictions_report_and_baselines():
    names = ["Anger", "Anger", "Anger", "Contempt", "Contempt", "Disgust"]
    preds = ["Anger", "Anger", "Contempt", "Contempt", "Disgust", "Disgust"]
    va = np.array([_clip_at(n) for n in preds])
    labels = [EKMAN7_NAMES.index(n) for n in names]
    report = evaluate_predictions(va, labels, class_names=EKMAN7_NAMES[:3], emotions={k: EKMAN7[k] for k in EKMAN7_NAMES[:3]})
    np.testing.assert_array_equal(report.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert report.macro_f1 == pytest.approx((4 / 5 + 2 / 4 + 2 / 3) / 3)
    assert report.majority_class == "Anger"
    assert report.majority == pytest.approx({"accuracy": 0.5, "balanced_accuracy": 1 / 3,
                                             "macro_f1": (2 * 3 / (3 + 6)) / 3})
    prevalence = np.array([3, 2, 1]) / 6
    assert report.chance == pytest.approx({"accuracy": 1 / 3, "balanced_accuracy": 1 / 3,
                                           "macro_f1": float(np.mean(2 * prevalence / (3 * prevalence + 1)))})
    text = str(report)
    assert "chance" in text and "majority" in text and "Anger" in text
    assert "0.667" in text and "0.333" in text and "0.500" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_samples"] == 6 and data["confusion"][0] == [2, 1, 0]
    assert [c["predicted"] for c in data["clips"]] == preds


def test_chance_macro_f1_matches_simulated_uniform_guessing():
    rng = np.random.default_rng(0)
    true = rng.choice(4, size=20_000, p=[0.55, 0.25, 0.15, 0.05])
    va = np.array([_clip_at(EKMAN7_NAMES[i]) for i in rng.integers(0, 4, len(true))])
    table = {k: EKMAN7[k] for k in EKMAN7_NAMES[:4]}
    report = evaluate_predictions(va, true, class_names=EKMAN7_NAMES[:4], emotions=table)
    assert report.accuracy == pytest.approx(report.chance["accuracy"], abs=0.01)
    assert report.macro_f1 == pytest.approx(report.chance["macro_f1"], abs=0.01)


def test_evaluate_predictions_frames_labels_and_neutral():
    clips = [np.array([_clip_at("Happiness")] * 3), np.array([_clip_at("Sadness", 0.05)] * 5),
             np.array([_clip_at("Fear")] * 2)]
    labels = np.array([EKMAN7_NAMES.index("Happiness"), 7, -1])  # the last clip is unlabelled
    report = evaluate_predictions(clips, labels, class_names=LABEL_SETS["reported"], neutral_radius=0.1,
                                  neutral_label="None", clip_ids=["a", "b", "c"])
    assert report.clip_ids == ["a", "b"] and report.predicted == ["Happiness", "None"]
    assert report.accuracy == 1.0 and report.class_names == LABEL_SETS["reported"]
    extra = evaluate_predictions(clips[:2], ["Happiness", "Sadness"], neutral_radius=0.1)
    assert extra.class_names == (*EKMAN7_NAMES, "Neutral") and extra.predicted == ["Happiness", "Neutral"]
    assert extra.confusion.shape == (8, 8) and extra.n_label_classes == 7
    assert extra.chance["accuracy"] == pytest.approx(1 / 7)


def test_evaluate_predictions_errors():
    with pytest.raises(ValueError, match="clip 'x'"):
        evaluate_predictions([np.array([[0.1, np.nan]])], [0], clip_ids=["x"])
    with pytest.raises(ValueError, match="2 predictions but 1 labels"):
        evaluate_predictions(np.zeros((2, 2)), [0])
    with pytest.raises(ValueError, match="no labelled clip"):
        evaluate_predictions(np.zeros((1, 2)), [-1])
    with pytest.raises(ValueError, match="out of range"):
        evaluate_predictions(np.zeros((1, 2)), [9])


def _batches(clip_emotions, clip_labels, t=4, batch_size=2):
    """Batches of (T, 1, 2, 2) clips whose pixel (0, 0..1) of every frame holds the clip's emotion point."""
    frames = torch.zeros(len(clip_emotions), t, 1, 2, 2)
    for i, name in enumerate(clip_emotions):
        frames[i, :, 0, 0, :] = torch.tensor(EKMAN7[name])
    out = []
    for s in range(0, len(clip_emotions), batch_size):
        out.append({"frames": frames[s : s + batch_size], "label": torch.tensor(clip_labels[s : s + batch_size]),
                    "meta": {"clip_id": [f"clip{i}" for i in range(s, min(s + batch_size, len(clip_emotions)))]}})
    return out


class PixelModel(torch.nn.Module):
    """Frame model: VA = pixels (0, 0) and (0, 1) of the last of its ``frames_used`` frames."""

    frames_used = 2

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape))
        return x[:, -1, 0, 0, :2]


class PixelVideoModel(torch.nn.Module):
    predicts_sequence = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 0, 0, :2]



def test_evaluator_runs_a_fusion_models_trunk_once_per_frame():
    from neurova.models import create_model

    torch.manual_seed(0)
    model = create_model("tiny_cnn_fusion").eval()  # fuses its last 4 frames
    frames = torch.rand(2, 7, 1, 32, 32)
    trunk_frames: list[int] = []
    hook = model.net.trunk.register_forward_hook(lambda module, args, out: trunk_frames.append(len(args[0])))
    with torch.inference_mode():
        out = ZeroShotEvaluator(model, max_windows=2).predict_batch(frames)
        hook.remove()
        expected = torch.stack([torch.stack([model(frames[b : b + 1, i : i + 4])[0] for i in range(4)])
                                for b in range(2)])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    assert trunk_frames == [8, 6]  # the 14 frames, 2 windows' worth (8 frames) at a time, each once (not 32)

def test_evaluator_slides_frame_models_and_pools_clips():
    model = PixelModel()
    batches = _batches(["Anger", "Fear", "Sadness"], [0, 3, 0])
    evaluator = ZeroShotEvaluator(model, max_windows=4)
    assert tuple(evaluator.predict_batch(batches[0]["frames"]).shape) == (2, 3, 2)
    model.calls.clear()
    ids, va, labels = evaluator.predict_clips(batches)
    assert [int(x) for x in labels] == [0, 3, 0]
    assert ids == ["clip0", "clip1", "clip2"] and [len(x) for x in va] == [3, 3, 3]
    assert max(c[0] for c in model.calls) <= 4 and all(c[1] == 2 for c in model.calls)
    report = evaluator.evaluate(batches)
    assert report.predicted == ["Anger", "Fear", "Sadness"] and report.accuracy == pytest.approx(2 / 3)
    # two samples of the same clip are pooled
    twice = _batches(["Happiness", "Happiness"], [4, 4])
    twice[0]["meta"]["clip_id"] = ["same", "same"]
    assert evaluator.evaluate(twice).n_samples == 1


def test_model_frames_reads_the_model_conventions():
    class FrameUser(torch.nn.Module):
        frames_used = 3

    assert model_frames(PixelModel()) == (False, 2)
    assert model_frames(FrameUser()) == (False, 3)
    assert model_frames(PixelVideoModel()) == (True, None)
    assert model_frames(torch.nn.Identity()) == (False, 1)
    assert model_frames(torch.nn.Linear(2, 2)) == (False, 1)


def test_evaluator_video_model_and_nan_output():
    batches = _batches(["Surprise", "Happiness"], [6, 4])
    evaluator = ZeroShotEvaluator(PixelVideoModel())
    _, va, _ = evaluator.predict_clips(batches)
    assert [v.shape for v in va] == [(4, 2), (4, 2)]
    assert evaluator.evaluate(batches).accuracy == 1.0
    batches[0]["frames"][0, 1, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"NaN.*clip0"):
        evaluator.evaluate(batches)


@pytest.mark.parametrize("name", ["resnet18_fusion", "resnet18_gru"])
def test_evaluator_runs_registry_models(name):
    from neurova.models import create_model

    torch.manual_seed(0)
    extra = {"num_frames": 2} if name.endswith("fusion") else {"hidden_size": 8}
    model = create_model(name, backbone="test_resnet", in_chans=1, **extra)
    frames = torch.rand(3, 4, 1, 16, 16)
    batches = [{"frames": frames, "label": torch.tensor([0, 4, 5]), "meta": {"clip_id": ["a", "b", "c"]}}]
    evaluator = ZeroShotEvaluator(model)
    _, va, _ = evaluator.predict_clips(batches)
    assert [v.shape for v in va] == [(3, 2) if name.endswith("fusion") else (4, 2)] * 3
    report = evaluator.evaluate(batches)
    assert report.n_samples == 3 and set(report.predicted) <= set(EKMAN7_NAMES)
    assert model.training  # the evaluator restores the mode it found


class TinyDataModule:
    def __init__(self, batches, label_set="expected"):
        self.batches, self.label_set, self.calls = batches, label_set, []

    def prepare_data(self):
        self.calls.append("prepare")

    def setup(self, stage):
        self.calls.append(stage)

    def test_dataloader(self):
        return self.batches

    def val_dataloader(self):
        return self.batches[:1]


def test_run_zero_shot_report_with_datamodule_and_figures(tmp_path):
    dm = TinyDataModule(_batches(["Anger", "Disgust", "Sadness"], [0, 2, 7], t=3), label_set="reported")
    report = run_zero_shot_report(PixelModel(), dm, plot_dir=tmp_path)
    assert dm.calls == ["prepare", "test"]
    assert report.settings["label_set"] == "reported" and report.n_label_classes == 8
    assert report.true == ["Anger", "Disgust", "None"]
    assert {p.name for p in tmp_path.iterdir()} == {"zero_shot_report.json", "confusion_matrix.png", "va_wheel.png"}
    assert json.loads((tmp_path / "zero_shot_report.json").read_text())["n_samples"] == 3
    val = run_zero_shot_report(PixelModel(), dm, label_set="expected", split="val")
    assert dm.calls[-1] == "validate" and val.n_samples == 2
    with pytest.raises(ValueError, match="label_set"):
        run_zero_shot_report(PixelModel(), dm, label_set="felt")


def test_zero_shot_on_a_miniature_nefer_end_to_end(tmp_path):

    from neurova.datamodules import NEFERDataModule
    from neurova.models import create_model

    root = make_nefer(tmp_path / "NEFER", train_users=("user_01",), validation_users=("user_03",), clips_per_user=3,
                      size=16)
    dm = NEFERDataModule(root, label_set="reported", image_size=16, batch_size=2)
    torch.manual_seed(0)
    model = create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)
    report = run_zero_shot_report(model, dm)
    assert report.n_samples == 3 and report.n_label_classes == 8
    assert report.class_names == LABEL_SETS["reported"]
    assert set(report.predicted) <= set(EKMAN7_NAMES)
    assert len(report.clip_ids) == 3 and report.clip_va.shape == (3, 2)
