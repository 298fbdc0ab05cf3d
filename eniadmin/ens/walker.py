"""Walk ENS pages with processes of their own fetching them, so the caller's work runs alongside.

A fleet sync spends about as much CPU turning pages into database rows as the client spends
signing, fetching and decoding them. In one process the GIL takes the two in turn, however
many threads there are; and one fetching process alone, waiting for each answer before its
next request, is slower than the caller. Here the caller fetches the first page of a walk,
which tells how many there are, and the next ones until the children have started (a new
interpreter takes a quarter of a second); FETCHERS child processes then fetch the others in
turn (with two: one every other page, the other the pages between), each decoding and
shaping its pages and sending them down a pipe while the caller works on the pages before.
The caller takes the pages in order, ending where the client's own walks would
(has_page_after); each page is asked for once while the fleet holds still.

The children are new interpreters running this module, not forks: the caller holds database
connections and threads that a copy must not touch, and unlike multiprocessing's "spawn" this
does not import the caller's main script again. The caller decides when a walk ends: the
children run in a session of their own, out of reach of a terminal's Ctrl-C, and ignore
Ctrl-C and SIGTERM, which a service manager may send to every process of the service; the
caller stops at a page boundary and stops them on its way out. A child whose caller died gets
end-of-file on its next read, or a broken pipe on its next page, and exits. The client's log
lines are sent back and logged by the caller, as if the walk had run in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import itertools
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from logging.handlers import QueueHandler
from pathlib import Path
from typing import IO, Any

from eniadmin.ens.client import EnsClient, has_page_after
from eniadmin.ens.resources import Page

# Processes fetching pages side by side: with two, ENS answers one while the other decodes.
# More only adds processes competing for the same cores.
FETCHERS = 2
# How far each fetcher may run ahead of the caller: some thirty pages of 100 ENIs between them,
# so they keep fetching while the caller writes a batch (Linux only; elsewhere the system's
# pipe size, a page or two).
PIPE_BYTES = 1 << 19
# New objects (less those freed) before the garbage collector looks at them: more than a page
# decodes into, about 20,000 for 100 instances. The default, 700, is for a few at a time.
COLLECT_AFTER_OBJECTS = 50_000
# The directory that holds the eniadmin package, for the children to import it from.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A walk: the name of a Describe method of the client that takes page_number, and what each
# page's items are turned into before they are handed over. The children import that
# function: no Django there.
Walk = tuple[str, Callable[[list[Any]], Any]]


class FetcherLost(RuntimeError):
    """A fetching process ended without being told to (killed, out of memory, a crash)."""


class PageWalker:
    """Walks pages of `client`, one walk after the other, with child processes fetching them.

        walks = ("describe_instances", shape_instances), ("describe_network_interfaces", ...)
        with PageWalker(client, *walks) as walker:
            for page in walker.pages(): ...  # every instance page, shaped
            for page in walker.pages(): ...  # then every ENI page

    An error of the walk (an EnsError once the client's retries are spent) is raised by pages()
    where its page comes; FetcherLost when a fetching process is gone.
    """

    def __init__(self, client: EnsClient, *walks: Walk) -> None:
        self.client = client
        self.walks = walks
        self.fetchers: list[_Fetcher] = []
        self._setup = b""
        self._walked = 0
        self._left_early = False

    def __enter__(self) -> PageWalker:
        level = logging.getLogger("eniadmin.ens").getEffectiveLevel()
        self._setup = pickle.dumps((self.client, self.walks, level))  # before any process
        try:
            for _ in range(FETCHERS):
                self.fetchers.append(_Fetcher(self._setup))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Left before the last walk ended: the fetchers may be in the middle of a request.
        finished = self._walked == len(self.walks) and not self._left_early
        for fetcher in self.fetchers:
            # One not heard from yet was never sent a walk: no need to wait for it to start.
            fetcher.stop(kill=not finished or not fetcher.started)
        self.fetchers = []

    def pages(self) -> Iterator[Page[Any]]:
        """The next walk's pages, in order, until the latest TotalCount is reached."""
        assert self.fetchers, "use PageWalker in a with statement"
        if self._left_early:
            raise RuntimeError("A walk of this PageWalker was left early; use a new one.")
        walk = self._walked
        try:
            page = _shaped_page(self.client, self.walks[walk], 1)  # it tells how many there are
            yield page
            number = 1
            # A new interpreter takes a quarter of a second to start (requests' imports):
            # until every fetcher has, this process goes on fetching pages itself.
            while has_page_after(page, number) and not all(f.ready() for f in self.fetchers):
                number += 1
                page = _shaped_page(self.client, self.walks[walk], number)
                yield page
            if has_page_after(page, number):
                walking = list(self.fetchers)
                for offset, fetcher in enumerate(walking):
                    fetcher.walk(walk, number + 1 + offset, len(walking), page)
                # In turn, while the latest TotalCount has more, until a fetcher has no more.
                for fetcher in itertools.cycle(walking):
                    if not has_page_after(page, number):
                        break
                    fetched = fetcher.next_page()
                    if fetched is None:
                        walking.remove(fetcher)
                        break
                    page, number = fetched, number + 1
                    yield page
                self._settle(walking)
            # A fetcher that saw an older TotalCount stops early; the latest one decides, as in
            # the client's own walks, so a page that a growing fleet pushed further is walked.
            while has_page_after(page, number):
                number += 1
                page = _shaped_page(self.client, self.walks[walk], number)
                yield page
        except BaseException:
            self._left_early = True  # the fetchers' messages no longer match a walk
            raise
        self._walked += 1

    def _settle(self, walking: list[_Fetcher]) -> None:
        """Fetchers still on the walk that ended: one that has gone past its end (it saw a
        larger fleet) is replaced rather than heard out."""
        for index, fetcher in enumerate(self.fetchers):
            if fetcher in walking and not fetcher.walk_ended():
                fetcher.stop(kill=True)
                self.fetchers[index] = _Fetcher(self._setup)


class _Fetcher:
    """One child process: told a walk's first page and stride, it sends each page, shaped."""

    def __init__(self, setup: bytes) -> None:
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # not Linux, or above the limit
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                # -P: the current directory may hold other code named eniadmin.
                [sys.executable, "-P", "-m", __name__, str(write_end)],
                stdin=subprocess.PIPE,
                pass_fds=[write_end],
                env={**os.environ, "PYTHONPATH": _python_path()},
                # Out of the caller's process group: Ctrl-C in a terminal reaches the caller
                # alone, even before the child has set its signals aside.
                start_new_session=True,
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the child holds its own: end of file means the child is gone
        self.pages: IO[bytes] = os.fdopen(read_end, "rb")
        self.started = False
        self.orders: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        try:
            self._order(setup)
        except BaseException:
            self.stop(kill=True)
            raise

    def ready(self) -> bool:
        """Whether the child has started (its first message says so); never waits."""
        if not self.started:
            waiting = select.poll()
            waiting.register(self.pages, select.POLLIN)
            if waiting.poll(0):  # the message, end of file or an error: _take() tells which
                self._take()
        return self.started

    def walk(self, walk: int, start: int, stride: int, first: Page[Any]) -> None:
        self._order(pickle.dumps((walk, start, stride, first.total_count, first.page_size)))

    def next_page(self) -> Page[Any] | None:
        """The next page of this fetcher's share of the walk; None once it has no more."""
        kind, value = self._receive()
        if kind == "failed":
            raise value
        return value if kind == "page" else None

    def walk_ended(self) -> bool:
        """After the caller's walk ended: whether this fetcher's share ended there too. Its
        error past the end is of no matter."""
        try:
            kind, _ = self._receive()
        except FetcherLost:
            return False
        return kind != "page"

    def stop(self, *, kill: bool) -> None:
        if kill:
            self.process.kill()
        with contextlib.suppress(BrokenPipeError):
            self.orders.close()  # an idle child reads end of file and exits
        self.process.wait()
        self.pages.close()

    def _receive(self) -> tuple[str, Any]:
        """The next page, 'walked' or 'failed' message; log records on the way are logged."""
        while True:
            message = self._take()
            if message is not None:
                return message

    def _take(self) -> tuple[str, Any] | None:
        """The next message; None when it was the child's own (started, a log record)."""
        try:
            # Our own child's messages: the same trust as our own code.
            kind, value = pickle.load(self.pages)  # noqa: S301
        except Exception:  # end of file, or what a dying child left half-written
            raise FetcherLost(
                f"A process fetching ENS pages ended unexpectedly (exit code {self._exit_code()})."
            ) from None
        if kind == "started":
            self.started = True
        elif kind == "log":
            logger = logging.getLogger(value.name)
            if logger.isEnabledFor(value.levelno):
                logger.handle(value)
        else:
            return kind, value
        return None

    def _order(self, order: bytes) -> None:
        try:
            self.orders.write(order)
            self.orders.flush()
        except BrokenPipeError:  # the child is gone; reading its next page says so
            pass

    def _exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None


def _shaped_page(client: EnsClient, walk: Walk, number: int) -> Page[Any]:
    """Page `number` of the walk, its items shaped: the same here and in the children."""
    method, shape = walk
    page = getattr(client, method)(page_number=number)
    return replace(page, items=shape(page.items))


def _python_path() -> str:
    return os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))


