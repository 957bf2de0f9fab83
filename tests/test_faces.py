from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurova import faces as faces_module
from neurova.errors import EventFormatError
from neurova.events import make_events
from neurova.faces import (
    AutoFaceDetector,
    BoxTracker,
    FaceDetection,
    HaarEventDetector,
    accumulate_events,
    box_iou,
    combine_detections,
    crop_and_resize,
    detect_face,
    event_image,
    get_face_detector,
    letterbox,
    remove_noise_floor,
    smooth_boxes,
    square_box_from_landmarks,
)

cv2 = pytest.importorskip("cv2")


def drawn_face(cx: int = 160, cy: int = 120, r: int = 60, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A grey cartoon face (oval, brows, eyes, nose, mouth) centred at (cx, cy), ``r`` pixels half-height."""
    img = np.full((size[1], size[0]), 40, np.uint8)
    cv2.ellipse(img, (cx, cy), (int(r * 0.8), r), 0, 0, 360, 200, -1)
    for side in (-1, 1):
        cv2.ellipse(img, (cx + side * int(r * 0.33), cy - int(r * 0.2)), (int(r * 0.16), int(r * 0.08)), 0, 0, 360, 30, -1)
        brow_y = cy - int(r * 0.38)
        cv2.line(img, (cx + side * int(r * 0.15), brow_y), (cx + side * int(r * 0.5), brow_y), 60, max(2, r // 15))
    cv2.line(img, (cx, cy - int(r * 0.1)), (cx, cy + int(r * 0.2)), 140, 3)
    cv2.ellipse(img, (cx, cy + int(r * 0.45)), (int(r * 0.3), int(r * 0.08)), 0, 0, 360, 60, -1)
    return cv2.GaussianBlur(img, (0, 0), 2)


def face_events(cx: int = 160, cy: int = 120, radius_px: int = 6, steps: int = 16) -> np.ndarray:
    """Events of the drawn face moving on a small circle: one event per pixel whose brightness changes."""
    positions = [(cx + round(radius_px * np.cos(a)), cy + round(radius_px * np.sin(a)))
                 for a in np.linspace(0, 2 * np.pi, steps)]
    prev = drawn_face(*positions[0]).astype(float)
    parts = []
    for k, (x, y) in enumerate(positions[1:]):
        cur = drawn_face(x, y).astype(float)
        diff = cur - prev
        ys, xs = np.nonzero(np.abs(diff) > 8)
        parts.append((xs, ys, np.full(len(xs), k * 1000), diff[ys, xs] > 0))
        prev = cur
    return make_events(*(np.concatenate(col) for col in zip(*parts)))


# --- landmarks, smoothing, cropping ----------------------------------------------------------------


def test_square_box_from_landmarks_centred_and_enlarged():
    pts = np.array([[10.0, 20.0], [50.0, 20.0], [30.0, 80.0]])  # extent 40 x 60, centre (30, 50)
    box = square_box_from_landmarks(pts, margin=0.25)
    np.testing.assert_allclose(box, [30 - 45, 50 - 45, 90, 90])
    np.testing.assert_allclose(square_box_from_landmarks(pts, margin=0.0), [0, 20, 60, 60])
    assert box.dtype == np.float64


@pytest.mark.parametrize("bad", [np.zeros((68, 3)), np.zeros((0, 2)), np.full((68, 2), np.nan)])
def test_square_box_from_landmarks_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        square_box_from_landmarks(bad)


def test_smooth_boxes_moving_average_with_shrinking_ends():
    boxes = np.zeros((5, 4))
    boxes[:, 0] = [0, 10, 20, 30, 100]
    out = smooth_boxes(boxes, window=3)
    np.testing.assert_allclose(out[:, 0], [5, 10, 20, 50, 65])
    np.testing.assert_allclose(out[:, 1:], 0)
    constant = np.tile([1.0, 2.0, 3.0, 4.0], (7, 1))
    np.testing.assert_allclose(smooth_boxes(constant, window=9), constant)
    np.testing.assert_allclose(smooth_boxes(boxes, window=1), boxes)


def test_smooth_boxes_fills_missing_rows_from_neighbours():
    boxes = np.array([[0.0, 0, 10, 10], [np.nan] * 4, [4.0, 0, 10, 10], [np.nan] * 4, [np.nan] * 4, [np.nan] * 4])
    out = smooth_boxes(boxes, window=3)
    np.testing.assert_allclose(out[1], [2, 0, 10, 10])
    np.testing.assert_allclose(out[3], [4, 0, 10, 10])
    assert np.isnan(out[4]).all() and np.isnan(out[5]).all()
    with pytest.raises(ValueError, match="window"):
        smooth_boxes(boxes, window=0)
    with pytest.raises(ValueError, match=r"\(T, 4\)"):
        smooth_boxes(np.zeros((3, 3)))


def test_crop_and_resize_inside_and_padded():
    frame = np.arange(100, dtype=np.uint8).reshape(10, 10)
    np.testing.assert_array_equal(crop_and_resize(frame, (2, 3, 4, 4), 4), frame[3:7, 2:6])
    padded = crop_and_resize(frame, (-2, -1, 4, 4), 4)
    expected = np.zeros((4, 4), np.uint8)
    expected[1:, 2:] = frame[:3, :2]
    np.testing.assert_array_equal(padded, expected)
    assert crop_and_resize(frame, (20, 20, 5, 5), 3).tolist() == [[0] * 3] * 3


def test_crop_and_resize_area_downsampling():
    frame = np.zeros((8, 8), np.uint8)
    frame[:4, :4] = 200
    out = crop_and_resize(frame, (0, 0, 8, 8), 2)
    assert out.shape == (2, 2) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[200, 0], [0, 0]])
    with pytest.raises(ValueError, match="positive"):
        crop_and_resize(frame, (0, 0, 0, 4), 2)
    with pytest.raises(ValueError, match="NaN"):
        crop_and_resize(frame, (np.nan, 0, 4, 4), 2)


# --- detection -------------------------------------------------------------------------------------


def _centre(box: np.ndarray) -> np.ndarray:
    return box[:2] + box[2:] / 2


def test_detect_face_on_a_drawn_face_and_blank_image():
    box = detect_face(drawn_face(cx=150, cy=110, r=50))
    assert box is not None
    np.testing.assert_allclose(_centre(box), [150, 110], atol=8)
    assert 60 <= box[2] <= 160
    assert detect_face(np.zeros((120, 160), np.uint8)) is None
    assert detect_face(np.zeros((120, 160), np.float32)) is None
    with pytest.raises(ValueError, match="grey"):
        detect_face(np.zeros((4, 4, 3), np.uint8))


def test_detect_face_on_accumulated_events():
    events = face_events(cx=160, cy=120)
    image = accumulate_events(events, (320, 240))
    assert image.shape == (240, 320) and image.dtype == np.uint8
    box = detect_face(image)
    assert box is not None
    np.testing.assert_allclose(_centre(box), [160, 120], atol=8)
    # the plain (not inverted) activity image does not look like a face to the cascade
    assert detect_face(accumulate_events(events, (320, 240), invert=False)) is None


def test_accumulate_events_scaling():
    events = make_events([0, 1, 1, 1, 2], [0, 0, 0, 0, 1], [0, 1, 2, 3, 4], [1, 0, 1, 1, 0])
    image = accumulate_events(events, (3, 2), clip_percentile=100, blur_sigma=0, invert=False)
    np.testing.assert_array_equal(image, [[85, 255, 0], [0, 0, 85]])
    blank = accumulate_events(events[:0], (3, 2))
    assert (blank == 255).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 400), min_size=1, max_size=300), st.floats(0, 100))
def test_activity_image_equals_the_percentile_and_float_maths(values, q):
    """The histogram's clip level is ``np.percentile`` of the active counts, and the table gives each pixel what
    ``rint(clip(count / level, 0, 1) * 255)`` gives."""
    counts = np.array(values, dtype=np.int64).reshape(1, -1)
    image = faces_module._activity_image(counts, q, 0.0)
    active = counts[counts > 0]
    if not len(active):
        assert not image.any()
        return
    assert faces_module._percentile_of_positive(np.bincount(active), q) == float(np.percentile(active, q))
    top = max(float(np.percentile(active, q)), 1.0)
    np.testing.assert_array_equal(image, np.rint(np.clip(counts / top, 0.0, 1.0) * 255).astype(np.uint8))


# --- tracking --------------------------------------------------------------------------------------


def test_box_tracker_smooths_and_bounds_steps():
    tracker = BoxTracker(alpha=0.5, max_jump=0.25, reject_jump=100.0)
    assert tracker.update(None) is None
    np.testing.assert_allclose(tracker.update((0, 0, 20, 20)), [0, 0, 20, 20])
    np.testing.assert_allclose(tracker.update((4, 0, 24, 20)), [2, 0, 22, 20])  # centre 10 -> 13, size 20 -> 22
    np.testing.assert_allclose(tracker.update(None), [2, 0, 22, 20])
    far = tracker.update((500, 0, 22, 20))  # accepted (reject_jump is huge) but moves the centre only max_jump * side
    np.testing.assert_allclose(_centre(far)[0] - 13, 0.25 * 22)
    tracker.reset()
    assert tracker.box is None
    for bad in ({"alpha": 0}, {"max_jump": 0}, {"reject_jump": 0}, {"reject_scale": 1.0}, {"reacquire": 0},
                {"max_misses": 0}):
        with pytest.raises(ValueError):
            BoxTracker(**bad)


def test_box_tracker_rejects_jumps_and_reacquires_a_face_that_moved():
    tracker = BoxTracker(alpha=1.0, max_jump=10.0, reject_jump=1.0, reacquire=3)
    tracker.update((100, 100, 40, 40))
    held = tracker.update((300, 100, 40, 40))  # 5 sides away: a spurious detection, the box stays
    np.testing.assert_allclose(held, [100, 100, 40, 40])
    np.testing.assert_allclose(tracker.update((100, 100, 200, 200)), [100, 100, 40, 40])  # 5x the size: rejected
    assert tracker.misses == 2
    np.testing.assert_allclose(tracker.update((102, 100, 40, 40)), [102, 100, 40, 40])  # near: accepted
    assert tracker.misses == 0
    for _ in range(2):  # the face really moved: two agreeing jumps are still rejected ...
        np.testing.assert_allclose(tracker.update((300, 100, 40, 40)), [102, 100, 40, 40])
    np.testing.assert_allclose(tracker.update((301, 100, 40, 40)), [301, 100, 40, 40])  # ... the third restarts
    # jumps that disagree with each other never restart the track
    for x in (0, 300, 0, 300, 0):
        np.testing.assert_allclose(tracker.update((x, 400, 40, 40)), [301, 100, 40, 40])


def test_box_tracker_holds_then_loses_the_box_after_max_misses():
    tracker = BoxTracker(max_misses=2)
    tracker.update((10, 10, 20, 20))
    assert tracker.update(None) is not None and tracker.update(None) is not None
    assert tracker.update(None) is None  # third miss: lost, the caller falls back
    np.testing.assert_allclose(tracker.update((50, 50, 20, 20)), [50, 50, 20, 20])  # a new track starts anywhere
    forever = BoxTracker()
    forever.update((10, 10, 20, 20))
    assert all(forever.update(None) is not None for _ in range(100))


# --- event images, detectors -----------------------------------------------------------------------


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)


@pytest.mark.parametrize(("sensor", "expected"), [((320, 240), (0.4, 0.0, 0.0)), ((1280, 720), (0.1, 0.0, 12.0)),
                                                  ((96, 96), (1.0, 16.0, 0.0))])
def test_letterbox_keeps_the_aspect_and_centres(sensor, expected):
    np.testing.assert_allclose(letterbox(sensor, (128, 96)), expected)


def test_event_image_bins_polarities_into_the_letterboxed_input():
    # 1280x720 → scale 0.1, 12 px of padding top and bottom
    events = make_events([0, 5, 9, 1279, 640], [0, 0, 9, 719, 360], [0, 1, 2, 3, 4], [1, 1, 0, 1, 0])
    image = event_image(events, (1280, 720), (128, 96), clip_percentile=100)
    assert image.shape == (2, 96, 128) and image.dtype == np.float32
    assert image[0, 12, 0] == 1.0  # two ON events in input pixel (0, 12): the maximum count
    assert image[1, 12, 0] == 0.5  # one OFF event there
    assert image[0, 83, 127] == 0.5 and image[1, 48, 64] == 0.5
    assert image[:, :12].sum() == 0 and image[:, 84:].sum() == 0  # padding stays empty
    assert image.sum() == 2.5
    assert not event_image(events[:0], (1280, 720)).any()
    with pytest.raises(EventFormatError):
        event_image(events, (320, 240))  # events outside the sensor


def test_remove_noise_floor_takes_poisson_noise_out_and_leaves_scenes_alone():
    rng = np.random.default_rng(0)
    noise = rng.poisson(30.0, (2, 96, 128))  # a dark pixel's noise everywhere, and a face firing on top of it
    face = np.zeros_like(noise)
    face[:, 30:60, 40:70] = 60
    cleaned = remove_noise_floor(noise + face)
    assert cleaned.dtype == np.float32 and cleaned.shape == noise.shape
    outside = np.ones(noise.shape, bool)
    outside[:, 30:60, 40:70] = False
    assert (cleaned[outside] == 0).mean() > 0.95 and (cleaned[~outside] > 0).mean() > 0.95
    np.testing.assert_allclose(remove_noise_floor(noise[0] + face[0], sd=0), np.maximum(noise[0] + face[0] - 30, 0))
    sparse = face.copy()  # clean events: the median pixel has none, nothing changes
    assert remove_noise_floor(sparse) is sparse
    scene = rng.poisson(rng.gamma(0.5, 60.0, (2, 96, 128)))  # a moving textured scene: uneven, not noise
    assert np.median(scene) > 0 and remove_noise_floor(scene) is scene
    with pytest.raises(ValueError, match="sd"):
        remove_noise_floor(noise, sd=-1)


def test_event_image_noise_floor_spares_clean_windows_and_the_padding():
    rng = np.random.default_rng(1)
    face = face_events(cx=160, cy=120)
    assert np.array_equal(event_image(face, (320, 240), noise_floor_sd=2), event_image(face, (320, 240)))
    n = 40 * 1280 * 720  # 40 noise events per pixel on a letterboxed sensor
    noisy = make_events(rng.integers(0, 1280, n), rng.integers(0, 720, n), np.sort(rng.integers(0, 200_000, n)),
                        rng.integers(0, 2, n))
    image = event_image(noisy, (1280, 720), noise_floor_sd=2)
    assert image[:, :12].sum() == 0 and image[:, 84:].sum() == 0  # the padding is not part of the floor
    assert (image[:, 12:84] == 0).mean() > 0.95 and (event_image(noisy, (1280, 720))[:, 12:84] > 0).all()


def test_haar_event_detector_finds_the_drawn_face_in_events():
    detector = HaarEventDetector(box_scale=1.0)
    events = face_events(cx=160, cy=120)
    detection = detector.detect(events, (320, 240))
    assert detection.found and detection.source == "haar" and 0 < detection.score <= 1
    np.testing.assert_allclose(_centre(detection.box), [160, 120], atol=8)
    np.testing.assert_allclose(detector(events, (320, 240)), detection.box)
    scaled = HaarEventDetector(box_scale=1.5).detect(events, (320, 240)).box
    np.testing.assert_allclose(scaled[2], 1.5 * detection.box[2])
    none = detector.detect(events[:0], (320, 240))
    assert none.box is None and not none.found and detector(events[:0], (320, 240)) is None
    with pytest.raises(ValueError):
        HaarEventDetector(fractions=())
    with pytest.raises(ValueError, match="cascade_side"):
        HaarEventDetector(cascade_side=10)


def test_haar_event_detector_shrinks_large_sensors_and_maps_the_box_back():
    """The drawn face's events doubled onto a 640x480 sensor (2x2 pixels per event): the cascade runs on the image
    shrunk back to 320x240 and its box, scaled back, is about twice the box found at 320x240."""
    small = face_events(cx=160, cy=120)
    offsets = [(dx, dy) for dx in (0, 1) for dy in (0, 1)]
    big = make_events(np.concatenate([2 * small["x"].astype(int) + dx for dx, _ in offsets]),
                      np.concatenate([2 * small["y"].astype(int) + dy for _, dy in offsets]),
                      np.tile(small["t"], 4), np.tile(small["p"], 4))  # fmt: skip
    big = big[np.argsort(big["t"], kind="stable")]
    at_320 = HaarEventDetector().detect(small, (320, 240))
    shrunk = HaarEventDetector().detect(big, (640, 480))
    full = HaarEventDetector(cascade_side=None).detect(big, (640, 480))
    assert at_320.found and shrunk.found and full.found
    np.testing.assert_allclose(shrunk.box, 2 * at_320.box, atol=0.03 * shrunk.box[2])  # the blur differs a little
    np.testing.assert_allclose(_centre(full.box), _centre(shrunk.box), atol=12)


def test_combine_detections_over_many_windows():
    nan = [np.nan] * 4
    box = [0, 0, 10, 10]
    learned = np.array([box, box, box, box, box, box, nan], float)
    score = np.array([0.9, 0.9, 0.2, 0.9, 0.9, 0.2, 0.0])
    found = np.array([True, True, True, True, False, True, False])
    haar = np.array([[1, 0, 10, 10], [50, 50, 10, 10], [50, 50, 10, 10], nan, nan, nan, nan], float)
    combined = combine_detections(learned, score, found, haar)
    np.testing.assert_array_equal(combined[:4], [[1, 0, 10, 10], box, [50, 50, 10, 10], box])
    assert np.isnan(combined[4:]).all()  # below its own threshold, or not confident with no cascade: no answer


def test_auto_without_opencv_warns_that_it_runs_the_learned_detector_alone(monkeypatch):
    from neurova.errors import MissingDependencyError

    def missing(module, extra, purpose):
        raise MissingDependencyError(f"{module} is missing")

    monkeypatch.setattr(faces_module, "require", missing)
    with pytest.warns(faces_module.DetectorFallbackWarning, match=r"neurova-va\[faces\]"):
        auto = get_face_detector("auto")
    assert auto.haar is None and isinstance(auto.learned, faces_module.LearnedFaceDetector)


def test_get_face_detector_names():
    assert isinstance(get_face_detector("haar"), HaarEventDetector)
    auto = get_face_detector("auto", noise_floor_sd=1.0)  # the learned backend's setting
    assert auto.learned.noise_floor_sd == 1.0 and isinstance(auto.haar, HaarEventDetector)
    assert get_face_detector("auto").learned.noise_floor_sd == faces_module.NOISE_FLOOR_SD
    with pytest.raises(ValueError, match="unknown face detector"):
        get_face_detector("yolo")


class _Fixed:
    """A stand-in backend that always returns the same detection."""

    def __init__(self, detection: FaceDetection) -> None:
        self.detection = detection
        self.calls = 0

    def detect(self, events, sensor_size):
        self.calls += 1
        return self.detection

    def __call__(self, events, sensor_size):
        detection = self.detect(events, sensor_size)
        return detection.box if detection.found else None


def test_auto_detector_combines_both_answers():
    """The cascade's box unless a confident learned box disagrees with it; a learned box alone only if confident."""
    events = make_events([1], [1], [0], [1])
    confident = FaceDetection(np.array([1.0, 2, 3, 3]), 0.9, True, "learned")
    unsure = FaceDetection(np.array([1.0, 2, 3, 3]), 0.3, True, "learned")
    miss = FaceDetection(np.array([5.0, 5, 3, 3]), 0.1, False, "learned")
    haar_far = FaceDetection(np.array([7.0, 7, 4, 4]), 0.5, True, "haar")  # IoU 0 with the learned box
    haar_near = FaceDetection(np.array([1.5, 2, 3, 3]), 0.5, True, "haar")  # IoU 0.71
    haar_miss = FaceDetection(None, 0.0, False, "none")

    def auto(learned: FaceDetection, haar: FaceDetection | None) -> FaceDetection:
        return AutoFaceDetector(_Fixed(learned), None if haar is None else _Fixed(haar)).detect(events, (8, 8))

    assert auto(confident, haar_near) is haar_near and auto(unsure, haar_near) is haar_near
    assert auto(confident, haar_far) is confident and auto(unsure, haar_far) is haar_far
    assert auto(confident, haar_miss) is confident and auto(miss, haar_far) is haar_far
    alone = auto(unsure, haar_miss)  # found by its own threshold, but not confident, and no cascade to agree
    assert not alone.found and alone.score == 0.3 and np.array_equal(alone.box, unsure.box)
    assert auto(confident, None) is confident and auto(unsure, None) is unsure  # no OpenCV: the learned one alone
    np.testing.assert_array_equal(AutoFaceDetector(_Fixed(miss), _Fixed(haar_far))(events, (8, 8)), [7, 7, 4, 4])
    nothing = AutoFaceDetector(_Fixed(miss), _Fixed(haar_miss))
    assert nothing.detect(events, (8, 8)) is miss and nothing(events, (8, 8)) is None  # the learned best guess, not found
    assert AutoFaceDetector(None, _Fixed(haar_far)).detect(events, (8, 8)) is haar_far
    lenient = AutoFaceDetector(_Fixed(unsure), _Fixed(haar_far), confident_score=0.2)
    assert lenient.detect(events, (8, 8)) is unsure
    with pytest.raises(ValueError, match="at least one backend"):
        AutoFaceDetector(None, None)
    # the call answers what detect() finds, asking the cascade for its box only
    for learned in (confident, unsure, miss):
        for haar in (haar_far, haar_near, haar_miss, None):
            for rule in ({}, {"confident_score": 0.2}):
                detector = AutoFaceDetector(_Fixed(learned), None if haar is None else _Fixed(haar), **rule)
                found = detector.detect(events, (8, 8))
                answer = detector(events, (8, 8))
                assert (answer is None) if not found.found else np.array_equal(answer, found.box)


def test_haar_call_stops_at_the_first_face_and_answers_as_detect(monkeypatch):
    events = face_events(cx=160, cy=120)
    detector = HaarEventDetector()
    calls = []
    original = faces_module.detect_face
    monkeypatch.setattr(faces_module, "detect_face", lambda image: calls.append(1) or original(image))
    detection = detector.detect(events, (320, 240))
    assert detection.found and len(calls) == 6  # every rendering, for the vote
    calls.clear()
    np.testing.assert_allclose(detector(events, (320, 240)), detection.box)
    assert len(calls) < 6  # stopped at the first rendering with a face
    calls.clear()
    strict = HaarEventDetector(min_votes=2)  # votes decide: every rendering again
    found = strict.detect(events, (320, 240))
    calls.clear()
    answer = strict(events, (320, 240))
    assert len(calls) == 6 and ((answer is None) if not found.found else np.allclose(answer, found.box))
