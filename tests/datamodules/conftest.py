"""Data the datamodule tests share, each made once for ``tests/datamodules``: a tiny synthetic datamodule set up,
miniature AFEW-VA and NEFER trees, a tiny model fitted on the synthetic one."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurova.datamodules import SyntheticFacesDataModule
from tests.data.afew_va.data import make_afew_va
from tests.data.nefer.data import make_nefer
from tests.helpers.datamodules import CONTRACT, TINY, quiet_trainer


@pytest.fixture(scope="package")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticFacesDataModule:
    dm = SyntheticFacesDataModule(tmp_path_factory.mktemp("cache"), contract=CONTRACT, batch_size=4, **TINY)
    dm.prepare_data()
    dm.setup(None)
    return dm


@pytest.fixture(scope="package")
def afew_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_afew_va(tmp_path_factory.mktemp("afew"), n_frames=8)


@pytest.fixture(scope="package")
def nefer_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_nefer(tmp_path_factory.mktemp("nefer") / "NEFER", clips_per_user=1)


@pytest.fixture(scope="package")
def trained(synthetic: SyntheticFacesDataModule, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model fitted one step on ``synthetic`` and saved: its folder."""
    from neurova.models import create_model

    model = create_model("tiny_cnn", in_chans=1, widths=(4, 8))
    assert model.input_contract is None
    quiet_trainer(fast_dev_run=1).fit(model, datamodule=synthetic)
    assert model.input_contract == synthetic.input_contract  # taken from the datamodule at fit time
    folder = tmp_path_factory.mktemp("model") / "tiny"
    model.save_pretrained(folder)
    return folder
