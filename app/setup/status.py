"""The status page: whether GitHub accepts this App, where it is installed, what was delivered.

Pure: `routes.py` reads GitHub (`app.edge.appinfo`) and the proxy's state, and this renders
them. It claims nothing it has not checked: "running" only once GitHub answered for the App's
JWT, and deliveries as GitHub's own log records them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from app.edge.appinfo import AppStatus, DeliveryInfo, Installed, Problem
from app.edge.proxy import ProxyState
from app.setup.pages import PRODUCT, chip, layout, url_chip, words


@dataclass(frozen=True)
class StatusView:
    """What the page shows: this server's settings, GitHub's answers, the proxy, and the time."""

    app_id: int | None
    slug: str | None
    web_url: str
    install_link: str | None
    # Where GitHub should deliver: PUBLIC_URL's /webhooks, or the proxy channel.
    expected_hook: str | None
    redeliver_minutes: int | None
    github: AppStatus
    proxy: ProxyState | None
    now: datetime


def delivery_failed(delivery: DeliveryInfo) -> bool:
    """A delivery GitHub logged as anything but a 2xx answer (0: no answer at all)."""
    return not 200 <= delivery.status_code < 300


def answer_of(delivery: DeliveryInfo) -> str:
    """What this server answered, as GitHub logged it, and what that means."""
    code = delivery.status_code
    if code == 0:
        return f"no answer ({delivery.status})" if delivery.status else "no answer"
    if 200 <= code < 300:
        return str(code)
    if code < 500:
        return f"{code} refused"
    return f"{code} failed here"


def ago(then: datetime, now: datetime) -> str:
    """How long ago, the way a person says it."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 90:
        return "just now" if seconds < 45 else "a minute ago"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min ago"
    hours = round(minutes / 60)
    return f"{hours} h ago" if hours < 36 else f"{round(hours / 24)} days ago"


def settings_url(view: StatusView) -> str | None:
    """The App's settings in GitHub, where its delivery log has a Redeliver button."""
    identity = view.github.identity
    if identity is None:
        return None
    base = view.web_url.rstrip("/")
    owner = identity.owner
    if owner is not None and owner.type == "Organization":
        return f"{base}/organizations/{owner.login}/settings/apps/{identity.slug}/advanced"
    return f"{base}/settings/apps/{identity.slug}/advanced"


def _verdict(view: StatusView) -> tuple[str, str]:
    """The heading and the first box: what GitHub said to this App's credentials."""
    github = view.github
    identity = github.identity
    if identity is not None:
        owner = f", owned by {words(identity.owner.login)}" if identity.owner else ""
        box = (
            f"<div class='ok' id='verified'><p>GitHub accepts this server's credentials for "
            f"<strong>{words(identity.name)}</strong> (App ID {identity.id}{owner}).</p></div>"
        )
        return f"{PRODUCT} is running as {words(identity.name)}", box
    problem = github.problem or Problem("unreachable", "no answer")
    if problem.kind == "unreachable":
        box = (
            f"<div class='error' id='unreachable'><p>This server could not reach GitHub: "
            f"{words(problem.detail)}.</p><p>Deliveries that arrive now are answered 503, and "
            "GitHub's delivery log can redeliver them once GitHub is reachable again. "
            f"{chip('/readyz')} answers 503 until then.</p></div>"
        )
        return "GitHub cannot be reached", box
    box = (
        f"<div class='error' id='refused'><p>GitHub refused this App's credentials: "
        f"{words(problem.detail)}.</p><p>Check {chip('GITHUB_APP_ID')} and the private key, "
        f"{chip('GITHUB_APP_PRIVATE_KEY')} or the file {chip('GITHUB_APP_PRIVATE_KEY_PATH')} "
        "names: both must belong to the same App, and the key must still be listed in the "
        "App's settings. "
        "A clock more than a minute off makes GitHub refuse it too. Until this is fixed, no "
        f"delivery can be acted on and {chip('/readyz')} answers 503.</p></div>"
    )
    return "GitHub refuses this App's credentials", box


def _webhook(view: StatusView) -> str:
    hook = view.github.hook
    if hook is None:
        return ""
    where = url_chip(hook.url) if hook.url else "nowhere: the App's webhook has no URL"
    rows = [f"<dt>GitHub delivers to</dt><dd>{where}</dd>"]
    notes = []
    if view.expected_hook and hook.url.rstrip("/") != view.expected_hook.rstrip("/"):
        notes.append(
            f"<div class='note' id='hook-mismatch'><p>GitHub delivers to {url_chip(hook.url)}, "
            f"but this server expects {url_chip(view.expected_hook)}. Change the App's webhook "
            f"URL in its settings, or {chip('PUBLIC_URL')} or {chip('WEBHOOK_PROXY_URL')} here, "
            "so the two agree.</p></div>"
        )
    proxy = view.proxy
    if proxy is not None:
        state = (
            "<span class='tag good'>connected</span>"
            if proxy.connected
            else "<span class='tag bad'>not connected</span>"
        )
        error = f" Last error: {words(proxy.last_error)}." if proxy.last_error else ""
        rows.append(
            f"<dt>Proxy</dt><dd>{url_chip(proxy.channel)} {state}<br><span class='muted'>"
            f"{proxy.forwarded} forwarded, {proxy.refused} refused since start, for local "
            f"development only.{error}</span></dd>"
        )
    return f"<h2>Webhook</h2><dl>{''.join(rows)}</dl>{''.join(notes)}"


