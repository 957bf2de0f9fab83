"""LightningDataModules with typed arguments (no ``**kwargs``), so ``neurova fit --help`` lists them.

Each exposes ``input_contract``, ``num_channels`` and ``clip_length`` right after construction;
the CLI links them to the model's ``in_chans`` and ``num_frames``.
"""

from __future__ import annotations

from neurova.datamodules.afew_va import AFEWVADataModule
from neurova.datamodules.base import EventDataModule
from neurova.datamodules.nefer import NEFERDataModule
from neurova.datamodules.synthetic import SyntheticFacesDataModule

__all__ = ["AFEWVADataModule", "EventDataModule", "NEFERDataModule", "SyntheticFacesDataModule"]
