"""preview.yaml: who you can be in the preview, and where its data goes.

None of it reaches the live bot. A mistake stops the preview at start with one line that
names the file, the line and the setting, like the clinic config does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.yamlines import LineDict, LineList, YamlError, load

DEFAULT_FILE = Path("preview.yaml")
DEFAULT_DATABASE = Path("data/preview.sqlite3")
PHONE = re.compile(r"^\+?[\d\s().-]{3,25}$")


class PreviewConfigError(Exception):
    """A problem in preview.yaml; the message is the one line shown to the operator."""


@dataclass(frozen=True)
class Persona:
    id: int  # the invented Telegram user id (= their private chat's id)
    name: str
    phone: str  # what their "share my contact" button sends
    language: str = "en"
    staff: bool = False


@dataclass(frozen=True)
class StaffGroup:
    id: int  # negative, as Telegram's group ids are
    title: str


@dataclass(frozen=True)
class PreviewConfig:
    database: Path
    personas: tuple[Persona, ...]
    staff_group: StaffGroup | None

    @property
    def staff_ids(self) -> frozenset[int]:
        return frozenset(persona.id for persona in self.personas if persona.staff)


def load_preview_config(path: Path) -> PreviewConfig:
    if not path.is_file():
        raise PreviewConfigError(f"{path}: the preview's config is missing (the repository ships preview.yaml)")
    try:
        raw = load(path)
    except YamlError as error:
        raise PreviewConfigError(str(error)) from None
    if not isinstance(raw, LineDict):
        raise PreviewConfigError(f"{path}:1: expected settings as 'key: value' lines")

    def where(node: LineDict | LineList, key: object) -> str:
        line = node.line_of(key) if isinstance(node, LineDict) else node.lines[key]
        return f"{path}:{line}"

    known = {"database", "personas", "staff_group"}
    for key in raw:
        if key not in known:
            raise PreviewConfigError(f"{where(raw, key)}: unknown setting {key!r} (known: {', '.join(sorted(known))})")

    database = raw.get("database", str(DEFAULT_DATABASE))
    if not isinstance(database, str) or not database.strip():
        raise PreviewConfigError(f"{where(raw, 'database')}: database must be a file path")

    people = raw.get("personas")
    if not isinstance(people, LineList) or not people:
        raise PreviewConfigError(f"{where(raw, 'personas')}: personas must be a list of at least one person")
    personas = tuple(_persona(path, people, index) for index in range(len(people)))
    seen: set[int] = set()
    for index, persona in enumerate(personas):
        if persona.id in seen:
            raise PreviewConfigError(f"{where(people, index)}: persona id {persona.id} is used twice")
        seen.add(persona.id)

    group = raw.get("staff_group")
    staff_group = None
    if group is not None:
        if not isinstance(group, LineDict):
            raise PreviewConfigError(f"{where(raw, 'staff_group')}: staff_group must have an id and a title")
        group_id = group.get("id")
        if not _is_int(group_id) or group_id >= 0:
            raise PreviewConfigError(f"{where(group, 'id')}: staff_group.id must be a negative number, as group ids are (got {group_id!r})")
        title = group.get("title")
        if not isinstance(title, str) or not title.strip():
            raise PreviewConfigError(f"{where(group, 'title')}: staff_group.title is missing")
        staff_group = StaffGroup(group_id, title.strip())
    return PreviewConfig(Path(database.strip()), personas, staff_group)


def _persona(path: Path, people: LineList, index: int) -> Persona:
    item = people[index]
    label = f"personas[{index + 1}]"
    if not isinstance(item, LineDict):
        raise PreviewConfigError(f"{path}:{people.lines[index]}: {label} must have an id, a name and a phone")

    def fail(key: str, message: str) -> PreviewConfigError:
        return PreviewConfigError(f"{path}:{item.line_of(key)}: {label}.{key} {message}")

    known = {"id", "name", "phone", "language", "staff"}
    for key in item:
        if key not in known:
            raise fail(str(key), f"is not a persona setting (known: {', '.join(sorted(known))})")
    user_id = item.get("id")
    if not _is_int(user_id) or not 0 < user_id < 2**52:
        raise fail("id", f"must be a positive whole number, like a Telegram user id (got {user_id!r})")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise fail("name", "must be a first name of 1 to 64 characters")
    phone = item.get("phone")
    if not isinstance(phone, str) or not PHONE.match(phone.strip()):
        raise fail("phone", f'must be a phone number in quotes, e.g. "+1 555 010 1001" (got {phone!r})')
    language = item.get("language", "en")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?", language):
        raise fail("language", f"must be a Telegram language code such as en or es-MX (got {language!r})")
    staff = item.get("staff", False)
    if not isinstance(staff, bool):
        raise fail("staff", f"must be true or false (got {staff!r})")
    return Persona(user_id, name.strip(), phone.strip(), language, staff)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
