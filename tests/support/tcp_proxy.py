"""A TCP proxy on loopback whose two directions can be stalled: one client's network
path hanging while the server and other clients carry on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from relay.infrastructure.embedded_nats import free_port


class StallingProxy:
    """Forwards every connection made to :attr:`url`'s port to ``target_port``.

    :meth:`stall` holds the bytes of one or both directions (nothing is lost:
    they are delivered in order on :meth:`flow`). ``"up"`` is client -> server,
    ``"down"`` server -> client.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._flowing = {"up": asyncio.Event(), "down": asyncio.Event()}
        for event in self._flowing.values():
            event.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.held = 0
        """Reads held back by a stall so far (each client request is at least one)."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def stall(self, *directions: str) -> None:
        """Hold the bytes of ``directions`` (both when none is named)."""
        for direction in directions or ("up", "down"):
            self._flowing[direction].clear()

    def flow(self) -> None:
        """Deliver what was held, and everything after it."""
        for event in self._flowing.values():
            event.set()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        """Read on while stalled (counting what is held), write in order while flowing."""
        flowing = self._flowing[direction]
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def read() -> None:
            try:
                while data := await reader.read(65536):
                    if not flowing.is_set():
                        self.held += 1
                    chunks.put_nowait(data)
            except OSError:
                pass
            chunks.put_nowait(None)

        reading = asyncio.create_task(read())
        try:
            while (data := await chunks.get()) is not None:
                await flowing.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        for task in (
            asyncio.create_task(self._pump(reader, server_writer, "up")),
            asyncio.create_task(self._pump(server_reader, writer, "down")),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[StallingProxy]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            self.flow()
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
