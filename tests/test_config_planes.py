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
    # The App needs the canon paths (governance key), the limits and the gates (their checks).
    assert ACTION_KEYS & APP_KEYS == SHARED_KEYS == {"canon", "limits", "gates"}
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


GATE = "  - name: {name}\n    persona: [canon/personas/{name}.md]\n"


@pytest.mark.parametrize(
    ("gates", "says"),
    [
        (GATE.format(name="a") + GATE.format(name="a"), "two gates are named `a`"),
        (GATE.format(name="structure"), "reserved for the structural check"),
        (GATE.format(name="a") + "    needs: [nowhere]\n", "needs `nowhere`, which is no gate"),
        (
            GATE.format(name="a") + "    needs: [b]\n" + GATE.format(name="b") + "    needs: [a]\n",
            "which itself needs",
        ),
        ("  - name: Code_Sync\n    persona: [x]\n", "gates.0.name"),
        ("  - name: a\n    persona: []\n", "gates.0.persona"),
    ],
)
def test_an_invalid_gate_config_is_an_error_in_both_planes(gates: str, says: str) -> None:
    for view in (Config, AppConfig):
        with pytest.raises(ConfigError, match=r"line \d+: `gates") as raised:
            parse_config("gates:\n" + gates, view=view)
        assert says in str(raised.value)


def test_a_gate_may_need_structure_and_first_wave_gates() -> None:
    text = "gates:\n" + GATE.format(name="smoke") + "    needs: [structure]\n"
    text += GATE.format(name="code-sync") + "    needs: [structure, smoke]\n"
    gates = parse_config(text).gates
    assert gates is not None
    assert [(g.name, g.needs) for g in gates] == [
        ("smoke", ["structure"]),
        ("code-sync", ["structure", "smoke"]),
    ]
