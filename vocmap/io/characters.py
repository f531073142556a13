"""Characters that look like something else, named for error messages.

A no-break space looks like a field separator, a byte-order mark in the middle of
a file is invisible, U+001C is "whitespace" to Python's ``str.split`` but not to
C's ``strtod``. The readers accept only ASCII blank space between fields and
printable characters inside names; when a token holds anything else, the message
names the character instead of blaming a neighbouring, valid token.
"""

from __future__ import annotations

_CONTROL_NAMES = {
    0x00: "NUL",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x1C: "INFORMATION SEPARATOR FOUR",
    0x1D: "INFORMATION SEPARATOR THREE",
    0x1E: "INFORMATION SEPARATOR TWO",
    0x1F: "INFORMATION SEPARATOR ONE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}


def character_name(character: str) -> str:
    """``U+00A0 (NO-BREAK SPACE)``: the code point and its Unicode name."""
    import unicodedata  # messages only

    code = ord(character)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(character, "")
    if code == 0xFEFF:
        return "U+FEFF (a byte-order mark; one is allowed only at the very start of a file)"
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02X} (not UTF-8)"
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X} (a control character)"


def is_odd(character: str) -> bool:
    """True for what must not sit inside a token: blank space of any kind and
    every character ``str.isprintable`` rejects (controls, format characters)."""
    return character.isspace() or not character.isprintable()


def first_odd_character(text: str) -> str | None:
    """The first odd character of ``text`` (see is_odd), or None."""
    if text.isascii() and text.isprintable() and " " not in text:
        return None
    for character in text:
        if is_odd(character):
            return character
    return None
