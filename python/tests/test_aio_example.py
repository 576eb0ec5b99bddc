"""examples/python/asyncio_server.py, the seed's epoll server on tfd.aio, run for real and
driven by TCP clients with the same checks as the other two servers."""

import unittest

from test_examples import ServerTest


class AsyncioServerTest(ServerTest, unittest.TestCase):
    program = "asyncio_server.py"


if __name__ == "__main__":
    unittest.main()
