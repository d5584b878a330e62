"""Registration in a real headless Chromium: sign in, then click through the fake GitHub's web host.

Uses Debian's `chromium` and `chromium-driver` (so the driver always matches the browser); where
they are not installed the test skips and says how to get them. Each page is saved under
tests/artifacts/ so a person can look at what a user would see.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
from pathlib import Path

import aiohttp
import pytest
from appkit import ADMIN_TOKEN, ROOT, StartGate, free_port
from fakes.github import FakeGitHub

from app.edge.settings import Settings

CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1200",
)

pytestmark = pytest.mark.browser


def _browser_missing() -> str | None:
    if not CHROMEDRIVER.exists():
        return (
            "no /usr/bin/chromedriver: install Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver) to run the browser test"
        )
    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        return "no chromium binary on PATH: apt-get install -y chromium"
    return None


def click_through(start_url: str, organization: str, shots: Path, token: str) -> dict[str, str]:
    """Drive the browser from signing in to the callback page; return each page's text."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory(prefix="canon-gate-chromium-") as profile:
        options = webdriver.ChromeOptions()
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        seen: dict[str, str] = {}
        try:
            wait = WebDriverWait(driver, 20)
            driver.get(start_url)
            # The operator's pages ask for the admin token first.
            wait.until(ec.element_to_be_clickable((By.ID, "login")))
            driver.save_screenshot(str(shots / "0-sign-in.png"))
            seen["sign_in"] = driver.find_element(By.TAG_NAME, "body").text
            driver.find_element(By.ID, "token").send_keys(token)
            driver.find_element(By.ID, "login").click()

            wait.until(ec.element_to_be_clickable((By.ID, "register")))
            driver.save_screenshot(str(shots / "1-setup.png"))
            seen["setup"] = driver.find_element(By.TAG_NAME, "body").text
            driver.find_element(By.ID, "organization").send_keys(organization)
            driver.find_element(By.ID, "register").click()

            wait.until(ec.element_to_be_clickable((By.ID, "create")))
            driver.save_screenshot(str(shots / "2-github-create.png"))
            seen["github"] = driver.find_element(By.TAG_NAME, "body").text
            seen["github_url"] = driver.current_url
            driver.find_element(By.ID, "create").click()

            wait.until(ec.presence_of_element_located((By.ID, "install")))
            driver.save_screenshot(str(shots / "3-registered.png"))
            seen["registered"] = driver.find_element(By.TAG_NAME, "body").text
            seen["registered_url"] = driver.current_url
            seen["install_href"] = str(driver.find_element(By.ID, "install").get_attribute("href"))

            driver.get(start_url)
            wait.until(ec.presence_of_element_located((By.ID, "install")))
            driver.save_screenshot(str(shots / "4-status.png"))
            seen["status"] = driver.find_element(By.TAG_NAME, "body").text
            # What the browser keeps: a cookie scripts cannot read, made from the token.
            [cookie] = driver.get_cookies()
            seen["cookie"] = f"{cookie['name']}={cookie['value']}"
            seen["cookie_flags"] = f"httpOnly={cookie['httpOnly']} sameSite={cookie['sameSite']}"
            seen["script_sees"] = str(driver.execute_script("return document.cookie"))
        finally:
            driver.quit()
        return seen


async def test_register_the_app_in_a_real_browser(
    fake_github: FakeGitHub, start_gate: StartGate, tmp_path: Path
) -> None:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = tmp_path / ".env"
    app = await start_gate(
        port=port,
        public_url=public,
        github_app_id=None,
        github_app_private_key=None,
        github_webhook_secret=None,
    )

    seen = await asyncio.to_thread(click_through, f"{public}/", "acme-docs", ARTIFACTS, ADMIN_TOKEN)

    # First the sign-in page; the token, and a cookie made from it (HttpOnly, SameSite=Strict),
    # then carried the person through. GitHub's redirect back arrived from another site, so
    # without that cookie: the callback's signed state guarded it.
    assert "Sign in to canon-gate" in seen["sign_in"]
    assert seen["cookie"].startswith("canon_gate_admin=")
    assert ADMIN_TOKEN not in seen["cookie"]
    assert seen["cookie_flags"] == "httpOnly=True sameSite=Strict"
    assert seen["script_sees"] == ""
    # What the person saw: an explanation and the permissions, never the raw manifest.
    assert "Register GitHub App" in seen["setup"]
    assert "{" not in seen["setup"]
    assert "default_permissions" not in seen["setup"]
    # The form went to the organisation's "new App" page on (fake) GitHub, with a state.
    assert "/_web/organizations/acme-docs/settings/apps/new?state=" in seen["github_url"]
    assert "acme-docs" in seen["github"]
    assert seen["registered_url"].startswith(f"{public}/setup/callback?code=")
    assert "Your GitHub App is ready" in seen["registered"]
    new_app = fake_github.apps[max(fake_github.apps)]
    assert new_app.owner == "acme-docs"
    assert seen["install_href"] == f"{fake_github.web_url}/apps/{new_app.slug}/installations/new"
    assert "canon-gate is running" in seen["status"]
    assert str(new_app.id) in seen["status"]

    # The .env: owner-only, and holding the new App's credentials.
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    stored = Settings(_env_file=env)
    assert stored.github_app_id == new_app.id
    assert stored.github_app_slug == new_app.slug
    assert stored.github_app_private_key is not None
    assert stored.github_app_private_key.get_secret_value().startswith("-----BEGIN")
    assert stored.github_webhook_secret is not None

    # The same running server is now in App mode and accepts a ping signed with the new secret.
    async with aiohttp.ClientSession() as http, http.get(app.url("/healthz")) as health:
        assert (await health.json())["mode"] == "app"
    fake_github.webhook_secret = stored.github_webhook_secret.get_secret_value()
    assert await fake_github.deliver("ping", {"zen": "Design for failure."}) == 200
    for page in ("sign_in", "setup", "registered", "status"):
        assert "BEGIN" not in seen[page]
        assert fake_github.webhook_secret not in seen[page]
        assert ADMIN_TOKEN not in seen[page]


