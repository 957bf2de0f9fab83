"""The model zoo: tags and recipes, deterministic builds, model cards, shipped checkpoints, ``neurova zoo``."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace

import pytest
import torch

from neurova import leaderboard as lb
from neurova import zoo
from neurova.datasets.synthetic import CACHE_VERSION
from neurova.models import create_model, from_pretrained, list_models
from neurova.models.hf_hub import PACKAGED_DIR
from neurova.recipes import data_name

# A few seconds to render, simulate and train; the real protocol differs only in sizes.
SMALL = zoo.Protocol(n_subjects=6, frames_per_clip=12, image_size=32, emotion_clips_per_emotion=0, clip_length=4,
                     stride=4, val_fraction=1 / 3, test_fraction=1 / 3, epochs=1, batch_size=4)


@pytest.fixture(autouse=True)
def empty_home(tmp_path, monkeypatch):
    """``$NEUROVA_HOME`` in a fresh folder, so nothing built on the machine is found."""
    home = tmp_path / "home"
    monkeypatch.setenv("NEUROVA_HOME", str(home))
    return home


def test_a_tag_per_registered_model_and_data_with_the_leaderboard_recipe() -> None:
    tags = zoo.tags()
    assert set(lb.tags()) == {f"{name}.synthetic_faces" for name in list_models()}
    assert set(tags) == set(lb.tags()) | {f"{name}.{data}" for name in list_models()
                                          for data in ("synthetic_faces_noise", "synthetic_faces_cameras")}
    for name, tag in tags.items():
        assert tag.recipe == zoo.recipe_for(tag.model) and tag.seed == zoo.DEFAULT_SEED
        if tag.data == "synthetic_faces":
            assert tag.recipe == lb.tags()[name].recipe and tag.protocol == zoo.SYNTHETIC_FACES
        elif tag.data == "synthetic_faces_noise":  # the same faces, the training subjects also seen by noisy sensors
            assert tag.protocol == replace(zoo.SYNTHETIC_FACES, train_sensors=("noisy", "dim", "dark"))
        else:  # and by sensors of other contrast thresholds
            assert tag.protocol == replace(zoo.SYNTHETIC_FACES, train_sensors=(
                "noisy", "dim", "dark", "threshold_0.1", "threshold_0.15", "threshold_0.3", "threshold_0.4",
                "davis346_lit", "davis346_dark"),  # and by the two sensors fitted to a real DAVIS346
                train_phases_us=(0, 10_000, 20_000, 30_000),  # and off the video frame clock
                train_box_jitter=(0.04, 0.09))  # and cropped with a face detector's error
    assert lb.Protocol is zoo.Protocol and lb.Recipe is zoo.Recipe  # one definition of sizes and recipes
    assert zoo.get_tag("vit_tiny.synthetic_faces").recipe.model_args == (("img_size", 64),)
    # the attention head warms up (without it two of three seeds collapsed); the recurrent heads do not need it
    assert zoo.recipe_for("resnet18_transformer") is zoo.RECIPES["attention"]
    assert zoo.RECIPES["attention"].warmup_steps > 0
    assert zoo.recipe_for("resnet18_lstm") is zoo.recipe_for("resnet18_gru") is zoo.RECIPES["temporal"]
    with pytest.raises(ValueError, match=r"known tags: .*tiny_cnn\.synthetic_faces"):
        zoo.get_tag("tiny_cnn.afew_va")


def test_train_sensors_add_the_training_subjects_as_other_sensors_record_them(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown sensor"):
        replace(SMALL, train_sensors=("bright",))
    clean, contract = zoo.load_splits(SMALL, cache_dir=tmp_path)
    mixed, same_contract = zoo.load_splits(replace(SMALL, train_sensors=("noisy", "dark")), cache_dir=tmp_path)
    assert same_contract == contract
    n = len(clean["train"].frames)
    assert len(mixed["train"].frames) == 3 * n  # clean, then as the noisy and the dark sensors record them
    for name in ("val", "test"):  # held out on the clean events
        assert torch.equal(mixed[name].frames, clean[name].frames)
    assert torch.equal(mixed["train"].frames[:n], clean["train"].frames)
    assert all(torch.equal(mixed["train"].va[k * n:(k + 1) * n], clean["train"].va) for k in (1, 2))
    density = [float((mixed["train"].frames[k * n:(k + 1) * n] > 0).float().mean()) for k in range(3)]
    assert density[0] < density[1] < density[2]  # the noisier the sensor, the more pixels fire
    assert "also simulated by the noisy, dark sensor(s) (3x the training samples)" in replace(
        SMALL, train_sensors=("noisy", "dark")).describe()


def test_train_phases_end_the_training_windows_at_each_phase_in_turn(tmp_path) -> None:
    protocol = replace(SMALL, train_sensors=("noisy",), train_phases_us=(0, 20_000))
    # each copy's samples take the phases in turn, the next copy one phase later: no extra samples
    assert protocol.train_copies() == [("clean", (0, 20_000)), ("noisy", (20_000, 0))]
    assert "(2x the training samples); training windows ending 0, 20 ms before their frame, the samples' in turn" in (
        protocol.describe())
    clean, _ = zoo.load_splits(SMALL, cache_dir=tmp_path)
    mixed, _ = zoo.load_splits(protocol, cache_dir=tmp_path)
    expected = [zoo._datamodule(SMALL, 8, 5000, tmp_path, **options).make_dataset("train", phase_us=phases)
                for options, phases in (({}, (0, 20_000)), ({"preset": "noisy"}, (20_000, 0)))]
    frames = torch.cat([torch.stack([s["frames"] for s in d]) for d in expected])
    assert torch.equal(mixed["train"].frames, frames)
    assert torch.equal(mixed["train"].va, torch.cat([torch.stack([s["va"] for s in d]) for d in expected]))
    assert not torch.equal(mixed["train"].frames[:len(clean["train"].frames)], clean["train"].frames)
    for name in ("val", "test"):  # held out on the frames
        assert torch.equal(mixed[name].frames, clean[name].frames)
    assert replace(SMALL, train_phases_us=(0, 20_000)).train_copies() == [("clean", (0, 20_000))]
    with pytest.raises(ValueError, match="whole numbers of µs >= 0"):
        replace(SMALL, train_phases_us=(-5,))


def test_train_box_jitter_moves_each_copys_face_boxes_once(tmp_path) -> None:
    protocol = replace(SMALL, train_sensors=("noisy",), train_box_jitter=(0.05, 0.1))
    assert "face boxes moved by N(0, 0.05) sides and scaled by exp(N(0, 0.1))" in protocol.describe()
    clean, _ = zoo.load_splits(SMALL, cache_dir=tmp_path)
    jittered, _ = zoo.load_splits(protocol, cache_dir=tmp_path)
    # copy k: the dataset with that box error and jitter_seed=k (fixed: the build stays deterministic)
    expected = [zoo._datamodule(SMALL, 8, 5000, tmp_path, **options).make_dataset(
        "train", (0,), box_jitter=(0.05, 0.1), jitter_seed=k) for k, options in enumerate(({}, {"preset": "noisy"}))]
    assert torch.equal(jittered["train"].frames, torch.cat([torch.stack([s["frames"] for s in d]) for d in expected]))
    assert expected[0].face_box(0) != expected[1].face_box(0)  # each copy sees its own error
    assert not torch.equal(jittered["train"].frames[:len(clean["train"].frames)], clean["train"].frames)
    for name in ("val", "test"):  # scored on the true boxes
        assert torch.equal(jittered[name].frames, clean[name].frames)
    assert data_name(protocol) is None  # a variant of the data, not a tag's
    with pytest.raises(ValueError, match="shift and scale"):
        replace(SMALL, train_box_jitter=(0.05, -1.0))
    with pytest.raises(ValueError, match=r"train_box_jitter must be \(shift, scale\)"):
        replace(SMALL, train_box_jitter=(0.05,))


def test_build_is_bit_for_bit_deterministic_and_writes_a_model_card(tmp_path, empty_home, monkeypatch) -> None:
    import neurova.models.task

    laid_out = []  # builds train in the contiguous layout of the shipped tags, not channels-last
    monkeypatch.setattr(neurova.models.task, "to_channels_last", lambda module: laid_out.append(module) or [])
    cache = tmp_path / "cache"
    first = zoo.build("tiny_cnn_fusion.synthetic_faces", seed=3, protocol=SMALL, cache_dir=cache, progress=False)
    assert first == empty_home / "models" / "tiny_cnn_fusion.synthetic_faces"  # where from_pretrained looks first
    again = zoo.build("tiny_cnn_fusion.synthetic_faces", tmp_path / "again", seed=3, protocol=SMALL, cache_dir=cache,
                      progress=False)
    other = zoo.build("tiny_cnn_fusion.synthetic_faces", tmp_path / "other", seed=4, protocol=SMALL, cache_dir=cache,
                      progress=False)
    assert zoo.weights_digest(first) == zoo.weights_digest(again)
    assert zoo.weights_digest(first) != zoo.weights_digest(other)  # the seed matters
    assert laid_out == []

    config = json.loads((first / "config.json").read_text())
    assert config["architecture"] == "tiny_cnn_fusion"
    assert {"test/ccc_valence", "test/rmse_arousal"} <= set(config["metrics"])
    card = (first / "README.md").read_text()
    for part in ("## Recipe", "lr 0.003", "cosine schedule", "random horizontal flips", "training seed 3",
                 f"neurova synthetic faces ({CACHE_VERSION}): 6 subjects", "## Test metrics", "| CCC valence |",
                 "## Intended use and limits", "Minimum recording length", zoo.weights_digest(first),
                 'from_pretrained("tiny_cnn_fusion.synthetic_faces")'):
        assert part in card, part
    model = from_pretrained("tiny_cnn_fusion.synthetic_faces")  # $NEUROVA_HOME comes before the shipped copy
    reference = from_pretrained(first)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values(),
                                                 strict=True))
    assert zoo.status("tiny_cnn_fusion.synthetic_faces").local == first


@pytest.mark.parametrize("data", ["synthetic_faces", "synthetic_faces_cameras"])
def test_leaderboard_summary_reads_the_seeds_of_the_tags_recipe_and_data(tmp_path, data) -> None:
    """Results as the leaderboard writes them (JSON: a protocol's training sensors become a list) are matched."""
    tag = zoo.get_tag(f"tiny_cnn_fusion.{data}")
    results = tmp_path / "results" / "tiny_cnn_fusion"
    results.mkdir(parents=True)
    def older(spec, kind):  # as saved before the fields this tag leaves unset existed
        return {k: v for k, v in asdict(spec).items() if v or k not in kind.LATER_FIELDS}

    older_protocol, older_recipe = older(tag.protocol, zoo.Protocol), older(tag.recipe, zoo.Recipe)
    for seed, ccc in enumerate([0.8, 0.9]):
        (results / f"seed{seed}.json").write_text(json.dumps({  # seed 1 saved before the later, unset fields
            "recipe": older_recipe if seed else asdict(tag.recipe),
            "protocol": older_protocol if seed else asdict(tag.protocol), "n_bits": tag.n_bits,
            "bin_us": tag.bin_us, "test": {"ccc_valence": ccc}}))
    other = replace(tag.protocol, epochs=40)  # another budget: not this tag's seeds
    (results / "seed2.json").write_text(json.dumps({
        "recipe": asdict(tag.recipe), "protocol": asdict(other), "n_bits": tag.n_bits, "bin_us": tag.bin_us,
        "test": {"ccc_valence": 0.1}}))
    summary, n = zoo.leaderboard_summary(tmp_path, tag)
    assert n == 2 and summary["ccc_valence"] == pytest.approx((0.85, 0.0707), abs=1e-4)


def test_card_gives_the_command_that_rebuilds_it() -> None:
    tag = zoo.get_tag("tiny_cnn_fusion.synthetic_faces_cameras")
    assert "Rebuild: `neurova zoo build tiny_cnn_fusion.synthetic_faces_cameras`" in zoo.card_section(tag, {})
    variant = replace(tag, protocol=replace(tag.protocol, train_box_jitter=None), seed=2)
    assert ("Rebuild: `neurova.zoo.build('tiny_cnn_fusion.synthetic_faces_cameras', seed=2, protocol=Protocol("
            in zoo.card_section(variant, {}))


def test_card_shows_the_leaderboard_mean_and_sd_and_is_rewritten_not_appended(tmp_path) -> None:
    folder = tmp_path / "model"
    tag = zoo.get_tag("tiny_cnn.synthetic_faces")
    zoo.save_tagged(create_model("tiny_cnn"), tag, {"ccc_valence": 0.5, "ccc_arousal": None}, folder)
    summary = {"ccc_valence": (0.718, 0.015), "ccc_arousal": (0.587, None)}
    zoo.write_card_section(folder, zoo.card_section(tag, {"ccc_valence": 0.5}, summary, n_seeds=3))
    card = (folder / "README.md").read_text()
    assert card.count("## Recipe") == 1 and card.count("## Intended use") == 1
    assert "| CCC valence | 0.500 | 0.718 ± 0.015 |" in card and "| CCC arousal | – | 0.587 |" in card
    assert "over 3 training seed(s)" in card
    assert card.index("## Recipe") < card.index("## Load")  # the zoo's part sits before the loading notes


@pytest.mark.parametrize("tag", zoo.SHIPPED_TAGS)
def test_shipped_tags_load_with_no_build(tag) -> None:
    assert (PACKAGED_DIR / tag / "model.safetensors").stat().st_size < 1_000_000  # small enough for the package
    model = from_pretrained(tag)
    name = tag.split(".")[0]
    assert model.architecture == name and not model.training
    assert model.input_contract.encoding == "tbr" and model.input_contract.n_bits == 8
    # a registered name stands for its default tag (synthetic_faces); another tag is asked for by name
    same = create_model(name, pretrained=True if tag.endswith(".synthetic_faces") else tag)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values(),
                                                 strict=True))
    frames = torch.rand(2, model.input_contract.clip_length, 1, 64, 64)
    assert model(frames).shape == (2, 2)
    state = zoo.status(tag)
    assert state.shipped == PACKAGED_DIR / tag and state.local is None
    assert state.metrics["test/ccc_valence"] > 0.5  # trained at the full recipe, not a test budget
    # built from the synthetic faces of the current CACHE_VERSION: bumping it means rebuilding the shipped tags
    assert json.loads((PACKAGED_DIR / tag / "config.json").read_text())["data"] == zoo.get_tag(tag).protocol.describe()
    card = (PACKAGED_DIR / tag / "README.md").read_text()
    assert "## Recipe" in card and "leaderboard" in card and zoo.weights_digest(PACKAGED_DIR / tag) in card


