"""The starter `.github/canon-gate.yml` that `canon-gate init` writes: each key, at its default."""

from __future__ import annotations

# Every key with its default, so the file documents itself; it parses to exactly the defaults.
STARTER_CONFIG = """\
# canon-gate: the audit gate's settings for this repository.
# Every key below is set to its default; change what you need and delete the rest.
# canon-gate reads this file from the default branch, so a pull request cannot change the
# rules that judge it.

canon:
  # Folders (or files) holding the canon: markdown documents with YAML frontmatter
  # (uri, title, status, supersedes, ...) that the change is audited against.
  paths:
    - canon
  # Canon documents (URI or path) whose full text opens every audit, e.g. a charter.
  foundation: []
  # Canon from other repositories, fetched read-only at run time and recorded by commit. URIs
  # under `prefix` resolve in that repository's canon, for example:
  #   sources:
  #     - prefix: "klappy://"
  #       repo: OWNER/REPO
  #       ref: 0123456789abcdef0123456789abcdef01234567  # pin a commit: a moving branch lets
  #       path: canon                                    # that repository change your gate
  # A private repository needs the CANON_GATE_SOURCES_TOKEN secret (a token that can read it).
  sources: []

# The Claude model for the audit session; null means the Claude Code default.
model: null

# How the session pays for the model, always with the repository's own credential, in its own
# runner: subscription (the CLAUDE_CODE_OAUTH_TOKEN secret), api_key (ANTHROPIC_API_KEY),
# bedrock (Amazon Bedrock through the workflow's OIDC role) or vertex (Google Vertex AI through
# workload identity federation). auto takes the first credential the workflow passes.
auth: auto

# Upload each gate's findings to GitHub code scanning as SARIF, on the pull request's head. The
# workflow needs `security-events: write` for it, which `canon-gate init --sarif` writes.
sarif: false

limits:
  # Stop the session after this many turns (1-500).
  max_turns: 40
  # ... or once it has used this much, priced at API rates, in US dollars.
  max_budget_usd: 5.0
  # ... or after this long (10 s to 25 min: it must end inside the audit job's 30 minutes).
  wall_time_seconds: 900
  # Paid sessions one head commit may start, re-runs included; past it a person must decide.
  sessions_per_head: 5
  # Sessions the repository may start in a UTC day (counted from its ledger); null: no cap.
  # Past it, an audit concludes action required with the time the count resets.
  daily_sessions: null

# Mechanical checks whose output the session reads as hints; they never set the verdict.
# Each runs without a shell on the base branch's checkout, for example:
#   hints:
#     - name: links
#       run: python scripts/check_links.py
#       timeout_seconds: 60
hints: []

# A vote before a finding blocks: fresh, independent, read-only sessions (1, 3 or 5 votes) each
# confirm or refute every substantive finding; a majority of refutes stops it blocking (it stays
# as a notice, with the reasons). A verifier that fails counts as confirm. Off (0) by default;
# `canon-gate eval` shows what it changes on your corpus, and what it costs.
verify:
  votes: 0
  # The verifiers' model; null: the audit's.
  model: null
  # Substantive findings put to the vote; any beyond block unverified.
  max_findings: 10
  # The whole vote's time, after the session: with `limits.wall_time_seconds` at most 1,500.
  wall_time_seconds: 300

audit:
  # Glob patterns: a pull request that changes nothing matching them is not audited.
  paths:
    - "**"
  exclude: []

forks:
  # A fork's pull request waits for a maintainer's `/canon-gate approve <head-sha>` comment,
  # naming the head commit they reviewed, before the session reads it.
  require_approval: true

# Record every verdict and waiver as a commit on the `canon-gate/ledger` branch. Waivers
# (`/canon-gate waive <finding-id> <reason>`) need the ledger.
ledger: true

# Keep one pull request comment, updated in place, that tracks the findings.
comment: false

# enforce: substantive findings fail the check. advisory, while you roll the gate out: findings
# are annotated as usual, but the check concludes neutral ("would have failed") and never blocks;
# the ledger records each verdict as advisory. Switch to enforce when the findings look right.
mode: enforce

# Offer a finding's suggested replacement as a one-click suggestion on the pull request's diff:
# one review per audit run, each fix offered once, its comment edited when the finding resolves.
# A fix for lines outside the diff stays in the check run's annotation.
suggestions: true

# A merge queue's group gets the same checks as a pull request, on the group's own commit.
#   reuse: when the pull request the group adds passed at its current head, judged under what
#          governs the group's base (the same config and canon), conclude them from that verdict
#          without a session; otherwise audit the group's change.
#   audit: always audit the group's own change (its head against its base) with a session.
merge_queue: reuse

# Re-judge open pull requests when a push to the default branch changes the config or canon.
# Off by default: each re-judged pull request is a paid session. Without it, keep verdicts
# current with a merge queue or "Require branches to be up to date before merging".
reaudit_on_canon_change:
  enabled: false
  # Sessions one push may start, newest pull requests first. The other pull requests whose
  # verdict passed get an action-required `canon-gate` run saying so, with Re-run.
  max_per_push: 5

waivers:
  # Whether a pull request's author may waive findings on their own pull request; by default
  # someone else with write access must (separation of duties).
  allow_author: false
  # Days after which a waiver stops applying (1-3650); null means it lasts while its finding
  # persists on the pull request. `/canon-gate unwaive <finding-id>` ends one sooner.
  expire_days: null

structure:
  # Check the canon's frontmatter as its own check run (this one may block a merge).
  enabled: true
  # Statuses allowed besides draft, active, superseded and deprecated.
  statuses: []
  # Frontmatter keys every canon document must have.
  required:
    - uri
    - title
    - status

# Several gates, each its own check run `canon-gate/<name>`, each a session whose task is the
# text of its persona documents in the canon (null: one gate, `canon-gate`, with the built-in
# audit). With gates, `canon-gate` is their aggregate. For example:
#   gates:
#     - name: code-sync                  # check run canon-gate/code-sync
#       persona: [canon/personas/code-auditor.md]
#       paths: ["src/**", "canon/**"]    # a change elsewhere concludes neutral, no session
#       exclude: ["**/*.lock"]
#       model: null                      # the top-level model unless set
#       limits: {max_turns: 30, max_budget_usd: 2}
#       needs: [structure]               # run only once these passed (structure, or gates)
gates: null
"""


def starter_config(mode: str | None, *, sarif: bool = False) -> str:
    """The starter config; with `--auth`, naming that mode; with `--sarif`, uploading SARIF."""
    text = STARTER_CONFIG
    if mode is not None:
        text = text.replace("\nauth: auto\n", f"\nauth: {mode}\n")
    return text.replace("\nsarif: false\n", "\nsarif: true\n") if sarif else text
