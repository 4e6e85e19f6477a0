"""The preview: a Spanish-speaking persona, and *Reload content* checks every language."""

from __future__ import annotations

from pathlib import Path

from bot.preview.chat import Chat, commands_for_chat
from bot.preview.settings import Persona, load_preview_config
from tests.previews import make_preview
from tests.spanish_sample import REPO, make_content


def test_the_committed_preview_yaml_has_a_spanish_speaking_patient() -> None:
    config = load_preview_config(REPO / "preview.yaml")
    assert any(persona.language == "es-MX" and not persona.staff for persona in config.personas)


async def test_reload_refuses_a_translation_with_gaps_and_keeps_the_last_good_content(tmp_path: Path) -> None:
    content = make_content(tmp_path / "content")
    preview = make_preview(tmp_path / "preview", content_dir=content)
    await preview.start()
    try:
        assert set(preview.services.content.languages) == {"en", "es"}
        topic = content / "es" / "topics" / "tms.yaml"
        text = topic.read_text(encoding="utf-8")
        topic.write_text(text.replace("looked at 193 people", "looked at many people"), encoding="utf-8")
        status = await preview.reload_content()
        assert status["ok"] is False
        assert any("page 'tms.size' lacks the number 193" in str(problem) for problem in status["problems"]), status
        # The bot goes on with the content it had: both languages, unchanged.
        assert "193" in preview.services.content.languages["es"].topics["tms"].page("size").text
        topic.write_text(text, encoding="utf-8")
        assert (await preview.reload_content())["ok"] is True
    finally:
        await preview.stop()


async def test_a_persona_in_es_mx_sees_the_spanish_command_menu(tmp_path: Path) -> None:
    preview = make_preview(tmp_path / "preview", content_dir=make_content(tmp_path / "content"))
    await preview.start()
    try:
        persona = Persona(1004, "Sofía", "+1 555 010 1004", "es-MX")
        commands = {item["command"]: item["description"] for item in commands_for_chat(preview.standin, Chat(1004, "Sofía", "private", persona))}
        assert commands["start"] == "Bienvenida y menú principal"
        assert commands["language"] == "Elegir su idioma"
    finally:
        await preview.stop()
