"""Which deliveries the reconciler redelivers: a pure function over GitHub's delivery log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.flows.recovery import DeliveryRecord, to_redeliver

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def record(id: int, guid: str, status: int, *, redelivery: bool = False) -> DeliveryRecord:
    data: dict[str, Any] = {
        "id": id,
        "guid": guid,
        "delivered_at": (T0 + timedelta(seconds=id)).isoformat().replace("+00:00", "Z"),
        "redelivery": redelivery,
        "status_code": status,
        "status": "whatever",
        "event": "pull_request",
        "action": "opened",
        "duration": 0.1,
        "installation_id": 1,
        "repository_id": 2,
    }
    return DeliveryRecord.model_validate(data)


def ids(records: list[DeliveryRecord]) -> list[int]:
    return [r.id for r in records]


def test_failures_on_our_side_are_redelivered_oldest_first() -> None:
    log = [record(4, "d", 0), record(3, "c", 502), record(2, "b", 503), record(1, "a", 500)]
    assert ids(to_redeliver(log)) == [1, 2, 3, 4]


def test_successes_and_client_errors_are_left_alone() -> None:
    log = [record(3, "c", 422), record(2, "b", 401), record(1, "a", 200), record(5, "e", 202)]
    assert to_redeliver(log) == []


def test_a_guid_delivered_later_is_not_redelivered() -> None:
    log = [record(2, "a", 200, redelivery=True), record(1, "a", 503)]
    assert to_redeliver(log) == []


def test_each_guid_is_redelivered_once() -> None:
    # Already redelivered (by us or by hand) and still failing: leave it, do not loop.
    log = [record(2, "a", 503, redelivery=True), record(1, "a", 503)]
    assert to_redeliver(log) == []
    # Asked for in this process but not yet in the log: not again.
    assert to_redeliver([record(1, "a", 503)], attempted={"a": 0.0}) == []


def test_duplicates_of_one_guid_give_one_redelivery_of_the_newest() -> None:
    log = [record(5, "a", 0), record(1, "a", 503)]
    assert ids(to_redeliver(log)) == [5]
