"""Plain helper functions shared by the tests: ``from tests.helpers.events import random_events``.

``events.py`` holds the one random event generator and the writers of Prophesee files (EVT 2.0 / 3.0 ``.raw``,
``.dat``); ``models.py`` the tiny registered net that model tests train in a fraction of a second.
"""
