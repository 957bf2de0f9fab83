"""Emotion coordinates on the valence-arousal plane, as data.

Each table maps an emotion name to its ``(valence, arousal)`` point in
``[-1, 1]^2``. :mod:`neurova.zero_shot.mapping` classifies predictions against these
tables; :mod:`neurova.datasets.synthetic` renders faces held at them.
Users may pass their own ``{name: (valence, arousal)}`` dict anywhere a table
name is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["CIRCUMPLEX28", "EKMAN7", "EKMAN7_NAMES", "TABLES", "resolve_table"]

EKMAN7: dict[str, tuple[float, float]] = {
    "Anger": (-0.51, 0.59),
    "Contempt": (-0.58, 0.20),
    "Disgust": (-0.60, 0.35),
    "Fear": (-0.64, 0.60),
    "Happiness": (0.76, 0.48),
    "Sadness": (-0.63, -0.27),
    "Surprise": (0.40, 0.67),
}
"""The seven emotions of NEFER (alphabetical, as NEFER's label indices).

Pleasure (valence) and arousal of Anger, Disgust, Fear, Joy (Happiness),
Sadness and Surprise from the PAD ratings of Russell & Mehrabian,
"Evidence for a three-factor theory of emotions", J. Research in Personality
11 (1977). That table has no Contempt; neurova places it as a negative emotion
of lower arousal than Disgust, which is a choice of ours, not a published
rating: pass your own table if your data says otherwise.
"""

EKMAN7_NAMES: tuple[str, ...] = tuple(EKMAN7)
"""NEFER's class names in label-index order."""

_CIRCUMPLEX_DEGREES: dict[str, float] = {
    "Happy": 7.8,
    "Delighted": 24.9,
    "Excited": 48.6,
    "Astonished": 69.8,
    "Aroused": 73.8,
    "Tense": 92.8,
    "Alarmed": 96.5,
    "Angry": 99.4,
    "Afraid": 116.8,
    "Annoyed": 123.0,
    "Distressed": 138.1,
    "Frustrated": 141.0,
    "Miserable": 188.7,
    "Sad": 207.5,
    "Gloomy": 209.0,
    "Depressed": 210.3,
    "Bored": 241.4,
    "Droopy": 256.7,
    "Tired": 267.7,
    "Sleepy": 271.9,
    "Calm": 316.2,
    "Relaxed": 318.0,
    "Satisfied": 319.8,
    "At ease": 321.6,
    "Content": 323.4,
    "Serene": 328.6,
    "Glad": 352.8,
    "Pleased": 356.1,
}

CIRCUMPLEX28: dict[str, tuple[float, float]] = {
    name: (round(math.cos(math.radians(deg)), 4), round(math.sin(math.radians(deg)), 4))
    for name, deg in _CIRCUMPLEX_DEGREES.items()
}
"""The 28 affect words of Russell's circumplex, on the unit circle at the angles
of Russell, "A circumplex model of affect", J. Personality and Social Psychology
39(6) (1980), as they are commonly reproduced (angle in degrees from the
positive valence axis, counter-clockwise towards high arousal)."""

TABLES: dict[str, dict[str, tuple[float, float]]] = {"ekman7": EKMAN7, "circumplex28": CIRCUMPLEX28}


def resolve_table(emotions: str | Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Return a table given its name (``"ekman7"``, ``"circumplex28"``) or a user dict."""
    if isinstance(emotions, str):
        try:
            return TABLES[emotions.lower()]
        except KeyError:
            raise ValueError(f"unknown emotion table {emotions!r}; choose one of {sorted(TABLES)} or pass a dict") from None
    table = {str(k): (float(v[0]), float(v[1])) for k, v in emotions.items()}
    if not table:
        raise ValueError("the emotion table is empty")
    return table
