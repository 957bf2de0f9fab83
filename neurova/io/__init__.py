"""Reading and writing event files.

:func:`read_events` / :func:`read_recording` read ``.h5``/``.hdf5`` (neurova, v2e and
Metavision layouts), Prophesee ``.raw`` (EVT 2.0, 2.1 and 3.0) and ``.dat``, ``.aedat4``, ``.aedat``
(AEDAT 2.0 of jAER and v2e, 3.1 of cAER), ``.npz``, ``.npy`` and text (``.txt``, ``.csv``) files,
dispatching on the suffix; :func:`iter_events` streams long recordings in
time windows or chunks with bounded memory, :func:`read_window` reads one window (an ``.h5`` file by binary
search), :func:`read_windows` several in one pass, and :func:`get_time_span` gives a file's first and last
timestamps; :func:`write_events` writes ``.h5`` and ``.npz``
atomically (``.h5`` also batch by batch), and :func:`convert_events` copies any readable file into
them. Events are always :data:`neurova.events.EVENT_DTYPE` (x, y int16; t int64 µs;
p bool), sorted by time. The HDF5 group helpers let a dataset cache many clips in one file.

The optional readers (``evt3`` for EVT 3.0, ``aedat`` for AEDAT4) come with
``pip install "neurova-va[io]"`` and are imported only when such a file is read.
"""

from __future__ import annotations

from neurova.io._common import Recording
from neurova.io._registry import (
    Conversion,
    convert_events,
    get_sensor_size,
    get_time_span,
    iter_events,
    read_events,
    read_recording,
    read_window,
    read_windows,
    supported_suffixes,
    write_events,
)
from neurova.io.aedat_legacy import AedatSensorWarning
from neurova.io.hdf5 import group_time_slice, read_events_from_group, write_events_to_group
from neurova.io.prophesee import RawHeader, read_raw_header

__all__ = [
    "AedatSensorWarning",
    "Conversion",
    "RawHeader",
    "Recording",
    "convert_events",
    "get_sensor_size",
    "get_time_span",
    "group_time_slice",
    "iter_events",
    "read_events",
    "read_events_from_group",
    "read_raw_header",
    "read_recording",
    "read_window",
    "read_windows",
    "supported_suffixes",
    "write_events",
    "write_events_to_group",
]
