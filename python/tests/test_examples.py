"""The example programs of examples/python, run for real and driven by a TCP client."""

import os
import socket
import subprocess
import sys
import time
import unittest

import support


def example(name):
    return os.path.join(support.EXAMPLES_DIR, name)


class BlockingTimerTest(unittest.TestCase):
    def test_prints_four_expiries(self):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, example("blocking_timer.py")], capture_output=True, text=True,
            timeout=30,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "Timer expired\n" * 4)
        self.assertGreaterEqual(time.monotonic() - started, 2.4)  # 1 s, then 3 x 0.5 s


class ServerTest:
    """Shared checks for both servers (mixed into one TestCase per program)."""

    program = None

    def start_server(self):
        server = subprocess.Popen(
            [sys.executable, example(self.program), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.addCleanup(server.kill)
        self.addCleanup(server.stdout.close)
        self.addCleanup(server.stderr.close)
        line = server.stderr.readline()
        self.assertTrue(line.startswith("Listening on 127.0.0.1:"), line)
        return server, int(line.rsplit(":", 1)[1])

    def read_until(self, server, text, deadline=10):
        """Reads the server's output (line-buffered) until a line starts with `text`."""
        lines = []
        limit = time.monotonic() + deadline
        while time.monotonic() < limit:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith(text):
                return lines
        self.fail(f"no line starting with {text!r} in:\n{''.join(lines)}")

    def test_timers_clients_and_stop(self):
        server, port = self.start_server()
        seen = self.read_until(server, "Timer 3 expired")  # every timer has fired once
        first = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(first.close)
        first.sendall(b"hel")  # a command split across two reads
        time.sleep(0.05)
        first.sendall(b"lo\n\xff\xfe\n")  # and one that is not UTF-8
        second = socket.create_connection(("127.0.0.1", port))
        second.sendall(b"status\n")  # a second client at the same time
        time.sleep(0.05)
        second.close()
        time.sleep(0.05)
        first.sendall(b"stop\n")
        out, err = server.communicate(timeout=10)
        self.assertEqual(server.returncode, 0, err)
        out = "".join(seen) + out
        lines = out.splitlines()
        for number in (1, 2, 3):
            self.assertTrue(
                any(line.startswith(f"Timer {number} expired ") for line in lines), out
            )
        self.assertIn("Unknown command: hello", lines)
        self.assertIn("Unknown command: \ufffd\ufffd", lines)
        self.assertIn("Unknown command: status", lines)
        self.assertEqual(sum(line.startswith("Accepted connection") for line in lines), 2)
        self.assertTrue(any(line.startswith("Closing connection") for line in lines))
        self.assertEqual(lines[-1], "Stopping server")

    def test_stop_without_newline_then_close(self):
        server, port = self.start_server()
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"stop")  # what `printf stop | nc` sends
        out, err = server.communicate(timeout=10)
        self.assertEqual(server.returncode, 0, err)
        self.assertIn("Stopping server", out.splitlines())


class EpollServerTest(ServerTest, unittest.TestCase):
    program = "epoll_server.py"

    def test_prints_signaled_events(self):
        server, port = self.start_server()
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"stop\n")
            out, _ = server.communicate(timeout=10)
        self.assertTrue(out.startswith("Signaled events=[("), out)


class SelectServerTest(ServerTest, unittest.TestCase):
    program = "select_server.py"


if __name__ == "__main__":
    unittest.main()
