#!/usr/bin/env python3
"""A TCP proxy on loopback that makes a link slow and far: it adds a fixed delay to every byte in
each direction and caps each direction's throughput (shared by all connections, as one link).

This machine's kernel has no netem, so the bench puts this between a host and a site instead:

    delayproxy.py --target 127.0.0.1:8443 --delay-ms 100 --rate-mbytes 10

prints "listening on 127.0.0.1:PORT" once it accepts connections and runs until SIGTERM.
--delay-ms is added one way (each direction), so the round trip grows by twice it. Bytes are
forwarded unchanged (TLS passes through: the site's certificate still names 127.0.0.1).
A byte read at time t is written no sooner than t + delay, and no sooner than the link's
previous bytes plus their serialisation time at the capped rate.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time


class Link:
    """One direction of the link: the time its last byte finishes serialising."""

    def __init__(self, rate: float | None):
        self.rate = rate          # bytes per second, None for no cap
        self.busy_until = 0.0

    def schedule(self, ready_at: float, size: int) -> float:
        """When a chunk that may leave at `ready_at` has left the link."""
        if self.rate is None:
            return ready_at
        start = max(ready_at, self.busy_until)
        self.busy_until = start + size / self.rate
        return self.busy_until


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, link: Link) -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def receive():
        try:
            while True:
                data = await reader.read(64 * 1024)
                now = time.monotonic()
                await queue.put((link.schedule(now + delay, len(data)) if data else now + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((time.monotonic(), b""))

    receiver = asyncio.ensure_future(receive())
    try:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        receiver.cancel()
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to accept on (port 0: any free one)")
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay added to each direction")
    parser.add_argument("--rate-mbytes", type=float, default=0.0, help="cap per direction in MB/s (10^6 bytes; 0: none)")
    args = parser.parse_args()
    target_host, target_port = args.target.rsplit(":", 1)
    listen_host, listen_port = args.listen.rsplit(":", 1)
    delay = args.delay_ms / 1000.0
    rate = args.rate_mbytes * 1e6 if args.rate_mbytes > 0 else None
    upstream, downstream = Link(rate), Link(rate)

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, delay, upstream),
                             pump(server_reader, client_writer, delay, downstream))
        for w in (client_writer, server_writer):
            w.close()

    server = await asyncio.start_server(handle, listen_host, int(listen_port))
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
