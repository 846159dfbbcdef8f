"""The framed stream decodes the same whatever way it is split, and survives garbage."""

from __future__ import annotations

import random

from jupyter_mltrain.hostside.protocol import Decoder, Kind, encode, encode_json


def _frames(n: int, seed: int = 1) -> list[tuple[Kind, int, bytes]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        kind = rnd.choice([Kind.STDOUT, Kind.STDERR, Kind.METRICS])
        payload = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 1, 7, 300, 5000])))
        out.append((kind, rnd.randrange(0, 64), payload))
    return out


def test_every_split_of_the_stream_decodes_to_the_same_frames() -> None:
    frames = _frames(200)
    stream = b"".join(encode(*f) for f in frames)
    rnd = random.Random(7)
    for _ in range(20):
        dec = Decoder()
        got = []
        pos = 0
        while pos < len(stream):
            step = rnd.choice([1, 2, 11, 12, 13, 4096])
            got += dec.feed(stream[pos : pos + step])
            pos += step
        assert got == frames
        assert dec.pending == 0
        assert dec.skipped_bytes == 0


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    a = encode(Kind.STDOUT, 0, b"hello\n")
    b = encode(Kind.STDERR, 3, b"world\n")
    dec = Decoder()
    got = dec.feed(b"xx\x1b" + a + b"garbage" + b)
    assert got == [(Kind.STDOUT, 0, b"hello\n"), (Kind.STDERR, 3, b"world\n")]
    assert dec.skipped_bytes == 3 + 7


def test_json_frames_round_trip() -> None:
    frame = encode_json(Kind.EXIT, 5, {"code": 3, "signal": None})
    [(kind, rank, payload)] = Decoder().feed(frame)
    assert (kind, rank) == (Kind.EXIT, 5)
    assert payload == b'{"code":3,"signal":null}'


def test_a_ten_megabyte_payload_decodes_whole() -> None:
    payload = b"x" * (10 * 1024 * 1024) + b"\n"
    dec = Decoder()
    data = encode(Kind.STDOUT, 1, payload)
    got = []
    for i in range(0, len(data), 65536):
        got += dec.feed(data[i : i + 65536])
    assert got == [(Kind.STDOUT, 1, payload)]


def test_runtime_encodes_values_as_valid_json_lines() -> None:
    import json
    import math

    from jupyter_mltrain.hostside.runtime import _encode

    for value, expected in [(0.1, 0.1), (3, 3), (True, 1), (float("nan"), "nan"), (math.inf, "inf"), ("s", "s")]:
        rec = json.loads(_encode(("loss", value, 2, 1.5)))
        assert rec == {"name": "loss", "value": expected, "step": 2, "time": 1.5}
    assert json.loads(_encode((None, 3, 10, 1.0))) == {"event": "progress", "step": 3, "total": 10, "time": 1.0}
