"""Our ENS client against the official SDK: the same 2,000 DescribeNetworkInterfaces calls.

Both talk to one canned loopback server running in its own process (so it does not share the
client's interpreter), which answers every call with the same 50-ENI page. The figure is our
time / the official alibabacloud-ens20171110 SDK's time, median of several rounds; target <= 0.5.

    .venv/bin/python bench/client_overhead.py [--calls 2000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import median, median_ratio, print_result
from eniadmin.ens.client import EnsClient

PAGE = {
    "RequestId": "BENCH-0001",
    "TotalCount": 50,
    "PageNumber": 1,
    "PageSize": 50,
    "NetworkInterfaceSets": {
        "NetworkInterfaceSet": [
            {
                "NetworkInterfaceId": f"eni-bench{n:06d}",
                "NetworkInterfaceName": f"eni-{n}",
                "EnsRegionId": "cn-beijing-cmcc",
                "InstanceId": f"i-bench{n:06d}",
                "Status": "InUse",
                "Type": "Secondary",
                "PrimaryIp": f"10.0.{n // 250}.{n % 250}",
                "PrimaryIpType": "Private",
                "MacAddress": "00:16:3e:00:00:01",
                "NetworkId": "n-bench",
                "VSwitchId": "vsw-bench",
                "CreationTime": "2024-01-01T00:00:00Z",
                "SecurityGroupIds": {"SecurityGroup": ["sg-bench"]},
                "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": "10.0.0.1"}]},
                "Ipv6Sets": {"Ipv6Set": []},
            }
            for n in range(50)
        ]
    },
}
BODY = json.dumps(PAGE).encode()


RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json;charset=utf-8\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Connection: keep-alive\r\n\r\n" + BODY
)


class CannedHttp(asyncio.Protocol):
    """Answers every request on a kept-alive connection with the same page, as fast as it can:
    the server's time is in both measurements, so a slow server would hide the clients' cost.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            request_end = head_end + 4 + length
            if len(self.buffer) < request_end:
                return
            self.buffer = self.buffer[request_end:]
            self.transport.write(RESPONSE)


def serve(port_queue: multiprocessing.Queue) -> None:
    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(CannedHttp, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(run())


def ours(port: int, calls: int) -> float:
    client = EnsClient(
        endpoint=f"http://127.0.0.1:{port}",
        access_key_id="bench",
        access_key_secret="bench-secret",  # noqa: S106 - a loopback benchmark key
    )
    started = time.perf_counter()
    for _ in range(calls):
        page = client.describe_network_interfaces(page_size=50)
        assert len(page.items) == 50
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def bare_requests(port: int, calls: int) -> float:
    """The floor: the same POST and json.loads through requests' cheapest path (a copy of one
    prepared request, sent), with no signing or parsing."""
    session = requests.Session()
    session.trust_env = False
    prepared = session.prepare_request(
        requests.Request("POST", f"http://127.0.0.1:{port}/?PageSize=50")
    )
    started = time.perf_counter()
    for _ in range(calls):
        response = session.send(prepared.copy(), timeout=(3, 15))
        assert len(json.loads(response.content)["NetworkInterfaceSets"]) == 1
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


def official(port: int, calls: int) -> float:
    from alibabacloud_ens20171110 import models
    from alibabacloud_ens20171110.client import Client
    from alibabacloud_tea_openapi import models as openapi_models

    client = Client(
        openapi_models.Config(
            access_key_id="bench",
            access_key_secret="bench-secret",  # noqa: S106 - a loopback benchmark key
            endpoint=f"127.0.0.1:{port}",
            protocol="http",
        )
    )
    request = models.DescribeNetworkInterfacesRequest(page_size="50")
    started = time.perf_counter()
    for _ in range(calls):
        response = client.describe_network_interfaces(request)
        assert len(response.body.network_interface_sets.network_interface_set) == 50
    return time.perf_counter() - started


def measure(*, calls: int = 2000, rounds: int = 3) -> dict[str, Any]:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=10)
        ours(port, 50)  # warm both paths: imports, connection pools
        official(port, 50)

        times: dict[str, list[float]] = {"ours": [], "official": [], "bare_requests": []}
        for _ in range(rounds):
            times["ours"].append(ours(port, calls))
            times["official"].append(official(port, calls))
            times["bare_requests"].append(bare_requests(port, calls))
    finally:
        server.terminate()
        server.join()

    return {
        "calls": calls,
        "rounds": rounds,
        "cores": os.cpu_count(),
        **{f"{name}_seconds_median": round(median(t), 3) for name, t in times.items()},
        "ours_over_official": round(median_ratio(times["ours"], times["official"]), 3),
        "bare_requests_over_official": round(
            median_ratio(times["bare_requests"], times["official"]), 3
        ),
        "target": "ours_over_official <= 0.5",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py)")
    args = parser.parse_args()
    print_result(measure(calls=args.calls, rounds=args.rounds), as_json=args.json)


if __name__ == "__main__":
    main()
