"""The signature flow in headless Chromium, against a stack that tests/browser.rs started.

One scenario per run, named on the command line: `python signature_flow.py SCENARIO`. The
harness passes, in the environment, EDGESTATE_URL (its API Gateway stand-in, serving the pages
and the API), EDGESTATE_REST_URL and EDGESTATE_REST_TOKEN (its upstash-local, to make a session
expire), EDGESTATE_SESSION_KEY (a session's key with the id left off) and SCREENSHOTS (where
each end state is saved as a PNG). Chromium is Debian's package, found on PATH; Playwright
drives it and downloads nothing.
"""

import json
import math
import os
import re
import shutil
import sys
import time
import traceback
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["EDGESTATE_URL"]
SHOTS = os.environ["SCREENSHOTS"]

# What works in a container without a display, a sandbox or the network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1000, "height": 860}}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
POLL = re.compile(r".*/signature-session/[0-9a-f]{32}$")
SUBMIT = re.compile(r".*/signature-session/[0-9a-f]{32}/submit$")

expect.set_options(timeout=15_000)


class Browser:
    """Chromium with every page it opened, and what went wrong in any of them."""

    def __init__(self, playwright):
        chromium = shutil.which("chromium")
        if chromium is None:
            raise SystemExit("chromium is not on PATH: `make browser-tools` installs it")
        self.browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        self.pages = {}
        self.problems = []

    def page(self, name, device):
        page = self.browser.new_context(**device).new_page()
        page.on("pageerror", lambda error: self.problems.append(f"{name}: {error}"))
        page.on(
            "console",
            lambda message: "Content Security Policy" in message.text
            and self.problems.append(f"{name}: {message.text}"),
        )
        self.pages[name] = page
        return page

    def close(self):
        self.browser.close()


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def assert_secure_page(response):
    headers = response.headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["referrer-policy"] == "no-referrer", headers
    assert headers["content-type"].startswith("text/html"), headers


def start_desktop(browser):
    """The desktop page once its session is waiting: the page and the phone link."""
    desktop = browser.page("desktop", DESKTOP)
    assert_secure_page(desktop.goto(BASE + "/"))
    expect(desktop.locator("#status")).to_have_text("Waiting for the signature…")
    link = desktop.locator("#phone-link").inner_text()
    assert re.fullmatch(re.escape(BASE) + r"/sign#[0-9a-f]{32}", link), link
    desktop.wait_for_function(
        "() => { const qr = document.getElementById('qr'); return qr.complete && qr.naturalWidth > 0; }"
    )
    return desktop, link


def open_phone(browser, name, link):
    phone = browser.page(name, PHONE)
    assert_secure_page(phone.goto(link))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the phone page is {width} px wide on a 360 px screen"
    expect(phone.get_by_role("button", name="Send signature")).to_be_disabled()
    return phone


def stroke(box):
    """A signature-like curve across the pad, in page coordinates."""
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    turns = 5 * 2 * math.pi
    return [
        (
            left + 40 + (width - 80) * u + 22 * math.cos(u * turns),
            top + height / 2 + height / 5 * math.sin(u * turns) * (1 - 0.5 * u),
        )
        for u in (i / 120 for i in range(121))
    ]


def draw_with_finger(phone):
    """Touches as a phone's screen reports them: Chromium turns them into pointer events."""
    phone.evaluate(
        "window.pointerTypes = []; document.getElementById('pad')"
        ".addEventListener('pointerdown', (e) => window.pointerTypes.push(e.pointerType))"
    )
    points = stroke(phone.locator("#pad").bounding_box())
    cdp = phone.context.new_cdp_session(phone)
    touch = lambda kind, at: cdp.send(
        "Input.dispatchTouchEvent",
        {"type": kind, "touchPoints": [{"x": at[0], "y": at[1]}] if at else []},
    )
    touch("touchStart", points[0])
    for point in points[1:]:
        touch("touchMove", point)
    touch("touchEnd", None)
    assert phone.evaluate("window.pointerTypes") == ["touch"], phone.evaluate("window.pointerTypes")


