"""The synthetic-faces protocol and the training recipes shared by the zoo, the leaderboard and the demo.

* :class:`Protocol` / :data:`SYNTHETIC_FACES`: the data (synthetic faces, their sizes, the subject split) and the
  training budget (epochs, batch) of every tag and leaderboard entry; ``neurova demo`` uses the same data;
* :class:`Recipe` / :data:`RECIPES` / :func:`recipe_for`: how each family of networks is trained (learning rate,
  weight decay, warm-up, flips, model arguments) and why.

Plain data with no dependency, one definition each: :mod:`neurova.zoo` and :mod:`neurova.leaderboard` re-export
them, :mod:`neurova.demo` takes its defaults from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RECIPES", "SYNTHETIC_FACES", "Protocol", "Recipe", "recipe_for"]


@dataclass(frozen=True)
class Protocol:
    """The data and budget every tag and leaderboard entry shares (defaults: the demo's synthetic faces, 10 epochs).

    Attributes:
        n_subjects, clips_per_subject, frames_per_clip, image_size, emotion_clips_per_emotion: the synthetic
            faces (:class:`neurova.datasets.SyntheticFacesConfig`), rendered and simulated once with ``data_seed``
            (the emotion clips are not used for training; they make the event cache the same as ``neurova demo``'s).
        clip_length: TBR frames per sample (the fusion and video models read all of them).
        stride: frames between the starts of two samples of a clip.
        val_fraction, test_fraction: shares of the subjects held out (split by subject, ``data_seed``).
        data_seed: seed of the faces, the events and the split.
        epochs: passes over the training set of every trained model (the fixed budget).
        batch_size: samples per optimiser step.
    """

    n_subjects: int = 240
    clips_per_subject: int = 1
    frames_per_clip: int = 40
    image_size: int = 64
    emotion_clips_per_emotion: int = 4
    clip_length: int = 4
    stride: int = 4
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    data_seed: int = 0
    epochs: int = 10
    batch_size: int = 32

    def describe(self) -> str:
        """One line for model cards and tables."""
        from neurova.datasets.synthetic import CACHE_VERSION

        return (f"neurova synthetic faces ({CACHE_VERSION}): {self.n_subjects} subjects x {self.clips_per_subject} clip(s) of "
                f"{self.frames_per_clip} frames at 25 fps, {self.image_size} x {self.image_size} px, data seed "
                f"{self.data_seed}; split by subject {1 - self.val_fraction - self.test_fraction:.0%} train / "
                f"{self.val_fraction:.0%} validation / {self.test_fraction:.0%} test; samples of {self.clip_length} "
                f"frames every {self.stride} frames")


SYNTHETIC_FACES = Protocol()
"""The protocol of the ``synthetic_faces`` tags and of the leaderboard (the one definition of its sizes)."""


@dataclass(frozen=True)
class Recipe:
    """How one family of networks is trained (on top of the protocol's budget).

    Every recipe uses AdamW and a cosine schedule to 0 stepped per batch, and keeps the model of the last epoch.

    Attributes:
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay (not on biases and normalisation weights).
        warmup_steps: linear warm-up steps.
        hflip: random horizontal flips of the training clips, probability 0.5
            (:class:`neurova.augment.RandomHorizontalFlip`).
        model_args: extra constructor arguments, as ``(name, value)`` pairs.
        why: the reason for these choices (shown in the docs and the model cards).

    Every field, ``why`` included, goes into the leaderboard's job key
    (:meth:`neurova.leaderboard.Entry.key`): editing a recipe reruns its entries' saved results.
    """

    lr: float
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    hflip: bool = True
    model_args: tuple[tuple[str, Any], ...] = ()
    why: str = ""

    def describe(self) -> str:
        """One line: optimiser, schedule, augmentation, model arguments."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.model_args)
        return (f"AdamW (lr {self.lr:g}, weight decay {self.weight_decay:g}, {self.warmup_steps} warm-up steps), "
                f"cosine schedule to 0 stepped per batch, "
                f"{'random horizontal flips (p = 0.5)' if self.hflip else 'no augmentation'}"
                f"{'; model arguments ' + args if args else ''}")


_CNN_WHY = ("AdamW with a cosine schedule to 0 and horizontal flips (a mirrored face has the same valence and "
            "arousal); the demo's learning rate for ResNet trunks")
RECIPES: dict[str, Recipe] = {
    "tiny_cnn": Recipe(lr=3e-3, why="a small net trains well at a larger learning rate; cosine schedule, flips"),
    "resnet": Recipe(lr=2e-3, why=_CNN_WHY),
    "vit": Recipe(lr=5e-4, weight_decay=0.05, warmup_steps=50, model_args=(("img_size", 64),),
                  why="transformers need warm-up, a lower learning rate and stronger weight decay; the position "
                      "grid is built for the 64 px input"),
    # the text of `why` is part of the leaderboard key too: this one predates the attention recipe, kept as it was
    "temporal": Recipe(lr=1e-3, why="ResNet-18 per frame plus a recurrent/attention model: a lower learning rate "
                                    "keeps the temporal model stable; cosine schedule, flips"),
    "attention": Recipe(lr=1e-3, warmup_steps=50,
                        why="ResNet-18 per frame plus a Transformer encoder: the recurrent heads' learning rate with "
                            "the warm-up transformers need (about one epoch); cosine schedule, flips"),
    "video3d": Recipe(lr=1e-3, why="3-D CNNs from scratch: the lower learning rate of video models; cosine, flips"),
    "default": Recipe(lr=1e-3, why="the library's defaults (no family recipe is known for this model)"),
}
"""Recipe of each model family (:func:`recipe_for` maps a registered name to its family)."""


def recipe_for(model: str) -> Recipe:
    """The :data:`RECIPES` entry of a registered model name (by family: tiny CNN, ViT, recurrent, attention, 3-D,
    ResNet)."""
    if model.startswith("tiny_cnn"):
        return RECIPES["tiny_cnn"]
    if model.startswith("vit"):
        return RECIPES["vit"]
    if model.endswith("_transformer"):
        return RECIPES["attention"]
    if model.endswith(("_lstm", "_gru")):
        return RECIPES["temporal"]
    if model.startswith(("r3d", "r2plus1d")):
        return RECIPES["video3d"]
    if model.startswith("resnet"):
        return RECIPES["resnet"]
    return RECIPES["default"]
