"""The setup, sign-in and error pages: small, self-contained HTML with every value escaped.

Each page says what happened and what to do next, in the words of someone setting the App up;
the status page is `status.py`. Code chips never wrap inside (a command split over two lines
reads as two), and addresses wrap only after a `/`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from app.setup.manifest import StateRefusal
from app.setup.reach import Advice

# Every page: never framed (they carry forms that register an App or take the admin token),
# never cached, and no Referer leaves them.
HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# Why the App asks for each permission, in the words a person deciding to trust it needs.
PURPOSES = {
    "checks": "create and conclude the canon-gate check run",
    "actions": "start the audit workflow and read its report",
    "contents": "record verdicts and waivers on the canon-gate/ledger branch",
    "pull_requests": "read the pull request being audited and suggest fixes on its diff",
    "issues": "answer /canon-gate commands in pull request comments",
    "metadata": "see which repositories it is installed on",
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;font:16px/1.5 -apple-system,BlinkMacSystemFont,
"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
main{max-width:720px;margin:48px auto;padding:0 16px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:32px 36px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:20px;color:#57606a;font-weight:600}
.logo{width:28px;height:28px;border-radius:7px;background:#1f883d;color:#fff;display:grid;
place-items:center;font-size:15px}
h1{font-size:26px;line-height:1.25;margin:0 0 12px}
h2{font-size:17px;margin:32px 0 8px}
h1,h2{overflow-wrap:normal;word-break:normal;hyphens:manual}
.nb{white-space:nowrap}
p{margin:0 0 12px}
a{color:#0969da}
.muted{color:#57606a;font-size:14px}
label{display:block;font-weight:600;margin:24px 0 6px}
input[type=text],input[type=password]{width:100%;padding:9px 12px;font:inherit;
border:1px solid #d0d7de;border-radius:6px}
input[type=text]:focus,input[type=password]:focus{outline:2px solid #0969da;
outline-offset:-1px;border-color:#0969da}
.button{display:inline-block;margin-top:20px;padding:10px 20px;font:inherit;font-weight:600;
color:#fff;background:#1f883d;border:1px solid rgba(31,35,40,.15);border-radius:6px;
cursor:pointer;text-decoration:none}
.button:hover{background:#1a7f37}
.button.quiet{color:#24292f;background:#f6f8fa;border-color:#d0d7de}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{padding:6px 8px;border-top:1px solid #eaeef2;vertical-align:top;text-align:left}
th{font-weight:600;color:#57606a;border-top:0}
td:first-child,th:first-child{padding-left:0}
table.perms td:first-child{white-space:nowrap;font-weight:600}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eff1f3;
padding:2px 6px;border-radius:6px;white-space:nowrap}
code.url{white-space:normal;overflow-wrap:break-word}
pre{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
border:1px solid #d0d7de;border-radius:6px;padding:12px 14px;overflow-x:auto;white-space:pre}
.note,.ok,.error{padding:10px 14px;border-radius:6px;font-size:15px;margin:16px 0}
.note{border-left:4px solid #bf8700;background:#fff8c5}
.ok{border-left:4px solid #1f883d;background:#dafbe1}
.error{border-left:4px solid #cf222e;background:#ffebe9}
.note p:last-child,.ok p:last-child,.error p:last-child{margin:0}
ol,ul{padding-left:22px}li{margin:6px 0}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 16px;margin:16px 0}
dt{font-weight:600}dd{margin:0;overflow-wrap:break-word}
tr.failed td{background:#ffebe9}
tr.failed td:first-child{box-shadow:inset 4px 0 #cf222e;padding-left:10px}
.tag{display:inline-block;font-size:12px;font-weight:600;padding:0 7px;border-radius:10px;
background:#eaeef2;color:#57606a;white-space:nowrap}
.tag.bad{background:#ffebe9;color:#a40e26}
.tag.good{background:#dafbe1;color:#116329}
@media (max-width:560px){
main{margin:12px auto;padding:0 8px}
.card{padding:20px 16px;border-radius:10px}
h1{font-size:22px}
.brand{margin-bottom:14px}
td,th{padding:6px 4px}
dl{grid-template-columns:minmax(0,1fr);gap:2px}
dd{margin-bottom:8px}
}
"""


