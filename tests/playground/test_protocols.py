"""Protocol conversion, byte by byte: both upstream formats become the same pieces."""

import json

import pytest

from gcp.text import error_text
from playground.protocols import (
    ChatParams,
    NdjsonParser,
    Protocol,
    SseParser,
    Usage,
    chat_request,
    model_names,
)
from playground.services import Tally, usage_counts

OLLAMA = b"".join(
    json.dumps(x).encode() + b"\n"
    for x in [
        {
            "model": "gemma4:e2b",
            "message": {"role": "assistant", "content": "", "thinking": "Hmm"},
            "done": False,
        },
        {"model": "gemma4:e2b", "message": {"role": "assistant", "content": "Hel"}, "done": False},
        {"model": "gemma4:e2b", "message": {"role": "assistant", "content": "lo"}, "done": False},
        {
            "model": "gemma4:e2b",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 9,
            "eval_count": 3,
        },
    ]
)

SSE = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Hmm"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'
    b": keep-alive comment\n\n"
    b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"","content":"lo"},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}\n\n'
    b"data: [DONE]\n\n"
)


def feed_in_slices(parser, data: bytes, size: int):
    pieces = []
    for i in range(0, len(data), size):
        pieces += parser.feed(data[i : i + size])
    return pieces + parser.close()


def summary(pieces):
    return {
        "content": "".join(p.content for p in pieces),
        "reasoning": "".join(p.reasoning for p in pieces),
        "usage": [p.usage for p in pieces if p.usage],
        "done": any(p.done for p in pieces),
        "finish": [p.finish_reason for p in pieces if p.finish_reason],
    }


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_both_formats_become_the_same_pieces_however_the_bytes_are_cut(size):
    ollama = summary(feed_in_slices(NdjsonParser(), OLLAMA, size))
    sse = summary(feed_in_slices(SseParser(), SSE, size))
    expected = {
        "content": "Hello",
        "reasoning": "Hmm",
        "usage": [Usage(9, 3)],
        "done": True,
        "finish": ["stop"],
    }
    assert ollama == expected
    assert sse == expected


def test_crlf_event_separators_are_understood():
    pieces = SseParser().feed(SSE.replace(b"\n", b"\r\n"))
    assert summary(pieces)["content"] == "Hello"


def test_errors_in_the_middle_of_a_200_stream():
    ollama = NdjsonParser().feed(
        b'{"message":{"content":"a"},"done":false}\n{"error":"CUDA out of memory"}\n'
    )
    assert [p.error for p in ollama] == [None, "CUDA out of memory"]
    sse = SseParser().feed(
        b'data: {"error":{"message":"engine dead","type":"InternalServerError"}}\n\ndata: [DONE]\n\n'
    )
    assert sse[0].error == "engine dead" and sse[1].done
    assert NdjsonParser().feed(b"<html>\n")[0].error.startswith("The endpoint sent a line")


def test_chat_requests_for_each_protocol():
    params = ChatParams(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        system="sys",
        temperature=0.5,
        top_p=0.8,
        max_tokens=20,
        think=True,
    )
    path, body = chat_request(Protocol.OLLAMA, params)
    assert path == "/api/chat"
    assert body == {
        "model": "m",
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
        "stream": True,
        "options": {"temperature": 0.5, "top_p": 0.8, "num_predict": 20},
        "think": True,
    }
    path, body = chat_request(Protocol.OPENAI, params)
    assert path == "/v1/chat/completions"
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.5, 0.8, 20)
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    _, plain = chat_request(
        Protocol.OPENAI, ChatParams(model="m", messages=[{"role": "user", "content": "hi"}])
    )
    assert "temperature" not in plain and "chat_template_kwargs" not in plain
    assert plain["messages"] == [{"role": "user", "content": "hi"}]


def test_model_lists_of_both_servers_lora_adapters_included():
    vllm = {
        "data": [
            {"id": "meta-llama/Llama-3.1-8B-Instruct"},
            {"id": "food-review", "parent": "meta-llama/Llama-3.1-8B-Instruct"},
        ]
    }
    assert model_names(Protocol.OPENAI, vllm) == ["meta-llama/Llama-3.1-8B-Instruct", "food-review"]
    assert model_names(Protocol.OLLAMA, {"models": [{"name": "gemma3:4b"}]}) == ["gemma3:4b"]
    assert model_names(Protocol.OLLAMA, "nonsense") == []


def test_error_text_from_each_kind_of_body():
    assert error_text(b'{"error":"model \\"x\\" not found"}') == 'model "x" not found'
    assert error_text(b'{"error":{"message":"Rate exceeded.","code":429}}') == "Rate exceeded."
    assert error_text(b"<html><h1>Error: Unauthorized</h1></html>") == "Error: Unauthorized"


def test_usage_is_counted_or_estimated_but_never_zero():
    exact = Tally(usage=Usage(9, 3), pieces=3)
    assert usage_counts(tally=exact, prompt_text="x") == (9, 3, False)
    guessed = Tally(content=["Hel", "lo"], pieces=2)
    assert usage_counts(tally=guessed, prompt_text="a" * 40) == (10, 2, True)
    assert usage_counts(tally=Tally(), prompt_text="anything") is None


# A stream with several events, one of them a comment and one whose JSON spans two data
# lines, with every line ended by `eol`: events are then separated by `eol` twice, as the
# WHATWG event-stream rules allow (CRLF, LF or CR; a blank line ends an event).
# https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
def sse_stream(eol: bytes) -> bytes:
    lines = [
        b'data: {"choices":[{"delta":{"reasoning":"Hmm"},"finish_reason":null}]}',
        b"",
        b": keep-alive",
        b"",
        b'data: {"choices":[{"delta":{"content":"Hel"},',
        b'data:"finish_reason":null}]}',
        b"",
        b'data: {"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}',
        b"",
        b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}',
        b"",
        b"data: [DONE]",
        b"",
    ]
    return b"".join(line + eol for line in lines)


SSE_EXPECTED = {
    "content": "Hello",
    "reasoning": "Hmm",
    "usage": [Usage(9, 3)],
    "done": True,
    "finish": ["stop"],
}


@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_sse_events_are_the_same_wherever_one_read_ends_and_the_next_begins(eol):
    stream = sse_stream(eol)
    for cut in range(len(stream) + 1):
        parser = SseParser()
        pieces = parser.feed(stream[:cut]) + parser.feed(stream[cut:]) + parser.close()
        assert [p.error for p in pieces if p.error] == [], (eol, cut)
        assert summary(pieces) == SSE_EXPECTED, (eol, cut)


def test_sse_line_ends_may_differ_within_one_stream():
    lf, crlf, cr = sse_stream(b"\n"), sse_stream(b"\r\n"), sse_stream(b"\r")
    # Three streams' worth in one, each with its own line ends; one byte per read.
    stream = lf.replace(b"data: [DONE]\n\n", b"") + crlf.replace(b"data: [DONE]\r\n\r\n", b"") + cr
    pieces = feed_in_slices(SseParser(), stream, 1)
    assert [p.error for p in pieces if p.error] == []
    assert "".join(p.content for p in pieces) == "Hello" * 3
    assert len([p for p in pieces if p.usage]) == 3
