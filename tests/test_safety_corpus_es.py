"""The Spanish safety net, pure (no Telegram): each kind of typing, idioms, Spanglish.

content/es/crisis.yaml is loaded on its own, through the loader that turns every language's
crisis.yaml into a Detector (bot.content.load_crisis): Spanish is held to issue 9's bar
before the rest of content/es/ exists. The corpus is held to the bar in test_safety_corpus.py.
"""

from __future__ import annotations


import pytest

from bot.check import placeholders_for
from bot.config import CONTENT_DIR, load_settings
from bot.content import has_errors, load_content, load_crisis
from bot.crisis_detector import normalise

CRISIS, PROBLEMS = load_crisis(CONTENT_DIR / "es" / "crisis.yaml")
DETECTOR = CRISIS.detector

def test_spanish_crisis_yaml_loads_without_problems() -> None:
    assert PROBLEMS == []
    assert DETECTOR.corrects_typos  # a Spanish word list was found


# Each kind of phone typing, on phrasings the plain form of which is caught.
TYPING = {
    "accents or none": ["ya no quiero vivir más", "ya no quiero vivir mas", "me tomé todo el frasco", "me tome todo el frasco"],
    "shouting": ["ME QUIERO MATAR", "ME TOME TODAS LAS PASTILLAS"],
    "letters held down": ["me quiero moriiiir", "adiooos a todos", "no puedo respiraaar"],
    "q and k for que": ["q dios me lleve", "kiero q todo se acabe", "ke ganas de no despertar"],
    "xq and pq for porque": ["me quiero morir xq ya no puedo", "ya no quiero vivir pq me duele todo"],
    "toy and kiero": ["toy pensando en matarme", "kiero morirme"],
    "a letter wrong": ["pienso en el suisidio", "quiero matarne", "quiero suicidarne", "no puedo resirar", "me tome 30 tramadoles"],
    "a letter dropped": ["ya no agunto", "me tome todas las pastilas"],
    "emoji between words": ["me quiero 😭 morir", "adios 👋 para siempre", "me tome todas las pastis 💊"],
    "no punctuation, ñ as n": ["ojala no despierte manana", "me corte las munecas"],
    "Spanglish": ["i want to die ya no puedo", "kms ya no aguanto"],
}


@pytest.mark.parametrize(("kind", "text"), [(kind, text) for kind, texts in TYPING.items() for text in texts])
def test_each_kind_of_spanish_typing_is_read(kind: str, text: str) -> None:
    assert DETECTOR.is_crisis(text), DETECTOR.read(text)


def test_spanish_typos_and_shorthand_are_read() -> None:
    assert DETECTOR.read("kiero matarne") == "quiero matarme"
    assert DETECTOR.read("toy pensando en el suisidio") == "estoy pensando en el suicidio"
    assert DETECTOR.read("Me quiero morir xq ya no aguanto!!!") == "me quiero morir porque ya no aguanto"


def test_an_ordinary_spanish_word_is_never_read_as_a_key_word() -> None:
    """"siga" is one letter from "soga", "contarle" two from "cortarme", "soy" one from "toy":
    each is a common Spanish word (the word lists, compared without accents), so it stays."""
    assert DETECTOR.read("que siga el tratamiento quiero contarle algo soy nueva") == "que siga el tratamiento quiero contarle algo soy nueva"
    assert not DETECTOR.is_crisis("quiero contarle algo a la doctora")
    assert not DETECTOR.is_crisis("que siga el tratamiento")


@pytest.mark.parametrize(
    "text",
    [
        "este dolor me está matando",
        "me muero de ganas de saber",
        "mataría por dormir",
        "mi jefe me va a matar si llego tarde",
        "¿y si me da una convulsión durante la TMS?",
        "¿la ketamina puede causar sobredosis?",
        "mi papá murió en 2015",
        "me corté el dedo picando cebolla",
        "ok gracias, adiós, nos vemos el lunes",
    ],
)
def test_spanish_idioms_and_questions_about_risks_are_not_a_crisis(text: str) -> None:
    assert not DETECTOR.is_crisis(text), DETECTOR.family(text)


@pytest.mark.parametrize(
    "text",
    [
        "¿es una sobredosis? me tomé 30 pastillas",
        "¿es normal que me duela así el pecho después de la infusión?",
        "me muero de ganas de morirme",
    ],
)
def test_a_question_or_an_idiom_never_hides_the_rest_of_the_message(text: str) -> None:
    assert DETECTOR.is_crisis(text)


