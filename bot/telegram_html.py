"""Telegram's HTML parse mode, reimplemented so texts can be checked without Telegram.

The Bot API turns `parse_mode=HTML` text into plain text plus "entities" (bold, links, ...)
and refuses text it cannot parse with 400 "Bad Request: can't parse entities: ...". This
module follows the parser Telegram itself runs (tdlib's `parse_html`), with the same error
texts and byte offsets, so `parse_html(text)` predicts what the real API would answer.

Deliberately STRICTER than Telegram in three places, because in each case Telegram accepts
the text but shows the user something the author did not mean:

* A `&` that does not start `&lt;` `&gt;` `&amp;` `&quot;` `&#NN;` or `&#xHH;` (with the
  semicolon) is an error. Telegram would silently show "&nbsp;" or "R&D" as typed, which is
  how unescaped text slips through review and later breaks next to a real entity.
* Attribute values must be quoted (`<a href="...">`). Telegram also takes a bare name token,
  but any real URL contains characters that make the unquoted form fail anyway.
* A number entity for a surrogate or for U+0000 is an error (Telegram drops or mangles it).

Everything here is pure: no Telegram library, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Limits from the Bot API documentation (sendMessage, captions, InlineKeyboardButton).
MAX_MESSAGE = 4096  # UTF-16 code units of a message text after entity parsing
MAX_CAPTION = 1024  # same, for media captions
MAX_CALLBACK_DATA = 64  # bytes of UTF-8, for InlineKeyboardButton.callback_data

# The tags Telegram's HTML mode knows. Anything else fails with "Unsupported start tag".
SUPPORTED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "span", "tg-spoiler", "a", "tg-emoji", "tg-time", "code", "pre", "blockquote",
    }
)

# Tag -> entity type for the tags that map one to one.
_SIMPLE_ENTITY = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
    "code": "code", "pre": "pre",
}

# tdlib's is_space(): what separates a tag name from its attributes.
_SPACES = " \t\r\n\v\f"
# What Telegram trims from both ends of a message text after parsing.
_TRIMMED = " \t\r\n\v\f"

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]{1,8})|#([0-9]{1,10})|([A-Za-z][A-Za-z0-9]*));")
# For error messages: the text after "&" up to a space or ";" (at most a few characters).
_SHOWN_ENTITY_RE = re.compile(r"&[^\s&<;]{0,10};?")


class HtmlError(ValueError):
    """Text Telegram (or our stricter reading of it) would refuse; str() is the API wording."""


@dataclass
class HtmlParseResult:
    """Outcome of parsing: the plain text, its entities as Bot API dicts, or an error.

    `error` is the part of the API's description after "Bad Request: ", for example
    "can't parse entities: Unsupported start tag "div" at byte offset 12". On error `text`
    holds whatever was parsed before the problem, which helps when reading the message.
    """

    text: str
    entities: list[dict] = field(default_factory=list)
    error: str | None = None


def telegram_length(plain: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(plain.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(text: str) -> tuple[str, str | None]:
    """Parse Telegram HTML. Returns (plain text, None) or (partial text, error text)."""
    result = parse_html_entities(text)
    return result.text, result.error


def parse_html_entities(text: str) -> HtmlParseResult:
    """Parse Telegram HTML into the message text and entities Telegram would store."""
    parser = _Parser(text)
    try:
        plain, entities = parser.run()
    except HtmlError as exc:
        return HtmlParseResult("".join(parser.out), [], f"can't parse entities: {exc}")
    plain, entities = trim_like_telegram(plain, entities)
    return HtmlParseResult(plain, entities)


def trim_like_telegram(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip leading and trailing whitespace the way Telegram stores message texts.

    Entities are shifted and clipped to the kept part; ones left empty disappear. This is
    why "  <b>Hi</b>\\n" comes back as "Hi" with a bold entity at offset 0.
    """
    stripped = text.strip(_TRIMMED)
    if stripped == text:
        return text, entities
    start = telegram_length(text[: len(text) - len(text.lstrip(_TRIMMED))])
    end = start + telegram_length(stripped)
    kept = []
    for entity in entities:
        lo = max(entity["offset"], start)
        hi = min(entity["offset"] + entity["length"], end)
        if hi > lo:
            kept.append({**entity, "offset": lo - start, "length": hi - lo})
    return stripped, kept


