"""The pluggy markers of the ``orchestrator_feedback`` project (re-exported at the root)."""

import pluggy

PROJECT_NAME = "orchestrator_feedback"
"""The pluggy project name, which is also the entry-point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in ``hookspecs`` as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's function as the implementation of the hook of the same name."""
