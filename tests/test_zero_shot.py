from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from neurova.emotions import CIRCUMPLEX28, EKMAN7, EKMAN7_NAMES, TABLES
from neurova.zero_shot import (
    LABEL_SETS,
    ZeroShotEvaluator,
    aggregate_clip,
    classify_emotion,
    evaluate_predictions,
    run_zero_shot_report,
)
from neurova.zero_shot.evaluate import model_frames

# --- classify_emotion ------------------------------------------------------------------------------


@pytest.mark.parametrize("table_name", sorted(TABLES))
@pytest.mark.parametrize("method", ["angle", "nearest"])
def test_every_table_point_classifies_to_itself(table_name, method):
    table = TABLES[table_name]
    names = np.array(list(table))
    points = np.array(list(table.values()))
    np.testing.assert_array_equal(classify_emotion(points[:, 0], points[:, 1], table_name, method), names)
    for name, (v, a) in table.items():
        assert classify_emotion(v, a, table, method) == name  # also as a user dict


def _angle(point) -> float:
    return math.atan2(point[1], point[0])


@pytest.mark.parametrize("table", [EKMAN7, CIRCUMPLEX28], ids=["ekman7", "circumplex28"])
def test_angle_boundaries_are_bisectors_of_neighbouring_directions(table):
    ordered = sorted(table, key=lambda n: _angle(table[n]) % (2 * math.pi))
    eps = 1e-4
    for left, right in zip(ordered, ordered[1:] + ordered[:1]):
        a1 = _angle(table[left])
        gap = (_angle(table[right]) - a1) % (2 * math.pi)
        bisector = a1 + gap / 2
        for radius in (0.05, 0.7):
            before = (radius * math.cos(bisector - eps), radius * math.sin(bisector - eps))
            after = (radius * math.cos(bisector + eps), radius * math.sin(bisector + eps))
            assert classify_emotion(*before, table) == left
            assert classify_emotion(*after, table) == right


def test_angle_boundary_between_happiness_and_sadness_crosses_low_arousal():
    # clockwise from Happiness (32.3°) the next emotion is Sadness (-156.8° = 203.2°): the boundary is at 297.7°
    happiness, sadness = _angle(EKMAN7["Happiness"]), _angle(EKMAN7["Sadness"])
    assert math.degrees((happiness + sadness) / 2) % 360 == pytest.approx(297.7, abs=0.1)
    assert classify_emotion(0.0, -1.0) == "Sadness"  # 270°
    assert classify_emotion(0.5, -0.9) == "Happiness"  # 299.1°


@pytest.mark.parametrize("table", [EKMAN7, CIRCUMPLEX28], ids=["ekman7", "circumplex28"])
def test_nearest_boundaries_are_perpendicular_bisectors(table):
    names, points = list(table), np.array(list(table.values()))
    tested = 0
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            mid = (points[i] + points[j]) / 2
            dist = np.linalg.norm(points - mid, axis=1)
            others = np.delete(dist, [i, j])
            if others.min() <= dist[i] + 1e-3:  # the midpoint belongs to a third emotion's region
                continue
            step = 1e-4 * (points[j] - points[i]) / np.linalg.norm(points[j] - points[i])
            assert classify_emotion(*(mid - step), table, "nearest") == names[i]
            assert classify_emotion(*(mid + step), table, "nearest") == names[j]
            tested += 1
    assert tested >= len(points) - 1


def test_angle_and_nearest_differ_where_geometry_says():
    # a weak prediction in Happiness' direction (31°) lies nearest to Contempt's point (0.65 away vs 0.84)
    point = (0.05, 0.03)
    assert math.dist(point, EKMAN7["Contempt"]) < min(math.dist(point, p) for n, p in EKMAN7.items() if n != "Contempt")
    assert classify_emotion(*point) == "Happiness"
    assert classify_emotion(*point, method="nearest") == "Contempt"
    strong_fear = (-0.9, 0.86)  # direction 136.3°: Fear's direction (136.8°), and nearest to Fear too
    assert classify_emotion(*strong_fear) == "Fear" == classify_emotion(*strong_fear, method="nearest")


def test_shapes_types_and_scores():
    v = np.linspace(-1, 1, 12).reshape(3, 4)
    a = np.linspace(1, -1, 12).reshape(3, 4)
    names = classify_emotion(v, a)
    assert isinstance(names, np.ndarray) and names.shape == (3, 4) and names.dtype.kind == "U"
    names_t, scores = classify_emotion(torch.tensor(v), torch.tensor(a), return_scores=True)
    np.testing.assert_array_equal(names_t, names)
    assert scores.shape == (3, 4, 7)
    np.testing.assert_allclose(scores.sum(-1), 1)
    np.testing.assert_array_equal(np.array(EKMAN7_NAMES)[scores.argmax(-1)], names)
    pairs = classify_emotion(np.stack([v, a], axis=-1))  # one (..., 2) array
    np.testing.assert_array_equal(pairs, names)
    assert isinstance(classify_emotion(0.7, 0.5), str)
    assert classify_emotion(np.float32(0.7), np.array(0.5)) == "Happiness"
    broadcast = classify_emotion(np.array([0.7, -0.6]), 0.5)
    assert broadcast.tolist() == ["Happiness", "Fear"]


