"""Education: topics (What is TMS?, What to expect, ...), their pages, and their sources.

Content comes from content/<lang>/topics/*.yaml. Moving between screens edits the message
in place; where we are is carried in the callback data, so old buttons keep working.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.content import Language, Page, Topic
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language

# A phone screen shows about this much text without scrolling far; longer pages are split
# at blank lines into several screens joined by Previous/Next.
SCREEN_CHARS = 1200


def split_screens(text: str, limit: int = SCREEN_CHARS) -> list[str]:
    """Split text at blank lines into parts of at most `limit` characters where possible.

    A single paragraph longer than the limit stays whole (the checker still holds it to
    Telegram's 4096); paragraphs are never cut in the middle.
    """
    parts: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if current and len(candidate) > limit:
            parts.append(current)
            current = paragraph
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts or [""]


def _footer(lang: Language, topic: Topic) -> str:
    return lang.text("topic.footer", reviewed=lang.date(topic.reviewed))


def topic_screen(lang: Language, topic: Topic) -> Screen:
    rows = [(Button(page.button, callbacks.page(topic.id, page.id)),) for page in topic.pages]
    # Sources and the way back on the topic's own screen too, not only on its pages.
    rows.append((Button(lang.label("buttons.sources"), callbacks.topic_sources(topic.id)),) + back_to_menu_row(lang))
    text = f"{lang.text('topic.heading', title=topic.title)}\n\n{lang.render(topic.intro)}\n\n{_footer(lang, topic)}"
    return Screen(text, tuple(rows), origin=topic.where)


def page_screen(lang: Language, topic: Topic, page: Page, part: int) -> Screen:
    """One screen of a page, with Previous/Next across parts and pages of the topic."""
    parts = split_screens(lang.render(page.text))
    index = topic.pages.index(page)
    text = parts[part]
    if len(parts) > 1:
        text += "\n\n" + lang.text("topic.part", number=part + 1, total=len(parts))
    text += "\n\n" + _footer(lang, topic)

    navigation = []
    if part > 0:
        navigation.append(Button(lang.label("buttons.previous"), callbacks.page(topic.id, page.id, part - 1)))
    elif index > 0:
        before = topic.pages[index - 1]
        last = len(split_screens(lang.render(before.text))) - 1
        navigation.append(Button(lang.label("buttons.previous"), callbacks.page(topic.id, before.id, last)))
    if part + 1 < len(parts):
        navigation.append(Button(lang.label("buttons.more"), callbacks.page(topic.id, page.id, part + 1)))
    elif index + 1 < len(topic.pages):
        navigation.append(Button(lang.label("buttons.next"), callbacks.page(topic.id, topic.pages[index + 1].id)))

    rows = [tuple(navigation)] if navigation else []
    rows.append((Button(lang.label("buttons.sources"), callbacks.sources(topic.id, page.id)),))
    rows.append((Button(lang.label("buttons.back_to_topic", title=topic.title), callbacks.topic(topic.id)),) + back_to_menu_row(lang))
    return Screen(text, tuple(rows), origin=page.where)


def sources_screen(lang: Language, topic: Topic, page: Page) -> Screen:
    lines = [lang.text("sources.heading", page=page.button)]
    for source_id in page.sources:
        source = topic.sources[source_id]
        lines.append(lang.text("sources.item", cite=source.cite, url=source.url))
    lines.append(lang.text("sources.reviewed", reviewed=lang.date(topic.reviewed)))
    rows = (
        (Button(lang.label("buttons.back_to_page"), callbacks.page(topic.id, page.id)),) + back_to_menu_row(lang),
    )
    return Screen("\n\n".join(lines), rows, origin=page.where)


def topic_sources_screen(lang: Language, topic: Topic) -> Screen:
    """Every source the topic's pages cite, in the order the topic lists them."""
    lines = [lang.text("sources.heading", page=topic.title)]
    for source in topic.sources.values():
        lines.append(lang.text("sources.item", cite=source.cite, url=source.url))
    lines.append(lang.text("sources.reviewed", reviewed=topic.reviewed.isoformat()))
    rows = ((Button(lang.label("buttons.back_to_topic", title=topic.title), callbacks.topic(topic.id)),) + back_to_menu_row(lang),)
    return Screen("\n\n".join(lines), rows, origin=topic.where)


def screens(lang: Language):
    """Every screen this flow can show, for `python -m bot check`."""
    for topic in lang.topics.values():
        yield topic_screen(lang, topic)
        yield topic_sources_screen(lang, topic)
        for page in topic.pages:
            for part in range(len(split_screens(lang.render(page.text)))):
                yield page_screen(lang, topic, page, part)
            yield sources_screen(lang, topic, page)


# -- handlers ---------------------------------------------------------------------------------


async def _out_of_date(update: Update, lang: Language) -> None:
    # The topic or page was renamed or removed since this button was sent.
    await answer_query(update, lang.label("toast.out_of_date"), alert=True)


async def topic_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    topic = lang.topics.get(context.match.group(1))
    if topic is None:
        await _out_of_date(update, lang)
        return
    await answer_query(update)
    await show(update, topic_screen(lang, topic))


async def page_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    topic_id, page_id, part = context.match.group(1), context.match.group(2), int(context.match.group(3))
    topic = lang.topics.get(topic_id)
    page = topic.page(page_id) if topic else None
    if page is None:
        await _out_of_date(update, lang)
        return
    # A page may have become shorter since the button was sent: show its last part.
    part = min(part, len(split_screens(lang.render(page.text))) - 1)
    await answer_query(update)
    await show(update, page_screen(lang, topic, page, part))


async def sources_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    topic = lang.topics.get(context.match.group(1))
    page = topic.page(context.match.group(2)) if topic else None
    if page is None:
        await _out_of_date(update, lang)
        return
    await answer_query(update)
    await show(update, sources_screen(lang, topic, page))


async def topic_sources_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    topic = lang.topics.get(context.match.group(1))
    if topic is None:
        await _out_of_date(update, lang)
        return
    await answer_query(update)
    await show(update, topic_sources_screen(lang, topic))


async def deep_link(update: Update, context: CallbackContext) -> None:
    """`/start tms`: a clinic's poster link opens the topic directly."""
    lang = language(context, update.effective_user)
    topic = lang.topics.get(context.args[0])
    await send(update, topic_screen(lang, topic))


def handlers(services: Services) -> list:
    # Only links to topics that exist match here; anything else falls to the welcome.
    topic_ids = sorted({topic_id for lang in services.content.languages.values() for topic_id in lang.topics})
    deep_link_filter = PRIVATE & filters.Regex(rf"^/start ({'|'.join(topic_ids)})$")
    return [
        CommandHandler("start", deep_link, filters=deep_link_filter),
        CallbackQueryHandler(topic_tapped, pattern=callbacks.TOPIC_PATTERN),
        CallbackQueryHandler(page_tapped, pattern=callbacks.PAGE_PATTERN),
        CallbackQueryHandler(sources_tapped, pattern=callbacks.SOURCES_PATTERN),
        CallbackQueryHandler(topic_sources_tapped, pattern=callbacks.TOPIC_SOURCES_PATTERN),
    ]
