"""The envelope's ``source``: ``"rest"`` on REST-polled events, absent (``"ws"``) otherwise."""

from __future__ import annotations

from dataclasses import replace

from support.recorded_events import RecordedEvent

from relay.domain.model import Source
from relay.serialization.codec import ENVELOPE_KEYS, SOURCE_KEY
from relay.serialization.events import event_from_wire
from relay.serialization.json_codec import decode_json, encode_json
from relay.serialization.protobuf_codec import decode_protobuf, event_to_message
from relay.serialization.protobuf_wire import encode_event


def test_a_rest_event_carries_source_rest_after_sequence_in_json(recorded: RecordedEvent) -> None:
    event = replace(recorded.event, source=Source.REST)

    document = decode_json(encode_json(event, recorded.sequence))

    keys = list(ENVELOPE_KEYS)
    assert list(document) == [*keys[:-1], SOURCE_KEY, keys[-1]]
    assert document[SOURCE_KEY] == "rest"


def test_a_websocket_event_has_no_source_key_and_the_same_bytes_as_before(
    recorded: RecordedEvent,
) -> None:
    ws_event = replace(recorded.event, source=Source.WS)

    assert SOURCE_KEY not in decode_json(encode_json(ws_event, recorded.sequence))
    assert encode_event(ws_event, recorded.sequence) == encode_event(
        recorded.event, recorded.sequence
    )
    assert decode_protobuf(encode_event(ws_event, recorded.sequence)).get(SOURCE_KEY) is None


def test_a_rest_event_in_protobuf_is_field_8_as_betterproto_writes_it(
    recorded: RecordedEvent,
) -> None:
    event = replace(recorded.event, source=Source.REST)

    data = encode_event(event, recorded.sequence)

    assert data == bytes(event_to_message(event, recorded.sequence))
    assert b"\x42\x04rest" in data
    assert len(data) == len(encode_event(recorded.event, recorded.sequence)) + 6


def test_both_formats_decode_a_rest_event_to_the_same_wire_dict_and_back(
    recorded: RecordedEvent,
) -> None:
    event = replace(recorded.event, source=Source.REST)
    from_json = decode_json(encode_json(event, recorded.sequence))
    from_protobuf = decode_protobuf(encode_event(event, recorded.sequence))

    assert from_json == from_protobuf
    decoded, sequence = event_from_wire(from_json, event.msg_id)
    assert decoded.source is Source.REST
    assert sequence == recorded.sequence
    assert decoded.msg_id == recorded.event.msg_id


def test_an_envelope_without_source_decodes_as_websocket(recorded: RecordedEvent) -> None:
    decoded, _ = event_from_wire(decode_json(encode_json(recorded.event, recorded.sequence)))

    assert decoded.source is Source.WS
