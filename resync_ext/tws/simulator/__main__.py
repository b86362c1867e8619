"""``resync-twsim``: serve a scenario over the HWA REST API v2 until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from resync_ext.tws.simulator.errors import ScenarioError
from resync_ext.tws.simulator.server import start_simulator, tls_context


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resync-twsim",
        description="Serve a simulated HCL Workload Automation plan over the REST API v2.",
    )
    parser.add_argument(
        "--scenario",
        default="demo",
        help="bundled scenario name (demo, bulk) or a JSON/YAML file path",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("TWSIM_PORT", "31116")),
        help="port to listen on (default $TWSIM_PORT or 31116; 0 = any free)",
    )
    parser.add_argument("--user", default="demo", help="Basic auth user (default demo)")
    parser.add_argument("--password", default="demo", help="Basic auth password (default demo)")
    parser.add_argument("--api-key", default=None, help="accept this bearer API key too")
    parser.add_argument(
        "--now",
        default=None,
        help="freeze the clock at this ISO instant instead of the scenario's now",
    )
    parser.add_argument("--certfile", default=None, help="serve HTTPS with this PEM certificate")
    parser.add_argument("--keyfile", default=None, help="private key of --certfile (PEM)")
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="answer leniently (any Accept, no required parameters, nulls) instead of holding "
        "requests and answers to the product's document (strict, the default)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    context = tls_context(args.certfile, args.keyfile) if args.certfile else None
    running = await start_simulator(
        args.scenario,
        host=args.host,
        port=args.port,
        user=args.user,
        password=args.password,
        api_key=args.api_key,
        now=args.now,
        ssl_context=context,
        strict=not args.lenient,
    )
    plan = running.plan
    print(
        f"resync-twsim: scenario {plan.name} ({len(plan.jobs)} jobs, now "
        f"{plan.now:%Y-%m-%dT%H:%M:%SZ}) at {running.url}/twsd/api/v2 "
        f"(user {running.user}, {'strict' if not args.lenient else 'lenient'})",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.stop()
        print("resync-twsim: stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator from the command line; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_serve(args))
    except ScenarioError as e:
        print(f"resync-twsim: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"resync-twsim: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
