"""Fuzz: the frame decoder never crashes, loses no valid frame, and decodes any split of a stream alike.

Streams are valid frames (every kind, any rank, payloads of any bytes, invalid UTF-8 included) with
garbage between them, fed in pieces cut at random points. Garbage never holds the magic ``b"\\x1bM"``
(garbage that does may legitimately start a bogus header that swallows what follows), so every frame
must come back exactly once, in order, and every garbage byte must be counted as skipped.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mltrain.hostside.protocol import HEADER_SIZE, MAGIC, Decoder, Kind, encode

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAMES = st.tuples(st.sampled_from(list(Kind)), st.integers(0, 2**32 - 1), st.binary(max_size=300))
GARBAGE = st.binary(max_size=40).map(lambda b: b.replace(MAGIC, b"\x1bm"))
# a garbage chunk may also end in the magic's first byte, or look like a header with a bad kind or version
GARBAGE = st.one_of(
    GARBAGE,
    GARBAGE.map(lambda b: b + b"\x1b"),
    st.sampled_from([b"\x1b", b"M", b"\x1b\x1b", b"\x1bm" + bytes(10), b"\x1bN" + bytes(10)]),
)


def feed_in_pieces(data: bytes, cuts: list[int]) -> tuple[list, Decoder]:
    """Feed ``data`` to a new Decoder cut at ``cuts`` (taken modulo its length); return the frames and it."""
    decoder = Decoder()
    frames = []
    points = sorted({c % (len(data) + 1) for c in cuts})
    start = 0
    for point in [*points, len(data)]:
        frames += decoder.feed(data[start:point])
        start = point
    return frames, decoder


@FUZZ
@given(
    items=st.lists(st.tuples(GARBAGE, FRAMES), max_size=12),
    tail=GARBAGE,
    cuts=st.lists(st.integers(0, 10**6), max_size=20),
)
def test_every_valid_frame_comes_back_once_in_order_through_garbage_and_any_split(items, tail, cuts) -> None:
    stream = b"".join(garbage + encode(*frame) for garbage, frame in items) + tail
    garbage_bytes = sum(len(g) for g, _ in items) + len(tail)
    frames, decoder = feed_in_pieces(stream, cuts)
    assert frames == [(kind, rank, payload) for _, (kind, rank, payload) in items]
    assert decoder.skipped_bytes + decoder.pending == garbage_bytes
    assert decoder.pending <= len(tail)


@FUZZ
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 10**6), max_size=20))
def test_arbitrary_bytes_never_crash_and_decode_alike_however_split(data: bytes, cuts: list[int]) -> None:
    whole, one = feed_in_pieces(data, [])
    split, many = feed_in_pieces(data, cuts)
    assert split == whole
    # (where the stream stops, fewer than a header's bytes of garbage may still wait to be judged)
    assert many.skipped_bytes + many.pending == one.skipped_bytes + one.pending
    # every byte is in a frame, skipped, or held back for the rest of a frame
    assert sum(HEADER_SIZE + len(p) for _, _, p in whole) + one.skipped_bytes + one.pending == len(data)
    assert all(isinstance(k, Kind) and 0 <= r < 2**32 for k, r, _ in whole)


@settings(max_examples=5, deadline=None)
@given(piece=st.integers(1000, 1 << 20), garbage=GARBAGE)
def test_a_10_mb_payload_between_frames_and_garbage_comes_back_whole(piece: int, garbage: bytes) -> None:
    big = os.urandom(10 * 1024 * 1024)  # any bytes: invalid UTF-8 and the magic itself included
    frames = [(Kind.STDOUT, 0, b"before\n"), (Kind.STDERR, 7, big), (Kind.METRICS, 7, b'{"name":"x"}\n')]
    stream = garbage + encode(*frames[0]) + garbage + encode(*frames[1]) + encode(*frames[2]) + garbage
    decoder = Decoder()
    out = []
    for start in range(0, len(stream), piece):
        out += decoder.feed(stream[start : start + piece])
    assert out == frames
    assert decoder.skipped_bytes + decoder.pending == 3 * len(garbage)
