"""One VOC annotation XML file into its objects, read as the devkit reads it or refused.

The devkit's ``VOCreadxml`` deletes every TAB, CR and LF from the file, then
splits it at ``<`` and ``>`` without knowing XML: it decodes no entity or
character reference, reads a comment or CDATA section as a tag, and converts
coordinates with MATLAB's ``str2double``. vocmap parses real XML (lxml) and
refuses, with file and line, every field whose value the two would read
differently (see the README's "What vocmap refuses"):

* the root element must be ``<annotation>``;
* ``<name>``, ``<difficult>`` and the ``<bndbox>`` coordinates must be plain text:
  no comment, element, entity or character reference, CDATA section inside;
* blank space (space, TAB, CR, LF, VT, FF) at either end is dropped; inside a
  value, a TAB, CR or LF (which the devkit would delete, joining the pieces) or
  any character that is not printable is an error;
* coordinates are ASCII decimal numbers (``200``, ``-1.5``, ``2e2``): no digit
  separators (``2_00``), no non-ASCII digits, finite;
* an object has at most one ``<name>``, ``<difficult>``, ``<bndbox>``, and its box
  one of each coordinate.

Boxes are read as written: float64 ``(xmin, ymin, xmax, ymax)`` in VOC pixel
coordinates, 1-based and inclusive (width = xmax - xmin + 1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

from vocmap.core.errors import InputError
from vocmap.io.characters import character_name, first_odd_character
from vocmap.io.files import read_input_file

COORDINATES = ("xmin", "ymin", "xmax", "ymax")
_BLANK = " \t\n\r\v\f"
_OBJECT_FIELDS = ("name", "difficult", "truncated", "bndbox")
#: The element paths whose text vocmap reads.
_READ_PATHS = frozenset(
    [("annotation", "object", tag) for tag in ("name", "difficult", "truncated")]
    + [("annotation", "object", "bndbox", tag) for tag in COORDINATES]
    + [("annotation", "size", tag) for tag in ("width", "height")]
)
#: How much of a parser's own message is quoted (it may quote the file).
_PARSER_MESSAGE = 100


def make_parser():
    """lxml's parser with nothing widened: no entity is substituted, no DTD or
    external file is loaded, nothing is fetched from the network, and the
    default limits on depth, text size and entity amplification stay on."""
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )


def _describe_node(node) -> str:
    from lxml import etree

    if isinstance(node, etree._Comment):
        return "a comment"
    if isinstance(node, etree._Entity):
        return f"an entity reference {node.text}"
    if isinstance(node, etree._ProcessingInstruction):
        return "a processing instruction"
    return f"an element <{node.tag}>"


def _plain_text(element, path: Path) -> str:
    """The element's text without blank space at its ends; InputError if the
    element holds anything but text, or odd characters inside."""
    tag = element.tag
    if len(element):
        child = element[0]
        raise InputError(
            f"<{tag}> contains {_describe_node(child)}; only plain text is read here "
            f"(the devkit's parser would not read it as XML does)",
            path,
            child.sourceline or element.sourceline,
        )
    text = (element.text or "").strip(_BLANK)
    odd = first_odd_character(text.replace(" ", "")) if tag == "name" else first_odd_character(text)
    if odd is not None:
        if odd in "\t\r\n":
            joined = "".join(c for c in text if c not in "\t\r\n")
            detail = (
                f"; the devkit deletes TAB, CR and LF from the whole file before parsing "
                f"and would read {joined!r}"
            )
        else:
            detail = ""
        raise InputError(
            f"<{tag}> {text!r} contains {character_name(odd)}{detail}", path, element.sourceline
        )
    return text


def _number(element, path: Path) -> float:
    text = _plain_text(element, path)
    value = math.nan
    if text.isascii() and "_" not in text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        else:
            if not math.isfinite(value):
                raise InputError(
                    f"<{element.tag}> is not finite: {text!r}", path, element.sourceline
                )
    if math.isnan(value):
        raise InputError(
            f"<{element.tag}> is not a number: {text!r} (an ASCII decimal number is expected, "
            "as MATLAB's str2double reads it)",
            path,
            element.sourceline,
        )
    return value


def _children(element, tags: tuple[str, ...], path: Path) -> dict:
    """The children of ``element`` with these tags, each at most once."""
    found: dict = {}
    for child in element:
        tag = child.tag
        if tag in tags:
            if tag in found:
                raise InputError(
                    f"<{element.tag}> has a second <{tag}> (line {found[tag].sourceline})",
                    path,
                    child.sourceline,
                )
            found[tag] = child
    return found


class _Reference(Exception):
    """Raised inside the expat check: what was found in a field that is read."""


def _check_references(raw: bytes, path: Path) -> None:
    """Refuse character and entity references and CDATA sections inside the
    fields that are read (lxml decodes them; the devkit would not)."""
    from xml.parsers import expat  # only for the few files with & or CDATA

    parser = expat.ParserCreate()
    stack: list[str] = []

    def reading() -> bool:
        return tuple(stack) in _READ_PATHS

    def characters(_data: str) -> None:
        index = parser.CurrentByteIndex
        if reading() and raw[index : index + 1] == b"&":
            reference = raw[index : index + 12].split(b";")[0] + b";"
            raise _Reference(f"the reference {reference.decode('utf-8', 'replace')}")

    def cdata() -> None:
        if reading():
            raise _Reference("a CDATA section")

    def default(data: str) -> None:
        if reading() and data.startswith("&"):
            raise _Reference(f"an entity reference {data}")

    parser.StartElementHandler = lambda name, _attributes: stack.append(name)
    parser.EndElementHandler = lambda _name: stack.pop()
    parser.CharacterDataHandler = characters
    parser.StartCdataSectionHandler = cdata
    parser.DefaultHandler = default  # also keeps expat from expanding entities
    try:
        parser.Parse(raw, True)
    except _Reference as found:
        raise InputError(
            f"<{stack[-1]}> contains {found} (only plain text is read here; the devkit "
            "decodes no reference and would read the text as written)",
            path,
            parser.CurrentLineNumber,
        ) from None
    except (expat.ExpatError, ValueError):
        pass  # lxml has accepted the file; nothing more to check


class AnnotatedObject(NamedTuple):
    """One ``<object>``: its class, 0/1 flags and VOC box ``[xmin, ymin, xmax, ymax]``."""

    name: str
    difficult: bool
    box: list[float]
    truncated: bool = False


def _flag(fields: dict, tag: str, path: Path) -> bool:
    """An object's 0/1 field ``<tag>`` (missing means 0; anything else is an error)."""
    element = fields.get(tag)
    if element is None:
        return False
    text = _plain_text(element, path)
    if text not in ("0", "1"):
        raise InputError(f"<{tag}> must be 0 or 1, not {text!r}", path, element.sourceline)
    return text == "1"