def test_a_local_copy_of_a_tag_comes_before_the_shipped_one(empty_home) -> None:
    tag = zoo.SHIPPED_TAGS[0]
    local = empty_home / "models" / tag
    shutil.copytree(PACKAGED_DIR / tag, local)
    with torch.no_grad():
        model = from_pretrained(local)
        next(model.parameters()).add_(1.0)
    model.save_pretrained(local)
    assert torch.equal(next(from_pretrained(tag).parameters()), next(model.parameters()))


def test_cli_lists_tags_and_refuses_bad_builds(capsys) -> None:
    from neurova.cli import main

    assert main(["zoo", "list"]) == 0
    listed = capsys.readouterr().out
    shipped_row = next(line for line in listed.splitlines() if line.startswith("tiny_cnn_fusion.synthetic_faces"))
    assert shipped_row.split()[1:3] == ["-", "yes"] and "lr 0.003" in shipped_row
    assert "resnet18_fusion.synthetic_faces" in listed
    cameras_row = next(line for line in listed.splitlines()
                       if line.startswith("tiny_cnn_fusion.synthetic_faces_cameras"))
    assert "threshold_0.4/davis346_lit/davis346_dark sensors" in cameras_row
    assert "windows off the frame clock" in cameras_row
    assert "jittered face boxes" in cameras_row
    assert main(["zoo", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(zoo.tags()) and rows[0]["recipe"]["lr"] > 0
    with pytest.raises(SystemExit, match="known tags"):
        main(["zoo", "build", "nothing.synthetic_faces"])
    with pytest.raises(SystemExit, match="one TAG or --shipped"):
        main(["zoo", "build"])
    with pytest.raises(SystemExit, match="neither a model folder nor a built or shipped tag"):
        main(["zoo", "push", "resnet50.synthetic_faces", "user/repo"])
