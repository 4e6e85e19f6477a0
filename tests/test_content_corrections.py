"""The content corrections of issue 9 (item 7), each found where a patient would read it.

Every test drives the real bot through the stand-in: it opens a topic page (every "More"
part of it) or walks the screening, and asserts the corrected wording is on the screen.
"""

from __future__ import annotations

import re

import pytest

from bot.services import Services
from tests.client import TelegramUser

CLINIC_PHONE = "+1 555 010 0199"

# Copies of papers and FDA records on third-party sites: the brief's sources are cited by
# their primary record instead (PubMed/PMC, DOI, fda.gov, accessdata.fda.gov, NICE).
MIRRORS = ("scribd", "vdocuments", "coek.info", "lexichronic", "innolitics", "ichgcp", "psikiyatrideqeeg",
           "asiae.co.kr", "maestrodatabase", "120ty.net", "fda.report", "scholars.duke.edu")

NEW_SCREENING_QUESTIONS = {
    "heart": "serious heart disease",
    "skull_pressure": "raised pressure inside your skull",
    "alcohol_drugs": "drinking a lot of alcohol or using drugs",
}


async def read_page(patient: TelegramUser, topic: str, page_button: str) -> str:
    """Open a topic by its deep link, then one of its pages, and read every part of it."""
    await patient.send(f"/start {topic}")
    await patient.click(page_button)
    seen = [patient.last.text]
    while "More ▶" in patient.buttons():
        await patient.click("More ▶")
        seen.append(patient.last.text)
    return "\n".join(seen)


async def page_sources(patient: TelegramUser) -> tuple[str, list[str]]:
    """The Sources screen of the page on screen: its text and the addresses it links to."""
    await patient.click("📚 Sources")
    links = [entity["url"] for entity in patient.last.entities if entity.get("type") == "text_link"]
    return patient.last.text, links


async def walk_topic(patient: TelegramUser, topic) -> dict[str, tuple[str, str, list[str]]]:
    """Every page of a topic, moving by edits as a patient taps (one new message in all):
    page id -> (the page's text, all parts; its Sources screen; the links on that screen)."""
    await patient.send(f"/start {topic.id}")
    assert f"Reviewed {topic.reviewed.isoformat()}" in patient.last.text
    pages = {}
    for page in topic.pages:
        await patient.click(page.button)
        parts = [patient.last.text]
        while "More ▶" in patient.buttons():
            await patient.click("More ▶")
            parts.append(patient.last.text)
        sources, links = await page_sources(patient)
        pages[page.id] = ("\n".join(parts), sources, links)
        await patient.click("⬅ Back to the page")
        await patient.click(f"⬅ {topic.title}")
    return pages


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text)


async def test_fibromyalgia_names_both_level_b_protocols_and_explains_the_grades(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "tms", "What research says"))
    assert "Level B" in seen and "probable efficacy" in seen
    assert "it probably has an effect" in seen, "Level B is explained in plain words"
    assert "the experts are sure it has an effect" in seen, "Level A is explained in plain words"
    assert "high-frequency rTMS of the left DLPFC, for pain" in seen
    assert "high-frequency rTMS of the left M1 (the motor area), for quality of life" in seen
    assert "The DLPFC is an area at the front of the brain" in seen
    text, _links = await page_sources(patient)
    assert "Lefaucheur J-P et al. (2020)" in text


async def test_tms_is_not_a_cure_in_nice_ipg477_words(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "tms", "How much does it help?"))
    assert "TMS is not a cure." in seen
    assert '"is not intended to provide a cure"' in seen and '"may be modest"' in seen
    assert "NICE" in seen
    text, links = await page_sources(patient)
    assert "IPG477" in text
    assert "https://www.nice.org.uk/guidance/ipg477/chapter/1-recommendations" in links
    seen = plain(await read_page(patient, "tms", "Key points"))
    assert "not intended to provide a cure" in seen


async def test_the_fda_page_says_only_what_the_sources_support_about_the_migraine_device(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "tms", "FDA status"))
    assert "the only pain-related clearance" not in seen
    assert "These are the clearances we could check in our sources. There may be others." in seen
    assert "only the 2013 migraine device is for pain" in seen
    assert "It is not cleared for chronic pain" in seen
    assert "authorised" not in seen and "authorized" in seen


async def test_esketamine_approvals_with_dates_rems_monitoring_and_not_for_pain(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "ketamine", "Esketamine (Spravato)"))
    assert "March 5, 2019: for treatment-resistant depression" in seen
    assert "August 3, 2020: for depression symptoms in people with major depression who have sudden thoughts of suicide" in seen
    assert "January 2025: for treatment-resistant depression on its own" in seen
    assert "REMS" in seen and "special FDA safety program" in seen
    assert "at least 2 hours" in seen
    assert "Esketamine is not approved for pain." in seen
    _text, links = await page_sources(patient)
    assert any(link.startswith("https://www.fda.gov/") for link in links)
    assert any("accessdata.fda.gov" in link and "211243" in link for link in links)


