"""The one base class of canon-gate's own errors, shared by both planes.

It lives in the data plane, the lowest layer, because the App imports the action's contract and
never the other way round.
"""

from __future__ import annotations


class CanonGateError(Exception):
    """Base class of every error canon-gate raises on purpose."""