def draw_with_mouse(phone):
    points = stroke(phone.locator("#pad").bounding_box())
    phone.mouse.move(*points[0])
    phone.mouse.down()
    for point in points[1:]:
        phone.mouse.move(*point)
    phone.mouse.up()


def send(phone):
    phone.get_by_role("button", name="Send signature").click()


def ink_pixels(desktop):
    """Dark pixels in the signature the desktop shows: the drawn stroke, not a blank image."""
    return desktop.evaluate(
        """() => {
          const image = document.getElementById('signature');
          const canvas = document.createElement('canvas');
          canvas.width = image.naturalWidth;
          canvas.height = image.naturalHeight;
          const context = canvas.getContext('2d');
          context.drawImage(image, 0, 0);
          const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
          let dark = 0;
          for (let i = 0; i < data.length; i += 4) { if (data[i] < 128) dark += 1; }
          return dark;
        }"""
    )


def assert_signed(desktop):
    expect(desktop.locator("#status")).to_have_text("Signature received.")
    source = desktop.locator("#signature").get_attribute("src")
    assert source.startswith("data:image/png;base64,"), source[:40]
    assert ink_pixels(desktop) > 200, "the signature shown is blank"
    expect(desktop.locator("#qr")).to_be_hidden()


def expire(link):
    """Ends the session as its TTL would: the key goes."""
    key = os.environ["EDGESTATE_SESSION_KEY"] + link.rsplit("#", 1)[1]
    request = urllib.request.Request(
        os.environ["EDGESTATE_REST_URL"],
        data=json.dumps(["PEXPIRE", key, "1"]).encode(),
        headers={
            "Authorization": "Bearer " + os.environ["EDGESTATE_REST_TOKEN"],
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer) == {"result": 1}, "the session to expire exists"


# ---- scenarios ---------------------------------------------------------------------------


def signature_flow(browser):
    """The desktop shows a QR code and its link; a phone-sized page opened from that link
    draws with a finger and submits; the desktop shows the drawn signature."""
    desktop, link = start_desktop(browser)
    shot(desktop, "desktop-waiting")
    phone = open_phone(browser, "phone", link)
    draw_with_finger(phone)
    expect(phone.get_by_role("button", name="Send signature")).to_be_enabled()
    shot(phone, "phone-drawn")
    send(phone)
    expect(phone.locator("#status")).to_contain_text("your signature was sent")
    shot(phone, "phone-sent")
    assert_signed(desktop)
    shot(desktop, "desktop-signed")


def submitted_twice(browser):
    """A second phone on the same link is told, in words, that a signature was already sent."""
    desktop, link = start_desktop(browser)
    first = open_phone(browser, "first-phone", link)
    draw_with_finger(first)
    send(first)
    expect(first.locator("#status")).to_contain_text("your signature was sent")
    second = open_phone(browser, "second-phone", link)
    draw_with_mouse(second)
    send(second)
    expect(second.locator("#status")).to_have_text(
        "A signature was already sent for this session. There is nothing more to do here."
    )
    expect(second.get_by_role("button", name="Send signature")).to_be_disabled()
    shot(second, "phone-already-submitted")
    assert_signed(desktop)


def expired(browser):
    """An expired session: the desktop says so and offers a new one; the phone says so."""
    desktop, link = start_desktop(browser)
    phone = open_phone(browser, "phone", link)
    expire(link)
    expect(desktop.locator("#status")).to_have_text(
        'This session has expired. Press "New session" to get a new code.'
    )
    expect(desktop.locator("#qr")).to_be_hidden()
    shot(desktop, "desktop-expired")
    draw_with_finger(phone)
    send(phone)
    expect(phone.locator("#status")).to_have_text(
        "This session has expired. Ask for a new code on the other screen and scan it again."
    )
    shot(phone, "phone-expired")
    desktop.get_by_role("button", name="New session").click()
    expect(desktop.locator("#status")).to_have_text("Waiting for the signature…")
    assert desktop.locator("#phone-link").inner_text() != link, "a new session, a new link"


def poll_backoff(browser):
    """Polls that meet a network error, a 429 and a 503 wait as long as they are told (or
    back off), say why in words, and recover."""
    desktop = browser.page("desktop", DESKTOP)
    polls = []
    # Each poll's fate, in order; then the real server.
    fates = ["offline", "offline", ("429", 3), ("503", 1)]

    def fate(route):
        polls.append(time.monotonic())
        if not fates:
            route.continue_()
            return
        what = fates.pop(0)
        if what == "offline":
            route.abort("internetdisconnected")
            return
        status, retry_after = what
        code = "rate_limited" if status == "429" else "service_unavailable"
        route.fulfill(
            status=int(status),
            headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"},
            content_type="application/json",
            body=json.dumps({"success": False, "error": "test", "code": code}),
        )

    desktop.route(POLL, fate)
    assert_secure_page(desktop.goto(BASE + "/"))
    expect(desktop.locator("#status")).to_contain_text("Cannot reach the server.")
    expect(desktop.locator("#status")).to_contain_text("Too many requests for now. Checking again in 3 s.")
    shot(desktop, "desktop-rate-limited")
    expect(desktop.locator("#status")).to_contain_text("The service is briefly unavailable.")
    expect(desktop.locator("#status")).to_have_text("Waiting for the signature…")
    while len(polls) < 6:
        desktop.wait_for_timeout(200)
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:])]
    # Backoff of 1 s then 2 s after network errors, then Retry-After's 3 s and 1 s, then
    # the normal interval: never sooner, and not much later (a loaded machine is slow).
    for gap, wanted in zip(gaps, [1, 2, 3, 1, 1]):
        assert wanted <= gap < wanted + 2.5, f"waited {gaps}, expected about 1, 2, 3, 1, 1 s"


