"""Starts a real `ferrocket standalone` for the C++ client tests and drives its admin CLI.

The binary is FERROCKET_BIN (run.sh sets it); each test class gets fresh ports and a fresh store
and stops the process (SIGTERM) when it is done. A test that fails prints the tail of the
process's output.
"""

import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest

READY_MARKER = "is ready"
START_TIMEOUT_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_listen(port):
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def free_broker_port(avoid):
    """A port whose neighbours (fast port -2, HA port +1) are free too."""
    for _ in range(100):
        p = free_port()
        if avoid in (p, p - 2, p + 1):
            continue
        if can_listen(p - 2) and can_listen(p + 1):
            return p
    raise RuntimeError("no free broker port with free neighbours")


def wait_until(predicate, timeout_s, what):
    """Polls `predicate` until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout_s, what))
        time.sleep(0.1)


class Standalone:
    """One `ferrocket standalone` process on loopback."""

    def __init__(self, extra_conf=""):
        self.bin = os.environ.get("FERROCKET_BIN")
        if not self.bin or not os.path.exists(self.bin):
            raise RuntimeError("FERROCKET_BIN must name the ferrocket binary (got %r)" % self.bin)
        self.dir = tempfile.TemporaryDirectory(prefix="ferrocket-cpp-")
        ns_port = free_port()
        broker_port = free_broker_port(ns_port)
        self.namesrv = "127.0.0.1:%d" % ns_port
        self.broker = "127.0.0.1:%d" % broker_port
        conf = os.path.join(self.dir.name, "broker.conf")
        with open(conf, "w") as f:
            f.write(
                "brokerClusterName=DefaultCluster\n"
                "brokerName=broker-a\n"
                "brokerId=0\n"
                "brokerIP1=127.0.0.1\n"
                "listenPort=%d\n"
                "autoCreateTopicEnable=true\n"
                # small commit log files keep each store cheap to create and delete
                "mappedFileSizeCommitLog=67108864\n" % broker_port + extra_conf
            )
        self.output = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [self.bin, "standalone", "--store", os.path.join(self.dir.name, "store"),
             "--namesrv-listen", self.namesrv, "-c", conf],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError("ferrocket did not become ready:\n" + self.tail())

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))
            if READY_MARKER in line:
                self._ready.set()

    def tail(self, lines=80):
        return "\n".join(self.output[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.dir.cleanup()

    def admin(self, *args):
        """Runs `ferrocket admin <args> -n <namesrv>` and returns its standard output."""
        done = subprocess.run(
            [self.bin, "admin", *args, "-n", self.namesrv],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError("ferrocket admin %s failed: %s%s"
                                 % (" ".join(args), done.stdout, done.stderr))
        return done.stdout

    def create_topic(self, topic, queues=4):
        self.admin("updateTopic", "-c", "DefaultCluster", "-t", topic,
                   "-r", str(queues), "-w", str(queues))


class StandaloneTestCase(unittest.TestCase):
    """Starts one standalone per test class; prints its output when a test fails."""

    extra_conf = ""

    @classmethod
    def setUpClass(cls):
        cls.server = Standalone(cls.extra_conf)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def run(self, result=None):
        failures_before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures_before:
            print("\n--- ferrocket output (%s) ---\n%s" % (self.id(), self.server.tail()))
        return out