@dataclass
class _OpenTag:
    name: str
    start_utf16: int  # where the entity starts in the output, in UTF-16 units
    start_char: int  # the same position as an index into the output string
    url: str | None = None  # <a href>
    language: str | None = None  # <code class="language-x">
    emoji_id: str | None = None  # <tg-emoji emoji-id>
    unix_time: int | None = None  # <tg-time unix>
    time_format: str | None = None  # <tg-time format>
    expandable: bool = False  # <blockquote expandable>
    inner_code: dict | None = None  # for <pre>: the entity of a <code class="language-x"> in it
    inner_code_language: str | None = None


class _Parser:
    """One pass over the text, keeping a stack of open tags like tdlib does."""

    def __init__(self, source: str):
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.out_chars = 0  # len("".join(out)), kept to avoid rejoining
        self.utf16 = 0  # UTF-16 length of the output so far: entity offsets use it
        self.stack: list[_OpenTag] = []
        self.entities: list[dict] = []

    # -- helpers -------------------------------------------------------------------------

    def byte_offset(self, index: int) -> int:
        """Telegram reports positions as byte offsets into the UTF-8 text."""
        return len(self.src[:index].encode("utf-8", "surrogatepass"))

    def char(self, index: int) -> str:
        """The character at `index`, or "" past the end (tdlib reads a terminating NUL)."""
        return self.src[index] if index < len(self.src) else ""

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.out_chars += len(piece)
        self.utf16 += telegram_length(piece)

    def skip_spaces(self) -> None:
        while self.char(self.pos) and self.char(self.pos) in _SPACES:
            self.pos += 1

    # -- main loop -----------------------------------------------------------------------

    def run(self) -> tuple[str, list[dict]]:
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "&":
                self.emit(self.read_entity())
            elif c == "<":
                if self.char(self.pos + 1) == "/":
                    self.end_tag()
                else:
                    self.start_tag()
            else:
                # Copy the run of ordinary characters in one go.
                nxt = self.pos
                while nxt < len(src) and src[nxt] not in "&<":
                    nxt += 1
                self.emit(src[self.pos : nxt])
                self.pos = nxt
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        # Telegram lists entities by position; at the same position the longer one first.
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def read_entity(self) -> str:
        """Decode the character reference at self.pos (strict, see the module docstring)."""
        begin = self.pos
        match = _ENTITY_RE.match(self.src, begin)
        if match is None:
            shown = _SHOWN_ENTITY_RE.match(self.src, begin).group(0)  # e.g. "&" or "&nbsp;"
            raise HtmlError(
                f'Unsupported HTML entity "{shown}" at byte offset {self.byte_offset(begin)}; '
                'write "&amp;" for a literal "&"'
            )
        hex_digits, dec_digits, name = match.groups()
        if name is not None:
            if name not in _NAMED_ENTITIES:
                raise HtmlError(
                    f'Unsupported HTML entity "{match.group(0)}" at byte offset '
                    f"{self.byte_offset(begin)}; only &lt; &gt; &amp; &quot; and numeric "
                    "character references are supported"
                )
            char = _NAMED_ENTITIES[name]
        else:
            code = int(hex_digits, 16) if hex_digits is not None else int(dec_digits)
            if 0xD800 <= code <= 0xDFFF:
                raise HtmlError(
                    "Text contains invalid Unicode characters after decoding HTML entities, "
                    "check for unmatched surrogate code units"
                )
            if code == 0 or code > 0x10FFFF:
                raise HtmlError(
                    f'Unsupported HTML entity "{match.group(0)}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            char = chr(code)
        self.pos = match.end()
        return char

    # -- tags ----------------------------------------------------------------------------

    def start_tag(self) -> None:
        src = self.src
        begin = self.pos
        offset = self.byte_offset(begin)
        self.pos += 1
        while self.char(self.pos) and self.char(self.pos) not in _SPACES + ">":
            self.pos += 1
        if not self.char(self.pos):
            raise HtmlError(f"Unclosed start tag at byte offset {offset}")
        name = src[begin + 1 : self.pos].lower()
        if name not in SUPPORTED_TAGS:
            # Also what a bare "<" produces: "a < b" is an unsupported tag named "".
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')

        tag = _OpenTag(name, self.utf16, self.out_chars)
        span_class = None
        while True:
            self.skip_spaces()
            if not self.char(self.pos):
                raise HtmlError(f'Unclosed start tag "{name}" at byte offset {offset}')
            if self.char(self.pos) == ">":
                self.pos += 1
                break
            attr_begin = self.pos
            while self.char(self.pos) and self.char(self.pos) not in _SPACES + "=>":
                self.pos += 1
            attr = src[attr_begin : self.pos].lower()
            if not attr:
                raise HtmlError(f'Empty attribute name in the tag "{name}" at byte offset {offset}')
            self.skip_spaces()
            if self.char(self.pos) != "=":
                # Only <blockquote expandable> has an attribute without a value.
                if name == "blockquote" and attr == "expandable":
                    tag.expandable = True
                    continue
                if not self.char(self.pos):
                    raise HtmlError(f'Unclosed start tag "{name}" at byte offset {offset}')
                raise HtmlError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" at byte offset {offset}'
                )
            self.pos += 1
            self.skip_spaces()
            if not self.char(self.pos):
                raise HtmlError(f'Unclosed start tag "{name}" at byte offset {offset}')
            value = self.read_quoted_value(name, offset)
            if name == "a" and attr == "href":
                tag.url = value
            elif name == "code" and attr == "class" and value.startswith("language-"):
                tag.language = value[len("language-") :]
            elif name == "span" and attr == "class":
                span_class = value
            elif name == "tg-emoji" and attr == "emoji-id":
                tag.emoji_id = value
            elif name == "tg-time" and attr == "unix":
                tag.unix_time = int(value) if value.lstrip("-").isdigit() else None
            elif name == "tg-time" and attr == "format":
                tag.time_format = value
            # Other attributes are ignored, as Telegram does.

        if name == "span" and span_class != "tg-spoiler":
            raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not (tag.emoji_id or "").isdigit():
            raise HtmlError("Invalid custom emoji identifier specified")
        if name == "tg-time" and tag.unix_time is None:
            # Wording is ours: the tag needs unix="<seconds since 1970>".
            raise HtmlError(f'Tag "tg-time" must have a numeric "unix" attribute at byte offset {offset}')
        self.stack.append(tag)

    def read_quoted_value(self, tag_name: str, tag_offset: int) -> str:
        quote = self.char(self.pos)
        if quote not in ("'", '"'):
            # Telegram would accept a bare name token here; we insist on quotes.
            raise HtmlError(
                f'Unquoted attribute value in the tag "{tag_name}" at byte offset '
                f"{self.byte_offset(self.pos)}; put the value in double quotes"
            )
        self.pos += 1
        value = []
        while self.char(self.pos) and self.char(self.pos) != quote:
            if self.char(self.pos) == "&":
                value.append(self.read_entity())
            else:
                value.append(self.src[self.pos])
                self.pos += 1
        self.pos += 1  # the closing quote
        if not self.char(self.pos):  # the text ends inside the tag (or inside the value)
            raise HtmlError(f"Unclosed start tag at byte offset {tag_offset}")
        return "".join(value)

    def end_tag(self) -> None:
        begin = self.pos
        offset = self.byte_offset(begin)
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {offset}")
        self.pos += 2
        while self.char(self.pos) and self.char(self.pos) not in _SPACES + ">":
            self.pos += 1
        end_name = self.src[begin + 2 : self.pos].lower()
        self.skip_spaces()
        if self.char(self.pos) != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {offset}")
        self.pos += 1
        tag = self.stack[-1]
        # "</>" closes whatever is open, as in Telegram.
        if end_name and end_name != tag.name:
            raise HtmlError(
                f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        self.stack.pop()
        length = self.utf16 - tag.start_utf16
        if length > 0:  # empty tags make no entity
            self.add_entity(tag, length)

    def add_entity(self, tag: _OpenTag, length: int) -> None:
        # "type" first so the dicts read like the Bot API's; it is filled in below.
        entity: dict = {"type": None, "offset": tag.start_utf16, "length": length}
        if tag.name == "a":
            url = tag.url if tag.url is not None else "".join(self.out)[tag.start_char :]
            if not url.strip():
                return  # Telegram drops a link it cannot use rather than failing
            entity["type"] = "text_link"
            entity["url"] = url
        elif tag.name == "tg-emoji":
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = tag.emoji_id
        elif tag.name == "tg-time":
            entity["type"] = "date_time"
            entity["unix_time"] = tag.unix_time
            if tag.time_format:
                entity["date_time_format"] = tag.time_format
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        elif tag.name == "pre":
            entity["type"] = "pre"
            # <pre><code class="language-x">...</code></pre> is ONE "pre" entity with a
            # language, provided the code block fills the whole pre.
            code = tag.inner_code
            if code is not None and code["offset"] == entity["offset"] and code["length"] == length:
                self.entities.remove(code)
                entity["language"] = tag.inner_code_language
        else:
            entity["type"] = _SIMPLE_ENTITY[tag.name]
            parent = self.stack[-1] if self.stack else None
            if tag.name == "code" and tag.language and parent is not None and parent.name == "pre":
                parent.inner_code = entity
                parent.inner_code_language = tag.language
        self.entities.append(entity)
