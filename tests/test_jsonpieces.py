"""Large answers decoded in pieces: the same values as orjson, clear errors, pauses between
pieces."""

from __future__ import annotations

import json

import orjson
import pytest

from reconciler import greenio, jsonpieces

DOCUMENTS = [
    '{"count": 2, "status": 0, "response": [{"a": 1}, {"b": [1, 2.5, -3e-2, null]}]}',
    '[]', '{}', '[[], {}, [[]], {"x": {}}]', ' \n\t[1 , 2 ,3 ] \r\n', '"just a string"', "7",
    "true", "null", '{"é": "ü\\u00e9\\n\\"\\\\\\/", "emoji": "\\ud83d\\ude00 😀"}',
    '{"dup": 1, "dup": 2}', '[{"deep": [[[[[{"k": [1, [2, [3]]]}]]]]]}]',
    '{"big": 123456789012345, "neg": -0, "exp": 1E+3, "frac": 0.1}',
]


def pieces(text: str, piece: int = 1) -> tuple[object, int]:
    pauses: list[None] = []
    value = jsonpieces.loads(text.encode(), lambda: pauses.append(None), piece)
    return value, len(pauses)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_values_are_those_of_orjson(text: str) -> None:
    assert pieces(text)[0] == orjson.loads(text)
    assert pieces(text, piece=10**9)[0] == orjson.loads(text)


def test_pauses_come_between_the_values_two_levels_down() -> None:
    envelope = {"status": 0, "response": [{"id": i, "events": ["x" * 100] * 10}
                                          for i in range(50)]}
    text = json.dumps(envelope)
    value, pauses = pieces(text, piece=1)
    assert value == envelope
    assert pauses == 50 + 1  # each calendar, and the envelope's one scalar
    value, pauses = pieces(text, piece=5000)  # a calendar is ~1,100 characters
    assert value == envelope and 8 <= pauses <= 12


class CountingDecoder:
    """jsonpieces' decoder, counting its calls: each is a step of the walk."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = jsonpieces._DECODER

    def raw_decode(self, text: str, at: int) -> tuple[object, int]:
        self.calls += 1
        return self.real.raw_decode(text, at)


@pytest.mark.parametrize("value", [
    list(range(100_000)),
    {"response": [{}] * 50_000, "status": 0},
    {f"k{i}": i for i in range(20_000)},
    {"response": [{"pad": "x" * 2000}] * 40 + [0] * 100_000},  # big members, then small
], ids=["numbers", "empty-objects", "many-keys", "big-then-small"])
def test_small_members_are_decoded_in_one_call_not_one_step_each(
    value: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoder = CountingDecoder()
    monkeypatch.setattr(jsonpieces, "_DECODER", decoder)
    text = json.dumps(value)
    assert pieces(text, piece=jsonpieces.PIECE)[0] == value
    # a step per member would be 20,000 or more; the switch comes after a few hundred
    assert decoder.calls < 500


@pytest.mark.parametrize("text", [
    "", "   ", "{", "[1, 2", '{"a" 1}', '{"a": 1,}', "[1,]", "[1 2]", '{"a": 1} x', "{a: 1}",
    '[NaN]', '{"x": [Infinity]}', "-Infinity", '["\x01"]', '{"a": [1, 2}', "[" * 100_000,
    '{"k": ' + "[" * 100_000 + "]" * 100_000 + "}",
])
def test_invalid_json_is_a_value_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        pieces(text)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)


def test_bytes_that_are_not_utf8_are_a_value_error() -> None:
    with pytest.raises(json.JSONDecodeError, match="not UTF-8"):
        jsonpieces.loads(b'{"a": "\xff"}', lambda: None)


def test_a_decode_in_a_task_lets_the_other_tasks_run_between_pieces() -> None:
    big = json.dumps({"response": [{"i": i, "pad": "x" * 1000} for i in range(2000)]})
    seen: list[str] = []

    def decode() -> None:
        pauses = [0]

        def pause() -> None:
            pauses[0] += 1
            greenio.checkpoint()
        jsonpieces.loads(big.encode(), pause, piece=64 * 1024)
        seen.append(f"decoded after {pauses[0]} pauses")

    def other() -> None:
        for _ in range(3):
            seen.append("other")
            greenio.checkpoint()

    pool = greenio.GreenPool(2)
    pool.submit(decode)
    pool.submit(other)
    pool.run()
    assert seen[-1].startswith("decoded") and seen.count("other") == 3
    assert int(seen[-1].split()[2]) >= 30