def phone_errors(browser):
    """The phone says when it cannot reach the server and when it must wait (Retry-After),
    lets the person send again after that, and says when its link is incomplete."""
    desktop, link = start_desktop(browser)
    phone = open_phone(browser, "phone", link)
    draw_with_finger(phone)
    phone.context.set_offline(True)
    send(phone)
    expect(phone.locator("#status")).to_contain_text("Cannot reach the server. Check your connection.")
    shot(phone, "phone-offline")
    phone.context.set_offline(False)
    expect(phone.get_by_role("button", name="Send signature")).to_be_enabled()

    refused = []
    phone.route(
        SUBMIT,
        lambda route: refused.append(time.monotonic())
        or route.fulfill(
            status=503,
            headers={"Retry-After": "2"},
            content_type="application/json",
            body=json.dumps({"success": False, "error": "test", "code": "service_unavailable"}),
        ),
        times=1,
    )
    send(phone)
    expect(phone.locator("#status")).to_contain_text("You can send again in 2 s.")
    expect(phone.get_by_role("button", name="Send signature")).to_be_disabled()
    expect(phone.get_by_role("button", name="Send signature")).to_be_enabled()
    assert time.monotonic() - refused[0] >= 2, "sending again before Retry-After"
    send(phone)
    expect(phone.locator("#status")).to_contain_text("your signature was sent")
    assert_signed(desktop)

    incomplete = browser.page("incomplete", PHONE)
    incomplete.goto(BASE + "/sign")
    expect(incomplete.locator("#status")).to_have_text(
        "This link is incomplete. Scan the code on the other screen again."
    )
    expect(incomplete.get_by_role("button", name="Send signature")).to_be_disabled()


SCENARIOS = {
    scenario.__name__: scenario
    for scenario in [signature_flow, submitted_twice, expired, poll_backoff, phone_errors]
}


def main():
    name = sys.argv[1] if len(sys.argv) == 2 else None
    if name not in SCENARIOS:
        raise SystemExit(f"usage: signature_flow.py {'|'.join(SCENARIOS)}")
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        browser = Browser(playwright)
        try:
            SCENARIOS[name](browser)
            assert not browser.problems, "\n".join(browser.problems)
        except Exception:
            traceback.print_exc()
            for page_name, page in browser.pages.items():
                shot(page, f"failed-{name}-{page_name}")
            print(f"{name}: FAILED; screenshots of every page in {SHOTS}", file=sys.stderr)
            sys.exit(1)
        finally:
            browser.close()
    print(f"{name}: ok")


if __name__ == "__main__":
    main()