# The pages at a desktop's width and a phone's (issue 15): screenshots for a person to look at,
# and the checks a person would make, done by the browser: nothing wider than the screen, no
# code chip or product name split over two lines.
WIDTHS = (1280, 390)
# Inline elements that must stay on one line: chips (addresses may wrap after a `/`) and names.
UNBROKEN = "code:not(.url), .nb, .tag, th"
LAYOUT = """
const broken = [...document.querySelectorAll(arguments[0])]
  .filter(e => e.getClientRects().length > 1).map(e => e.textContent);
// Any word with a hyphen inside, anywhere in the text, split over two lines.
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  for (const word of node.data.matchAll(/[^\\s]+-[^\\s]+/g)) {
    const range = document.createRange();
    range.setStart(node, word.index);
    range.setEnd(node, word.index + word[0].length);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) broken.push(word[0]);
  }
}
// Anything reaching past the card's padding into its border or beyond.
const card = document.querySelector(".card");
const edge = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
const outside = [...card.querySelectorAll("code, .nb, .button, table, input, dd")]
  .filter(e => e.getBoundingClientRect().right > edge + 1).map(e => e.textContent.slice(0, 40));
return {
  outside: outside,
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  broken: broken,
  height: document.documentElement.scrollHeight,
};
"""


def shoot_pages(pages: dict[str, str], shots: Path, token: str) -> dict[str, dict[str, object]]:
    """Open each page at each width, save a full-page screenshot, and measure its layout."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    found: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="canon-gate-chromium-") as profile:
        options = webdriver.ChromeOptions()
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            for name, url in pages.items():
                # Sign in by address once per server (the cookie is per host, the same token).
                driver.get(f"{url}{'&' if '?' in url else '?'}token={token}")
                for width in WIDTHS:
                    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1}
                    metrics["mobile"] = width < 500
                    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                    driver.get(url)
                    measured = driver.execute_script(LAYOUT, UNBROKEN)
                    # The whole page in one picture.
                    metrics["height"] = int(measured["height"])
                    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
                    driver.save_screenshot(str(shots / f"{name}-{width}.png"))
                    text = driver.find_element(By.TAG_NAME, "body").text
                    found[f"{name}-{width}"] = {**measured, "text": text}
        finally:
            driver.quit()
    return found


async def test_the_pages_at_desktop_and_phone_widths(
    fake_github: FakeGitHub, start_gate: StartGate, tmp_path: Path
) -> None:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    no_app = {"github_app_id": None, "github_app_private_key": None}
    # Setup mode on a laptop: github.com cannot deliver to localhost, so no Register button.
    laptop = await start_gate(
        public_url=None, github_web_url="https://github.com", PORT=free_port(), **no_app
    )
    # Setup mode with a public address: the Register button.
    server = await start_gate(
        public_url="https://gate.example.com", github_web_url="https://github.com", **no_app
    )
    # App mode, installed on two accounts, with a delivery the App refused.
    fake_github.add_installation(7002, "acme-docs")
    for number, name in enumerate(("handbook", "policies", "runbooks", "release-notes")):
        fake_github.add_repo(f"acme-docs/{name}", repo_id=9100 + number, installation_id=7002)
    running = await start_gate()
    fake_github.webhook_url = running.url("/webhooks")
    assert await fake_github.deliver("ping", {"zen": "Half measures are as bad as nothing."})
    fake_github.webhook_secret = "an-old-secret"
    assert await fake_github.deliver("ping", {"zen": "x"}) == 401
    # App mode with a key GitHub refuses.
    from fakes.github.auth import generate_private_key_pem
    from pydantic import SecretStr

    refused = await start_gate(github_app_private_key=SecretStr(generate_private_key_pem()))
    pages = {
        "setup-blocked": laptop.url("/setup"),
        "setup": server.url("/setup"),
        "status": running.url("/"),
        "status-refused": refused.url("/"),
        "error": laptop.url("/setup/callback?code=abc&state=1.x.y"),
    }

    seen = await asyncio.to_thread(shoot_pages, pages, shots, ADMIN_TOKEN)

    for shot, measured in seen.items():
        assert int(str(measured["overflow"])) <= 0, f"{shot} is wider than the screen"
        assert measured["broken"] == [], f"{shot} splits {measured['broken']} over two lines"
        assert measured["outside"] == [], f"{shot}: {measured['outside']} reach past the card"
    assert "Register GitHub App" not in str(seen["setup-blocked-390"]["text"])
    assert "GitHub will not deliver webhooks" in str(seen["setup-blocked-390"]["text"])
    assert "Register GitHub App" in str(seen["setup-390"]["text"])
    assert "canon-gate is running as canon-gate" in str(seen["status-1280"]["text"])
    assert "acme-docs/policies" in str(seen["status-390"]["text"])
    assert "GitHub refuses this App's credentials" in str(seen["status-refused-390"]["text"])
    assert "Registration was not finished" in str(seen["error-390"]["text"])
    for shot in seen.values():
        assert ADMIN_TOKEN not in str(shot["text"])
        assert "BEGIN" not in str(shot["text"])
