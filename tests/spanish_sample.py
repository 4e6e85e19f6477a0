"""A small Spanish language for tests: the English content copied as `es`, with the texts
the tests look at translated. The real content/es/ is written by translators; the tests of
the machinery must not wait for it, nor break when its wording changes.

`make_content(root)` writes root/en (the shipped English) and root/es, and returns root.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (file under es/, English text, Spanish text): each English text must be found once.
TRANSLATED = [
    ("ui/common.yaml", 'start: "Welcome and main menu"', 'start: "Bienvenida y menú principal"'),
    ("ui/common.yaml", "  Hello, {first_name}! I'm the patient helper", "  ¡Hola, {first_name}! Soy el asistente para pacientes"),
    ("ui/common.yaml", 'text: "What would you like to know? Tap a button."', 'text: "¿Qué le gustaría saber? Toque un botón."'),
    ("ui/common.yaml", 'short_description: "Plain-words guide', 'short_description: "Guía en palabras sencillas:'),
    ("ui/checkin.yaml", '"✅ <b>Check-in saved</b> at {time}: pain <b>{pain}/10</b>."', '"✅ <b>Registro guardado</b> a las {time}: dolor <b>{pain}/10</b>."'),
    ("ui/checkin.yaml", '"Last time ({when}): {pain}/10."', '"La última vez ({when}): {pain}/10."'),
    ("ui/checkin.yaml", 'one: "Your average over the last 7 days: {average}/10 ({count} check-in)."', 'one: "Su promedio de los últimos 7 días: {average}/10 ({count} registro)."'),
    ("ui/checkin.yaml", 'other: "Your average over the last 7 days: {average}/10 ({count} check-ins)."', 'other: "Su promedio de los últimos 7 días: {average}/10 ({count} registros)."'),
    ("ui/reminders.yaml", "🌤 <b>Time for your daily check-in.</b>", "🌤 <b>Es hora de su registro diario.</b>"),
    ("ui/mydata.yaml", 'checkins: "checkins"', 'checkins: "registros de dolor"'),
    ("ui/mydata.yaml", 'created_at_local: "created_at_local"', 'created_at_local: "hora_local"'),
    ("ui/mydata.yaml", 'pain: "pain"', 'pain: "dolor"'),
    ("ui/staff.yaml", 'footer: "<i>From {clinic_name}. To stop these updates, send /stop.</i>"', 'footer: "<i>De {clinic_name}. Para no recibir más avisos, envíe /stop.</i>"'),
]

LANGUAGE_YAML = """\
commands:
  language: "Elegir su idioma"

language:
  name: "Español"
  name_in_sentence: "español"
  choose: "🌐 <b>Idioma</b>\\nUsted lee en <b>{current}</b>. ¿Qué idioma prefiere?"
  changed: "✅ Desde ahora le escribo en español."
  help_button: "🌐 Idioma"

format:
  date: "d 'de' MMMM 'de' y"
  time: "HH:mm"
  day_time: "EEE d 'de' MMM, HH:mm"
"""

CRISIS_YAML = """\
# A small Spanish sample in the format of content/en/crisis.yaml (see its header).
key_words: [suicidio, matarme, morir]
shorthand:
  kiero: quiero
families:
  suicidal_thoughts:
    patterns:
      - '\\bsuicid'
      - '\\bmatarme\\b|\\bquitarme la vida\\b'
      - '\\bquiero morir(me)?\\b'
  medical_emergency:
    patterns:
      - '\\bemergencia\\b'
      - '\\b(911|988)\\b'
examples:
  - "quiero morir"
  - "kiero morirme ya"
  - "pienso en el suicidio"
  - "voy a quitarme la vida"
not_examples:
  - "me duele la espalda"
  - "¿a qué hora abre la clínica?"
"""


def make_content(root: Path) -> Path:
    shutil.copytree(REPO / "content" / "en", root / "en")
    spanish = root / "es"
    shutil.copytree(REPO / "content" / "en", spanish)
    for name, english, translated in TRANSLATED:
        path = spanish / name
        text = path.read_text(encoding="utf-8")
        assert text.count(english) == 1, f"{english!r} is not in {path} once: the English changed, update this sample"
        path.write_text(text.replace(english, translated), encoding="utf-8")
    # Stand-in translations of the long texts: marked, so none is the English text itself.
    for path in [*sorted((spanish / "topics").glob("*.yaml")), spanish / "screening.yaml"]:
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"^(\s*(?:text|intro|why|result_flags|result_none): \|\n)(\s+)", r"\1\2(es) ", text, flags=re.MULTILINE)
        text = re.sub(r'^(\s*(?:text|why): ")', r"\1(es) ", text, flags=re.MULTILINE)
        path.write_text(text, encoding="utf-8")
    (spanish / "ui" / "language.yaml").write_text(LANGUAGE_YAML, encoding="utf-8")
    (spanish / "crisis.yaml").write_text(CRISIS_YAML, encoding="utf-8")
    return root
