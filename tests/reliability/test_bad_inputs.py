"""Every bad input gives a specific neurova error naming the file and the problem, raised by neurova.

One table: each case builds a bad input in a temporary folder and returns the call that must
fail and the file the message must name. The test checks the exception's type (a
:mod:`neurova.errors` type, never a raw numpy / h5py / json / KeyError one), that its message
names the file and the problem, and that the ``raise`` statement is in neurova's own code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import neurova
import neurova.io as nio
from neurova.contract import InputContract
from neurova.datasets.afew_va import scan_afew_va
from neurova.datasets.event_files import read_label_csv
from neurova.datasets.nefer import read_nefer_csv
from neurova.errors import (
    AnnotationError,
    CheckpointError,
    DatasetNotFoundError,
    EventFormatError,
    InputContractError,
    VideoFormatError,
)
from neurova.events import as_events, make_events
from neurova.models import ResNet, ResNetFusion, create_model, from_pretrained
from neurova.simulator import simulate
from neurova.simulator.video import load_frames
from tests.data.afew_va.data import make_afew_va
from tests.helpers.events import SIZE, header, random_events, write_raw
from tests.helpers.pickles import Payload

from .conftest import shared_sample, write_frame_clips

NEUROVA_DIR = Path(neurova.__file__).resolve().parent
Call = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    """A bad input: ``make(tmp)`` writes it and returns ``(call, file named in the message or None)``."""

    id: str
    make: Callable[[Path], tuple[Call, Path | None]]
    error: type[Exception]
    problem: str


# ------------------------------------------------------------------------------------------------ event files


def _written(tmp: Path, name: str, layout: str = "neurova") -> Path:
    return nio.write_events(tmp / name, random_events(20_000), SIZE, layout=layout)


def truncated_h5(layout: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        path = _written(tmp, "cut.h5", layout)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return lambda: nio.read_events(path), path

    return make


def garbled_h5_header(tmp: Path) -> tuple[Call, Path]:
    path = _written(tmp, "garbled.h5")
    data = bytearray(path.read_bytes())
    data[:8] = b"GARBAGE!"
    path.write_bytes(bytes(data))
    return lambda: nio.read_events(path), path


def zeroed_h5_middle(reader: str) -> Callable[[Path], tuple[Call, Path]]:
    """Zeros over the middle third of the file: object headers and compressed chunks are destroyed."""

    def make(tmp: Path) -> tuple[Call, Path]:
        path = _written(tmp, "zeroed.h5")
        data = bytearray(path.read_bytes())
        third = len(data) // 3
        data[third : 2 * third] = bytes(third)
        path.write_bytes(bytes(data))
        calls = {
            "read": lambda: nio.read_events(path),
            "iter": lambda: list(nio.iter_events(path, chunk_events=500)),
            "size": lambda: nio.get_sensor_size(path),
        }
        return calls[reader], path

    return make


def h5_with(builder: Callable[[h5py.File], None], call: str = "read") -> Callable[[Path], Any]:
    def make(tmp: Path) -> tuple[Call, Path]:
        path = tmp / "odd.h5"
        with h5py.File(path, "w") as f:
            builder(f)
        if call == "iter":
            return lambda: list(nio.iter_events(path, chunk_events=2)), path
        return lambda: nio.read_events(path), path

    return make


def _columns(f: h5py.File, t: Any, **attrs: Any) -> None:
    for name in "xyp":
        f[name] = np.zeros(len(t), np.int16)
    f["t"] = np.asarray(t)
    f.attrs.update(attrs)


def raw_file(evt: str, damage: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        if evt == "3.0":
            pytest.importorskip("evt3")
        events = random_events(200)
        if damage == "outside":
            path = write_raw(tmp / "small.raw", events, evt=evt, lines=(f"evt {evt}", "geometry 16x16"))
            return lambda: nio.read_events(path), path
        path = write_raw(tmp / "bad.raw", events, evt=evt)
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[:-1])
        elif damage == "word type":
            word = [0x5 << 28] if evt == "2.0" else [0x5 << 28, 0]  # EVT 2.1: a 64-bit word, its head half first
            path.write_bytes(data + np.array(word, "<u4").tobytes())
        elif damage == "no encoding":
            path.write_bytes(header("geometry 64x48", "end") + data.split(b"% end\n", 1)[1])
        return lambda: nio.read_events(path), path

    return make


def truncated_aedat4(tmp: Path) -> tuple[Call, Path]:
    pytest.importorskip("aedat")
    data = shared_sample("davis346_with_frames.aedat4").read_bytes()
    path = tmp / "sample.aedat4"
    path.write_bytes(data[: len(data) // 2])
    return lambda: nio.read_events(path), path


def empty_file(suffix: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        path = tmp / f"empty{suffix}"
        path.write_bytes(b"")
        return lambda: nio.read_events(path), path

    return make


def write_outside_sensor(tmp: Path) -> tuple[Call, Path]:
    path = tmp / "out.h5"
    return lambda: nio.write_events(path, random_events(2_000), (8, 8)), path


def read_outside_given_sensor(tmp: Path) -> tuple[Call, Path]:
    path = nio.write_events(tmp / "ok.npz", random_events(2_000), SIZE)
    return lambda: nio.read_events(path, sensor_size=(10, 10)), path


def write_unsorted(tmp: Path) -> tuple[Call, Path]:
    events = random_events(2_000)[::-1].copy()
    path = tmp / "unsorted.npz"
    return lambda: nio.write_events(path, events, SIZE), path


def bad_npz_size(tmp: Path) -> tuple[Call, Path]:
    path = tmp / "size.npz"
    np.savez(path, x=np.zeros(2, int), y=np.zeros(2, int), t=np.arange(2), p=np.ones(2), width=np.array("wide"),
             height=np.array(3))
    return lambda: nio.read_events(path), path


# ---------------------------------------------------------------------------------------------------- labels


def afew_va_json(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        root = make_afew_va(tmp / "afew", n_clips=2, n_frames=3, size=24)
        path = root / "002" / "002.json"
        doc = json.loads(path.read_text())
        edit(doc)
        path.write_text(json.dumps(doc))  # json writes NaN as the bare token NaN, as Python's own parser reads it
        return lambda: scan_afew_va(root), path

    return make


def _set_frame(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["frames"]["00001"][key] = value

    return edit


def _drop_frame_key(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        del doc["frames"]["00001"][key]

    return edit


def label_csv(text: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        path = tmp / "labels.csv"
        path.write_text(text)
        return lambda: read_label_csv(path), path

    return make


def nefer_csv(text: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        path = tmp / "train_event.csv"
        path.write_text(text)
        return lambda: read_nefer_csv(path), path

    return make


NEFER_ROW = "user_01,user01_2022-06-08_12-20-03_cd,../event_frame_NEW/user_01/user01_2022-06-08_12-20-03_cd/frame_0.png"


# ---------------------------------------------------------------------------------------------------- frames


def frame_folder_of_two_sizes(tmp: Path) -> tuple[Call, Path]:
    cv2 = pytest.importorskip("cv2")
    folder = write_frame_clips(tmp / "clips", 1, n_frames=3, size=(12, 16)) / "clip00"
    cv2.imwrite(str(folder / "00003.png"), np.zeros((10, 16), np.uint8))
    return lambda: simulate(folder), folder


def frame_list_of_two_sizes(tmp: Path) -> tuple[Call, None]:
    frames = [np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)]
    return lambda: simulate(frames), None


def frame_times_not_increasing(tmp: Path) -> tuple[Call, None]:
    return lambda: load_frames(np.zeros((3, 4, 4), np.uint8), [0, 40_000, 40_000]), None


def nan_frames(tmp: Path) -> tuple[Call, None]:
    frames = np.full((2, 4, 4), np.nan, np.float32)
    return lambda: simulate(frames), None


# ----------------------------------------------------------------------------------------------- checkpoints

CONTRACT = InputContract(channels=1, clip_length=2, image_size=32)


def _tiny_fusion(**overrides: Any) -> ResNetFusion:
    kwargs = {"backbone": "test_resnet", "in_chans": 1, "num_frames": 2, "input_contract": CONTRACT.to_dict()}
    return create_model("resnet18_fusion", **{**kwargs, **overrides})


def saved_model(tmp: Path) -> Path:
    return _tiny_fusion().save_pretrained(tmp / "model")


def wrong_shapes(tmp: Path) -> tuple[Call, Path]:
    folder = saved_model(tmp)
    weights = folder / "model.safetensors"
    state = {k: v.contiguous() for k, v in _tiny_fusion(in_chans=2).state_dict().items()}
    save_file(state, str(weights))
    return lambda: from_pretrained(folder), weights


def wrong_architecture(tmp: Path) -> tuple[Call, Path]:
    folder = saved_model(tmp)
    return lambda: ResNet.from_pretrained(folder), folder


def mismatched_contract(tmp: Path) -> tuple[Call, Path]:
    folder = saved_model(tmp)
    data = InputContract(channels=1, clip_length=2, image_size=32, n_bits=4)
    return lambda: from_pretrained(folder, input_contract=data), folder


def missing_weights(tmp: Path) -> tuple[Call, Path]:
    folder = saved_model(tmp)
    (folder / "model.safetensors").unlink()
    return lambda: from_pretrained(folder), folder / "model.safetensors"


def pickle_as(name: str) -> Callable[[Path], tuple[Call, Path]]:
    def make(tmp: Path) -> tuple[Call, Path]:
        marker = tmp / "pwned"
        if name == "model.safetensors":
            folder = saved_model(tmp)
            path = folder / name
            torch.save({"weights": Payload(str(marker))}, path)
            call = lambda: from_pretrained(folder)  # noqa: E731
        else:
            path = tmp / name
            torch.save({"state_dict": {}, "hyper_parameters": {}, "x": Payload(str(marker))}, path)
            call = lambda: from_pretrained(path)  # noqa: E731

        def load() -> Any:
            try:
                return call()
            finally:
                assert not marker.exists(), "the pickle's payload was executed"

        return load, path

    return make


def missing_dataset_root(tmp: Path) -> tuple[Call, Path]:
    return lambda: scan_afew_va(tmp / "nowhere"), tmp / "nowhere"


def missing_event_file(tmp: Path) -> tuple[Call, Path]:
    return lambda: nio.read_events(tmp / "gone.raw"), tmp / "gone.raw"


CASES = [
    # HDF5
    Case("h5-truncated-neurova", truncated_h5("neurova"), EventFormatError, "truncated or corrupt"),
    Case("h5-truncated-v2e", truncated_h5("v2e"), EventFormatError, "truncated or corrupt"),
    Case("h5-garbled-header", garbled_h5_header, EventFormatError, "cannot open as HDF5"),
    Case("h5-zeroed-read", zeroed_h5_middle("read"), EventFormatError, "corrupt"),
    Case("h5-zeroed-iter", zeroed_h5_middle("iter"), EventFormatError, "corrupt"),
    Case("h5-zeroed-size", zeroed_h5_middle("size"), EventFormatError, "corrupt"),
    Case("h5-nan-timestamps", h5_with(lambda f: _columns(f, [0.0, np.nan])), EventFormatError, "'t' contains NaN"),
    Case("h5-unsorted-streamed", h5_with(lambda f: _columns(f, [5, 3, 4]), "iter"), EventFormatError, "not sorted"),
    Case("h5-unequal-lengths", h5_with(lambda f: (_columns(f, [1, 2]), f.__delitem__("p"),
                                                   f.create_dataset("p", data=np.ones(3)))),
         EventFormatError, "equal length"),
    Case("h5-group-not-dataset", h5_with(lambda f: (_columns(f, [1, 2]), f.__delitem__("x"), f.create_group("x"))),
         EventFormatError, "'x' in group '/' cannot be read as a dataset"),
    Case("h5-bad-size-attrs", h5_with(lambda f: _columns(f, [1, 2], width="wide", height=3)),
         EventFormatError, "invalid sensor size"),
    Case("h5-zero-size-attrs", h5_with(lambda f: _columns(f, [1, 2], width=0, height=3)),
         EventFormatError, "invalid sensor size"),
    Case("h5-v2e-bad-polarity", h5_with(lambda f: f.create_dataset("events", data=np.array([[0, 1, 1, 5]], "u4"))),
         EventFormatError, "polarity"),
    # Prophesee .raw
    Case("raw-evt2-truncated", raw_file("2.0", "truncated"), EventFormatError, "truncated EVT 2.0"),
    Case("raw-evt3-truncated", raw_file("3.0", "truncated"), EventFormatError, "truncated EVT 3.0"),
    Case("raw-evt2-corrupt-word", raw_file("2.0", "word type"), EventFormatError, "unknown word type 0x5"),
    Case("raw-no-encoding", raw_file("2.0", "no encoding"), EventFormatError, "names no event encoding"),
    Case("raw-evt2-outside-sensor", raw_file("2.0", "outside"), EventFormatError, "outside the 16x16 sensor"),
    Case("raw-evt21-truncated", raw_file("2.1", "truncated"), EventFormatError, "truncated EVT 2.1"),
    Case("raw-evt21-corrupt-word", raw_file("2.1", "word type"), EventFormatError, "unknown word type 0x5"),
    Case("raw-evt21-outside-sensor", raw_file("2.1", "outside"), EventFormatError, "outside the 16x16 sensor"),
    Case("raw-evt3-outside-sensor", raw_file("3.0", "outside"), EventFormatError, "outside the 16x16 sensor"),
    # AEDAT4 (the real sample, damaged)
    Case("aedat4-truncated", truncated_aedat4, EventFormatError, "AEDAT4"),
    # empty files of every suffix
    *(Case(f"empty{suffix}", empty_file(suffix), EventFormatError, "empty") for suffix in nio.supported_suffixes()),
    # events and the sensor, order, metadata
    Case("write-outside-sensor", write_outside_sensor, EventFormatError, "outside the 8x8 sensor"),
    Case("read-outside-given-sensor", read_outside_given_sensor, EventFormatError, "outside the 10x10 sensor"),
    Case("write-unsorted", write_unsorted, EventFormatError, "not sorted"),
    Case("npz-bad-size", bad_npz_size, EventFormatError, "invalid sensor size"),
    Case("missing-event-file", missing_event_file, FileNotFoundError, "no such event file"),
    # AFEW-VA annotations
    Case("afew-va-nan-valence", afew_va_json(_set_frame("valence", float("nan"))), AnnotationError, "NaN"),
    Case("afew-va-valence-out-of-range", afew_va_json(_set_frame("arousal", 15)), AnnotationError,
         "outside -10..10"),
    Case("afew-va-missing-landmarks-key", afew_va_json(_drop_frame_key("landmarks")), AnnotationError,
         r"missing key.*landmarks"),
    Case("afew-va-missing-arousal-key", afew_va_json(_drop_frame_key("arousal")), AnnotationError,
         r"missing key.*arousal"),
    Case("afew-va-missing-frames-key", afew_va_json(lambda doc: doc.pop("frames")), AnnotationError, "'frames'"),
    Case("afew-va-missing-root", missing_dataset_root, DatasetNotFoundError, "root folder not found"),
    # label CSV of one's own recordings
    Case("label-csv-nan", label_csv("file,t_us,valence,arousal\na.h5,10,nan,0.1\n"), AnnotationError,
         "line 2.*'valence' is nan"),
    Case("label-csv-out-of-range", label_csv("file,t_us,valence,arousal\na.h5,10,0.5,-1.5\n"), AnnotationError,
         r"line 2.*\[-1, 1\]"),
    Case("label-csv-missing-column", label_csv("file,time,valence,arousal\na.h5,10,0.5,0.5\n"), AnnotationError,
         "missing columns.*t_us"),
    # NEFER annotations
    Case("nefer-three-columns", nefer_csv(f"{NEFER_ROW}\n".rsplit(",", 1)[0] + "\n"), AnnotationError,
         "line 1.*expected 4 fields"),
    Case("nefer-five-columns", nefer_csv(f"{NEFER_ROW},Happy,extra\n"), AnnotationError, "expected 4 fields"),
    Case("nefer-header-row", nefer_csv(f"user,clip_id,frame_path,label\n{NEFER_ROW},Happy\n"), AnnotationError,
         "line 1.*unknown label 'label'"),
    Case("nefer-swapped-columns", nefer_csv("user_01,clip,Happy,../user_01/clip/frame_0.png\n"), AnnotationError,
         "line 1.*unknown label"),
    # simulator input
    Case("frames-folder-two-sizes", frame_folder_of_two_sizes, VideoFormatError, "frame size changes"),
    Case("frames-list-two-sizes", frame_list_of_two_sizes, VideoFormatError, "frame size changes"),
    Case("frame-times-not-increasing", frame_times_not_increasing, VideoFormatError, "strictly increase"),
    Case("frames-nan", nan_frames, VideoFormatError, "finite"),
    # checkpoints
    Case("checkpoint-wrong-shapes", wrong_shapes, CheckpointError, "shape mismatch"),
    Case("checkpoint-wrong-architecture", wrong_architecture, CheckpointError, "architecture mismatch"),
    Case("checkpoint-mismatched-contract", mismatched_contract, InputContractError, "n_bits: model expects 8"),
    Case("checkpoint-missing-weights", missing_weights, CheckpointError, "missing model.safetensors"),
    Case("pickle-as-ckpt", pickle_as("evil.ckpt"), CheckpointError, "refused to load"),
    Case("pickle-as-safetensors", pickle_as("model.safetensors"), CheckpointError, "cannot read safetensors"),
    Case("pickle-as-pt", pickle_as("evil.pt"), CheckpointError, "expected a model folder"),
]


def _raising_frame(exc: BaseException) -> Path:
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_a_specific_error_naming_the_file(case: Case, tmp_path: Path) -> None:
    call, path = case.make(tmp_path)
    with pytest.raises(Exception) as info:  # the exact type is checked below
        call()
    exc = info.value
    assert type(exc) is case.error or (
        case.error is FileNotFoundError and isinstance(exc, FileNotFoundError)
    ), f"{case.id}: expected {case.error.__name__}, got {type(exc).__module__}.{type(exc).__name__}: {exc}"
    if case.error is not FileNotFoundError:
        assert type(exc).__module__ == "neurova.errors"
    message = str(exc)
    assert re.search(case.problem, message), f"{case.id}: {message!r} does not say {case.problem!r}"
    if path is not None:
        assert os.fspath(path) in message, f"{case.id}: {message!r} does not name {path}"
        assert getattr(exc, "path", None) in (None, os.fspath(path)) or exc.filename == os.fspath(path)
    assert NEUROVA_DIR in _raising_frame(exc).parents, f"{case.id}: raised outside neurova at {_raising_frame(exc)}"


def test_as_events_rejections_name_the_source() -> None:
    """The in-memory checks behind every reader: unsorted, NaN, bad polarity, all naming ``path``."""
    for source, problem in [
        (make_events([1, 1], [1, 1], [5, 3], [1, 0]), "not sorted"),
        ({"x": [1], "y": [1], "t": [np.nan], "p": [1]}, "'t' contains NaN"),
        ({"x": [1], "y": [1], "t": [1], "p": [2]}, "polarity"),
        ({"x": [-1], "y": [1], "t": [1], "p": [1]}, r"\[0, 32767\]"),
    ]:
        with pytest.raises(EventFormatError, match=problem) as info:
            as_events(source, path="rec.npz")
        assert info.value.path == "rec.npz" and str(info.value).startswith("rec.npz: ")