@pytest.mark.parametrize("text", CRISIS.examples)
def test_spanish_crisis_yaml_examples_are_caught(text: str) -> None:
    assert CRISIS.is_crisis(text), DETECTOR.read(text)


@pytest.mark.parametrize("text", CRISIS.not_examples)
def test_spanish_crisis_yaml_not_examples_are_not(text: str) -> None:
    assert not CRISIS.is_crisis(text), DETECTOR.family(text)


@pytest.mark.parametrize(
    "text",
    ["¿pueden cobrarme con tarjeta?", "voy a saltarme la comida", "quiero ahorrarme la consulta", "¿pueden perdonarme la multa?", "quiero tratarme con TMS"],
)
def test_an_ordinary_verb_with_a_pronoun_is_never_read_as_a_key_word(text: str) -> None:
    """"cobrarme" is "cobrar" + "me" (crisis.yaml's `endings`), not a typo of "cortarme";
    "saltarme" is not "matarme", "ahorrarme" not "ahorcarme": the word lists lack such forms."""
    assert DETECTOR.read(text) == normalise(text)
    assert not DETECTOR.is_crisis(text), DETECTOR.family(text)


def test_a_key_word_mistyped_is_still_read_as_the_key_word() -> None:
    assert DETECTOR.read("kiero matarne y cortarne") == "quiero matarme y cortarme"


@pytest.fixture(scope="module")
def shipped_content(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic")
    config = folder / "clinic.yaml"
    config.write_text(
        'clinic: {name: Test Clinic, phone: "+1 555 010 0000", hours: "Mon-Fri 8:00-17:00", timezone: America/Los_Angeles}\nstaff_ids: [777000111]\n',
        encoding="utf-8",
    )
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAH-test-token-for-the-corpus-only", "TELEGRAM_BASE_URL": "http://127.0.0.1:9", "BOT_CONFIG": str(config), "BOT_DATABASE": str(folder / "bot.sqlite3")}
    settings = load_settings(env)
    content, problems = load_content(settings.content_dir, placeholders_for(settings))
    assert content is not None and not has_errors(problems), [str(problem) for problem in problems]
    assert {"en", "es"} <= set(content.languages)
    return content


@pytest.mark.parametrize(
    "text",
    [
        "what if i have a seizure during tms",
        "can tms cause a stroke",
        "is chest pain a side effect of ketamine",
        "i had a seizure 20 years ago, can i still do tms",
        "is it possible to overdose on gabapentin",
        "ok bye thanks for the help",
        "goodbye see you monday",
        "i'm cutting back on caffeine",
        "im going to jump in the shower",
        "i cant go on friday can we reschedule",
        "my grandma took too many steps today lol",
        "could ketamine make me pass out",
        "does ketamine help with suicidal thoughts",
    ],
)
def test_english_near_misses_are_not_caught_by_the_spanish_patterns(text: str) -> None:
    """Spanish patterns hold a few English phrases for Spanglish; they keep English's exceptions."""
    assert not DETECTOR.is_crisis(text), DETECTOR.family(text)


@pytest.mark.parametrize(
    "text",
    ["quiero die, ya no puedo more", "me quiero kill", "no puedo anymore", "i want to kill myself ya no aguanto"],
)
def test_spanglish_is_caught_by_the_spanish_patterns_alone(text: str) -> None:
    assert DETECTOR.is_crisis(text), DETECTOR.read(text)


def test_one_languages_ordinary_words_are_not_the_others_typos(shipped_content) -> None:
    """English once read "ropa" as "rope", "diez" as "die", "pistola" as "pistol": a Spanish
    word in a Spanish message is a word, not an English typo, when the bot speaks both."""
    english = shipped_content.language("en").crisis.detector
    assert english.read("le regale mi ropa vieja a mi prima hace diez años") == "le regale mi ropa vieja a mi prima hace diez anos"
    assert not shipped_content.is_crisis_in_any_language("mi hijo juega con su pistola de agua")
    # ...while real typos are still read in both languages, and crises in either caught.
    assert english.read("i want to kil myslef") == "i want to kill myself"
    assert shipped_content.is_crisis_in_any_language("tengo la pistola cargada y ya decidi")
    assert shipped_content.is_crisis_in_any_language("i bought rope today and im done")
