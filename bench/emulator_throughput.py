"""Emulator throughput: every DescribeNetworkInterfaces page of a 10,000-instance fleet.

Starts the emulator in-process, then reads all ENIs at PageSize 100 with V3-signed requests
(signing module, one requests.Session per client): once with one client, once with several
concurrent clients. Client and server share one interpreter, so the figures are a floor.

    .venv/bin/python bench/emulator_throughput.py [--instances 10000] [--clients 4]
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from eniadmin.ens import signing
from eniadmin.ens.emulator.server import EmulatorServer

PAGE_SIZE = 100


def fetch_page(server: EmulatorServer, session: requests.Session, page: int) -> dict:
    query = {"PageNumber": str(page), "PageSize": str(PAGE_SIZE)}
    headers = signing.v3_signed_headers(
        method="POST",
        host=urlsplit(server.url).netloc,
        action="DescribeNetworkInterfaces",
        query=query,
        access_key_id=server.access_key_id,
        access_key_secret=server.access_key_secret,
    )
    response = session.post(f"{server.url}/", params=query, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()


def read_pages(server: EmulatorServer, pages: list[int]) -> list[str]:
    with requests.Session() as session:
        return [
            eni["NetworkInterfaceId"]
            for page in pages
            for eni in fetch_page(server, session, page)["NetworkInterfaceSets"][
                "NetworkInterfaceSet"
            ]
        ]


def timed_read(server: EmulatorServer, page_count: int, clients: int) -> tuple[float, int]:
    """Seconds to read every page with `clients` concurrent sessions, and the ENIs read."""
    shares = [list(range(1 + n, page_count + 1, clients)) for n in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        ids = [
            eni_id
            for share in pool.map(lambda s: read_pages(server, s), shares)
            for eni_id in share
        ]
    elapsed = time.perf_counter() - started
    if len(set(ids)) != len(ids):
        raise AssertionError("pages overlapped")
    return elapsed, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    arguments = parser.parse_args()

    started = time.perf_counter()
    server = EmulatorServer(instances=arguments.instances)
    generation = time.perf_counter() - started
    with server:
        with requests.Session() as session:
            total = fetch_page(server, session, 1)["TotalCount"]
        page_count = math.ceil(total / PAGE_SIZE)
        print(
            f"command: .venv/bin/python bench/emulator_throughput.py "
            f"--instances {arguments.instances} --clients {arguments.clients}"
        )
        print(
            f"fleet: {arguments.instances} instances, {total} ENIs, generated in {generation:.2f} s"
        )
        for clients in (1, arguments.clients):
            elapsed, read = timed_read(server, page_count, clients)
            if read != total:
                raise AssertionError(f"read {read} ENIs of {total}")
            print(
                f"{clients} client(s): {page_count} pages in {elapsed:.2f} s = "
                f"{page_count / elapsed:.0f} pages/s, {read / elapsed:,.0f} ENIs/s"
            )


if __name__ == "__main__":
    main()
