"""Hostile and careless use of the command line, model checkpoints and model folders.

Three tables, one case per line:

* ``CLI_CASES``: a ``neurova`` command line and a fragment of the message. The command must end with
  exit status 2 and exactly one line on stderr that names the problem, with no traceback.
* ``CONFIG_CASES``: a change to a saved model folder (``config.json`` or the weights). Loading must
  raise :class:`~neurova.errors.CheckpointError` naming the file, before any large allocation.
* ``SAVE_CASES``: a folder that already holds something. ``save_pretrained`` must refuse or write
  only neurova's own files; nothing that neurova did not write is deleted or changed.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from neurova._atomic import atomic_path
from neurova.cli import main
from neurova.errors import CheckpointError
from neurova.io import write_events
from neurova.models import create_model, from_pretrained
from tests.helpers.events import random_events

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NO_GPU = not torch.cuda.is_available() and not torch.backends.mps.is_available()
needs_no_gpu = pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with an event file ``rec.h5``, a plain file ``afile`` and a folder ``folder/``."""
    monkeypatch.chdir(tmp_path)
    events = random_events(500, (32, 24), t0=0, span_us=10**5)
    write_events(tmp_path / "rec.h5", events, (32, 24))
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "folder").mkdir()
    return tmp_path


CLI_CASES = [
    ("encode-n-bits-0", "encode rec.h5 -o f.npz --n-bits 0", "--n-bits: must be an integer in 1..16, got 0"),
    ("encode-n-bits-64", "encode rec.h5 -o f.npz --n-bits 64", "--n-bits: must be an integer in 1..16, got 64"),
    ("encode-n-bits-word", "encode rec.h5 -o f.npz --n-bits eight", "--n-bits: expected an integer, got 'eight'"),
    ("encode-bin-us-0", "encode rec.h5 -o f.npz --bin-us 0", "--bin-us: must be at least 1, got 0"),
    ("encode-bin-us-negative", "encode rec.h5 -o f.npz --bin-us -5", "--bin-us: must be at least 1, got -5"),
    ("encode-bin-us-fraction", "encode rec.h5 -o f.npz --bin-us 2.5", "--bin-us: expected an integer, got '2.5'"),
    ("encode-missing-input", "encode missing.h5 -o f.npz", "missing.h5: no such file or folder"),
    ("encode-folder-as-input", "encode folder -o f.npz", "folder: is a directory, not an event file"),
    ("encode-not-events", "encode afile -o f.npz", "afile: unknown event file suffix"),
    ("encode-output-under-a-file", "encode rec.h5 -o afile/f.npz", "afile is a file, so nothing can be created under it"),
    ("encode-output-is-a-folder", "encode rec.h5 -o folder", "folder: is a folder, expected a file name"),
    ("encode-plot-under-a-file", "encode rec.h5 -o f.npz --plot afile/g.png", "afile is a file"),
    ("simulate-workers-0", "simulate folder -o out --workers 0", "--workers: must be at least 1, got 0"),
    ("simulate-fps-0", "simulate folder -o out --fps 0", "--fps: must be a finite number > 0, got 0"),
    ("simulate-fps-nan", "simulate folder -o out --fps nan", "--fps: must be a finite number > 0, got nan"),
    ("simulate-fps-inf", "simulate folder -o out --fps inf", "--fps: must be a finite number > 0, got inf"),
    ("simulate-fps-negative", "simulate folder -o out --fps -25", "--fps: must be a finite number > 0, got -25"),
    ("simulate-fps-word", "simulate folder -o out --fps fast", "--fps: expected a number, got 'fast'"),
    ("simulate-upsample-0", "simulate folder -o out --upsample 0", "--upsample: must be at least 1, got 0"),
    ("simulate-seed-negative", "simulate folder -o out --seed -1", "--seed: must be at least 0, got -1"),
    ("simulate-missing-input", "simulate nothing/ -o out", "nothing/: no such file or folder"),
    ("simulate-output-under-a-file", "simulate folder -o afile/out", "afile is a file"),
    ("simulate-bad-size", "simulate folder -o out --size 0x0", "--size"),
    ("zero-shot-batch-size-0", "zero-shot --model m --batch-size 0", "--batch-size: must be at least 1, got 0"),
    ("zero-shot-plot-dir-is-a-file", "zero-shot --model m --plot-dir afile", "afile: is a file, expected a folder"),
    ("zero-shot-missing-model", "zero-shot --model runs/missing/model --data synthetic", "no such checkpoint folder"),
    ("zero-shot-uncached-hub-repo", "zero-shot --model missing/model --data synthetic",
     "Hugging Face Hub repo 'missing/model' is not in the local cache"),
    ("predict-file-missing-recording", "predict-file gone.raw --model m -o p.csv", "gone.raw: no such file"),
    ("predict-file-model-is-a-file", "predict-file rec.h5 --model afile -o p.csv", "expected a model folder"),
    ("predict-file-model-not-saved", "predict-file rec.h5 --model folder -o p.csv", "missing config.json"),
    ("predict-file-output-under-a-file", "predict-file rec.h5 --model m -o afile/p.csv", "afile is a file"),
    ("demo-epochs-negative", "demo --epochs -1", "--epochs: must be at least 1, got -1"),
    ("demo-epochs-0", "demo --epochs 0", "--epochs: must be at least 1, got 0"),
    ("demo-seed-negative", "demo --seed -3", "--seed: must be at least 0, got -3"),
    ("demo-out-is-a-file", "demo --out afile", "afile: is a file, expected a folder"),
    ("demo-unknown-accelerator", "demo --accelerator tpu9", "unknown accelerator 'tpu9'"),
    ("fit-export-into-a-foreign-folder", f"fit --config {CONFIGS}/synthetic_resnet18.yaml --data.cache_dir cache "
     "--save_pretrained.dirpath folder/..", "not a neurova model folder"),
    ("fit-export-onto-a-file", f"fit --config {CONFIGS}/synthetic_resnet18.yaml --data.cache_dir cache "
     "--save_pretrained.dirpath afile", "afile: cannot save a model here: the path is not a folder"),
    ("no-command", "", "the following arguments are required: COMMAND"),
    ("unknown-command", "trainify", "invalid choice: 'trainify'"),
]
GPU_CLI_CASES = [
    ("demo-gpu-without-gpu", "demo --accelerator gpu", "no GPU device"),
    ("fit-gpu-without-gpu", f"fit --config {CONFIGS}/synthetic_resnet18.yaml --trainer.accelerator gpu", "no GPU device"),
]


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own exit after a parse error
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("command", "message"), [pytest.param(c, m, id=i) for i, c, m in CLI_CASES]
                         + [pytest.param(c, m, id=i, marks=needs_no_gpu) for i, c, m in GPU_CLI_CASES])
