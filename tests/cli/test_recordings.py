"""neurova.cli.recordings: `neurova predict` and `neurova check` on a recording, face flags, the former predict-file."""

from __future__ import annotations

import csv
import re
import sys
import warnings

import numpy as np
import pytest

from neurova.cli import main
from neurova.datasets.synthetic import SyntheticFacesConfig, synthetic_cache
from neurova.faces import DETECT_EVERY_US
from neurova.inference import FlickerWarning
from neurova.io import write_events
from neurova.simulator import flickering_light, simulate
from tests.helpers.events import random_events
from tests.helpers.scenes import moving_square


def test_predict_and_zero_shot_with_the_trained_model(trained, tmp_path, capsys):
    root, model_dir, _ = trained
    events = random_events(20_000, (48, 40), seed=1, t0=0, span_us=600_000)
    source = write_events(tmp_path / "rec.h5", events, (48, 40))
    out = tmp_path / "pred.csv"
    assert main(["predict", str(source), "--model", str(model_dir), "-o", str(out),
                 "--plot", str(tmp_path / "pred.png")]) == 0
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"valence", "arousal", "emotion"} <= set(rows[0])
    assert (tmp_path / "pred.png").stat().st_size > 0

    capsys.readouterr()
    code = main(["zero-shot", "--model", str(model_dir), "--data", "synthetic", "--root", str(root / "zs"),
                 "--plot-dir", str(tmp_path / "figs")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "chance" in printed
    assert (tmp_path / "figs" / "confusion_matrix.png").is_file()
    # only the emotion clips it scores were rendered and simulated, not the training set
    config = SyntheticFacesConfig()
    emotion = {clip for clip, subject in config.jobs()[1].items() if subject.startswith("e")}
    assert set(synthetic_cache(root / "zs", config).complete_clips()) == emotion


def test_check_prints_the_comparison_and_writes_the_figure(check_setup, tmp_path, capsys):
    source, matching, denser = check_setup
    capsys.readouterr()
    assert main(["check", str(source), "--model", str(matching), "--plot", str(tmp_path / "ok.png")]) == 0
    printed = capsys.readouterr().out
    assert "non-zero pixels" in printed and "1.00x" in printed and "within the training range" in printed
    assert "minimum recording length 40 ms" in printed and "face box (x0, y0, w, h) (8, 0, 48, 48)" in printed
    assert (tmp_path / "ok.png").stat().st_size > 0

    assert main(["check", str(source), "--model", str(denser), "--plot", str(tmp_path / "bad.png")]) == 1
    printed = capsys.readouterr().out
    assert "OUT OF RANGE" in printed and "0.33x" in printed and "OUTSIDE" in printed
    assert (tmp_path / "bad.png").stat().st_size > 0
    with pytest.raises(SystemExit):
        main(["check", str(source), "--model", str(denser), "--tolerance", "1"])


def test_check_figure_shows_the_face_box_on_the_sensor(check_setup, monkeypatch):
    """The figure's first row: the sensor at four prediction times spread over the recording, each with the box
    of that prediction, from the last detection window of events; none for a source that is not an event file."""
    from neurova.cli import recordings
    from neurova.inference import predict
    from neurova.io import read_events
    from neurova.models import from_pretrained
    from neurova.plotting import polarity_image

    source, matching, _ = check_setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prediction = predict(from_pretrained(matching), source, face_box=(4, 2, 30, 30))
    views = recordings._box_views(prediction)
    events = read_events(source)
    picked = np.linspace(0, len(prediction) - 1, 4).round().astype(int)
    assert len(views) == 4
    for (picture, box, caption), i in zip(views, picked, strict=True):
        t = int(prediction.timestamps_us[i])
        window = events[(events["t"] >= t - 200_000) & (events["t"] < t)]
        np.testing.assert_array_equal(picture, polarity_image(window, prediction.sensor_size))
        assert tuple(box) == (4, 2, 30, 30) and caption.endswith("s, last 200 ms")
    monkeypatch.setattr(prediction, "source", "clip.mp4")
    assert recordings._box_views(prediction) == []


def test_predict_warns_about_inputs_outside_the_training_range(check_setup, tmp_path):
    from neurova.domain import DomainWarning

    source, matching, denser = check_setup
    with pytest.warns(DomainWarning, match=r"rec\.h5: .*non-zero pixels .* \(0\.33x\)"):
        assert main(["predict", str(source), "--model", str(denser), "-o", str(tmp_path / "p.csv")]) == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DomainWarning)
        assert main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "p.csv")]) == 0


