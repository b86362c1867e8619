"""Fuzz the chat WebSocket's frames with Hypothesis over a real socket of a real server.

Every frame, whatever it holds (random JSON of any type, wrong types in the known fields, huge
strings, nested values, binary, text that is not JSON), gets an ``error`` frame naming a code a
client can act on, or, when it is a valid chat frame, a turn that ends with ``final``. The
socket is never closed by the server, and it still serves a valid turn afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import websocket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.security.conftest import ChatSocket, JupyterProcess, assert_no_traceback

pytestmark = pytest.mark.slow

MAX_FRAME = 64 * 1024
ERROR_CODES = {"bad_json", "bad_frame", "unknown_type", "too_large", "unknown_turn"}
ERROR_WAIT_S = 15.0

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=25,
)
ids = st.one_of(
    st.text(min_size=1, max_size=40),
    st.text(max_size=300),
    st.integers(),
    st.none(),
    json_values,
)
contents = st.one_of(
    st.text(min_size=1, max_size=200),
    st.text(max_size=3),
    st.integers(min_value=60_000, max_value=1_000_000).map(lambda n: "x" * n),
    json_values,
)
known_shapes = st.fixed_dictionaries(
    {"type": st.sampled_from(["chat", "stop", "Chat", "dance", "", "final", "error"])},
    optional={"id": ids, "content": contents, "extra": json_values},
)
nested = st.integers(min_value=1, max_value=400).map(lambda d: "[" * d + "]" * d)
frames = st.one_of(
    known_shapes.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=300),
    nested,
)


def _valid_chat(raw: str | bytes) -> str | None:
    """Return the turn id when ``raw`` is a chat frame the server must answer with a turn."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if size > MAX_FRAME or not isinstance(data, dict) or set(data) != {"type", "id", "content"}:
        return None
    ok = (
        data["type"] == "chat"
        and isinstance(data["id"], str)
        and 1 <= len(data["id"]) <= 128
        and isinstance(data["content"], str)
        and len(data["content"]) >= 1
    )
    return data["id"] if ok else None


def _expect_error(chat: ChatSocket, raw: str | bytes) -> dict[str, Any]:
    chat.ws.settimeout(ERROR_WAIT_S)
    try:
        frame = chat.read()
    finally:
        chat.ws.settimeout(None)
    assert frame["type"] == "error", (str(raw)[:200], frame)
    assert frame["code"] in ERROR_CODES, (str(raw)[:200], frame)
    assert frame["message"] and len(frame["message"]) < 2000
    assert_no_traceback(frame["message"], "an error frame")
    return frame


def _check_frame(chat: ChatSocket, raw: str | bytes) -> None:
    chat.send_raw(raw)
    turn_id = _valid_chat(raw)
    if turn_id is None:
        _expect_error(chat, raw)
        return
    frames = chat.collect(turn_id)
    assert frames[-1]["type"] == "final", frames[-3:]
    for frame in frames:
        assert frame.get("code") != "internal", frame


def test_every_frame_gets_an_error_or_a_turn_and_the_socket_serves_on(
    demo_server: JupyterProcess,
) -> None:
    log_start = len(demo_server.log_text())
    chat = ChatSocket(demo_server)

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=st.lists(frames, min_size=1, max_size=6))
    @example(batch=[json.dumps({"type": "chat", "id": "f1", "content": "Why did ETL fail?"})])
    @example(batch=[json.dumps({"type": "chat", "id": "f2", "content": "x" * (MAX_FRAME + 1)})])
    @example(batch=[b"\xff\xfe\x00garbage", b"", "", "null", "[]", '"chat"'])
    @example(batch=[json.dumps({"type": "stop", "id": "f3"}), '{"type": "chat", "id": 7}'])
    @example(batch=["x" * 1_000_000])  # under tornado's 1 MiB wire limit: an error frame
    def check(batch: list[str | bytes]) -> None:
        for raw in batch:
            _check_frame(chat, raw)

    try:
        check()
        final = chat.turn("after", "Why did PAYROLL_EXTRACT fail last night?")[-1]
        assert final["type"] == "final" and final["memory_id"], final
    finally:
        chat.close()
    assert demo_server.alive()
    new_log = demo_server.log_text()[log_start:]
    assert "Traceback" not in new_log, new_log[new_log.find("Traceback") - 300 :][:3000]


def test_a_deeply_nested_frame_gets_bad_json_and_the_socket_stays(
    demo_server: JupyterProcess,
) -> None:
    chat = ChatSocket(demo_server)
    try:
        depth = 10_000
        chat.send_raw("[" * depth + "]" * depth)
        frame = _expect_error(chat, "nested")
        assert frame["code"] == "bad_json"
        assert chat.turn("deep-after", "Why did PAYROLL_EXTRACT fail?")[-1]["type"] == "final"
    finally:
        chat.close()


def test_a_question_holding_nul_digit_nul_is_answered(demo_server: JupyterProcess) -> None:
    chat = ChatSocket(demo_server)
    try:
        frames = chat.turn(
            "nul", "Why did PAYROLL_EXTRACT fail? invalid username/password \x007\x00"
        )
    finally:
        chat.close()
    assert frames[-1]["type"] == "final", frames[-1]


def test_a_frame_over_the_wire_limit_closes_only_that_socket(demo_server: JupyterProcess) -> None:
    # Past 1 MiB tornado itself closes the socket (1009, documented in handlers/chat.py).
    chat = ChatSocket(demo_server)
    try:
        chat.ws.settimeout(ERROR_WAIT_S)
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            chat.send_raw(json.dumps({"type": "chat", "id": "big", "content": "x" * (1 << 20)}))
            chat.read()
    finally:
        chat.close()
    other = ChatSocket(demo_server)
    try:
        assert other.turn("wire-after", "Why did PAYROLL_EXTRACT fail?")[-1]["type"] == "final"
    finally:
        other.close()


def test_a_turn_id_cannot_forge_a_server_log_line(demo_server: JupyterProcess) -> None:
    # The id is the client's text and is logged; Jupyter's formatter indents continuation
    # lines, so a newline in it cannot start a line of its own.
    forged = "[E 2026-11-24 07:00:00.000 ResyncApp] FORGED admin logged in"
    chat = ChatSocket(demo_server)
    try:
        frames = chat.turn(f"id\n{forged}", "Why did PAYROLL_EXTRACT fail?")
    finally:
        chat.close()
    assert frames[-1]["type"] in ("final", "error")
    lines = demo_server.log_text().splitlines()
    assert any(forged in ln for ln in lines), "the id was logged"
    assert not [ln for ln in lines if ln.startswith(forged)]