def layout(title: str, body: str) -> str:
    """Wrap a page body; `title` is escaped here, `body` must already be safe HTML."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)} · canon-gate</title><style>{_CSS}</style></head><body><main>"
        "<div class='card'><div class='brand'><span class='logo'>&#10003;</span>canon-gate</div>"
        f"{body}</div></main></body></html>"
    )


PRODUCT = "<span class='nb'>canon-gate</span>"
SMEE_NEW = "https://smee.io/new"


# A word with a hyphen inside (canon-gate, acme-docs): browsers would break it after the hyphen.
_HYPHENATED = re.compile(r"[^\s<>&]+-[^\s<>&]+")


def words(text: str) -> str:
    """Plain text as HTML whose hyphenated words stay whole on narrow screens."""
    return _HYPHENATED.sub(lambda m: f"<span class='nb'>{m.group()}</span>", escape(text))


def chip(text: str) -> str:
    """A code chip that never wraps inside."""
    return f"<code>{escape(text)}</code>"


def url_chip(url: str) -> str:
    """An address as a chip that may wrap after a `/`, never inside a name."""
    parts = [f"<span class='nb'>{escape(part)}</span>" if part else "" for part in url.split("/")]
    return "<code class='url'>" + "/<wbr>".join(parts) + "</code>"


def _permissions_table(permissions: Mapping[str, str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name.replace('_', ' ').capitalize())}</td>"
        f"<td>{escape(level)}</td><td>{words(PURPOSES.get(name, ''))}</td></tr>"
        for name, level in permissions.items()
    )
    return f"<table class='perms'>{rows}</table>"


def _ways_on() -> str:
    """The two ways to give GitHub an address it can deliver to."""
    return f"""
<h2>Give GitHub an address it can reach</h2>
<ol>
<li><strong>On a server:</strong> set {chip("PUBLIC_URL")} to the address people and GitHub
reach it at, such as {url_chip("https://gate.example.com")}, then restart
{chip("canon-gate serve")} and reload this page.</li>
<li><strong>On your own machine, for development only:</strong> open
<a href='{SMEE_NEW}' rel='noreferrer'>smee.io/new</a>, copy the channel address it shows, and
restart with {chip("WEBHOOK_PROXY_URL")} set to it. GitHub then delivers to the channel and
{PRODUCT} reads the deliveries from it; each one is still checked against the webhook secret,
because anyone who knows a channel's address can post to it.</li>
</ol>"""


def _webhook_notes(advice: Advice) -> str:
    """What the operator must know about the webhook address before registering."""
    hook = url_chip(advice.hook_url)
    if advice.blocked:
        return f"""
<div class='error' id='not-public'><p><strong>GitHub will not deliver webhooks to this
server's address.</strong> The App would ask GitHub to send them to {hook}, but
{words(advice.not_public or "")}. GitHub only delivers to addresses on the public internet, so
it would refuse to register the App.</p></div>
{_ways_on()}"""
    reach = (
        f", but {words(advice.not_public)}: your GitHub server must be able to reach it, or "
        "every delivery will fail"
        if advice.not_public  # GitHub Enterprise Server may reach a private network
        else ""
    )
    if advice.via_proxy:
        return (
            f"<div class='note' id='via-proxy'><p>Webhooks will go to the proxy channel that "
            f"{chip('WEBHOOK_PROXY_URL')} names, {hook}{reach}. This server reads them from it. "
            "Use a channel for development only: it depends on a service you do not run.</p>"
            "</div>"
        )
    if advice.guessed:
        return (
            f"<div class='note' id='guessed'><p>{chip('PUBLIC_URL')} is not set, so webhooks "
            f"will go to {hook}, the address this page was opened at{reach}. If GitHub reaches "
            f"this server at another address, set {chip('PUBLIC_URL')} to it and restart "
            "before registering.</p></div>"
        )
    if advice.not_public:
        return f"<div class='note' id='not-public'><p>Webhooks will go to {hook}{reach}.</p></div>"
    return ""


def setup_page(
    manifest_json: str,
    permissions: Mapping[str, str],
    events: Sequence[str],
    advice: Advice,
) -> str:
    """The first-run page: what canon-gate is, what it will ask for, and how to register it.

    Register is offered only when GitHub can deliver to the webhook address (`advice.blocked`).
    """
    event_list = ", ".join(chip(e) for e in events)
    register = (
        ""
        if advice.blocked
        else f"""
<form method='post' action='/setup/register'>
<input type='hidden' name='manifest' value='{escape(manifest_json, quote=True)}'>
<label for='organization'>Organisation <span class='muted'>(optional)</span></label>
<input type='text' id='organization' name='organization' placeholder='my-org'
 autocomplete='off' spellcheck='false' pattern='[A-Za-z0-9][A-Za-z0-9-]{{0,38}}'>
<p class='muted'>Leave blank to register the App on your personal account.</p>
<button type='submit' class='button' id='register'>Register GitHub App</button>
</form>"""
    )
    body = f"""
