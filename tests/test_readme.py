"""The README's tour runs as written (on a generated recording and a freshly saved model)."""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

from neurova.contract import InputContract
from neurova.io import write_events
from neurova.models import ResNetFusion
from tests.helpers.events import random_events

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python block"
    return blocks[0]


def test_readme_tour_runs(tmp_path, monkeypatch):
    events = random_events(50_000, (1280, 720), t0=0, span_us=500_000)
    # the tour reads "recording.raw"; an .h5 recording stands in for it (no EVT3 writer exists)
    write_events(tmp_path / "recording.h5", events, (1280, 720))
    contract = InputContract(image_size=32, clip_length=2)
    model = ResNetFusion(backbone="test_resnet", num_frames=2, input_contract=contract.to_dict())
    model.save_pretrained(tmp_path / "runs" / "demo" / "model")
    monkeypatch.chdir(tmp_path)
    code = tour_code().replace("recording.raw", "recording.h5")
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["frames"].shape[1:] == (1, 720, 1280)
    assert len(namespace["prediction"].valence) > 0


def test_readme_links_point_to_existing_files():
    links = re.findall(r"\]\(([^)#]+)\)", README.read_text())
    local = [link for link in links if not link.startswith("http")]
    assert "docs/getting_started.md" in local
    assert [link for link in local if not (README.parent / link).exists()] == []


def test_api_reference_is_current():
    # docs/gen_api.py --check, in this process: the modules it documents are mostly imported already
    spec = importlib.util.spec_from_file_location("gen_api", README.parent / "docs" / "gen_api.py")
    gen_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_api)
    current = gen_api.render()
    written = gen_api.TARGET.read_text() if gen_api.TARGET.is_file() else ""
    diff = "".join(list(difflib.unified_diff(written.splitlines(True), current.splitlines(True), str(gen_api.TARGET),
                                             "docs/gen_api.py"))[:40])
    assert written == current, f"docs/api.md is out of date: run python docs/gen_api.py\n{diff}"
