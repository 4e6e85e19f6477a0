"""The preview page in a real headless browser: Debian's Chromium driven by Playwright.

One preview (stand-in + real bot + web server, on a copy of content/) and one browser serve
the whole module; each test is a different persona, so tests do not see each other's chats.
Screenshots go to tests/artifacts/ (git-ignored) for a person to look at.

Chromium comes from Debian (scripts/install-test-tools, run by `make test`); Playwright's own
browser download is never used. Without Chromium the tests skip with the reason, except in
CI (CI=true), where they must run and fail instead.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram import KeyboardButton, ReplyKeyboardMarkup

from bot.app import PATIENT_COMMANDS
from bot.check import run_checks
from bot.config import CONTENT_DIR
from bot.telegram_html import parse_html
from tests.previews import (
    ANN,
    BEN,
    BROKEN_SENTENCE,
    CARMEN,
    CLINIC_PHONE,
    DAN,
    RIVERA,
    STAFF_GROUP,
    PreviewInThread,
    break_content,
)

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach Google's services, which a
# machine without internet access refuses, many times a second.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def plain(html: str) -> str:
    """What a person reads of a Telegram HTML text."""
    return parse_html(html)[0]


def _why_no_browser() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: scripts/install-test-tools installs Debian's chromium (needs root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _why_no_browser()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # A wait for what the page should show, not a pause: it ends as soon as it is shown. 30 s,
    # as Playwright's actions wait, because Chromium, the bot and pytest share two cores here
    # and a reply once took more than 10 s to appear while other work ran beside the suite.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def preview(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("preview")
    content = folder / "content"
    shutil.copytree(CONTENT_DIR, content)  # the tests break and edit this copy only
    running = PreviewInThread(folder, content)
    running.content_dir = content
    running.folder = folder
    try:
        yield running
    finally:
        running.stop()
    errors = [f"{call.method}: {call.status} {call.description}" for call in running.preview.standin.errors]
    assert not errors, f"the stand-in refused Bot API calls: {errors}"


@pytest.fixture
def lang(preview):
    """The content the preview's bot is using, with the clinic's values filled in."""
    return preview.preview.services.content.language("en")


@pytest.fixture
def page(browser, preview):
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems


def open_chat(page, preview, chat_id: int) -> None:
    page.goto(f"{preview.preview.url}/#chat={chat_id}")


def bot_messages(page):
    return page.locator("article.message.in")


def test_a_patient_reads_a_topic_goes_back_runs_the_screening_and_gets_the_phone(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, ANN)
    # An empty chat shows what Telegram shows: the bot's description and a Start button.
    expect(page.locator("#bot-description")).to_have_text(lang.label("bot.description"))
    expect(page.locator("#messages")).to_have_attribute("aria-live", "polite")
    page.get_by_role("button", name="Start", exact=True).click()

    welcome = bot_messages(page).last
    expect(welcome).to_contain_text("Hello, Ann!")
    expect(welcome.locator("strong")).to_have_text("Riverside Pain & TMS Clinic")  # <b> rendered
    expect(welcome.locator("em")).to_contain_text("not medical advice")  # <i> rendered
    message_id = welcome.get_attribute("data-message-id")
    screen = page.locator(f'article[data-message-id="{message_id}"]')

    # With the keyboard: a focused inline button is pressed with Enter, the message is
    # edited in place, and the focus stays on the message.
    tms = lang.topics["tms"]
    screen.get_by_role("button", name=tms.button).focus()
    page.keyboard.press("Enter")
    expect(screen).to_contain_text(tms.title)
    expect(screen.locator(".edited")).to_be_visible()
    assert page.evaluate("document.activeElement.closest('article')?.dataset.messageId") == message_id
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "a focused button must show where the focus is"

    screen.get_by_role("button", name=tms.pages[0].button).click()
    expect(screen).to_contain_text(plain(tms.pages[0].text).splitlines()[0])
    screen.get_by_role("button", name=lang.label("buttons.main_menu")).click()
    expect(screen).to_contain_text(lang.text("menu.text"))

    screening = lang.screening
    screen.get_by_role("button", name=lang.label("menu.screening")).click()
    screen.get_by_role("button", name=lang.label("screening.begin")).click()
    total = len(screening.questions)
    for number in range(1, total + 1):
        expect(screen).to_contain_text(plain(lang.text("screening.progress", number=number, total=total)))
        screen.get_by_role("button", name=lang.label("screening.answer_n"), exact=True).click()
    expect(screen).to_contain_text(plain(screening.result_none).splitlines()[0])
    assert bot_messages(page).count() == 1, "every screen was an edit of the welcome message"

    # The command menu holds what the bot registered with setMyCommands.
    page.locator("#menu-button").click()
    commands = page.locator("#command-list button")
    expect(commands).to_have_count(len(PATIENT_COMMANDS))
    expect(commands.first).to_contain_text(f"/start{lang.label('commands.start')}")
    page.locator("#command-list button", has_text="/contact").click()
    expect(page.locator(".contact-card")).to_contain_text(CLINIC_PHONE)
    expect(page.locator(".contact-card a")).to_have_attribute("href", "tel:+15550100199")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview.png"))

    # A phone-sized window: nothing sticks out sideways; the tools open over the chat.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#sidebar")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "preview-phone.png"))
    page.get_by_role("button", name="Chats & tools").click()
    expect(page.get_by_role("button", name="Reload content")).to_be_visible()


def test_a_crisis_message_shows_up_in_the_staff_group(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, BEN)
    box = page.get_by_label("Message", exact=True)
    box.fill(lang.crisis.examples[0])
    box.press("Enter")  # Enter sends, as in Telegram
    expect(page.locator("article.message.out")).to_contain_text(lang.crisis.examples[0])
    expect(bot_messages(page).first).to_contain_text("988")
    expect(page.locator(".contact-card")).to_contain_text(CLINIC_PHONE)

    staff_group = page.locator(f'button[data-chat="{STAFF_GROUP}"]')
    expect(staff_group.locator(".badge")).to_have_text("1")  # arrived while looking elsewhere
    staff_group.click()
    expect(page.locator("#chat-subtitle")).to_contain_text("you are Dr. Rivera")
    alert = bot_messages(page).last
    expect(alert).to_contain_text(plain(lang.text("crisis.staff_alert", first_name="Ben", user_id=BEN)))
    alert.get_by_role("button", name="Ben").click()  # the tg://user link opens the patient's chat
    expect(page.locator("#chat-subtitle")).to_contain_text("you are Ben")


def test_the_clock_moves_forward_and_a_reminder_fires(page, preview, lang) -> None:
    """The patient sets a daily reminder with the bot; "Go to the next reminder" moves the
    bot's clock there and the prompt arrives in their chat."""
    from playwright.sync_api import expect

    open_chat(page, preview, CARMEN)
    now = page.locator("#clock-now")
    expect(page.locator("#next-reminder")).to_have_text("No reminder set")
    expect(page.get_by_role("button", name="Go to the next reminder")).to_be_disabled()
    before = datetime.fromisoformat(now.get_attribute("data-now"))

    page.get_by_label("Move forward by").select_option(label="1 day")
    page.get_by_role("button", name="Move clock").click()
    expect(page.locator("#clock-offset")).to_have_text("1 d ahead of real time")
    after = datetime.fromisoformat(now.get_attribute("data-now"))
    assert timedelta(days=1) <= after - before < timedelta(days=1, minutes=1)

    box = page.get_by_label("Message", exact=True)
    box.fill("/reminders")
    box.press("Enter")
    screen = bot_messages(page).last
    screen.get_by_role("button", name=lang.label("checkin.consent_yes")).click()
    box.fill("/reminders")
    box.press("Enter")
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("reminders.none")).splitlines()[0])
    bot_messages(page).last.get_by_role("button", name="09:00").click()
    expect(bot_messages(page).last).to_contain_text("09:00")
    expect(page.get_by_role("button", name="Go to the next reminder")).to_be_enabled()

    page.get_by_role("button", name="Go to the next reminder").click()
    prompt = bot_messages(page).last
    expect(prompt).to_contain_text(plain(lang.text("reminders.prompt")).splitlines()[0])
    # The check-in is one tap on the prompt.
    prompt.get_by_role("button", name="4", exact=True).click()
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("checkin.saved", pain=4)).splitlines()[0])