def test_predict_face_box_stream_and_detection_flags(check_setup, tmp_path):
    source, matching, _ = check_setup

    def rows(*flags: str) -> list[dict[str, str]]:
        out = tmp_path / "pred.csv"
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out), *flags]) == 0
        with open(out) as fh:
            return list(csv.DictReader(fh))

    whole = rows()
    assert {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in whole} == {("8", "0", "48", "48")}
    boxed = rows("--face-box", "20,10,24,24")
    assert {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in boxed} == {("20", "10", "24", "24")}
    assert [r["valence"] for r in boxed] != [r["valence"] for r in whole]
    streamed = rows("--stream")
    assert [r["valence"] for r in streamed] == [r["valence"] for r in whole]
    assert "latency_ms" in streamed[0]
    for bad in ("1,2,3", "0,0,0,10", "a,b,c,d", "0,0,nan,5"):
        with pytest.raises(SystemExit):
            main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "x.csv"),
                  "--face-box", bad])


def test_predict_file_is_a_deprecated_alias_of_predict(check_setup, tmp_path):
    source, matching, _ = check_setup
    assert main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "new.csv")]) == 0
    with pytest.warns(FutureWarning, match="use 'neurova predict'"):
        assert main(["predict-file", str(source), "--model", str(matching), "-o", str(tmp_path / "old.csv")]) == 0
    assert (tmp_path / "old.csv").read_text() == (tmp_path / "new.csv").read_text()


@pytest.mark.parametrize("detector", ["auto", "haar"])
def test_predict_detect_face_falls_back_with_a_warning(check_setup, tmp_path, detector):
    pytest.importorskip("cv2")
    source, matching, _ = check_setup
    out = tmp_path / "pred.csv"
    with pytest.warns(UserWarning, match="face"):  # a blob is no face: the fallback box, with a warning
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out),
                     "--detect-face", detector, "--face-box", "20,10,24,24"]) == 0
    with open(out) as fh:
        boxes = {(r["box_x0"], r["box_y0"], r["box_width"], r["box_height"]) for r in csv.DictReader(fh)}
    assert boxes == {("20", "10", "24", "24")}  # the given box is the fallback


def test_detect_every_sets_the_time_between_detections(check_setup, tmp_path, monkeypatch):
    import neurova.inference

    source, matching, _ = check_setup
    seen = []
    real = neurova.inference.predict_file
    monkeypatch.setattr(neurova.inference, "predict_file", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    args = ["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "pred.csv")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0 and main([*args, "--detect-face", "learned", "--detect-every", "200", "--threads", "1"]) == 0
    assert seen[0]["detect_every_us"] == DETECT_EVERY_US and seen[1]["detect_every_us"] == 200_000
    for bad in ("0", "-5", "nan"):
        with pytest.raises(SystemExit):
            main([*args, "--detect-every", bad])


def test_warnings_show_as_one_line_naming_the_command(check_setup, tmp_path, capsys, monkeypatch):
    source, matching, _ = check_setup
    monkeypatch.delenv("NEUROVA_DEBUG", raising=False)

    def show(message, category, filename, lineno, file=None, line=None):  # Python's own, which pytest replaces
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    before = warnings.formatwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "showwarning", show)
        capsys.readouterr()
        assert main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "pred.csv")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^neurova predict: warning: \S*rec\.h5: no face_box was given .* \(NoFaceWarning\)$", err, re.M)
    assert ".py:" not in err  # no file and line of the library
    assert warnings.formatwarning is before  # put back


