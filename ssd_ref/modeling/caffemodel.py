"""A minimal reader of Caffe ``.caffemodel`` files (protobuf wire format), without Caffe.

It reads what a weight conversion needs and nothing else: each layer's name and
its blobs (float arrays with their shapes), from both layer formats Caffe wrote:
``NetParameter.layer`` (field 100, ``LayerParameter``: name 1, blobs 7) and the
older ``NetParameter.layers`` (field 2, ``V1LayerParameter``: name 4, blobs 6).
A ``BlobProto`` gives its shape as ``shape`` (field 7, ``BlobShape.dim``) or as
the legacy ``num``/``channels``/``height``/``width`` (fields 1-4); its values
as ``data`` (field 5, float32, packed or not) or ``double_data`` (field 8).
Field numbers from Caffe's ``src/caffe/proto/caffe.proto``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ssd_ref.errors import UserError


class CaffeModelError(UserError, ValueError):
    """The file is not a readable caffemodel (truncated, or another format)."""


_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise CaffeModelError("truncated (a number runs past the end of its message)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CaffeModelError("not a protobuf message (a number longer than 10 bytes)")


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, object]]:
    """``(field number, wire type, value)`` of one message: an int for varints, a
    ``(start, end)`` pair for length-delimited fields, bytes for fixed ones."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        value: object
        if wire == _VARINT:
            value, pos = _varint(buf, pos, end)
        elif wire == _BYTES:
            size, pos = _varint(buf, pos, end)
            value, pos = (pos, pos + size), pos + size
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, pos = bytes(buf[pos : pos + size]), pos + size
        else:
            raise CaffeModelError(f"not a caffemodel (protobuf wire type {wire} at byte {pos})")
        if pos > end or field == 0:
            raise CaffeModelError("truncated, or not a caffemodel (a field runs past its message)")
        yield field, wire, value


def _ints(buf: memoryview, wire: int, value: object) -> list[int]:
    """A repeated integer field's values (packed or one at a time)."""
    if wire == _VARINT:
        return [int(value)]  # type: ignore[call-overload]
    start, end = value  # type: ignore[misc]
    out = []
    while start < end:
        number, start = _varint(buf, start, end)
        out.append(number)
    return out


def _blob(buf: memoryview, start: int, end: int) -> np.ndarray:
    legacy = [0, 0, 0, 0]
    shape: list[int] = []
    chunks: list[np.ndarray] = []
    for field, wire, value in _fields(buf, start, end):
        if field in (1, 2, 3, 4) and wire == _VARINT:
            legacy[field - 1] = int(value)  # type: ignore[call-overload]
        elif field == 7 and wire == _BYTES:
            s, e = value  # type: ignore[misc]
            for sub, sub_wire, sub_value in _fields(buf, s, e):
                if sub == 1:
                    shape.extend(_ints(buf, sub_wire, sub_value))
        elif field in (5, 8):
            dtype = "<f4" if field == 5 else "<f8"
            if wire == _BYTES:
                s, e = value  # type: ignore[misc]
                raw = bytes(buf[s:e])
            else:
                raw = value  # type: ignore[assignment]
            if len(raw) % np.dtype(dtype).itemsize:
                raise CaffeModelError("truncated blob data")
            chunks.append(np.frombuffer(raw, dtype=dtype).astype(np.float32))
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if not shape:
        shape = [d for d in legacy if d] or [data.size]
    if int(np.prod(shape)) != data.size:
        raise CaffeModelError(f"a blob of shape {shape} holds {data.size} values")
    return data.reshape(shape)


def read_caffemodel(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """Layer name -> its blobs (float32 arrays, Caffe's shapes), layers with blobs only."""
    raw = Path(path).read_bytes()
    buf = memoryview(raw)
    layers: dict[str, list[np.ndarray]] = {}
    for field, wire, value in _fields(buf, 0, len(buf)):
        if field not in (2, 100) or wire != _BYTES:
            continue
        name_field, blobs_field = (4, 6) if field == 2 else (1, 7)
        name, blobs = None, []
        s, e = value  # type: ignore[misc]
        for sub, sub_wire, sub_value in _fields(buf, s, e):
            if sub_wire != _BYTES:
                continue
            bs, be = sub_value  # type: ignore[misc]
            if sub == name_field:
                try:
                    name = bytes(buf[bs:be]).decode("utf-8")
                except UnicodeDecodeError:
                    raise CaffeModelError("not a caffemodel (a layer name is not text)") from None
            elif sub == blobs_field:
                blobs.append(_blob(buf, bs, be))
        if name is not None and blobs:
            layers[name] = blobs
    if not layers:
        raise CaffeModelError("no layer with weights (is it a caffemodel?)")
    return layers


def write_caffemodel(layers: dict[str, list[np.ndarray]], v1: bool = False) -> bytes:
    """The bytes of a caffemodel holding ``layers`` (for tests and fabricated files)."""

    def key(field: int, wire: int) -> bytes:
        return _encode_varint(field << 3 | wire)

    def message(field: int, payload: bytes) -> bytes:
        return key(field, _BYTES) + _encode_varint(len(payload)) + payload

    out = bytearray()
    for name, blobs in layers.items():
        layer = message(4 if v1 else 1, name.encode("utf-8"))
        for array in blobs:
            array = np.asarray(array, dtype="<f4")
            if v1:  # legacy shape, unpacked-compatible packed floats
                dims = [1] * (4 - array.ndim) + list(array.shape)
                blob = b"".join(key(i + 1, _VARINT) + _encode_varint(d) for i, d in enumerate(dims))
            else:
                packed = b"".join(_encode_varint(d) for d in array.shape)
                blob = message(7, message(1, packed))
            blob += message(5, array.tobytes())
            layer += message(6 if v1 else 7, blob)
        out += message(2 if v1 else 100, layer)
    return bytes(out)


def _encode_varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


__all__ = ["CaffeModelError", "read_caffemodel", "write_caffemodel"]