def test_score_temperature_and_values():
    _, scores = classify_emotion(EKMAN7["Happiness"][0], EKMAN7["Happiness"][1], method="nearest",
                                 return_scores=True, temperature=1.0)
    dist = np.array([math.dist(EKMAN7["Happiness"], p) for p in EKMAN7.values()])
    expected = np.exp(-dist) / np.exp(-dist).sum()
    np.testing.assert_allclose(scores, expected)
    _, sharp = classify_emotion(0.76, 0.48, return_scores=True, temperature=0.01)
    assert sharp[EKMAN7_NAMES.index("Happiness")] > 0.99
    with pytest.raises(ValueError, match="temperature"):
        classify_emotion(0.1, 0.1, temperature=0)


def test_neutral_radius():
    out = classify_emotion([0.05, 0.5, 0.0], [0.05, 0.4, -0.09], neutral_radius=0.1)
    assert out.tolist() == ["Neutral", "Happiness", "Neutral"]
    assert classify_emotion(0.01, 0.0, neutral_radius=0.1, neutral_label="None") == "None"
    assert classify_emotion(0.01, 0.0) == "Happiness"  # without a radius the origin keeps a direction


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="valence contains NaN"):
        classify_emotion(np.array([0.1, np.nan]), np.array([0.2, 0.3]))
    with pytest.raises(ValueError, match="arousal contains NaN"):
        classify_emotion(0.1, float("nan"))
    with pytest.raises(ValueError, match="incompatible shapes"):
        classify_emotion(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="method"):
        classify_emotion(0.1, 0.1, method="cosine")
    with pytest.raises(ValueError, match="unknown emotion table"):
        classify_emotion(0.1, 0.1, "plutchik")


# --- clip aggregation ------------------------------------------------------------------------------


def test_aggregate_mean_and_vote_differ():
    clip = np.array([[0.9, 0.3]] * 2 + [[-0.1, -0.05]] * 3)
    assert aggregate_clip(clip) == "Happiness"  # mean (0.3, 0.09)
    assert aggregate_clip(clip, "vote") == "Sadness"  # 3 of 5 frames
    clips = np.stack([clip, -clip])
    assert aggregate_clip(clips, "vote").tolist() == ["Sadness", "Happiness"]
    assert aggregate_clip(clips).tolist() == ["Happiness", "Sadness"]


def test_aggregate_vote_tie_goes_to_last_predicted():
    happy, sad = [0.9, 0.3], [-0.6, -0.3]
    assert aggregate_clip(np.array([happy, sad]), "vote") == "Sadness"
    assert aggregate_clip(np.array([sad, happy]), "vote") == "Happiness"
    assert aggregate_clip(np.array([[0.01, 0.0], happy, [0.0, 0.02]]), "vote", neutral_radius=0.1) == "Neutral"


def test_aggregate_errors():
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        aggregate_clip(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        aggregate_clip(np.array([[0.1, np.nan]]))
    with pytest.raises(ValueError, match="aggregation"):
        aggregate_clip(np.zeros((2, 2)), "median")


# --- scoring ---------------------------------------------------------------------------------------


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


# --- running a model -------------------------------------------------------------------------------


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
    import runpy
    from pathlib import Path

    from neurova.datamodules import NEFERDataModule
    from neurova.models import create_model

    make_nefer = runpy.run_path(str(Path(__file__).parent / "data" / "nefer" / "data.py"))["make_nefer"]
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


# --- the package's layout ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "home"), [("confusion_matrix", "neurova.metrics"),
                                            ("classification_scores", "neurova.metrics"),
                                            ("model_frames", "neurova.zero_shot.evaluate")])
def test_moved_names_warn_and_point_to_their_home(name, home):
    import importlib

    import neurova.zero_shot

    with pytest.warns(DeprecationWarning, match=f"neurova.zero_shot.{name} moved to {home}.{name}"):
        shim = getattr(neurova.zero_shot, name)
    assert shim is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        neurova.zero_shot.nothing  # noqa: B018


def test_the_mapping_needs_no_torch():
    import subprocess
    import sys

    code = ("import sys; from neurova.zero_shot.mapping import classify_emotion; "
            "assert classify_emotion(0.7, 0.5) == 'Happiness'; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
