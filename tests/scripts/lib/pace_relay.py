"""A TCP relay on 127.0.0.1 that paces one direction, for the live tests.

Usage: pace_relay.py LISTEN_PORT TARGET_PORT BYTES_PER_S LIFETIME_S

Every connection to LISTEN_PORT is relayed to 127.0.0.1:TARGET_PORT; bytes
coming back from the target share one token bucket of BYTES_PER_S (loopback
would move a file in a fraction of a second, too fast to kill a node in the
middle of it). It relays bytes only, so TLS and the peers' identities stay
end to end. A target that is down resets the incoming connection, and when
either side of a relayed pair ends, both are reset. The relay
prints "relay ready" once it listens and exits by itself after LIFETIME_S.
"""
import asyncio
import sys
import time

listen_port, target_port, rate, lifetime = (int(a) for a in sys.argv[1:])


class Pace:
    def __init__(self):
        self.t = time.monotonic()
        self.tokens = 0.0
        self.burst = max(rate / 50, 65536)

    async def take(self, n):
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.t) * rate)
            self.t = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / rate)


pace = Pace()


async def pump(src, dst, paced):
    try:
        while data := await src.read(65536):
            if paced:
                await pace.take(len(data))
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass


async def relay(client_reader, client_writer):
    try:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.transport.abort()
        return
    pumps = [asyncio.ensure_future(pump(client_reader, target_writer, False)),
             asyncio.ensure_future(pump(target_reader, client_writer, True))]
    # As TCP does when a peer dies: once either side ends, both connections
    # are reset, so neither end keeps writing to a relay that stopped reading.
    await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    for p in pumps:
        p.cancel()
    client_writer.transport.abort()
    target_writer.transport.abort()


async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", listen_port)
    print("relay ready", flush=True)
    async with server:
        await asyncio.sleep(lifetime)


asyncio.run(main())