<h1>Set up your {PRODUCT} GitHub&nbsp;App</h1>
<p>{PRODUCT} is a merge gate: when a pull request changes, it runs an audit in the
repository's own GitHub Actions, where a fresh Claude Code session checks the change against
the repository's governance documents. The verdict appears as the {chip("canon-gate")} check.</p>
<p class='muted'>This server has no GitHub App yet. Registering one takes a minute: GitHub shows
you the App before creating it, then sends its credentials back to this server only.</p>
{_webhook_notes(advice)}
{register}
<h2>What the App will ask for</h2>
{_permissions_table(permissions)}
<p class='muted' style='margin-top:12px'>Events: {event_list}.
Webhooks go to {url_chip(advice.hook_url)}.</p>
"""
    return layout("Register the GitHub App", body)


def registered_page(app_id: int, slug: str, install_link: str, env_file: str) -> str:
    """After the exchange: the App exists, this server uses it, and the next steps."""
    body = f"""
<h1>Your GitHub App is ready</h1>
<div class='ok'><p>Registered <strong>{words(slug)}</strong> (App ID {app_id}). This server
switched to App mode and uses it now; no restart is needed.</p></div>
<p class='muted'>Its credentials are saved in {chip(env_file)}, readable only by you. Keep that
file out of version control.</p>
<h2>Next steps</h2>
<ol>
<li>Install the App on the repositories it should guard.<br>
<a class='button' style='margin:10px 0 6px' id='install'
 href='{escape(install_link, quote=True)}'>Install on repositories</a></li>
<li>In each repository you installed it on, run {chip("canon-gate init")} and commit the
files it writes.</li>
<li>Add the repository secret {chip("CLAUDE_CODE_OAUTH_TOKEN")} (make one with
{chip("claude setup-token")}).</li>
</ol>
<p class='muted'>This server's <a href='/'>status page</a> shows whether GitHub accepts the App
and what it has delivered.</p>
"""
    return layout("GitHub App registered", body)


def login_page(next_path: str, *, refused: bool) -> str:
    """Ask for the admin token; say so when the one given was not it (never echo it back)."""
    note = (
        "<div class='error'><p>That is not this server's admin token. Check for a missing "
        "character, or look it up in the server's <code>.env</code> file.</p></div>"
        if refused
        else ""
    )
    body = f"""
<h1>Sign in to {PRODUCT}</h1>
<p>This server's setup and status pages are for its operator. Enter the admin token:
{chip("CANON_GATE_ADMIN_TOKEN")}, or the one {chip("canon-gate serve")} printed when it
first started (it is kept in the server's {chip(".env")} file).</p>
{note}
<form method='post' action='/login'>
<input type='hidden' name='next' value='{escape(next_path, quote=True)}'>
<label for='token'>Admin token</label>
<input type='password' id='token' name='token' autocomplete='current-password'
 spellcheck='false' required>
<button type='submit' class='button' id='login'>Sign in</button>
</form>
"""
    return layout("Sign in", body)


def error_page(title: str, happened: str, todo: str = "", *, action: str = "Start again") -> str:
    """What went wrong and what to do about it; both are plain text, escaped here."""
    next_step = f"<p>{words(todo)}</p>" if todo else ""
    body = (
        f"<h1>{words(title)}</h1><div class='error'><p>{words(happened)}</p></div>{next_step}"
        f"<a class='button' id='again' href='/setup'>{escape(action)}</a>"
    )
    return layout(title, body)


# GitHub already created the App when its redirect comes back, so every refusal says so.
_ORPHAN = (
    " If GitHub already created an App in this attempt, delete it in GitHub (Settings, "
    "Developer settings, GitHub Apps) so it is not left unused."
)
# Each refusal of GitHub's redirect back: what happened, and what to do.
CALLBACK_REFUSALS: dict[StateRefusal, tuple[str, str]] = {
    "missing": (
        "This address does not carry the check this server adds when you press Register, so "
        "the server cannot tell that the registration was started by you.",
        "Open the setup page and press Register again." + _ORPHAN,
    ),
    "malformed": (
        "The check this server added to the registration arrived damaged, so the server cannot "
        "tell that the registration was started by you.",
        "Open the setup page and press Register again; copy addresses whole." + _ORPHAN,
    ),
    "foreign": (
        "This registration was started by another canon-gate server, or by this one before it "
        "last restarted, and only the server that started a registration can finish it.",
        "Open this server's setup page and press Register again." + _ORPHAN,
    ),
    "expired": (
        "More than an hour passed between pressing Register and coming back from GitHub, and "
        "GitHub's registration code lasts only an hour.",
        "Open the setup page and press Register again." + _ORPHAN,
    ),
    "used": (
        "This registration was already finished once; a registration address works only once.",
        "Open the setup page: it shows the App's status, or lets you register again.",
    ),
}
