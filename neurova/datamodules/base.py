"""The base of neurova's LightningDataModules: the input contract, the dataset factory, ``setup`` and loaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from neurova.augment import augmented
from neurova.contract import InputContract, check_phases
from neurova.datasets.cache import EventCacheDataset
from neurova.errors import InputContractError
from neurova.faces import BoxJitter

__all__ = ["EventDataModule"]


class EventDataModule(L.LightningDataModule):
    """Base of the dataset DataModules: one input contract, one dataset factory, one ``setup``, the loaders.

    A subclass declares its dataset class (:attr:`dataset_class`) and split names (:attr:`train_split`,
    :attr:`val_split`, :attr:`test_split`), resolves its :class:`~neurova.contract.InputContract` in
    ``__init__`` (from ``contract=`` or its keyword arguments) and passes it here, and returns the
    dataset's other arguments from :meth:`dataset_options`. Every split is then made by
    :meth:`make_dataset`: ``dataset_class(split=..., contract=self.input_contract, **self.dataset_options())``,
    so the recipe reaches every dataset the same way. The contract is known right after ``__init__``
    (the CLI links :attr:`num_channels` to the model's ``in_chans`` before any data exists).

    Args:
        contract: the input recipe of every split (None only for a bare module whose sets are assigned by hand).
        batch_size: samples per batch.
        num_workers: dataloader worker processes (0: load in the main process).
        pin_memory: pin host memory; None pins when CUDA is available.
        hflip: probability of flipping each training sample left-right (all its frames together, by
            :class:`neurova.augment.RandomHorizontalFlip`); a mirrored face has the same valence and
            arousal. 0 disables it; validation, test and prediction samples are never flipped.
        box_jitter: ``(shift, scale)`` of :class:`neurova.faces.BoxJitter`: each training sample's crop moved
            and scaled as a face detector's box error does (for models that will run on detected faces), a new
            error at every epoch; None (the default) disables it. Training samples only. Datasets of events
            (:class:`~neurova.datasets.cache.EventCacheDataset`: the synthetic faces, AFEW-VA) move the face box
            before the crop, which is exact (so their frames cannot be cached with it); others resample the
            encoded frames after the flip.
        train_phases_us: for datasets simulated from video (their ``phase_us``): the training samples' windows end
            these many µs before their frames, sample ``i`` at the ``i``-th phase in turn (e.g. ``(0, 10_000,
            20_000, 30_000)`` at 25 fps), so that a model does not learn the video's frame clock, which a real camera
            does not have. ``()`` (the default): on the frames. Validation and test stay on the frames.
    """

    dataset_class: ClassVar[type[Dataset] | None] = None
    """The dataset every split is made of (None: a bare module, sets assigned by hand)."""
    train_split: ClassVar[str] = "train"
    val_split: ClassVar[str] = "val"
    test_split: str = "test"
    """Split of the test (and predict) loader; when it is :attr:`val_split` the validation set is reused."""

    def __init__(self, contract: InputContract | None = None, *, batch_size: int = 16, num_workers: int = 0,
                 pin_memory: bool | None = None, hflip: float = 0.0,
                 box_jitter: tuple[float, float] | None = None, train_phases_us: Sequence[int] = ()) -> None:
        super().__init__()
        if not 0.0 <= hflip <= 1.0:
            raise ValueError(f"hflip must be a probability in [0, 1], got {hflip}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self._contract = contract
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.hflip = float(hflip)
        jitter = None if box_jitter is None else BoxJitter.of(box_jitter)  # refuses bad values now, not at a batch
        self.box_jitter = None if jitter is None else (jitter.shift, jitter.scale)
        self.train_phases_us = check_phases(train_phases_us, "train_phases_us") if len(train_phases_us) else ()
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self.predict_set: Dataset | None = None

    def _save_contract(self) -> None:
        """Record the resolved contract in ``hparams["contract"]`` (a dict: loggers write it as YAML).

        The keyword arguments it was built from are set to None there, so a module rebuilt from its hparams
        (``load_from_checkpoint``) gets the same contract without the "contract and keyword arguments" error.
        """
        for key in ("mode", "clip_length", "image_size", "encoding", "n_bits", "bin_us", "polarity",
                    "frame_interval_us"):
            if key in self.hparams:
                self.hparams[key] = None
        self.hparams["contract"] = self.input_contract.to_dict()

    @property
    def input_contract(self) -> InputContract:
        """How this data's frames are made (saved with every model trained on it)."""
        if self._contract is None:
            raise InputContractError(f"{type(self).__name__} was made without an input contract")
        return self._contract

    @property
    def num_channels(self) -> int:
        """C of the ``(T, C, H, W)`` frames (the model's ``in_chans``)."""
        channels = self.input_contract.channels
        assert channels is not None  # InputContract sets it from the channel rule
        return channels

    @property
    def clip_length(self) -> int:
        """T of the ``(T, C, H, W)`` frames (the model's ``num_frames``)."""
        return self.input_contract.clip_length

    # -- the dataset factory -----------------------------------------------------------------------------------------

    def dataset_options(self) -> dict[str, Any]:
        """Keyword arguments of :attr:`dataset_class` besides ``split`` and ``contract`` (root, settings)."""
        return {}

    def make_dataset(self, split: str, phase_us: int | Sequence[int] | None = None, *,
                     box_jitter: tuple[float, float] | None = None, jitter_seed: int | None = None) -> Dataset:
        """The dataset of ``split``: ``dataset_class(split=split, contract=self.input_contract, **dataset_options())``,
        with ``phase_us``, ``box_jitter`` and ``jitter_seed`` when given (see
        :class:`~neurova.datasets.cache.EventCacheDataset`; None: the dataset's default, for datasets without
        them)."""
        if self.dataset_class is None:
            raise TypeError(f"{type(self).__name__} declares no dataset_class; assign its sets by hand")
        given = {"phase_us": phase_us, "box_jitter": box_jitter, "jitter_seed": jitter_seed}
        options = {**self.dataset_options(), **{name: value for name, value in given.items() if value is not None}}
        return self.dataset_class(split=split, contract=self.input_contract, **options)  # type: ignore[call-arg]

    @property
    def jitters_events(self) -> bool:
        """Whether :attr:`box_jitter` moves the face box of the training samples' events (exact: datasets of
        events) rather than resampling their encoded frames."""
        return (self.box_jitter is not None and self.dataset_class is not None
                and issubclass(self.dataset_class, EventCacheDataset))

    def setup(self, stage: str | None = None) -> None:
        """Make the sets ``stage`` needs (``"fit"``, ``"validate"``, ``"test"``, ``"predict"`` or None: all).

        Idempotent: a set made once is kept (call again after changing options: set it to None first).
        The test set is the validation set when :attr:`test_split` is :attr:`val_split`.
        """
        if stage not in (None, "fit", "validate", "test", "predict"):
            raise ValueError(f"unknown stage {stage!r}; choose 'fit', 'validate', 'test', 'predict' or None")
        testing = stage in (None, "test", "predict")
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self.make_dataset(self.train_split, self.train_phases_us or None,
                                               box_jitter=self.box_jitter if self.jitters_events else None)
        needs_val = stage in (None, "fit", "validate") or (testing and self.test_split == self.val_split)
        if needs_val and self.val_set is None:
            self.val_set = self.make_dataset(self.val_split)
        if testing and self.test_set is None:
            self.test_set = self.val_set if self.test_split == self.val_split else self.make_dataset(self.test_split)

    # -- loaders -----------------------------------------------------------------------------------------------------

    def _loader(self, dataset: Dataset | None, name: str, *, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"the {name} set is not set up; call setup() first")
        kwargs: dict[str, Any] = {}
        if self.num_workers > 0:
            kwargs["persistent_workers"] = True
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            drop_last=False,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        train_set = self.train_set
        if train_set is not None:
            train_set = augmented(train_set, self.hflip, None if self.jitters_events else self.box_jitter)
        return self._loader(train_set, "train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, "validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, "test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_set if self.predict_set is not None else self.test_set, "predict",
                            shuffle=False)
