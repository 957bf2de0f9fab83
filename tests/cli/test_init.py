"""neurova.cli: one-line errors, command names that do not collide, former names that still work, options with an
optional value before the recording."""

from __future__ import annotations

import pytest

from neurova.cli import main
from neurova.cli.lightning import NeurovaCLI
from tests.helpers.imports import assert_runs_without


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    (tmp_path / "broken.h5").write_bytes(b"not hdf5 at all")
    assert main(["encode", str(tmp_path / "broken.h5"), "-o", str(tmp_path / "x.npz")]) == 2
    assert "broken.h5" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_command_names_do_not_collide():
    from neurova.cli import LIGHTNING_COMMANDS, build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(LIGHTNING_COMMANDS) <= set(commands)
    assert "predict" in commands and "predict" not in LIGHTNING_COMMANDS  # neurova predict = neurova.predict
    assert LIGHTNING_COMMANDS["predict-dataset"] == "predict"


def test_help_imports_neither_torch_nor_lightning():
    """``neurova --help`` and a command's ``--help`` build the parser only: 0.3 s, where importing torch took 3 s."""
    assert_runs_without("from neurova.cli import main\n"
                        "for words in (['--help'], ['predict', '--help'], ['leaderboard', '--help']):\n"
                        "    try: main(words)\n"
                        "    except SystemExit as end: assert end.code == 0, words")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--detect-face"], {"detect_face": "auto"}),
        (["--detect-face", "haar"], {"detect_face": "haar"}),
        (["--deflicker"], {"deflicker": True}),
        (["--deflicker", "100"], {"deflicker": 100.0}),
        (["--drop-hot-pixels", "--denoise"], {"drop_hot_pixels": 1000.0, "denoise": 5000}),
        (["--denoise", "--"], {"denoise": 5000}),
    ],
)
def test_an_option_with_an_optional_value_leaves_the_recording_after_it_to_the_positional(tmp_path, monkeypatch, flags,
                                                                                         expected):
    from neurova.cli import build_parser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "recording.raw").touch()
    args = build_parser().parse_args(["predict", "--model", "m", "-o", "out.csv", *flags, "recording.raw"])
    assert str(args.path) == "recording.raw"
    assert {name: getattr(args, name) for name in expected} == expected


def test_predict_takes_a_thread_count_or_auto(tmp_path, monkeypatch, capsys):
    from neurova.cli import build_parser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "recording.raw").touch()
    words = ["predict", "--model", "m", "-o", "out.csv", "recording.raw"]
    assert build_parser().parse_args(words).threads == "auto"
    assert build_parser().parse_args([*words, "--threads", "2"]).threads == 2
    for bad in ("0", "many"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([*words, "--threads", bad])
        assert "expected a thread count >= 1 or auto" in capsys.readouterr().err


def test_an_option_value_that_names_no_file_is_still_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recording.raw").touch()
    with pytest.raises(SystemExit):
        main(["predict", "--model", "m", "-o", "out.csv", "--detect-face", "haarr", "recording.raw"])
    assert "invalid choice: 'haarr'" in capsys.readouterr().err


def test_former_names_still_work_with_a_warning():
    import neurova.training

    with pytest.warns(DeprecationWarning, match=r"neurova\.cli\.lightning\.NeurovaCLI"):
        assert neurova.training.NeurovaCLI is NeurovaCLI
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        neurova.training.Nothing  # noqa: B018


def test_the_command_turns_numpys_huge_page_advice_off_unless_the_environment_sets_it(monkeypatch, capsys):
    from numpy._core.multiarray import _get_madvise_hugepage, _set_madvise_hugepage

    before = _get_madvise_hugepage()
    try:
        for env, expected in ((None, False), ("1", True)):
            _set_madvise_hugepage(True)
            if env is None:
                monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
            else:
                monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", env)
            assert main(["models"]) == 0
            assert _get_madvise_hugepage() is expected
    finally:
        _set_madvise_hugepage(before)


def test_the_command_keeps_the_memory_it_frees(monkeypatch):
    calls = []
    monkeypatch.setattr("neurova.cli.retain_freed_memory", lambda: calls.append(True))
    assert main(["models"]) == 0
    assert calls == [True]
