"""Education through the stand-in: welcome, every topic, page, part and source, and back."""

from __future__ import annotations

import re

from bot.services import Services
from bot.telegram_html import parse_html
from tests.client import TelegramUser

MAIN_MENU = [
    "🧲 What is TMS?",
    "📅 What to expect",
    "⚠️ Who can't have TMS?",
    "💧 Ketamine basics",
    "📋 Could TMS be right for me?",
    "📝 Daily check-in",
    "📞 Contact the clinic",
    "🆘 I need help now",
]


def first_words(html_text: str, length: int = 60) -> str:
    """The opening of a content text as a patient sees it (tags and entities gone)."""
    plain, error = parse_html(html_text)
    assert error is None, error
    return plain[:length]


async def read_whole_topic(patient: TelegramUser) -> str:
    """Open every page of the topic on screen (every part of it), as a patient would."""
    topic_screen = patient.last
    seen = [topic_screen.text]
    for label in [label for label in patient.buttons(topic_screen) if label != "🏠 Main menu"]:
        await patient.click_on(topic_screen, label)
        seen.append(patient.last.text)
        while "More ▶" in patient.buttons():
            await patient.click("More ▶")
            seen.append(patient.last.text)
        await patient.click(next(label for label in patient.buttons() if label.startswith("⬅ ") and "page" not in label))
    return "\n".join(seen)


async def test_start_greets_says_education_not_advice_and_shows_the_menu(patient: TelegramUser) -> None:
    await patient.send("/start")
    assert "Hello, Ann!" in patient.last.text
    assert "Riverside Pain & TMS Clinic" in patient.last.text
    assert "not medical advice" in patient.last.text
    assert patient.buttons() == MAIN_MENU


async def test_menu_and_help_work_everywhere(patient: TelegramUser) -> None:
    await patient.send("/start")
    await patient.click("💧 Ketamine basics")
    await patient.send("/menu")
    assert patient.buttons() == MAIN_MENU
    await patient.send("/help")
    assert "/contact" in patient.last.text
    assert "not medical advice" in patient.last.text
    await patient.click("🏠 Main menu")
    assert patient.buttons() == MAIN_MENU


async def test_every_page_of_every_topic_is_reachable_and_leads_back(patient: TelegramUser, services: Services) -> None:
    lang = services.content.language("en")
    await patient.send("/start")
    menu_message = patient.last.message_id
    taps = 0
    for topic in lang.topics.values():
        await patient.click(topic.button)
        assert patient.last.message_id == menu_message, "screens move by editing the message in place"
        assert topic.title in patient.last.text
        assert f"Reviewed {topic.reviewed.isoformat()}" in patient.last.text
        for page in topic.pages:
            await patient.click(page.button)
            assert first_words(lang.render(page.text)) in patient.last.text
            assert "General education, not medical advice" in patient.last.text
            while "More ▶" in patient.buttons():
                await patient.click("More ▶")
                assert "General education, not medical advice" in patient.last.text
                taps += 1
            await patient.click("📚 Sources")
            for source_id in page.sources:
                assert topic.sources[source_id].cite in patient.last.text
            assert topic.reviewed.isoformat() in patient.last.text
            await patient.click("⬅ Back to the page")
            assert first_words(lang.render(page.text)) in patient.last.text
            await patient.click(f"⬅ {topic.title}")
            assert topic.title in patient.last.text
            taps += 4
        await patient.click("🏠 Main menu")
        assert patient.buttons() == MAIN_MENU
        taps += 2
    assert taps > 40
    assert patient.unanswered_taps() == []


async def test_next_and_previous_walk_a_topic_in_order(patient: TelegramUser, services: Services) -> None:
    lang = services.content.language("en")
    topic = lang.topics["tms"]
    await patient.send("/start")
    await patient.click(topic.button)
    await patient.click(topic.pages[0].button)
    for page in topic.pages[1:]:
        while "More ▶" in patient.buttons():
            await patient.click("More ▶")
        await patient.click("Next ▶")
        assert first_words(lang.render(page.text)) in patient.last.text
    assert "Next ▶" not in patient.buttons()
    await patient.click("◀ Previous")
    assert "Next ▶" in patient.buttons() or "More ▶" in patient.buttons()


async def test_a_deep_link_opens_its_topic(patient: TelegramUser) -> None:
    await patient.send("/start ketamine")
    assert "Ketamine" in patient.last.text
    # The topic's own screen: its pages as buttons, then its sources and the way back.
    assert "📚 Sources" in patient.buttons()
    assert "🏠 Main menu" in patient.buttons()
    await patient.click("📚 Sources")
    assert "Sources for “Ketamine" in patient.last.text
    await patient.click("⬅ Ketamine")
    assert "📚 Sources" in patient.buttons()


async def test_an_unknown_deep_link_says_so_and_shows_the_menu(patient: TelegramUser) -> None:
    await patient.send("/start old_poster_2019")
    assert "out of date" in patient.last.text
    assert patient.buttons() == MAIN_MENU


async def test_the_content_states_the_regulatory_facts(patient: TelegramUser) -> None:
    """What a patient reads about FDA status is right (content brief, sections 1 and 2)."""
    await patient.send("/start tms")
    seen = await read_whole_topic(patient)
    assert re.search(r"no TMS device is FDA.cleared (to treat|for) chronic pain", seen, re.I), seen
    assert "off-label" in seen
    await patient.send("/start ketamine")
    seen = await read_whole_topic(patient)
    assert "off-label" in seen
    assert re.search(r"not (FDA.)?approved for (chronic )?pain", seen, re.I), seen
    assert re.search(r"next day", seen) and "drive" in seen


async def test_the_content_separates_absolute_and_relative_contraindications(patient: TelegramUser) -> None:
    await patient.send("/start contraindications")
    seen = await read_whole_topic(patient)
    for implant in ("cochlear", "aneurysm", "stimulator"):
        assert implant in seen.lower()
    assert re.search(r"not (an )?automatic", seen, re.I), "relative contraindications are weighed, not automatic bans"
    assert "fillings" in seen
