import unittest

from . import EventLoop

class VirtualTimeTestCase(unittest.IsolatedAsyncioTestCase):
    virtual_start: float
    @property
    def loop(self) -> EventLoop: ...