def test_every_kind_of_message_shows_and_the_contact_button_shares_the_personas_phone(page, preview, lang) -> None:
    """What features on other branches send (charts, exports, keyboards) already shows."""
    from playwright.sync_api import expect

    bot = preview.preview.application.bot
    preview.call(bot.send_message(
        DAN,
        '<b>Bold</b> <i>italic</i> <a href="https://example.org/tms">a link</a> <code>code</code> '
        "<tg-spoiler>hidden</tg-spoiler>\n<blockquote>A quote</blockquote>\nSend /help for help.",
        parse_mode="HTML",
    ))
    preview.call(bot.send_photo(DAN, png(120, 80), caption="Your pain this week"))
    preview.call(bot.send_document(DAN, b"date,pain\n2026-11-21,4\n", filename="my-data.csv"))
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Share my phone number", request_contact=True)]], one_time_keyboard=True)
    preview.call(bot.send_message(DAN, "May the clinic call you back?", reply_markup=keyboard))

    open_chat(page, preview, DAN)
    formatted = bot_messages(page).first
    expect(formatted.locator("strong")).to_have_text("Bold")
    expect(formatted.locator("em")).to_have_text("italic")
    expect(formatted.locator("a")).to_have_attribute("href", "https://example.org/tms")
    expect(formatted.locator("code")).to_have_text("code")
    expect(formatted.locator("blockquote")).to_have_text("A quote")
    spoiler = formatted.locator(".spoiler")
    spoiler.click()
    expect(spoiler).to_have_class("spoiler revealed")

    image = page.locator(".photo img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120
    expect(page.locator("a.file")).to_have_attribute("download", "my-data.csv")

    page.get_by_role("button", name="Share my phone number").click()
    shared = page.locator("article.message.out .contact-card")
    expect(shared).to_contain_text("+1 555 010 1004")
    # The bot keeps no phone number nobody asked for, says so, and removes the keyboard.
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("callback.stray_contact")))
    expect(page.locator("#reply-keyboard")).to_be_hidden()
    expect(page.get_by_role("button", name="Show the bot's keyboard")).to_be_hidden()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview-kinds.png"))

    # A command in the bot's text can be tapped, as in Telegram.
    formatted.get_by_role("button", name="/help").click()
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("help")).splitlines()[0])


