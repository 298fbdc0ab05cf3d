"""Walk ENS pages with processes of their own fetching them, so the caller's work runs alongside.

A fleet sync spends about as much CPU turning pages into database rows as the client spends
signing, fetching and decoding them. In one process the GIL takes the two in turn, however
many threads there are; and one fetching process alone, waiting for each answer before its
next request, is slower than the caller. Here the caller fetches the first page of a walk,
which tells how many there are, and FETCHERS child processes then fetch the others in turn
(with two: one the even pages, the other the odd ones), each decoding and shaping its pages
and sending them down a pipe while the caller works on the pages before. The caller takes the
pages in order, as the client's iter_*_pages() hand them over in one process; each page is asked
for once while the fleet holds still.

The children are new interpreters running this module, not forks: the caller holds database
connections and threads that a copy must not touch, and unlike multiprocessing's "spawn" this
does not import the caller's main script again. The caller decides when a walk ends. The
children ignore Ctrl-C and SIGTERM, which a terminal or a service manager sends to every
process of the group: the caller stops at a page boundary and stops them on its way out. A
child whose caller died gets end-of-file on its next read, or a broken pipe on its next page,
and exits. The client's log lines are sent back and logged by the caller, as if the walk had
run in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from logging.handlers import QueueHandler
from pathlib import Path
from typing import IO, Any

from eniadmin.ens.client import EnsClient
from eniadmin.ens.resources import Page

# Processes fetching pages side by side: with two, ENS answers one while the other decodes.
# More only adds processes competing for the same cores.
FETCHERS = 2
# How far each fetcher may run ahead of the caller: some thirty pages of 100 ENIs between them,
# so they keep fetching while the caller writes a batch (Linux only; elsewhere the system's
# pipe size, a page or two).
PIPE_BYTES = 1 << 19
# The directory that holds the eniadmin package, for the children to import it from.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A walk: the name of a Describe method of the client that takes page_number, and what each
# page's items are turned into before they are handed over. The children import that
# function: no Django there.
Walk = tuple[str, Callable[[list[Any]], Any]]


class PageWalker:
    """Walks pages of `client`, one walk after the other, with child processes fetching them.

        walks = ("describe_instances", shape_instances), ("describe_network_interfaces", ...)
        with PageWalker(client, *walks) as walker:
            for page in walker.pages(): ...  # every instance page, shaped
            for page in walker.pages(): ...  # then every ENI page

    An error of the walk (an EnsError once the client's retries are spent) is raised by pages()
    where its page comes.
    """

    def __init__(self, client: EnsClient, *walks: Walk, fetchers: int = FETCHERS) -> None:
        self.client = client
        self.walks = walks
        self.fetchers: list[_Fetcher] = []
        self._fetcher_count = fetchers
        self._walked = 0

    def __enter__(self) -> PageWalker:
        level = logging.getLogger("eniadmin.ens").getEffectiveLevel()
        setup = pickle.dumps((self.client, self.walks, level))  # before any process exists
        try:
            for _ in range(self._fetcher_count):
                self.fetchers.append(_Fetcher(setup))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Left before the last walk ended: the fetchers may be in the middle of a request.
        finished = self._walked == len(self.walks)
        for fetcher in self.fetchers:
            fetcher.stop(kill=not finished)
        self.fetchers = []

    def pages(self) -> Iterator[Page[Any]]:
        """The next walk's pages, in order, until the latest TotalCount is reached."""
        assert self.fetchers, "use PageWalker in a with statement"
        walk = self._walked
        method, shape = self.walks[walk]

        def fetched_here(number: int) -> Page[Any]:
            page = getattr(self.client, method)(page_number=number)
            return replace(page, items=shape(page.items))

        page = first = fetched_here(1)  # it tells how many pages there are
        yield first
        number = 1
        if _more_after(first, number):
            for page in self._fetched(walk, first):
                number += 1
                yield page
        # A fetcher that saw an older TotalCount stops early; the latest one decides, as in the
        # client's own walks, so a page that a growing fleet pushed further is still walked.
        while _more_after(page, number):
            number += 1
            page = fetched_here(number)
            yield page
        self._walked += 1

    def _fetched(self, walk: int, first: Page[Any]) -> Iterator[Page[Any]]:
        """Pages 2, 3, … from the fetchers in turn, until one has no next page to give."""
        for offset, fetcher in enumerate(self.fetchers):
            fetcher.walk(walk, 2 + offset, len(self.fetchers), first)
        walking = list(self.fetchers)  # each says "walked" once, or fails
        try:
            for fetcher in itertools.cycle(self.fetchers):
                page = fetcher.next_page()
                if page is None:
                    walking.remove(fetcher)
                    return
                yield page
                if not page.items:
                    return
        except BaseException:
            walking.clear()  # failed or left: __exit__ stops the fetchers
            raise
        finally:
            for fetcher in walking:  # its pages past the end, if it saw a larger fleet
                while fetcher.next_page() is not None:
                    pass


def _more_after(page: Page[Any], number: int) -> bool:
    """Whether page `number` (this one) is followed by another, as the client's walks decide."""
    return bool(page.items) and number * page.page_size < page.total_count


class _Fetcher:
    """One child process: told a walk's first page and stride, it sends each page, shaped."""

    def __init__(self, setup: bytes) -> None:
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # not Linux, or above the limit
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", __name__, str(write_end)],
                stdin=subprocess.PIPE,
                pass_fds=[write_end],
                env={**os.environ, "PYTHONPATH": _python_path()},
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the child holds its own: end of file means the child is gone
        self.pages: IO[bytes] = os.fdopen(read_end, "rb")
        self.orders: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self._order(setup)

    def walk(self, walk: int, start: int, stride: int, first: Page[Any]) -> None:
        self._order(pickle.dumps((walk, start, stride, first.total_count, first.page_size)))

    def next_page(self) -> Page[Any] | None:
        """The next page of this fetcher's share of the walk; None once it has no more."""
        while True:
            try:
                # Our own child's messages: the same trust as our own code.
                kind, value = pickle.load(self.pages)  # noqa: S301
            except (EOFError, pickle.UnpicklingError):
                raise RuntimeError(
                    f"The process fetching ENS pages ended unexpectedly "
                    f"(exit code {self._exit_code()})."
                ) from None
            if kind == "page":
                return value
            if kind == "walked":
                return None
            if kind == "log":
                logger = logging.getLogger(value.name)
                if logger.isEnabledFor(value.levelno):
                    logger.handle(value)
            else:
                raise value

    def stop(self, *, kill: bool) -> None:
        if kill:
            self.process.kill()
        with contextlib.suppress(BrokenPipeError):
            self.orders.close()  # an idle child reads end of file and exits
        self.process.wait()
        self.pages.close()

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


def _python_path() -> str:
    inherited = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([str(PROJECT_ROOT), inherited] if inherited else [str(PROJECT_ROOT)])


# The child ------------------------------------------------------------------------------------


class _Sender:
    """Sends messages down the pipe; also what QueueHandler needs of a queue."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe

    def __call__(self, kind: str, value: object) -> None:
        pickle.dump((kind, value), self.pipe, protocol=pickle.HIGHEST_PROTOCOL)
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
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(QueueHandler(send))  # type: ignore[arg-type]
    try:
        while True:
            try:
                walk, number, stride, total, page_size = pickle.load(orders)  # noqa: S301
            except EOFError:  # the caller is done
                break
            method, shape = walks[walk]
            try:
                while (number - 1) * page_size < total:
                    page = getattr(client, method)(page_number=number)
                    send("page", replace(page, items=shape(page.items)))
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
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    return error


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
