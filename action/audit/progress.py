"""What a running audit tells a person watching it: canon loaded, files in scope, the session's
start and turns, the vote, and the end. The runner calls a `Progress` it is given; the default
says nothing, so the Action's logs and a piped `canon-gate audit` stay as they were."""

from __future__ import annotations

from typing import Protocol

from action.report import Report


class Progress(Protocol):
    def canon_loaded(self, gate: str, documents: int) -> None: ...

    def in_scope(self, gate: str, files: int) -> None: ...

    def session_started(self, gate: str, max_turns: int, wall_seconds: int) -> None: ...

    def turn(self, gate: str, turns: int) -> None: ...

    def voting(self, gate: str, votes: int) -> None: ...

    def done(self, report: Report) -> None: ...


class Silent:
    """Progress that says nothing."""

    def canon_loaded(self, gate: str, documents: int) -> None:
        pass

    def in_scope(self, gate: str, files: int) -> None:
        pass

    def session_started(self, gate: str, max_turns: int, wall_seconds: int) -> None:
        pass

    def turn(self, gate: str, turns: int) -> None:
        pass

    def voting(self, gate: str, votes: int) -> None:
        pass

    def done(self, report: Report) -> None:
        pass
