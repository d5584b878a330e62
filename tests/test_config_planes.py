"""The config file has sections owned by each plane; each validates only what it reads."""

from __future__ import annotations

import pytest

from action.config import (
    ACTION_KEYS,
    APP_KEYS,
    SHARED_KEYS,
    AppConfig,
    Config,
    ConfigError,
    parse_config,
)

BOTH = "canon:\n  paths: [docs/canon]\nlimits:\n  max_turns: 12\nledger: false\ncomment: true\n"


def test_each_plane_reads_its_own_sections_and_sets_the_others_aside() -> None:
    runner = parse_config(BOTH)
    assert runner.canon.paths == ["docs/canon"]
    assert runner.limits.max_turns == 12
    app = parse_config(BOTH, view=AppConfig)
    assert (app.ledger, app.comment, app.canon.paths) == (False, True, ["docs/canon"])


def test_the_planes_share_only_the_keys_both_read() -> None:
    # The App needs the canon paths (governance key) and the session limits; the rest has one owner.
    assert ACTION_KEYS & APP_KEYS == SHARED_KEYS == {"canon", "limits"}
    assert {"canon", "limits", "hints"} <= ACTION_KEYS
    assert {"ledger", "comment"} <= APP_KEYS


def test_a_broken_section_of_one_plane_does_not_break_the_other() -> None:
    text = "model: 3\naudit:\n  paths: nowhere\nledger: false\n"
    with pytest.raises(ConfigError, match=r"line 3: `audit.paths`"):
        parse_config(text)
    assert parse_config(text, view=AppConfig).ledger is False


@pytest.mark.parametrize("view", [Config, AppConfig])
def test_a_key_neither_plane_owns_is_an_error_in_both(view: type[Config] | type[AppConfig]) -> None:
    with pytest.raises(ConfigError, match=r"line 2: `ledgr`"):
        parse_config("comment: false\nledgr: false\n", view=view)


def test_the_session_must_end_inside_the_audit_job() -> None:
    with pytest.raises(ConfigError, match=r"line 2: `limits.wall_time_seconds`"):
        parse_config("limits:\n  wall_time_seconds: 3600\n")
    assert parse_config("limits:\n  wall_time_seconds: 1500\n").limits.wall_time_seconds == 1500