def _installation(entry: Installed) -> str:
    installation = entry.installation
    login = installation.account.login if installation.account else f"#{installation.id}"
    name = (
        f"<a href='{escape(installation.html_url, quote=True)}'>{words(login)}</a>"
        if installation.html_url
        else words(login)
    )
    scope = (
        "all repositories"
        if installation.repository_selection == "all"
        else "selected repositories"
    )
    tags = " <span class='tag bad'>suspended</span>" if installation.suspended_at else ""
    if entry.problem is not None:
        repos = f"<span class='muted'>Repositories unavailable: {words(entry.problem.detail)}"
        repos += "</span>"
    elif not entry.repositories:
        repos = "<span class='muted'>no repositories</span>"
    else:
        repos = " ".join(chip(r.full_name) for r in entry.repositories)
        if entry.total > len(entry.repositories):
            repos += f" <span class='muted'>and {entry.total - len(entry.repositories)} more</span>"
    return f"<li><strong>{name}</strong> <span class='muted'>({scope})</span>{tags}<br>{repos}</li>"


def _installations(view: StatusView) -> str:
    github = view.github
    if github.identity is None:
        return ""
    install = (
        f"<a class='button' id='install' href='{escape(view.install_link, quote=True)}'>"
        "Install on repositories</a>"
        if view.install_link
        else ""
    )
    if not github.installed:
        return f"<h2>Installations</h2><p>Not installed on any account yet.</p>{install}"
    items = "".join(_installation(entry) for entry in github.installed)
    more = (
        f"<p class='muted'>and {github.more_installations} more installations</p>"
        if github.more_installations
        else ""
    )
    return f"<h2>Installations</h2><ul id='installations'>{items}</ul>{more}{install}"


def _delivery_row(delivery: DeliveryInfo, now: datetime) -> str:
    failed = delivery_failed(delivery)
    what = delivery.event + (f".{delivery.action}" if delivery.action else "")
    label = answer_of(delivery)
    again = " <span class='tag'>redelivery</span>" if delivery.redelivery else ""
    css = " class='failed'" if failed else ""
    return (
        f"<tr{css}><td><span class='nb'>{ago(delivery.delivered_at, now)}</span></td>"
        f"<td>{chip(what)}{again}</td><td>{escape(label)}</td></tr>"
    )


def _redeliver_note(view: StatusView, failed: int) -> str:
    automatic = (
        f"{PRODUCT} asks GitHub again for deliveries that failed on its side (a 5xx answer, or "
        f"none) every {view.redeliver_minutes} min"
        if view.redeliver_minutes
        else f"Automatic redelivery is off: {chip('REDELIVER_INTERVAL_SECONDS')} is 0"
    )
    where = settings_url(view)
    by_hand = (
        f"<a href='{escape(where, quote=True)}'>the App's advanced settings</a>"
        if where
        else "the App's advanced settings"
    )
    return (
        f"<div class='note' id='redeliver'><p>{failed} of these failed. GitHub does not "
        f"redeliver by itself. {automatic}; to redeliver one now, press Redeliver on it in "
        f"{by_hand}. A 4xx is a refusal that a redelivery would meet again: the reason is in "
        "the delivery's response body.</p></div>"
    )


def _deliveries(view: StatusView) -> str:
    github = view.github
    if github.identity is None:
        return ""
    if github.details_problem is not None:
        return (
            "<h2>Recent deliveries</h2><div class='note'><p>GitHub's delivery log could not "
            f"be read: {words(github.details_problem.detail)}.</p></div>"
        )
    if not github.deliveries:
        return (
            "<h2>Recent deliveries</h2><p>GitHub has delivered nothing to this App in the "
            "last 3 days (its log keeps 3 days).</p>"
        )
    rows = "".join(_delivery_row(d, view.now) for d in github.deliveries)
    failed = sum(delivery_failed(d) for d in github.deliveries)
    note = _redeliver_note(view, failed) if failed else ""
    return (
        "<h2>Recent deliveries</h2>"
        f"{note}<table id='deliveries'><tr><th>When</th><th>Event</th><th>Answer</th></tr>"
        f"{rows}</table>"
    )


def status_page(view: StatusView) -> str:
    """App mode: which App this server is, whether GitHub accepts it, and what it delivered."""
    heading, verdict = _verdict(view)
    slug = words(view.slug or (view.github.identity.slug if view.github.identity else "") or "")
    facts = f"<dl><dt>App ID</dt><dd>{escape(str(view.app_id))}</dd>"
    if slug:
        facts += f"<dt>Slug</dt><dd>{slug}</dd>"
    facts += "</dl>"
    body = f"""
<h1>{heading}</h1>
{verdict}
{facts}
{_webhook(view)}
{_installations(view)}
{_deliveries(view)}
<h2>Add it to a repository</h2>
<p>Install the App on the repository, then in a checkout of it run {chip("canon-gate init")},
commit the two files it writes, and add the secret {chip("CLAUDE_CODE_OAUTH_TOKEN")}.</p>
"""
    return layout("Status", body)


def now_utc() -> datetime:
    return datetime.now(UTC)
