"""neurova.datamodules.base: typed arguments, the contract as one value (keywords or ``contract=``, never both;
through a saved model and back), idempotent setup, worker loaders, horizontal flips."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch

from neurova.contract import InputContract
from neurova.datamodules import AFEWVADataModule, EventDataModule, NEFERDataModule, SyntheticFacesDataModule
from neurova.errors import InputContractError
from tests.helpers.datamodules import CONTRACT, TINY, check_batch, quiet_trainer

# -- typed arguments and the contract before any data ---------------------------------------------------------------

@pytest.mark.parametrize("cls", [SyntheticFacesDataModule, AFEWVADataModule, NEFERDataModule])
def test_typed_arguments(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert all(p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params)
    assert all(p.annotation is not inspect.Parameter.empty for p in params), cls
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(cls, "data")
    assert "--data.batch_size" in parser.format_help() and "--data.contract" in parser.format_help()
    root = [] if cls is SyntheticFacesDataModule else ["--data.root", "r"]
    parsed = parser.parse_args([*root, "--data.contract", '{"n_bits": 4, "image_size": 32}'])
    assert parsed.data.contract.n_bits == 4  # a YAML/JSON block becomes the contract's fields


def test_contract_is_known_before_any_data(tmp_path: Path) -> None:
    dm = SyntheticFacesDataModule(tmp_path, polarity="split", clip_length=5, n_bits=4, bin_us=10_000)
    assert dm.num_channels == 2 and dm.clip_length == 5
    assert dm.input_contract == InputContract(polarity="split", clip_length=5, n_bits=4, bin_us=10_000,
                                              image_size=64, face_crop="box")
    assert SyntheticFacesDataModule(tmp_path, mode="frame").clip_length == 1
    assert SyntheticFacesDataModule(tmp_path, encoding="voxel", n_bits=5).num_channels == 5
    afew = AFEWVADataModule(tmp_path / "afew", image_size=96)
    assert afew.input_contract.face_crop == "landmarks" and afew.sim.image_size == 96
    nefer = NEFERDataModule(tmp_path / "nefer", modality="rgb", clip_length=8, image_size=32)
    assert nefer.num_channels == 3 and nefer.clip_length == 8 and nefer.input_contract.encoding == "rgb"
    assert NEFERDataModule(tmp_path / "nefer", detect_face=True).input_contract.face_crop == "detector"
    assert NEFERDataModule(tmp_path / "nefer", raise_threshold=2).dataset_options()["raise_threshold"] == 2
    assert not any(tmp_path.iterdir())  # nothing simulated or read yet


def test_contract_as_one_value(tmp_path: Path) -> None:
    model = InputContract(n_bits=4, bin_us=2500, polarity="split", image_size=24, clip_length=2, face_crop=None)
    for given in (model, model.to_dict()):
        assert SyntheticFacesDataModule(tmp_path, contract=given).input_contract == model.replace(face_crop="box")
        afew = AFEWVADataModule(tmp_path, contract=given)
        assert afew.input_contract == model.replace(face_crop="landmarks") and afew.sim.image_size == 24
    nefer = NEFERDataModule(tmp_path, contract=model.replace(polarity="merge", frame_interval_us=20_000))
    assert nefer.input_contract == model.replace(polarity="merge", frame_interval_us=20_000)
    with pytest.raises(InputContractError, match=r"SyntheticFacesDataModule: .* not both \(got contract and n_bits\)"):
        SyntheticFacesDataModule(tmp_path, contract=model, n_bits=8)
    with pytest.raises(InputContractError, match=r"AFEWVADataModule: .* \(got contract and image_size, mode\)"):
        AFEWVADataModule(tmp_path, contract=model, image_size=64, mode="clip")
    with pytest.raises(InputContractError, match="the data has frame_interval_us=40000, the contract 20000"):
        SyntheticFacesDataModule(tmp_path, contract=model.replace(frame_interval_us=20_000))
    with pytest.raises(InputContractError, match=r"polarity='split' \(NEFER's event frames have 'merge'\)"):
        NEFERDataModule(tmp_path, contract=model)
    with pytest.raises(InputContractError, match="channels=1 but"):
        SyntheticFacesDataModule(tmp_path, contract={**model.to_dict(), "channels": 1})
    assert not any(tmp_path.iterdir())


def test_hparams_record_the_contract_and_rebuild_it(tmp_path: Path) -> None:
    dm = SyntheticFacesDataModule(tmp_path, n_bits=4, clip_length=2, batch_size=3)
    assert dm.hparams["contract"] == dm.input_contract.to_dict() and dm.hparams["n_bits"] is None
    again = SyntheticFacesDataModule(**dm.hparams)  # as load_from_checkpoint rebuilds a datamodule
    assert again.input_contract == dm.input_contract and again.batch_size == 3


# -- batches, splits, setup -------------------------------------------------------------------------------------------


def test_setup_is_idempotent(synthetic: SyntheticFacesDataModule) -> None:
    before = (synthetic.train_set, synthetic.val_set, synthetic.test_set)
    for stage in ("fit", "validate", "test", "predict", None):
        synthetic.setup(stage)
        assert (synthetic.train_set, synthetic.val_set, synthetic.test_set) == before
    assert all(s is b for s, b in zip((synthetic.train_set, synthetic.val_set, synthetic.test_set), before))
    with pytest.raises(ValueError, match="unknown stage 'train'"):
        synthetic.setup("train")
    fresh = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, **TINY)
    fresh.setup("test")  # only what the stage needs
    assert fresh.train_set is None and fresh.val_set is None and fresh.test_set.clip_ids == synthetic.test_set.clip_ids


def test_loader_with_worker_processes_matches(synthetic: SyntheticFacesDataModule) -> None:
    reference = list(synthetic.val_dataloader())
    with_workers = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT, batch_size=4, num_workers=2,
                                            in_memory=False, **TINY)
    with_workers.setup("validate")
    batches = list(with_workers.val_dataloader())
    assert len(batches) == len(reference)
    for a, b in zip(batches, reference):
        torch.testing.assert_close(a["frames"], b["frames"])
        assert a["meta"]["clip_id"] == b["meta"]["clip_id"]


# -- models: the contract is taken, checked, saved and given back ----------------------------------------------------

def test_a_model_refuses_data_made_another_way(synthetic: SyntheticFacesDataModule, trained: Path) -> None:
    from neurova.models import create_model, from_pretrained

    split = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT.replace(polarity="split"), **TINY)
    with pytest.raises(InputContractError, match="takes 1-channel frames but the data has 2 channels"):
        quiet_trainer(fast_dev_run=1).fit(create_model("tiny_cnn", in_chans=1, widths=(4, 8)), datamodule=split)
    other_bits = SyntheticFacesDataModule(synthetic.cache_dir, contract=CONTRACT.replace(n_bits=4), **TINY)
    with pytest.raises(InputContractError, match="n_bits: model expects 8, data has 4"):
        quiet_trainer(fast_dev_run=1).validate(from_pretrained(trained), datamodule=other_bits)


def test_contract_round_trips_through_a_saved_model(synthetic: SyntheticFacesDataModule, trained: Path,
                                                    afew_root: Path, nefer_root: Path, tmp_path: Path) -> None:
    from neurova.models import from_pretrained

    model = from_pretrained(trained)
    assert model.input_contract == synthetic.input_contract
    again = SyntheticFacesDataModule(synthetic.cache_dir, contract=model.input_contract, batch_size=4, **TINY)
    assert again.input_contract == synthetic.input_contract
    again.setup("validate")
    batches = list(zip(again.val_dataloader(), synthetic.val_dataloader(), strict=True))
    assert batches
    for new, old in batches:
        torch.testing.assert_close(new["frames"], old["frames"])  # the very frames the model was trained on
    quiet_trainer(limit_val_batches=1).validate(model, datamodule=again)  # its contract check passes
    afew = AFEWVADataModule(afew_root, tmp_path / "cache", contract=model.input_contract, n_folds=2, batch_size=4)
    nefer = NEFERDataModule(nefer_root, contract=model.input_contract, batch_size=4)
    for dm in (afew, nefer):
        model.check_input(dm.input_contract)
        dm.prepare_data()
        dm.setup("validate")
        check_batch(next(iter(dm.val_dataloader())), model.input_contract.replace(face_crop=None),
                     va_known=dm is afew)
        with torch.no_grad():
            assert model(next(iter(dm.val_dataloader()))["frames"]).shape[-1] == 2


def test_hflip_flips_training_samples_only() -> None:
    frames = torch.arange(6 * 3 * 1 * 2 * 4, dtype=torch.float32).reshape(6, 3, 1, 2, 4)
    samples = [{"frames": f, "va": torch.zeros(3, 2)} for f in frames]
    dm = EventDataModule(batch_size=6, hflip=1.0)
    dm.train_set = dm.val_set = samples
    assert torch.equal(next(iter(dm.train_dataloader()))["frames"].sort(0).values, frames.flip(-1).sort(0).values)
    assert torch.equal(next(iter(dm.val_dataloader()))["frames"], frames)  # never flipped
    half = EventDataModule(batch_size=64, hflip=0.5)
    half.train_set = [samples[0]] * 64
    torch.manual_seed(0)
    out = next(iter(half.train_dataloader()))["frames"]
    same = (out == frames[0]).flatten(1).all(1)
    mirrored = (out == frames[0].flip(-1)).flatten(1).all(1)
    assert bool((same ^ mirrored).all()) and 0 < int(mirrored.sum()) < 64  # whole samples, some of each
    with pytest.raises(ValueError, match="hflip"):
        EventDataModule(hflip=1.5)
    with pytest.raises(InputContractError, match="without an input contract"):
        _ = dm.input_contract


def test_box_jitter_moves_training_crops_only() -> None:
    frames = torch.zeros(8, 2, 1, 32, 32)
    frames[..., 12:20, 12:20] = 1.0
    samples = [{"frames": f, "va": torch.zeros(2, 2)} for f in frames]
    dm = EventDataModule(batch_size=8, box_jitter=(0.1, 0.1))
    assert dm.box_jitter == (0.1, 0.1)
    dm.train_set = dm.val_set = samples
    torch.manual_seed(0)
    moved = next(iter(dm.train_dataloader()))["frames"]
    assert not torch.equal(moved, frames) and torch.equal(moved[:, 0], moved[:, 1])  # a clip moves as a whole
    assert torch.equal(next(iter(dm.val_dataloader()))["frames"], frames)
    plain = EventDataModule(batch_size=8)  # no augmentation by default
    plain.train_set = samples
    assert torch.equal(next(iter(plain.train_dataloader()))["frames"], frames)
    with pytest.raises(ValueError, match="shift and scale"):
        EventDataModule(box_jitter=(-0.1, 0.0))
