"""Screening: "Could TMS be right for me?" — a short yes/no/not-sure questionnaire.

It never clears or diagnoses anyone: every "yes" or "not sure" becomes "talk to the clinic
about this before TMS", and all "no" still ends with "the clinic will screen you". Answers
live only in the buttons' data (`sc:ynu`); nothing is stored.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackContext, CallbackQueryHandler, CommandHandler, filters

from bot import callbacks
from bot.chat_filters import PRIVATE
from bot.content import Html, Language, Screening
from bot.menu import back_to_menu_row
from bot.screens import Button, Screen, answer_query, send, show
from bot.services import Services, language

ANSWERS = ("y", "n", "u")  # yes, no, not sure


def intro_screen(lang: Language, screening: Screening) -> Screen:
    text = f"{lang.text('screening.heading', title=screening.title)}\n\n{lang.render(screening.intro)}"
    rows = ((Button(lang.label("screening.begin"), callbacks.screening("")),), back_to_menu_row(lang))
    return Screen(text, rows)


def question_screen(lang: Language, screening: Screening, answers: str) -> Screen:
    number = len(answers)
    question = screening.questions[number]
    text = (
        f"{lang.text('screening.progress', number=number + 1, total=len(screening.questions))}\n\n"
        f"{lang.render(question.text)}"
    )
    choices = tuple(Button(lang.label(f"screening.answer_{answer}"), callbacks.screening(answers + answer)) for answer in ANSWERS)
    back = callbacks.screening(answers[:-1]) if answers else callbacks.SCREENING_INTRO
    rows = (choices, (Button(lang.label("buttons.previous"), back),) + back_to_menu_row(lang))
    return Screen(text, rows)


def result_screen(lang: Language, screening: Screening, answers: str) -> Screen:
    flagged = [question for question, answer in zip(screening.questions, answers) if answer != "n"]
    if flagged:
        items = "\n\n".join(
            lang.text("screening.flag", label=question.label, why=Html(lang.render(question.why))) for question in flagged
        )
        body = f"{lang.render(screening.result_flags)}\n\n{items}"
    else:
        body = lang.render(screening.result_none)
    text = f"{body}\n\n{lang.text('screening.contact')}\n\n{lang.text('screening.footer', reviewed=lang.date(screening.reviewed))}"
    rows = (
        (Button(lang.label("menu.contact"), callbacks.CONTACT),),
        (Button(lang.label("screening.again"), callbacks.screening("")),) + back_to_menu_row(lang),
    )
    return Screen(text, rows)


def screen_for(lang: Language, screening: Screening, answers: str) -> Screen:
    if len(answers) < len(screening.questions):
        return question_screen(lang, screening, answers)
    return result_screen(lang, screening, answers)


def screens(lang: Language):
    """Every kind of screen this flow can show, for `python -m bot check`."""
    screening = lang.screening
    if screening is None:
        return
    yield intro_screen(lang, screening)
    for number in range(len(screening.questions)):
        yield question_screen(lang, screening, "u" * number)
    yield result_screen(lang, screening, "y" * len(screening.questions))  # the longest result
    yield result_screen(lang, screening, "n" * len(screening.questions))


async def intro_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await answer_query(update)
    await show(update, intro_screen(lang, lang.screening))


async def answer_tapped(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    answers = context.match.group(1)
    if len(answers) > len(lang.screening.questions):
        # The questionnaire got shorter since this button was sent.
        await answer_query(update, lang.label("toast.out_of_date"), alert=True)
        return
    await answer_query(update)
    await show(update, screen_for(lang, lang.screening, answers))


async def deep_link(update: Update, context: CallbackContext) -> None:
    lang = language(context, update.effective_user)
    await send(update, intro_screen(lang, lang.screening))


def handlers(services: Services) -> list:
    return [
        CommandHandler("start", deep_link, filters=PRIVATE & filters.Regex(r"^/start screening$")),
        CallbackQueryHandler(intro_tapped, pattern=callbacks.SCREENING_INTRO_PATTERN),
        CallbackQueryHandler(answer_tapped, pattern=callbacks.SCREENING_PATTERN),
    ]