def test_broken_content_shows_file_and_line_and_the_bot_keeps_the_last_good_content(page, preview, lang) -> None:
    from playwright.sync_api import expect

    tms = lang.topics["tms"]
    topic = break_content(preview.content_dir)
    original = topic.read_text(encoding="utf-8")
    try:
        env = {"BOT_CONFIG": str(preview.folder / "clinic.yaml")}
        expected = [problem for problem in run_checks(env, preview.content_dir) if not problem.warning]
        assert expected, "the broken copy must fail the check"

        open_chat(page, preview, RIVERA)  # the staff persona is a Telegram user like any other
        page.get_by_role("button", name="Reload content").click()
        report = page.locator("#content-report")
        expect(report).to_be_visible()
        expect(report.locator("li.error")).to_have_count(len(expected))
        expect(report.locator("li.error code").first).to_have_text(expected[0].where)
        assert f"{topic}:" in expected[0].where
        expect(page.locator("#content-status")).to_contain_text("keeps the last good content")

        page.get_by_role("button", name="Start", exact=True).click()
        bot_messages(page).last.get_by_role("button", name=tms.button).click()
        expect(bot_messages(page).last).to_contain_text(tms.title)
        expect(bot_messages(page).last).not_to_contain_text(BROKEN_SENTENCE)

        # Fixed, and the button renamed: the next reload swaps the content in.
        topic.write_text(original.replace(BROKEN_SENTENCE, "This is general information.").replace(
            f'button: "{tms.button}"', 'button: "🧲 TMS in plain words"'), encoding="utf-8")
        page.get_by_role("button", name="Reload content").click()
        expect(page.locator("#content-status")).to_contain_text("In use")
        expect(report.locator("li.error")).to_have_count(0)
        box = page.get_by_label("Message", exact=True)
        box.fill("/menu")
        box.press("Enter")
        expect(bot_messages(page).last.get_by_role("button", name="🧲 TMS in plain words")).to_be_visible()
    finally:
        shutil.rmtree(preview.content_dir)
        shutil.copytree(CONTENT_DIR, preview.content_dir)
        assert preview.call(preview.preview.reload_content())["ok"]


