"""neurova.zero_shot.mapping: valence-arousal to emotion (angle and nearest rules), clip aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurova.emotions import CIRCUMPLEX28, EKMAN7, EKMAN7_NAMES, TABLES
from neurova.zero_shot import aggregate_clip, classify_emotion
from tests.helpers.imports import assert_runs_without

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


def test_the_mapping_needs_no_torch():
    assert_runs_without("from neurova.zero_shot.mapping import classify_emotion; "
                        "assert classify_emotion(0.7, 0.5) == 'Happiness'")