def test_cli_refuses_in_one_line(command: str, message: str, workspace: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(p.name for p in workspace.iterdir())
    code, err = _run_cli(command.split(), capsys)
    lines = [line for line in err.splitlines() if line.strip() and "Warning" not in line and "warn(" not in line]
    assert code == 2, err
    assert len(lines) == 1 and message in lines[0], err
    assert lines[0].startswith("neurova") and "Traceback" not in err
    assert sorted(p.name for p in workspace.iterdir()) == before  # nothing written, no cache built


def test_gpu_refusal_comes_before_any_data_is_built(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not NO_GPU:
        pytest.skip("this machine has a GPU")
    code, _ = _run_cli(["fit", "--config", str(CONFIGS / "synthetic_resnet18.yaml"), "--trainer.accelerator", "gpu",
                        "--data.cache_dir", str(workspace / "cache")], capsys)
    assert code == 2 and not (workspace / "cache").exists()


# -- model folders: config.json and weights ------------------------------------------------------------------------

def _tiny():
    torch.manual_seed(0)
    return create_model("resnet18_fusion", backbone="test_resnet", in_chans=1, num_frames=2)


def _edit_config(change: Callable[[dict], object]) -> Callable[[Path], Path]:
    def edit(folder: Path) -> Path:
        path = folder / "config.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
        return path
    return edit


def _set(key: str, value: object) -> Callable[[Path], Path]:
    return _edit_config(lambda c: {**c, key: value})


def _set_arg(key: str, value: object) -> Callable[[Path], Path]:
    return _edit_config(lambda c: {**c, "init_args": {**c["init_args"], key: value}})


def _raw_config(text: str) -> Callable[[Path], Path]:
    def edit(folder: Path) -> Path:
        (folder / "config.json").write_text(text)
        return folder / "config.json"
    return edit


def _weights(change: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> Callable[[Path], Path]:
    def edit(folder: Path) -> Path:
        path = folder / "model.safetensors"
        save_file(change(load_file(str(path))), str(path))
        return path
    return edit


def _first_float(state: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in state.items() if v.is_floating_point() and v.ndim == 4)


def _other_save(folder: Path) -> Path:
    other = _tiny()
    with torch.no_grad():
        next(other.parameters()).add_(1.0)  # another model: saving the same one again would write the same save
    other.save_pretrained(folder.parent / "other")
    (folder / "model.safetensors").write_bytes((folder.parent / "other" / "model.safetensors").read_bytes())
    return folder


def _ckpt(change: Callable[[dict], dict]) -> Callable[[Path], Path]:
    def edit(folder: Path) -> Path:
        model = _tiny()
        checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                      "neurova": {"class": "neurova.models.frame.ResNetFusion"}}
        path = folder.parent / "model.ckpt"
        torch.save(change(checkpoint), path)
        return path
    return edit


CONFIG_CASES = [
    ("config-null", _raw_config("null"), "must hold a JSON object, found null"),
    ("config-number", _raw_config("3"), "must hold a JSON object, found the number 3"),
    ("config-list", _raw_config("[1, 2]"), "must hold a JSON object, found a list"),
    ("config-string", _raw_config('"model"'), "must hold a JSON object, found the string 'model'"),
    ("config-not-json", _raw_config("{class: 1"), "not valid JSON"),
    ("config-deep-nesting", _raw_config("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("config-too-large", _raw_config('{"pad": "' + "x" * (1 << 20) + '"}'), "more than the 1,048,576"),
    ("class-missing", _edit_config(lambda c: {k: v for k, v in c.items() if k != "class"}), "lacks the keys ['class']"),
    ("class-number", _set("class", 5), "'class' must be the model's import path, a string, found the number 5"),
    ("class-null", _set("class", None), "'class' must be the model's import path"),
    ("class-empty", _set("class", ""), "'class' must be the model's import path"),
    ("class-list", _set("class", ["neurova.models.ResNet"]), "'class' must be the model's import path"),
    ("class-unknown", _set("class", "os.system"), "unknown model class 'os.system'"),
    ("init-args-list", _set("init_args", [1]), "'init_args' must be the constructor arguments, an object"),
    ("init-args-string", _set("init_args", "in_chans=1"), "'init_args' must be the constructor arguments"),
    ("init-args-null", _set("init_args", None), "'init_args' must be the constructor arguments"),
    ("init-args-bad-key", _set("init_args", {"in chans": 1}), "init_args keys must be argument names"),
    ("init-args-unknown", _set_arg("layers", 1000), "constructor arguments ['layers'] are not accepted"),
    ("in-chans-huge", _set_arg("in_chans", 2_000_000), "shape mismatch"),
    ("in-chans-word", _set_arg("in_chans", "eight"), "cannot build ResNetFusion from the stored arguments"),
    ("in-chans-zero", _set_arg("in_chans", 0), "in_chans must be >= 1"),
    ("architecture-number", _set("architecture", 7), "'architecture' must be a string or null"),
    ("input-contract-string", _set("input_contract", "tbr"), "'input_contract' must be an object or null"),
    ("metrics-list", _set("metrics", [0.5]), "'metrics' must be an object or null"),
    ("weights-int64", _weights(lambda s: {**s, _first_float(s): s[_first_float(s)].long()}), "dtype mismatch"),
    ("weights-bool", _weights(lambda s: {**s, _first_float(s): s[_first_float(s)] > 0}), "dtype mismatch"),
    ("weights-nan", _weights(lambda s: {**s, _first_float(s): s[_first_float(s)] * float("nan")}), "NaN or infinite"),
    ("weights-inf", _weights(lambda s: {**s, _first_float(s): s[_first_float(s)] + float("inf")}), "NaN or infinite"),
    ("weights-missing-tensor", _weights(lambda s: dict(list(s.items())[1:])), "missing keys"),
    ("weights-extra-tensor", _weights(lambda s: {**s, "extra": torch.zeros(1)}), "unexpected keys"),
    ("weights-of-another-save", _other_save, "come from two different saves"),
    ("weights-not-safetensors", lambda f: (f / "model.safetensors").write_bytes(b"\0" * 64) and f / "model.safetensors",
     "cannot read safetensors weights"),
    ("ckpt-state-dict-list", _ckpt(lambda c: {**c, "state_dict": [1, 2]}), "'state_dict' entry must be a dict"),
    ("ckpt-hparams-string", _ckpt(lambda c: {**c, "hyper_parameters": "x"}), "'hyper_parameters' entry must be a dict"),
    ("ckpt-class-number", _ckpt(lambda c: {**c, "neurova": {"class": 3}}), "model class must be a string"),
    ("ckpt-huge-in-chans", _ckpt(lambda c: {**c, "hyper_parameters": {**c["hyper_parameters"], "in_chans": 10**6}}),
     "shape mismatch"),
    ("ckpt-int-weights", _ckpt(lambda c: {**c, "state_dict": {k: v.long() for k, v in c["state_dict"].items()}}),
     "dtype mismatch"),
]


@pytest.mark.parametrize(("edit", "message"), [pytest.param(e, m, id=i) for i, e, m in CONFIG_CASES])
def test_bad_model_folder_is_refused_naming_the_file(edit: Callable[[Path], Path], message: str,
                                                     tmp_path: Path) -> None:
    folder = _tiny().save_pretrained(tmp_path / "model")
    culprit = edit(folder)
    source = culprit if culprit.suffix == ".ckpt" else folder
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError) as info:
        from_pretrained(source)
    assert message in str(info.value)
    assert info.value.path is not None and str(info.value).startswith(info.value.path)
    named = Path(info.value.path).resolve()
    assert named in {source.resolve(), culprit.resolve(), folder.resolve()} or named.parent == folder.resolve()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 400_000  # KiB: nothing huge was built


# -- model folders that already hold something -------------------------------------------------------------------

def _foreign_files(folder: Path) -> None:
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    (folder / "best.ckpt").write_bytes(b"another checkpoint")


def _neurova_folder_with_notes(folder: Path) -> None:
    _tiny().save_pretrained(folder)
    (folder / "notes.txt").write_text("my notes")
    (folder / "runs").mkdir()
    (folder / "runs" / "log.csv").write_text("epoch,loss\n")


def _foreign_readme(folder: Path) -> None:
    folder.mkdir()
    (folder / "README.md").write_text("# my experiment")


def _foreign_config(folder: Path) -> None:
    folder.mkdir()
    (folder / "config.json").write_text('{"learning_rate": 0.1}')


SAVE_CASES = [
    # (id, prepare the folder, overwrite, refused, files that must keep their content)
    ("foreign-folder-refused", _foreign_files, False, True, ["notes.txt", "best.ckpt"]),
    ("foreign-folder-overwrite-keeps-files", _foreign_files, True, False, ["notes.txt", "best.ckpt"]),
    ("foreign-readme-refused", _foreign_readme, False, True, ["README.md"]),
    ("foreign-config-refused", _foreign_config, False, True, ["config.json"]),
    ("neurova-folder-keeps-notes", _neurova_folder_with_notes, False, False, ["notes.txt", "runs/log.csv"]),
    ("empty-folder-accepted", lambda f: f.mkdir(), False, False, []),
    ("path-is-a-file", lambda f: f.write_text("a file"), True, True, ["."]),
]


@pytest.mark.parametrize(("prepare", "overwrite", "refused", "kept"),
                         [pytest.param(p, o, r, k, id=i) for i, p, o, r, k in SAVE_CASES])
def test_save_never_deletes_what_neurova_did_not_write(prepare: Callable[[Path], None], overwrite: bool, refused: bool,
                                                      kept: list[str], tmp_path: Path) -> None:
    folder = tmp_path / "my_experiment"
    prepare(folder)
    kept_bytes = {name: (folder / name).read_bytes() if (folder / name).is_file() else None for name in kept}
    kept_bytes = {name: folder.read_bytes() if name == "." else data for name, data in kept_bytes.items()}
    if refused:
        with pytest.raises(CheckpointError, match=r"not a neurova model folder|not a folder"):
            _tiny().save_pretrained(folder, overwrite=overwrite)
    else:
        _tiny().save_pretrained(folder, overwrite=overwrite)
        assert from_pretrained(folder) is not None
    for name, data in kept_bytes.items():
        assert (folder.read_bytes() if name == "." else (folder / name).read_bytes()) == data, name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left behind


# -- permissions of written files follow the umask ----------------------------------------------------------------

@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700),
                                                              (0o002, 0o664, 0o775)])
def test_outputs_follow_the_umask(umask: int, file_mode: int, dir_mode: int, tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("a\n")
        _tiny().save_pretrained(tmp_path / "model")
    finally:
        os.umask(old)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == file_mode
    assert (tmp_path / "model").stat().st_mode & 0o777 == dir_mode
    assert (tmp_path / "model" / "model.safetensors").stat().st_mode & 0o777 == file_mode


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.csv"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o600
