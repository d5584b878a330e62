"""The setup and status pages: small, self-contained HTML with every value escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

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
    "pull_requests": "read the pull request being audited",
    "issues": "answer /canon-gate commands in pull request comments",
    "metadata": "see which repositories it is installed on",
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;font:16px/1.5 -apple-system,BlinkMacSystemFont,
"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
main{max-width:680px;margin:48px auto;padding:0 16px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:12px;padding:32px 36px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:20px;color:#57606a;font-weight:600}
.logo{width:28px;height:28px;border-radius:7px;background:#1f883d;color:#fff;display:grid;
place-items:center;font-size:15px}
h1{font-size:26px;line-height:1.25;margin:0 0 12px}
h2{font-size:16px;margin:28px 0 8px}
p{margin:0 0 12px}
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
table{border-collapse:collapse;width:100%;font-size:14px}
td{padding:6px 8px;border-top:1px solid #eaeef2;vertical-align:top}
td:first-child{white-space:nowrap;font-weight:600;padding-left:0}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eff1f3;
padding:2px 6px;border-radius:6px}
pre{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
border:1px solid #d0d7de;border-radius:6px;padding:12px 14px;overflow-x:auto}
.note{border-left:4px solid #bf8700;background:#fff8c5;padding:10px 14px;border-radius:6px;
font-size:14px;margin:16px 0}
.ok{border-left:4px solid #1f883d;background:#dafbe1;padding:10px 14px;border-radius:6px;
font-size:14px;margin:16px 0}
.error{border-left:4px solid #cf222e;background:#ffebe9;padding:10px 14px;border-radius:6px;
margin:16px 0}
ol{padding-left:22px}li{margin:6px 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:16px 0}
dt{font-weight:600}dd{margin:0}
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


def _permissions_table(permissions: Mapping[str, str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name.replace('_', ' ').capitalize())}</td>"
        f"<td>{escape(level)}</td><td>{escape(PURPOSES.get(name, ''))}</td></tr>"
        for name, level in permissions.items()
    )
    return f"<table>{rows}</table>"


def setup_page(
    manifest_json: str,
    permissions: Mapping[str, str],
    events: Sequence[str],
    public_url: str,
    warning: str | None = None,
) -> str:
    """The first-run page: what canon-gate is, what it will ask for, and the Register button."""
    note = f"<div class='note'>{escape(warning)}</div>" if warning else ""
    event_list = ", ".join(f"<code>{escape(e)}</code>" for e in events)
    body = f"""
<h1>Set up your canon-gate GitHub App</h1>
<p>canon-gate is a merge gate: when a pull request changes, it runs an audit in the
repository's own GitHub Actions, where a fresh Claude Code session checks the change against
the repository's governance documents. The verdict appears as the <code>canon-gate</code> check.</p>
<p class='muted'>This server has no GitHub App yet. Registering one takes a minute: GitHub shows
you the App before creating it, then sends its credentials back to this server only.</p>
{note}
<form method='post' action='/setup/register'>
<input type='hidden' name='manifest' value='{escape(manifest_json, quote=True)}'>
<label for='organization'>Organisation <span class='muted'>(optional)</span></label>
<input type='text' id='organization' name='organization' placeholder='my-org'
 autocomplete='off' spellcheck='false' pattern='[A-Za-z0-9][A-Za-z0-9-]{{0,38}}'>
<p class='muted'>Leave blank to register the App on your personal account.</p>
<button type='submit' class='button' id='register'>Register GitHub App</button>
</form>
<h2>What the App will ask for</h2>
{_permissions_table(permissions)}
<p class='muted' style='margin-top:12px'>Events: {event_list}.
Webhooks go to <code>{escape(public_url.rstrip("/"))}/webhooks</code>.</p>
"""
    return layout("Register the GitHub App", body)


def registered_page(app_id: int, slug: str, install_link: str, env_file: str) -> str:
    """After the exchange: the App exists, this server uses it, and the next steps."""
    body = f"""
<h1>Your GitHub App is ready</h1>
<div class='ok'>Registered <strong>{escape(slug)}</strong> (App ID {app_id}). This server
switched to App mode and is now receiving webhooks; no restart is needed.</div>
<p class='muted'>Its credentials are saved in <code>{escape(env_file)}</code>, readable only
by you. Keep that file out of version control.</p>
<h2>Next steps</h2>
<ol>
<li>Install the App on the repositories it should guard.<br>
<a class='button' style='margin:10px 0 6px' id='install'
 href='{escape(install_link, quote=True)}'>Install on repositories</a></li>
<li>In each repository you installed it on, run <code>canon-gate init</code> and commit the
files it writes.</li>
<li>Add the repository secret <code>CLAUDE_CODE_OAUTH_TOKEN</code> (make one with
<code>claude setup-token</code>).</li>
</ol>
"""
    return layout("GitHub App registered", body)


def status_page(app_id: int | None, slug: str | None, install_link: str | None) -> str:
    """App mode: which App this server is, and where to install it; never a secret."""
    link = (
        f"<a class='button' id='install' href='{escape(install_link, quote=True)}'>"
        "Install on repositories</a>"
        if install_link
        else "<p class='muted'>Set <code>GITHUB_APP_SLUG</code> to show the install link.</p>"
    )
    body = f"""
<h1>canon-gate is running</h1>
<p>This server is a configured GitHub App and is receiving webhooks.</p>
<dl><dt>App ID</dt><dd>{escape(str(app_id))}</dd>
<dt>App</dt><dd>{escape(slug or "(slug not set)")}</dd></dl>
{link}
<h2>Add it to a repository</h2>
<p>Install the App on the repository, then in a checkout of it run
<code>canon-gate init</code>, commit the two files it writes, and add the secret
<code>CLAUDE_CODE_OAUTH_TOKEN</code>.</p>
"""
    return layout("Status", body)


def login_page(next_path: str, *, refused: bool) -> str:
    """Ask for the admin token; say so when the one given was not it (never echo it back)."""
    note = "<div class='error'>That is not this server's admin token.</div>" if refused else ""
    body = f"""
<h1>Sign in to canon-gate</h1>
<p>This server's setup and status pages are for its operator. Enter the admin token:
<code>CANON_GATE_ADMIN_TOKEN</code>, or the one <code>canon-gate serve</code> printed when it
first started (it is kept in the server's <code>.env</code> file).</p>
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


def error_page(title: str, message: str) -> str:
    body = (
        f"<h1>{escape(title)}</h1><div class='error'>{escape(message)}</div>"
        "<a class='button' href='/setup'>Start again</a>"
    )
    return layout(title, body)
