"""The sans-IO publish commands: byte-for-byte nats-py's own ``publish``, and the nats-py
internals they rely on, checked against the installed nats-py."""

from __future__ import annotations

import importlib.metadata
from typing import cast

import nats
import pytest
from nats.aio.client import Client

from relay.infrastructure.nats.commands import (
    NATS_PY_MAJOR,
    PRIVATE_MEMBERS,
    UnsupportedNatsClientError,
    check_client,
    discard_pending_commands,
    header_tail,
    hpub_command,
    write_commands,
)

SUBJECT = "market.binance-usdm.sushi-usdt.trade"
PAYLOAD = b'{"venue":"binance-usdm","price":"7.6110"}'


class _CapturingClient(Client):
    """nats-py's client, keeping the commands its ``publish`` queues instead of sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self._status = Client.CONNECTED
        self._flush_queue = None

    async def _send_command(self, cmd: bytes, priority: bool = False) -> None:
        self.sent.append(cmd)


@pytest.mark.parametrize(
    "msg_id",
    [
        "binance-usdm:SUSHIUSDT:trade:16599292",
        "bad\r\nid: x",
        " padded-id ",
    ],
)
@pytest.mark.parametrize("reply", ["", "_INBOX.abc.17"])
async def test_hpub_command_bytes_equal_nats_py_publish(msg_id: str, reply: str) -> None:
    client = _CapturingClient()
    subject = "market.binance-usdm.sushi-usdt.trade"
    payload = b'{"venue":"binance-usdm","price":"7.6110"}'
    await client.publish(
        subject,
        payload,
        reply=reply,
        headers={"Nats-Msg-Id": msg_id, "Content-Type": "application/json"},
    )
    ours = hpub_command(
        subject.encode(), reply.encode(), msg_id, header_tail("application/json"), payload
    )
    line, _, rest = client.sent[0].partition(b"\r\n")
    # nats-py writes an empty reply as a second space; the server reads both the same.
    assert ours == line.replace(b"  ", b" ") + b"\r\n" + rest


async def test_written_commands_reach_the_client_buffer_as_one_piece_and_not_after_close() -> None:
    client = _CapturingClient()
    tail = header_tail("application/json")
    batch = hpub_command(SUBJECT.encode(), b"", "a:1", tail, PAYLOAD) + hpub_command(
        SUBJECT.encode(), b"_INBOX.x.1", "a:2", tail, PAYLOAD
    )
    await write_commands(client, batch)
    assert client.sent == [batch]
    client._status = Client.CLOSED
    with pytest.raises(nats.errors.ConnectionClosedError):
        await write_commands(client, batch)
    assert client.sent == [batch]


def test_the_installed_nats_py_has_every_private_member_used() -> None:
    assert importlib.metadata.version("nats-py").split(".")[0] == str(NATS_PY_MAJOR)
    check_client(Client())


class _ClientWithoutFlush:
    """A client of another nats-py shape: no ``_flush_pending`` and no ``_pending``."""

    def __init__(self) -> None:
        self._send_command = None
        self._flush_queue = None
        self._pending_data_size = 0


def test_a_client_without_the_private_members_is_refused_naming_what_it_lacks() -> None:
    with pytest.raises(UnsupportedNatsClientError) as caught:
        check_client(cast(Client, _ClientWithoutFlush()))
    version = importlib.metadata.version("nats-py")
    assert caught.value.version == version
    assert caught.value.missing == ("_flush_pending", "_pending")
    assert str(caught.value) == (
        f"this nats-py ({version}) has no _send_command/_flush_pending; relay needs nats-py 2.x"
    )
    assert set(caught.value.missing) < set(PRIVATE_MEMBERS)


def test_commands_held_for_the_next_connection_are_discarded() -> None:
    client = Client()
    held = hpub_command(SUBJECT.encode(), b"", "a:1", header_tail("application/json"), PAYLOAD)
    client._pending = [held]
    client._pending_data_size = len(held)
    discard_pending_commands(client)
    assert (client._pending, client._pending_data_size) == ([], 0)


def test_another_major_version_of_nats_py_is_refused_even_with_the_members(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("relay.infrastructure.nats.commands._installed_version", lambda: "3.0.0")
    with pytest.raises(UnsupportedNatsClientError) as caught:
        check_client(Client())
    assert (caught.value.version, caught.value.missing) == ("3.0.0", ())
