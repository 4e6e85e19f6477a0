"""The main menu, shared by every flow that offers a way back to it."""

from __future__ import annotations

from bot import callbacks
from bot.content import Language
from bot.screens import Button, Screen

# Menu targets other than topics: the label's key in ui/*.yaml and the button's data.
FEATURES: dict[str, tuple[str, str]] = {
    "screening": ("menu.screening", callbacks.SCREENING_INTRO),
    "checkin": ("menu.checkin", callbacks.CHECKIN),
    "contact": ("menu.contact", callbacks.CONTACT),
    "sos": ("menu.sos", callbacks.SOS),
}


def menu_button(language: Language, target: str) -> Button | None:
    """The button for one target of menu.yaml ("topic:tms", "contact"); None if unknown."""
    if target.startswith("topic:"):
        topic = language.topics.get(target.removeprefix("topic:"))
        return Button(topic.button, callbacks.topic(topic.id)) if topic else None
    if target in FEATURES:
        label_key, data = FEATURES[target]
        return Button(language.label(label_key), data)
    return None


def main_menu(language: Language, intro: str | None = None) -> Screen:
    """The main menu; `intro` (already HTML) is put above the menu's own text."""
    rows = []
    for row in language.menu:
        buttons = tuple(button for target in row if (button := menu_button(language, target)))
        if buttons:
            rows.append(buttons)
    text = language.text("menu.text")
    if intro:
        text = f"{intro}\n\n{text}"
    return Screen(text, tuple(rows), origin=language.text_origins.get("menu.text", ""))


def back_to_menu_row(language: Language) -> tuple[Button, ...]:
    return (Button(language.label("buttons.main_menu"), callbacks.MAIN_MENU),)