def png(width: int, height: int) -> bytes:
    """A plain blue PNG, as a chart would be: enough for the browser to draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x2a\x6f\xb0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def type_and_send(page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


# The tests below use chats the ones above have finished with, and a broadcast reaches every
# patient, so they come last.


def test_a_check_in_and_the_history_chart(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, ANN)
    type_and_send(page, "/checkin")
    bot_messages(page).last.get_by_role("button", name=lang.label("checkin.consent_yes")).click()
    bot_messages(page).last.get_by_role("button", name="6", exact=True).click()
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("checkin.saved", pain=6)).splitlines()[0])
    bot_messages(page).last.get_by_role("button", name=lang.label("checkin.finish")).click()
    expect(bot_messages(page).last).to_contain_text("Check-in saved")

    type_and_send(page, "/history")
    chart = page.locator(".photo img").last
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth") == 1080  # phone width
    expect(bot_messages(page).last).to_contain_text("Last 7 days (check-ins: 1): average 6.0/10")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview-history.png"))


def test_nothing_typed_before_the_chat_has_loaded_is_lost(page, preview, lang) -> None:
    """Until the chat's state arrives the composer is disabled: a message typed into it
    earlier was cleared and never sent (a browser test once lost its /broadcast that way)."""
    from playwright.sync_api import expect

    held = []  # the page's requests for the chat's state, held back until released

    def hold_the_state(route) -> None:
        if held is None:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/state*", hold_the_state)
    open_chat(page, preview, CARMEN)
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_disabled()
    expect(page.locator("#send-button")).to_be_disabled()
    assert held, "the page asked for the chat's state"
    waiting, held = held, None
    for route in waiting:
        route.continue_()
    type_and_send(page, "/help")  # fill waits for the box to be enabled
    expect(page.locator("article.message.out").last).to_contain_text("/help")
    expect(bot_messages(page).last).to_contain_text("What I can do")


def test_sending_scrolls_to_the_bottom_and_the_toast_leaves_the_buttons_free(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, CARMEN)
    messages = page.locator("#messages")
    for _ in range(3):  # long answers, more than a window of them
        messages.evaluate("box => { box.scrollTop = 0; }")  # reading old messages, then sending
        type_and_send(page, "/help")
        expect(bot_messages(page).last).to_contain_text("What I can do")
        page.wait_for_function(
            "() => { const box = document.getElementById('messages');"
            " return box.scrollHeight - box.scrollTop - box.clientHeight < 5; }"
        )
    assert messages.evaluate("box => box.scrollHeight > box.clientHeight")  # there was something to scroll

    type_and_send(page, "/checkin")
    expect(bot_messages(page).last).not_to_contain_text("What I can do")  # the answer is there
    consent = bot_messages(page).last.get_by_role("button", name=lang.label("checkin.consent_yes"))
    if consent.count():
        consent.click()
    bot_messages(page).last.get_by_role("button", name="7", exact=True).click()
    # The toast and the buttons are measured in one frame, the first in which the toast shows
    # its text: measured one by one, the toast could time out (4 s) or the message be
    # re-rendered by its edit between two measurements on a loaded machine.
    covered = page.wait_for_function(
        """text => {
            const toast = document.querySelector('#toast.shown');
            if (!toast || !toast.textContent.includes(text)) return null;
            const shown = toast.getBoundingClientRect();
            const articles = document.querySelectorAll('article.message.in');
            const buttons = [...articles[articles.length - 1].querySelectorAll('button')];
            return buttons.filter(button => {
                const box = button.getBoundingClientRect();
                return !(shown.bottom <= box.top || box.bottom <= shown.top
                         || shown.right <= box.left || box.right <= shown.left);
            }).map(button => button.textContent);
        }""",
        arg=lang.label("checkin.saved_toast", pain=7),
    ).json_value()
    assert covered == [], f"the toast covers the buttons {covered!r}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "preview-toast.png"))


def test_a_call_back_request_arrives_in_the_staff_chat(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, BEN)
    type_and_send(page, "/contact")
    bot_messages(page).last.get_by_role("button", name=lang.label("callback.ask_button")).click()
    page.locator("#reply-keyboard").get_by_role("button", name=lang.label("callback.share_button")).click()
    expect(bot_messages(page).last).to_contain_text(plain(lang.text("callback.time_question")).splitlines()[0])
    type_and_send(page, "weekday mornings")

    open_chat(page, preview, STAFF_GROUP)
    request = bot_messages(page).filter(has_text="+1 555 010 1002").last
    expect(request).to_contain_text("weekday mornings")
    request.get_by_role("button", name=lang.label("callback.mark_handled_button")).click()
    expect(bot_messages(page).filter(has_text="+1 555 010 1002").last).to_contain_text("Dr. Rivera")


def test_a_broadcast_from_staff_arrives_in_a_patients_chat(page, preview, lang) -> None:
    from playwright.sync_api import expect

    open_chat(page, preview, RIVERA)
    type_and_send(page, "/broadcast")
    expect(bot_messages(page).last).to_contain_text("Send me the message for patients")
    type_and_send(page, "Flu shots at the clinic on Friday, 9 to 12.")
    bot_messages(page).last.get_by_role("button", name=lang.label("broadcast.audience_all_button", count=4)).click()
    bot_messages(page).last.get_by_role("button", name=lang.label("broadcast.send_button", count=4)).click()
    expect(bot_messages(page).filter(has_text="finished").last).to_contain_text("Sent: 4")

    open_chat(page, preview, DAN)
    news = bot_messages(page).last
    expect(news).to_contain_text("Flu shots at the clinic on Friday, 9 to 12.")
    expect(news).to_contain_text("To stop these updates, send /stop.")