# The child ------------------------------------------------------------------------------------


class _Sender:
    """Sends messages down the pipe; also what QueueHandler needs of a queue."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe

    def __call__(self, kind: str, value: object) -> None:
        # Pickled whole before any of it is written: a value that fails to pickle leaves the
        # pipe as it was.
        self.pipe.write(pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))
        self.pipe.flush()

    def put_nowait(self, record: logging.LogRecord) -> None:
        self("log", record)


def _serve(pipe_fd: int) -> None:
    """For each walk ordered on stdin: its pages from `start`, every `stride`, shaped, while
    the latest TotalCount has them; then 'walked'. An error ends this fetcher's share."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    orders = sys.stdin.buffer
    # From our caller, through a pipe only it holds.
    client, walks, level = pickle.load(orders)  # noqa: S301
    send = _Sender(os.fdopen(pipe_fd, "wb"))
    send("started", None)  # the first message, before any log record
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(QueueHandler(send))  # type: ignore[arg-type]
    # A page is decoded into objects that all live until it is sent: at the collector's
    # default threshold (700) each page set off a couple of collections, every one walking the
    # page built so far (1,000 collections and 0.16 s for a fleet's 503 pages). A sent page is
    # freed by reference counting; the collector still runs, past what was loaded until now.
    gc.freeze()
    gc.set_threshold(COLLECT_AFTER_OBJECTS, *gc.get_threshold()[1:])
    try:
        while True:
            try:
                walk, number, stride, total, page_size = pickle.load(orders)  # noqa: S301
            except EOFError:  # the caller is done
                break
            try:
                while (number - 1) * page_size < total:
                    page = _shaped_page(client, walks[walk], number)
                    send("page", page)
                    if not page.items:
                        break
                    total, page_size = page.total_count, page.page_size
                    number += stride
            except Exception as error:
                send("failed", _transportable(error))
            else:
                send("walked", None)
        send.pipe.close()
    except BrokenPipeError:  # the caller is gone: nobody to tell, nothing to flush
        os._exit(0)


def _transportable(error: Exception) -> Exception:
    """The error itself when it can cross to the caller, noting where it was raised."""
    error.add_note(f"Raised in a process fetching ENS pages:\n{traceback.format_exc()}")
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - its own bytes
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    return error


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
