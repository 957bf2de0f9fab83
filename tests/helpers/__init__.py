"""Plain helper functions shared by the tests: ``from tests.helpers.events import random_events``.

- ``events.py``: the one random event generator, the writers of Prophesee files (EVT 2.0 / 3.0 ``.raw``, ``.dat``)
  and ``raises_with_path``;
- ``models.py``: the tiny registered net that model tests train in milliseconds;
- ``datamodules.py``: a tiny synthetic dataset, its contract, a quiet trainer, the batch check;
- ``pickles.py``: a pickle that runs code when loaded (the proof that a loader refused it);
- ``imports.py``: ``assert_runs_without``, code run in a fresh interpreter that must not import torch;
- ``paths.py``: the repository, and the real samples of ``../shared/data`` (skipping when absent).
"""