def test_drop_hot_pixels_names_the_dropped_pixels(check_setup, tmp_path, capsys):
    import numpy as np

    from neurova.events import make_events
    from neurova.io import get_sensor_size, read_events

    source, matching, _ = check_setup
    events = read_events(source)
    n = 20_000  # one pixel firing ON at about 30-60 kHz over the recording
    t = np.linspace(int(events["t"][0]), int(events["t"][-1]), n).astype(np.int64)
    hot = np.concatenate([events, make_events(np.full(n, 3), np.full(n, 4), t, np.ones(n))])
    recording = write_events(tmp_path / "hot.h5", hot[np.argsort(hot["t"], kind="stable")], get_sensor_size(source))
    out = tmp_path / "pred.csv"
    capsys.readouterr()
    assert main(["predict", str(recording), "--model", str(matching), "-o", str(out), "--drop-hot-pixels"]) == 0
    assert "dropped the events of 1 hot pixel(s) firing above 1000 Hz on average: (3, 4)" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a rate must be a positive number
        main(["predict", str(recording), "--model", str(matching), "-o", str(out), "--drop-hot-pixels", "-5"])
    with pytest.raises(SystemExit):  # hot pixels are counted over the whole recording: not while streaming
        main(["predict", str(recording), "--model", str(matching), "-o", str(out), "--drop-hot-pixels", "--stream"])


def test_deflicker_option_combs_out_a_lamps_flicker(check_setup, tmp_path, capsys):
    _, matching, _ = check_setup
    frames, times = moving_square((64, 48), n_frames=16)
    lit = simulate(*flickering_light(frames, times, 100.0, 0.4), preset="clean")
    recording = write_events(tmp_path / "lit.h5", lit, (64, 48))
    out = tmp_path / "pred.csv"
    with pytest.warns(FlickerWarning, match="--deflicker"):
        assert main(["predict", str(recording), "--model", str(matching), "-o", str(out)]) == 0
    for flags in (["--deflicker"], ["--deflicker", "100"], ["--deflicker", "--stream"]):
        capsys.readouterr()
        assert main(["predict", str(recording), "--model", str(matching), "-o", str(out), *flags]) == 0
        assert re.search(r"combed out the flicker of a light at 100\.\d Hz \(\d+\.\d% of the events were flicker\)",
                         capsys.readouterr().out), flags
    with pytest.raises(SystemExit):  # a frequency must be a positive number
        main(["predict", str(recording), "--model", str(matching), "-o", str(out), "--deflicker", "-100"])


def test_denoise_option_filters_the_events_before_predicting(check_setup, tmp_path):
    source, matching, _ = check_setup
    rows = {}
    for flags in ([], ["--denoise"], ["--denoise", "20000"]):
        out = tmp_path / f"pred{len(flags)}.csv"
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out), *flags]) == 0
        with open(out) as fh:
            rows[len(flags)] = [(r["valence"], r["arousal"]) for r in csv.DictReader(fh)]
    assert rows[1] != rows[0] and rows[2] != rows[1]  # 5000 µs by default, or the time given
    with pytest.raises(SystemExit):
        main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "x.csv"), "--denoise", "0"])


def test_raise_threshold_option_predicts_on_a_less_sensitive_sensors_events(check_setup, tmp_path, capsys):
    source, matching, _ = check_setup
    rows = {}
    for flags in ([], ["--raise-threshold", "2"], ["--raise-threshold", "2", "--stream"]):
        out = tmp_path / f"pred{len(flags)}.csv"
        capsys.readouterr()
        assert main(["predict", str(source), "--model", str(matching), "-o", str(out), *flags]) == 0
        assert ("thresholds 2x the recording's" in capsys.readouterr().out) == bool(flags)
        with open(out) as fh:
            rows[len(flags)] = [(float(r["valence"]), float(r["arousal"])) for r in csv.DictReader(fh)]
    assert rows[2] != rows[0]
    np.testing.assert_allclose(rows[3], rows[2], atol=1e-5)  # streamed: the same events
    for bad in ("0", "1.5"):
        with pytest.raises(SystemExit):
            main(["predict", str(source), "--model", str(matching), "-o", str(tmp_path / "x.csv"),
                  "--raise-threshold", bad])
