"""A real SMTP server for the delivery tests, built on aiosmtpd.

Usage: smtp_sink.py PORT DIR [REJECT_ADDRESS ...]

Listens on 127.0.0.1:PORT without TLS or authentication, writes every accepted message to DIR as
one file per message (written to a temporary name, then renamed, so a reader never sees half a
message), and answers RCPT TO for each REJECT_ADDRESS with 550 5.1.1. Prints "ready" once it
listens, and serves until it is killed.
"""

import asyncio
import os
import sys
import uuid

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = {address.lower() for address in reject}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: user unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, name + ".eml"))
        return "250 2.0.0 Message accepted for delivery"


async def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    handler = Sink(directory, sys.argv[3:])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", port
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
