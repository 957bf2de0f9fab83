"""neurova.contract: the channel rule, to_dict / from_dict (old configs too), check(), resolve_contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurova.contract import CONTRACT_OPTIONS, InputContract, as_contract, channels_for, resolve_contract
from neurova.errors import InputContractError


@pytest.mark.parametrize(("encoding", "polarity", "n_bits", "channels"), [
    ("tbr", "merge", 8, 1), ("tbr", "split", 8, 2), ("frame", "merge", 4, 1), ("frame", "split", 4, 2),
    ("voxel", "merge", 5, 5), ("voxel", "split", 3, 3), ("time_surface", "merge", 8, 2),
    ("time_surface", "split", 8, 2), ("rgb", "merge", 8, 3),
])
def test_channel_rule(encoding: str, polarity: str, n_bits: int, channels: int) -> None:
    assert channels_for(encoding, polarity, n_bits) == channels
    contract = InputContract(encoding=encoding, polarity=polarity, n_bits=n_bits)  # type: ignore[arg-type]
    assert contract.channels == channels
    assert InputContract(encoding=encoding, polarity=polarity, n_bits=n_bits,  # type: ignore[arg-type]
                         channels=channels) == contract


def test_channels_against_the_rule_are_refused() -> None:
    with pytest.raises(InputContractError, match=r"channels=1 but encoding='tbr' with polarity='split'.* gives 2"):
        InputContract(polarity="split", channels=1)
    with pytest.raises(InputContractError, match="gives 5 channels"):
        InputContract(encoding="voxel", n_bits=5, channels=2)
    with pytest.raises(InputContractError, match="encoding='spikes'"):
        channels_for("spikes")
    with pytest.raises(InputContractError, match="polarity='both'"):
        channels_for("tbr", "both")


def test_replace_follows_the_rule_again() -> None:
    merged = InputContract(image_size=32)
    split = merged.replace(polarity="split")
    assert split.channels == 2 and split.image_size == 32 and merged.channels == 1
    assert merged.replace(encoding="voxel", n_bits=6).channels == 6
    with pytest.raises(InputContractError, match="channels=3"):
        merged.replace(channels=3)


def test_derived_values() -> None:
    contract = InputContract(n_bits=4, bin_us=2500, clip_length=3, image_size=16, polarity="split",
                             frame_interval_us=20_000)
    assert contract.window_us == 10_000
    assert contract.history_us == 2 * 20_000 + 10_000
    assert contract.shape == (3, 2, 16, 16)


def test_to_dict_round_trips_through_json() -> None:
    contract = InputContract(encoding="voxel", n_bits=5, bin_us=1000, image_size=48, clip_length=6, normalize=None,
                             face_crop=None, resize="area")
    saved = json.loads(json.dumps(contract.to_dict()))
    assert saved["channels"] == 5
    assert InputContract.from_dict(saved) == contract
    assert as_contract(saved) == contract and as_contract(contract) is contract


def test_old_configs_still_read() -> None:
    old = {"encoding": "tbr", "n_bits": 8, "bin_us": 5000, "polarity": "merge", "normalize": "max", "channels": 1,
           "image_size": 64, "clip_length": 4, "frame_interval_us": 40_000, "face_crop": "box"}  # before `resize`
    assert InputContract.from_dict(old).resize == "area"  # the frames those models were trained on
    rgb = InputContract.from_dict({**old, "encoding": "frame", "channels": 3})  # RGB before "rgb" existed
    assert rgb.encoding == "rgb" and rgb.channels == 3
    # a hand-written dict (YAML) leaves keys out: they take the defaults, the event-domain resize included
    partial = as_contract({"n_bits": 4, "polarity": "split"})
    assert partial == InputContract(n_bits=4, polarity="split") and partial.resize == "events"
    # models read a saved contract without `resize` as the area-resized frames they were trained on
    assert as_contract({"n_bits": 4}, default_resize="area").resize == "area"
    assert as_contract({"n_bits": 4, "resize": "events"}, default_resize="area").resize == "events"


def test_bad_dicts_are_refused_naming_the_problem() -> None:
    with pytest.raises(InputContractError, match=r"unknown input-contract keys \['bits'\]"):
        InputContract.from_dict({"bits": 8})
    with pytest.raises(InputContractError, match="must be a mapping"):
        InputContract.from_dict([("n_bits", 8)])  # type: ignore[arg-type]
    with pytest.raises(InputContractError, match="got list"):
        as_contract([1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputContractError, match="n_bits=0"):
        as_contract({"n_bits": 0})


def test_check_names_every_difference_and_ignores_the_crop() -> None:
    model = InputContract(n_bits=8, bin_us=5000, face_crop="box")
    model.check(InputContract(n_bits=8, bin_us=5000, face_crop="detector", image_size=32))  # same encoding
    data = InputContract(n_bits=4, bin_us=5000, polarity="split")
    with pytest.raises(InputContractError) as info:
        model.check(data)
    message = str(info.value)
    assert "n_bits: model expects 8, data has 4" in message
    assert "polarity: model expects 'merge', data has 'split'" in message and "channels" in message
    assert "bin_us" not in message
    assert model.differences(data, ("n_bits", "bin_us")) == {"n_bits": (8, 4)}


def test_resolve_contract_from_keywords() -> None:
    defaults = {"n_bits": 8, "clip_length": 4, "image_size": 64}
    built = resolve_contract(None, owner="X", defaults=defaults, data={"face_crop": "box"},
                             fixed={"frame_interval_us": 40_000}, n_bits=None, polarity="split", bin_us=2000)
    assert built == InputContract(n_bits=8, polarity="split", bin_us=2000, clip_length=4, image_size=64,
                                  face_crop="box")
    frame = resolve_contract(None, owner="X", defaults=defaults, mode="frame", clip_length=9)
    assert frame.clip_length == 1  # one frame per sample, as before the contract existed


def test_resolve_contract_from_a_contract() -> None:
    model = InputContract(n_bits=4, image_size=32, clip_length=2, face_crop="landmarks")
    got = resolve_contract(model, owner="X", defaults={"n_bits": 8}, data={"face_crop": "box"},
                           fixed={"frame_interval_us": 40_000})
    assert got == InputContract(n_bits=4, image_size=32, clip_length=2, face_crop="box")  # the data's crop
    assert resolve_contract(model.to_dict(), owner="X", defaults={}) == model


def test_resolve_contract_refuses_mixes_and_foreign_data() -> None:
    model = InputContract(n_bits=4)
    with pytest.raises(InputContractError, match=r"Y: give the input recipe either as contract=\.\.\. or as keyword "
                                                 r"arguments, not both \(got contract and mode, n_bits\)"):
        resolve_contract(model, owner="Y", defaults={}, mode="clip", n_bits=8, bin_us=None)
    with pytest.raises(InputContractError, match="Y: the data has frame_interval_us=40000, the contract 20000"):
        resolve_contract(InputContract(frame_interval_us=20_000), owner="Y", defaults={},
                         fixed={"frame_interval_us": 40_000})
    with pytest.raises(ValueError, match=r"unknown input-contract options \['bits'\]"):
        resolve_contract(None, owner="Y", defaults={}, bits=8)
    with pytest.raises(ValueError, match="mode must be"):
        resolve_contract(None, owner="Y", defaults={}, mode="video")  # type: ignore[arg-type]
    assert set(CONTRACT_OPTIONS) < {f for f in InputContract.__dataclass_fields__}


def test_event_contract_is_a_deprecated_shim() -> None:
    from neurova.datasets.cache import event_contract

    with pytest.warns(DeprecationWarning, match="InputContract"):
        old = event_contract(encoding="voxel", n_bits=5, bin_us=1000, polarity="merge", image_size=16, mode="clip",
                             clip_length=3, frame_interval_us=40_000, face_crop="box")
    assert old == InputContract(encoding="voxel", n_bits=5, bin_us=1000, image_size=16, clip_length=3,
                                face_crop="box")


@pytest.mark.parametrize(("key", "value"), [
    ("n_bits", "eight"), ("n_bits", 0), ("n_bits", 33), ("bin_us", 2.5), ("bin_us", -5000),
    ("frame_interval_us", 0), ("image_size", 0), ("image_size", 2048), ("clip_length", 0), ("channels", True),
    ("encoding", "spikes"), ("polarity", "both"), ("normalize", "minmax"), ("resize", "bilinear"),
])
def test_input_contract_rejects_bad_values_naming_them(key, value):
    with pytest.raises(InputContractError, match=f"{key}={value!r}"):
        InputContract(**{key: value})
    with pytest.raises(InputContractError, match=f"{key}={value!r}"):
        InputContract.from_dict({**InputContract().to_dict(), key: value})


def test_input_contract_resize_defaults():
    assert InputContract().resize == "events"  # new contracts: the event-domain operator
    saved = InputContract().to_dict()
    del saved["resize"]  # a config.json written before the key existed
    assert InputContract.from_dict(saved).resize == "area"
    assert InputContract.from_dict(InputContract().to_dict()) == InputContract()
    assert InputContract(n_bits=np.int64(6)).to_dict()["n_bits"] == 6