class AnnotationRecord(NamedTuple):
    """A whole annotation file: its objects, and the image size from ``<size>``
    (None where the file has none; the evaluation does not need it)."""

    objects: list[AnnotatedObject]
    width: int | None
    height: int | None


def read_annotation_record(
    path: str | os.PathLike,
    parser=None,
    *,
    folder: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> AnnotationRecord:
    """The objects of one VOC XML file (see :func:`read_annotation_file`) and its
    ``<size>``: ``<width>`` and ``<height>`` must be positive whole numbers."""
    path = Path(path)
    root = _parse_root(path, parser, folder, follow_symlinks)
    width = height = None
    size = _children(root, ("size",), path).get("size")
    if size is not None:
        fields = _children(size, ("width", "height"), path)
        width, height = (
            _dimension(fields.get(tag), size, tag, path) for tag in ("width", "height")
        )
    return AnnotationRecord(_objects(root, path), width, height)


def _dimension(element, size, tag: str, path: Path) -> int:
    if element is None:
        raise InputError(f"<size> has no <{tag}>", path, size.sourceline)
    value = _number(element, path)
    if not (value.is_integer() and value >= 1):
        raise InputError(
            f"<{tag}> must be a positive whole number, not {value!r}", path, element.sourceline
        )
    return int(value)


def read_annotation_file(
    path: str | os.PathLike,
    parser=None,
    *,
    folder: str | os.PathLike | None = None,
    follow_symlinks: bool = False,
) -> list[AnnotatedObject]:
    """The objects of one VOC XML file: ``(name, difficult, [xmin, ymin, xmax, ymax],
    truncated)``.

    Raises InputError naming the file and line for a missing, non-regular or
    malformed file, a root other than ``<annotation>``, an object without
    ``<name>`` or ``<bndbox>``, a coordinate that is missing or not a finite
    ASCII decimal number, a ``<difficult>`` or ``<truncated>`` other than 0 or 1
    (missing means 0),
    and every case of the module's list. ``folder``: the annotations folder (a
    symbolic link out of it is refused unless ``follow_symlinks``).
    """
    path = Path(path)
    return _objects(_parse_root(path, parser, folder, follow_symlinks), path)


def _parse_root(path: Path, parser, folder, follow_symlinks: bool):
    """The checked ``<annotation>`` root element of the file (see the module)."""
    from lxml import etree

    raw = read_input_file(path, "annotation file", folder=folder, follow_symlinks=follow_symlinks)
    try:
        root = etree.fromstring(raw, parser if parser is not None else make_parser())
    except etree.XMLSyntaxError as error:
        message = (error.msg or "not XML")[:_PARSER_MESSAGE]
        raise InputError(f"malformed XML: {message}", path, max(1, error.lineno or 1)) from None
    except (etree.LxmlError, ValueError):
        raise InputError("malformed XML", path, 1) from None
    if root.tag != "annotation":
        tag = root.tag if isinstance(root.tag, str) else "?"
        raise InputError(
            f"the root element is <{tag[:60]}>, not <annotation> (the devkit would stop "
            "reading the file)",
            path,
            root.sourceline or 1,
        )
    if b"&" in raw or b"<![CDATA[" in raw:
        _check_references(raw, path)
    return root


def _objects(root, path: Path) -> list[AnnotatedObject]:
    objects = []
    for obj in root.iterfind("object"):
        fields = _children(obj, _OBJECT_FIELDS, path)
        name_element = fields.get("name")
        name = _plain_text(name_element, path) if name_element is not None else ""
        if not name:
            raise InputError("<object> has no <name>", path, obj.sourceline)
        difficult = _flag(fields, "difficult", path)
        truncated = _flag(fields, "truncated", path)
        box = fields.get("bndbox")
        if box is None:
            raise InputError(f"object {name!r} has no <bndbox>", path, obj.sourceline)
        corners = _children(box, COORDINATES, path)
        coords = []
        for tag in COORDINATES:
            element = corners.get(tag)
            if element is None:
                raise InputError(f"<bndbox> has no <{tag}>", path, box.sourceline)
            coords.append(_number(element, path))
        objects.append(AnnotatedObject(name, difficult, coords, truncated))
    return objects
