"""The whole benchmark suite in one go, on loopback; writes bench/RESULTS.md.

Every benchmark runs in its own child process (`bench/X.py --json`), one after the other, on a
fleet of 10,000 instances (about 40,000 ENIs) from the emulator, against one scratch database:
a temporary SQLite file, or, when DATABASE_URL names a PostgreSQL server, a new database on that
server, dropped at the end. Each figure is a ratio against a baseline measured in the same run.

    make bench            # = .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py [--instances 10000] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, database_description, run_json, scratch_database

TIMES = "\N{MULTIPLICATION SIGN}"
# Repetitions: enough for a stable median on a shared 2-core machine, the suite in ~5 minutes.
CLIENT_CALLS, CLIENT_ROUNDS = 2000, 5
SYNC_ROUNDS = 5
LIST_REQUESTS = 50
POLL_SECONDS, POLL_ROUNDS, POLL_CLIENTS, POLLERS, POLLER_SECONDS = 5, 5, 8, 50, 12
E2E_REPETITIONS = 9


@dataclass
class Benchmark:
    name: str
    script: str
    arguments: str

    @property
    def command(self) -> str:
        return f".venv/bin/python bench/{self.script} {self.arguments}"


@dataclass
class Figure:
    what: str
    result: str
    repetitions: str
    target: str
    met: bool
    command: str


def suite(instances: int) -> list[Benchmark]:
    fleet = f"--instances {instances}"
    poll = f"--seconds {POLL_SECONDS} --rounds {POLL_ROUNDS} --clients {POLL_CLIENTS}"
    pollers = f"--pollers {POLLERS} --poller-seconds {POLLER_SECONDS}"
    return [
        Benchmark(
            "client", "client_overhead.py", f"--calls {CLIENT_CALLS} --rounds {CLIENT_ROUNDS}"
        ),
        Benchmark("sync", "sync.py", f"{fleet} --rounds {SYNC_ROUNDS}"),
        # The list page, the end-to-end and the poll benchmarks find the fleet already mirrored.
        Benchmark("list_page", "list_page.py", f"{fleet} --requests {LIST_REQUESTS}"),
        Benchmark("end_to_end", "end_to_end.py", f"{fleet} --repetitions {E2E_REPETITIONS}"),
        Benchmark("poll", "poll.py", f"{fleet} {poll} {pollers}"),
    ]


# One function per benchmark turns its JSON into the report's rows.


def sync_figures(r: dict[str, Any], command: str) -> list[Figure]:
    rounds = f"{r['rounds']} rounds"
    fetched, minimum = r["pages_fetched_per_sync"], r["pages_minimum"]
    bare = r["bare_loop_seconds_median"]
    return [
        Figure(
            "**sync**: pages fetched per sync / ⌈N/PageSize⌉ (PageSize 100)",
            f"{r['pages_fetched_max_over_minimum']:.2f}{TIMES} ({fetched['DescribeInstances']} "
            f"DescribeInstances / {minimum['DescribeInstances']}, "
            f"{fetched['DescribeNetworkInterfaces']} DescribeNetworkInterfaces / "
            f"{minimum['DescribeNetworkInterfaces']}; every sync of every round)",
            f"{rounds}, 2 syncs each",
            f"= 1.00{TIMES}",
            r["pages_every_sync_at_minimum"],
            command,
        ),
        Figure(
            "**sync**: no-change re-sync wall time / bare `requests` loop over the same pages",
            f"{r['no_change_sync_over_bare']:.2f}{TIMES} "
            f"({r['no_change_sync_seconds_median']:.1f} s / {bare:.1f} s)",
            rounds,
            f"≤ 1.3{TIMES}",
            r["no_change_sync_over_bare"] <= 1.3,
            command,
        ),
        Figure(
            "**sync**: first sync into an empty mirror wall time / bare `requests` loop",
            f"{r['first_sync_over_bare']:.2f}{TIMES} "
            f"({r['first_sync_seconds_median']:.1f} s / {bare:.1f} s; CPU of the sync "
            f"process and its page fetchers {r['first_sync_cpu_seconds_median']:.1f} s / "
            f"{r['bare_loop_cpu_seconds_median']:.1f} s)",
            rounds,
            f"≤ 1.3{TIMES}",
            r["first_sync_over_bare"] <= 1.3,
            command,
        ),
        Figure(
            "**sync**: peak RSS of the sync process + its page fetchers (first sync + re-sync)",
            f"{r['peak_rss_mb']:.0f} MB (highest of the rounds: "
            f"{r['sync_process_peak_rss_mb']:.0f} MB + {r['fetchers']} fetchers of "
            f"{r['fetcher_peak_rss_mb']:.0f} MB)",
            rounds,
            "≤ 250 MB",
            r["peak_rss_mb"] <= 250,
            command,
        ),
        Figure(
            "**sync**: mirror rows written by a no-change re-sync",
            f"{max(r['no_change_row_writes'])} write statements, "
            f"{max(r['no_change_rows_changed'])} rows counted changed (highest of the rounds)",
            rounds,
            "0",
            max(r["no_change_row_writes"]) == 0 and max(r["no_change_rows_changed"]) == 0,
            command,
        ),
    ]


def list_page_figures(r: dict[str, Any], command: str) -> list[Figure]:
    small = next(key for key in r if key.startswith("list_page_queries_with_"))
    small_size = small.removeprefix("list_page_queries_with_").removesuffix("_instances")
    big = r["list_page_queries"]
    per_persona = {
        persona: sorted({*big[persona].values(), *r[small][persona].values()}) for persona in big
    }
    counts = ", ".join(
        f"{persona}: {'/'.join(map(str, values))}" for persona, values in per_persona.items()
    )
    where = (
        f"50 and 20 instances per page, pages 1 and 2, {r['instances']:,} instances; "
        f"page 1 with {small_size} instances"
    )
    return [
        Figure(
            "**list page**: SQL queries, the same for every fleet and page size",
            f"{counts} ({where})",
            "1 request per case",
            "constant",
            r["list_page_queries_constant"],
            command,
        ),
        Figure(
            "**list page**: SQL queries per request",
            f"{r['list_page_queries_max']} at most (admin changelist: "
            f"{'/'.join(map(str, r['admin_changelist_queries']))})",
            "1 request per case",
            "≤ 6",
            r["list_page_queries_max"] <= 6,
            command,
        ),
        Figure(
            "**list page**: median server time / Django admin's changelist of instances, "
            "50 per page, same superuser and pages",
            f"{r['list_over_admin']:.2f}{TIMES} ({r['list_page_ms_median']:.0f} ms / "
            f"{r['admin_changelist_ms_median']:.0f} ms)",
            f"{r['requests_each']} requests each, alternating",
            f"≤ 1.0{TIMES}",
            r["list_over_admin"] <= 1.0,
            command,
        ),
    ]


def poll_figures(r: dict[str, Any], command: str) -> list[Figure]:
    gap = r["describe_min_gap_seconds"]
    return [
        Figure(
            "**poll fragment** under gunicorn (2 workers) / a trivial login-required view, "
            f"requests per second, {r['client_threads']} client threads",
            f"{r['poll_over_trivial']:.2f}{TIMES} ({r['poll_fragment_rps']:.0f} / "
            f"{r['trivial_login_required_rps']:.0f} rps)",
            f"{r['rounds']} rounds of {r['seconds_each']:g} s each, alternating",
            f"≥ 0.5{TIMES}",
            r["poll_over_trivial"] >= 0.5,
            command,
        ),
        Figure(
            f"**cloud reads**: Describe calls per moving ENI per refresh interval "
            f"({r['refresh_seconds']:g} s), {r['pollers']} concurrent pollers",
            f"at most {r['describe_calls_max_in_any_refresh_interval']} in any window "
            f"({r['describe_calls_for_the_eni']} calls in {r['poller_seconds']:g} s, "
            f"smallest gap {gap} s)",
            f"{r['poller_seconds']:g} s of polling",
            "≤ 1",
            r["describe_calls_max_in_any_refresh_interval"] <= 1,
            command,
        ),
    ]


def client_figures(r: dict[str, Any], command: str) -> list[Figure]:
    return [
        Figure(
            f"**client**: {r['calls']:,} DescribeNetworkInterfaces calls against one canned "
            "loopback server; ours / the official `alibabacloud-ens20171110` SDK",
            f"{r['ours_over_official']:.2f}{TIMES} ({r['ours_seconds_median']:.2f} s / "
            f"{r['official_seconds_median']:.2f} s); a bare `requests` loop: "
            f"{r['bare_requests_over_official']:.2f}{TIMES}",
            f"{r['rounds']} rounds",
            f"≤ 0.5{TIMES}",
            r["ours_over_official"] <= 0.5,
            command,
        ),
    ]


def end_to_end_figures(r: dict[str, Any], command: str) -> list[Figure]:
    return [
        Figure(
            "**end to end**: from the emulator marking an ENI Available to its poll fragment "
            "showing it / poll interval + refresh interval",
            f"{r['latency_over_budget']:.2f}{TIMES} (median {r['latency_seconds_median']:.2f} s, "
            f"max {r['latency_seconds_max']:.2f} s / {r['poll_seconds']:g} s + "
            f"{r['refresh_seconds']:g} s; worker's read "
            f"{r['cloud_read_lag_seconds_median']:.2f} s after, fragment "
            f"{r['display_lag_seconds_median']:.2f} s after that)",
            f"{r['repetitions']} detaches",
            f"≤ 1.0{TIMES}",
            r["latency_over_budget"] <= 1.0,
            command,
        ),
    ]


FIGURES: dict[str, Callable[[dict[str, Any], str], list[Figure]]] = {
    "client": client_figures,
    "sync": sync_figures,
    "list_page": list_page_figures,
    "end_to_end": end_to_end_figures,
    "poll": poll_figures,
}


def report(
    *,
    figures: list[Figure],
    failures: dict[str, str],
    results: dict[str, Any],
    seconds: dict[str, float],
    database: str,
    instances: int,
) -> str:
    import django

    enis = results.get("sync", {}).get("enis") or results.get("list_page", {}).get("enis") or 0
    total = sum(seconds.values())
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/run.py`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. The whole suite took "
        f'{int(total // 60)} min {int(total % 60)} s. See README.md, "Performance", '
        "for how to read it.",
        "",
        "| | |",
        "|---|---|",
        f"| cores (`os.cpu_count()`) | {os.cpu_count()} |",
        f"| machine | {platform.machine()}, {platform.system()} {platform.release()} |",
        f"| Python | {platform.python_version()} |",
        f"| Django | {django.get_version()} |",
        f"| database | {database} |",
        f"| fleet | {instances:,} instances / {enis:,} ENIs (the emulator's, seed 1) |",
        "",
        "Each ratio is this build's figure over its baseline measured in the same run, back to "
        "back on the same machine; medians of the repetitions stated.",
        "",
        "| figure | result | repetitions | target | met? | command |",
        "|---|---|---|---|---|---|",
    ]
    for figure in figures:
        met = "met" if figure.met else "**not met**"
        lines.append(
            f"| {figure.what} | {figure.result} | {figure.repetitions} | {figure.target} | "
            f"{met} | `{figure.command}` |"
        )
    for name, error in failures.items():
        last = error.strip().splitlines()[-1]
        lines.append(f"| **{name}** | failed: {last} | | | **not met** | |")
    lines += [
        "",
        "The suite runs each command with `--json` and `DATABASE_URL` set to its scratch "
        "database; run alone, a command uses `DATABASE_URL` as it is, or a temporary SQLite "
        "file.",
        "",
        "## Time per benchmark",
        "",
        "| benchmark | seconds |",
        "|---|---|",
        *(f"| {name} | {value:.0f} |" for name, value in seconds.items()),
        "",
        "## Raw figures",
        "",
    ]
    for name, result in results.items():
        lines += [f"### {name}", "", "```json", _json(result), "```", ""]
    for name, error in failures.items():
        lines += [f"### {name} (failed)", "", "```", error.strip()[-4000:], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--only", nargs="*", choices=list(FIGURES), help="run only these benchmarks"
    )
    args = parser.parse_args()

    figures: list[Figure] = []
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    seconds: dict[str, float] = {}
    base_url = os.environ.get("DATABASE_URL")
    with scratch_database(base_url) as database_url:
        database = database_description(database_url)
        database += (
            " (a temporary file)"
            if database_url.startswith("sqlite")
            else " (a scratch database on the server of DATABASE_URL, dropped afterwards)"
        )
        env = {**os.environ, "DATABASE_URL": database_url}
        for benchmark in suite(args.instances):
            if args.only and benchmark.name not in args.only:
                continue
            print(f"== {benchmark.command}", flush=True)
            started = time.monotonic()
            try:
                results[benchmark.name] = run_json(
                    benchmark.script, benchmark.arguments.split(), env
                )
                figures += FIGURES[benchmark.name](results[benchmark.name], benchmark.command)
            except Exception:
                failures[benchmark.name] = traceback.format_exc()
                print(failures[benchmark.name], file=sys.stderr, flush=True)
            seconds[benchmark.name] = time.monotonic() - started
            print(f"   {seconds[benchmark.name]:.0f} s", flush=True)

    args.output.write_text(
        report(
            figures=figures,
            failures=failures,
            results=results,
            seconds=seconds,
            database=database,
            instances=args.instances,
        )
    )
    missed = [figure.what for figure in figures if not figure.met]
    print(f"Wrote {args.output}: {len(figures) - len(missed)} of {len(figures)} targets met.")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
