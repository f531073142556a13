"""An image's width and height from its file header, without decoding pixels.

JPEG (any SOF marker: baseline, progressive, lossless, arithmetic) and PNG (its
IHDR chunk). A JPEG's EXIF orientation 5 to 8 (a quarter turn) swaps the two,
since labels are normalised by the image as displayed. Anything else (another
format, a truncated header, a zero size) is an InputError naming the file.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from vocmap.core.errors import InputError
from vocmap.io.files import open_input_file

#: Extensions looked for next to a label file, in this order.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: The most JPEG segments read before giving up (a real header has a few dozen).
_MAX_SEGMENTS = 4096


def image_size(
    path: str | os.PathLike, *, folder: str | os.PathLike | None = None
) -> tuple[int, int]:
    """``(width, height)`` in pixels of the JPEG or PNG file ``path``.

    With ``folder``, a symbolic link that leads outside it is refused
    (:func:`vocmap.io.files.read_input_file`'s rules).
    """
    with open_input_file(path, "image file", folder=folder) as handle:
        try:
            head = handle.read(8)
            if head == _PNG_SIGNATURE:
                width, height = _png_size(handle, path)
            elif head[:3] == b"\xff\xd8\xff":
                handle.seek(2)
                width, height = _jpeg_size(handle, path)
            else:
                raise InputError("image file is neither a JPEG nor a PNG (its header)", path)
        except OSError as error:
            raise InputError(f"cannot read image file: {error.strerror or error}", path) from None
    if width <= 0 or height <= 0:
        raise InputError(f"image file's header gives a size of {width} x {height}", path)
    return width, height


def _png_size(handle: BinaryIO, path: str | os.PathLike) -> tuple[int, int]:
    chunk = handle.read(16)
    if len(chunk) < 16 or chunk[4:8] != b"IHDR":
        raise InputError("PNG file without an IHDR chunk first (truncated or damaged)", path)
    width, height = struct.unpack(">II", chunk[8:16])
    return width, height


def _jpeg_size(handle: BinaryIO, path: str | os.PathLike) -> tuple[int, int]:
    """Walk the marker segments up to the frame header (SOFn)."""
    quarter_turn = False
    for _ in range(_MAX_SEGMENTS):
        marker = _next_marker(handle, path)
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length follows
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header
            break
        length_bytes = handle.read(2)
        if len(length_bytes) < 2:
            break
        length = struct.unpack(">H", length_bytes)[0]
        if length < 2:
            raise InputError(f"JPEG segment FF{marker:02X} with a length of {length}", path)
        body = handle.read(length - 2)
        if len(body) < length - 2:
            break
        if marker in _SOF_MARKERS:
            if len(body) < 5:
                raise InputError("JPEG frame header too short", path)
            height, width = struct.unpack(">HH", body[1:5])
            return (height, width) if quarter_turn else (width, height)
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            quarter_turn = _exif_orientation(body[6:]) in (5, 6, 7, 8)
    raise InputError("JPEG file without a frame header (truncated or damaged)", path)


def _next_marker(handle: BinaryIO, path: str | os.PathLike) -> int:
    byte = handle.read(1)
    if byte != b"\xff":
        raise InputError("JPEG file with data where a marker belongs (damaged)", path)
    while byte == b"\xff":  # fill bytes
        byte = handle.read(1)
    if not byte:
        raise InputError("JPEG file without a frame header (truncated or damaged)", path)
    return byte[0]


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in an EXIF TIFF block; 1 if absent or unreadable."""
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return 1
    try:
        (offset,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        for entry in range(count):
            start = offset + 2 + 12 * entry
            tag, kind = struct.unpack(order + "HH", tiff[start : start + 4])
            if tag == 0x0112 and kind == 3:  # SHORT
                return struct.unpack(order + "H", tiff[start + 8 : start + 10])[0]
    except struct.error:
        return 1
    return 1
