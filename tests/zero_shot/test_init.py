"""neurova.zero_shot: names that moved out of the package still resolve, with a DeprecationWarning."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("name", "home"), [("confusion_matrix", "neurova.metrics"),
                                            ("classification_scores", "neurova.metrics"),
                                            ("model_frames", "neurova.zero_shot.evaluate")])
def test_moved_names_warn_and_point_to_their_home(name, home):
    import importlib

    import neurova.zero_shot

    with pytest.warns(DeprecationWarning, match=f"neurova.zero_shot.{name} moved to {home}.{name}"):
        shim = getattr(neurova.zero_shot, name)
    assert shim is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        neurova.zero_shot.nothing  # noqa: B018