@pytest.mark.parametrize(("topic", "urgent_page"), [("expect", "When to get help fast"), ("ketamine", "After a session")])
async def test_crisis_lines_give_988_history_and_numbers_outside_the_us(patient: TelegramUser, topic: str, urgent_page: str) -> None:
    urgent = plain(await read_page(patient, topic, urgent_page))
    assert '"Crisis lines"' in urgent, "the page about urgent help points to the crisis lines"
    seen = plain(await read_page(patient, topic, "Crisis lines"))
    assert "call or text 988" in seen and "988lifeline.org" in seen
    assert "988 started on July 16, 2022. The old number, 1-800-273-8255, still works." in seen
    assert "dial 988, then press 1. Or text 838255" in seen
    assert "Canada: call or text 9-8-8" in seen
    assert "UK: Samaritans 116 123" in seen and "999" in seen
    assert "Australia: Lifeline 13 11 14" in seen and "000" in seen
    assert "European Union: emergency 112" in seen
    assert "General education, not medical advice" in seen


async def test_mayo_clinics_device_list_is_kept_apart_from_the_spine_devices(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "contraindications", "Devices in the body"))
    mayo = seen.index("Mayo Clinic names these.")
    apart = seen.index("Mayo Clinic's list does not name these.")
    for device in ("a pacemaker", "an implantable defibrillator (ICD)", "a medication pump"):
        assert mayo < seen.index(device) < apart, device
    for device in ("a spinal cord stimulator", "a DRG stimulator", "an intrathecal pump"):
        assert seen.index(device) > apart, device
    assert "Rossi and colleagues, 2011" in seen and "Klein and colleagues, 2015" in seen
    text, _links = await page_sources(patient)
    assert "Rossi S, Hallett M, Rossini PM, Pascual-Leone A (2011)" in text


async def test_jargon_comes_with_plain_words(patient: TelegramUser) -> None:
    seen = plain(await read_page(patient, "contraindications", "Metal near the head"))
    assert "cochlear implants (hearing implants placed inside the ear)" in seen
    assert "vagus nerve stimulator (a device on a nerve in the neck)" in seen
    seen = plain(await read_page(patient, "expect", "Rare side effects"))
    assert "figure-8" not in seen and "shaped like a figure 8" in seen
    seen = plain(await read_page(patient, "tms", "How it works"))
    assert "focal" not in seen
    seen = plain(await read_page(patient, "ketamine", "What is ketamine?"))
    assert "one kind of signal receiver on nerve cells, called the NMDA receptor" in seen
    seen = plain(await read_page(patient, "ketamine", "Side effects and risks"))
    assert "benzodiazepines (calming or sleep medicines)" in seen


@pytest.mark.parametrize("question_id", sorted(NEW_SCREENING_QUESTIONS))
async def test_each_new_screening_question_routes_yes_to_the_clinic(patient: TelegramUser, services: Services, question_id: str) -> None:
    questions = services.content.language("en").screening.questions
    asked = next(question for question in questions if question.id == question_id)
    await patient.send("/start screening")
    await patient.click("Start the questions")
    for question in questions:
        if question.id == question_id:
            assert NEW_SCREENING_QUESTIONS[question_id] in plain(patient.last.text)
            await patient.click("Yes")
        else:
            await patient.click("No")
    result = patient.last.text
    assert asked.label in result
    assert all(question.label not in result for question in questions if question.id != question_id)
    assert "Please talk to the clinic about these before TMS" in result
    assert "they do not decide anything" in result
    assert CLINIC_PHONE in result


async def test_no_mirror_is_cited_and_pages_show_the_new_review_date(patient: TelegramUser, services: Services) -> None:
    for topic in services.content.language("en").topics.values():
        assert topic.reviewed.isoformat() == "2026-12-01", topic.id
        for page_id, (_text, sources, links) in (await walk_topic(patient, topic)).items():
            assert links, f"{topic.id}.{page_id} lists its sources as links"
            for link in links:
                assert not any(mirror in link for mirror in MIRRORS), (topic.id, page_id, link)
            assert "Last checked against these sources on 2026-12-01" in sources


async def test_english_pages_use_us_spelling(patient: TelegramUser, services: Services) -> None:
    lang = services.content.language("en")
    for topic in lang.topics.values():
        for page_id, (text, _sources, _links) in (await walk_topic(patient, topic)).items():
            assert not re.search(r"anaesth|tumour|programme|authoris|behaviour|centres?\b", text, re.I), (topic.id, page_id)
    await patient.send("/start screening")
    await patient.click("Start the questions")
    for _ in lang.screening.questions:
        await patient.click("Yes")
    assert "tumor" in patient.last.text and "tumour" not in patient.last.text
    assert "Reviewed 2026-12-01" in patient.last.text or "2026-12-01" in patient.last.text
