"""`ferry`: the developer command (installed into the project's virtual environment).

ferry up [--fresh] [--workers N] [--allow-loopback-connectors] [--port P] [--data-dir DIR]
         [--blob-port P] [--queue-port P] [--table-port P] [--cosmos-port P] [--issuer-port P]
                                   stand-ins + development issuer + every trigger
ferry token EMAIL [--data-dir DIR] a bearer token from the development issuer of `ferry up`
ferry demo [...]                   the demo migration between simulated vendors
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".ferry"
API_PORT = 7071
#: The stand-ins `ferry up` starts; each takes a free port unless its option names one, so two
#: checkouts (and the test suite, whose stacks take free ports too) run side by side.
STAND_INS = ("blob", "queue", "table", "cosmos", "issuer")
UP_FILE = "up.json"  # in the data dir while `ferry up` runs: its URLs and ports, read by `ferry token`
AUDIENCE = "api://ferry-local"


def local_values(
    stack_values: dict[str, str], *, loopback_connectors: bool, issuer: str | None = None
) -> dict[str, str]:
    """Settings of a local run: the stand-ins' plus identity and connector switches.
    `issuer` is the development issuer's URL (callers that start one pass it; the default is
    the issuer's conventional address).

    Loopback connectors (vendor simulators on this machine) are a choice of the caller:
    `ferry demo` runs its own simulators and turns them on; `ferry up` leaves them off unless
    asked (see `loopback_connectors_wanted`).
    """
    return {
        **stack_values,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "FERRY_OIDC_ISSUERS": issuer or _default_issuer(),
        "FERRY_OIDC_AUDIENCE": AUDIENCE,
        "FERRY_ALLOW_LOOPBACK_CONNECTORS": "true" if loopback_connectors else "false",
    }


def loopback_connectors_wanted(configured: dict[str, str], *, flag: bool) -> bool:
    """Whether `ferry up` lets connectors reach loopback: off unless `--allow-loopback-connectors`
    is given or FERRY_ALLOW_LOOPBACK_CONNECTORS is true (in the environment or local.settings.json,
    read with the app's rules, so a malformed value stops start-up with its name)."""
    from shared.config import _Reader

    return flag or _Reader(configured).flag("FERRY_ALLOW_LOOPBACK_CONNECTORS")


def ensure_local_settings() -> Path:
    """Create local.settings.json from the committed example on first run (like `func init`)."""
    target = ROOT / "local.settings.json"
    if not target.exists():
        shutil.copyfile(ROOT / "local.settings.json.example", target)
    return target


def _default_issuer() -> str:
    from tools.dev_issuer import DEFAULT_PORT, issuer_url

    return issuer_url(DEFAULT_PORT)


def _apply_env(values: dict[str, str]) -> None:
    for key, value in values.items():
        os.environ[key] = value


def choose_ports(wanted: dict[str, int]) -> dict[str, int]:
    """The port of each stand-in: the one asked for, or a free one for 0. Free ports are taken
    together so no two of them coincide; a port asked for twice is refused."""
    from tools.stack import free_ports

    asked = [p for p in wanted.values() if p]
    if len(asked) != len(set(asked)):
        raise SystemExit(f"ferry up: one port given to two stand-ins: {wanted}")
    spare = iter(p for p in free_ports(len(wanted) + len(asked)) if p not in asked)
    return {name: port or next(spare) for name, port in wanted.items()}


def require_free(port: int, what: str, option: str) -> None:
    """Stop with a sentence when `port` is taken (another `ferry up`, another checkout)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(
                f"ferry up: port {port} for the {what} is in use (another `ferry up`, another "
                f"checkout?); pass {option} 0 for a free one, or another port"
            ) from None


def _settings_file() -> Path:
    """local.settings.json (created from the example on first run), or FERRY_SETTINGS_FILE."""
    chosen = os.environ.get("FERRY_SETTINGS_FILE")
    return Path(chosen) if chosen else ensure_local_settings()


def read_up_file(data_dir: Path) -> dict[str, Any] | None:
    """What a running `ferry up` of this data dir wrote about itself, None when none runs."""
    path = data_dir / UP_FILE
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def cmd_up(args: argparse.Namespace) -> int:
    from tools.dev_issuer import DevIssuer
    from tools.devhost.logsetup import configure_logging
    from tools.devhost.runner import serve
    from tools.stack import free_port, running_stack

    configure_logging()
    data_dir = Path(args.data_dir).resolve()
    api_port = args.port or free_port()
    require_free(api_port, "API", "--port")
    for name in STAND_INS:
        if getattr(args, f"{name}_port"):
            require_free(getattr(args, f"{name}_port"), f"{name} stand-in", f"--{name}-port")
    ports = choose_ports({name: getattr(args, f"{name}_port") for name in STAND_INS})
    settings_file = _settings_file()
    configured = json.loads(settings_file.read_text())["Values"] if settings_file.is_file() else {}
    with running_stack(
        data_dir / "stack",
        fresh=args.fresh,
        blob_port=ports["blob"],
        queue_port=ports["queue"],
        table_port=ports["table"],
        cosmos_port=ports["cosmos"],
        persist_cosmos=True,
    ) as stack:
        issuer = DevIssuer(data_dir / "dev-issuer")
        with issuer.serve(ports["issuer"]) as issuer_url:
            loopback = loopback_connectors_wanted({**configured, **os.environ}, flag=args.allow_loopback_connectors)
            values = {
                **local_values(stack.values(), loopback_connectors=loopback, issuer=issuer_url),
                **{k: v for k, v in configured.items() if k.startswith("FERRY_LOG")},
            }
            _apply_env(values)
            api = f"http://127.0.0.1:{api_port}"
            up_file = data_dir / UP_FILE
            up_file.write_text(
                json.dumps(
                    {"api": api, "issuer": issuer_url, "ports": {"api": api_port, **ports}, "pid": os.getpid()},
                    indent=2,
                )
            )
            print(f"Ferry API      {api}/api/docs", flush=True)
            print(f"Health         {api}/api/health", flush=True)
            print(f"Console        {api}/console/", flush=True)
            print(
                f"Sign in        ferry token you@example.com{_data_dir_option(data_dir)}  →  "
                "Authorization: Bearer <token>",
                flush=True,
            )
            print(
                "Stand-ins      "
                + ", ".join(f"{name} {port}" for name, port in ports.items())
                + f" (also in {up_file})",
                flush=True,
            )
            print("Stop           Ctrl-C (in-flight messages finish first)", flush=True)
            print(
                f"Connectors     loopback destinations {'allowed (local simulators)' if loopback else 'refused'}",
                flush=True,
            )
            try:
                asyncio.run(serve("function_app:app", port=api_port, workers=args.workers))
            finally:
                up_file.unlink(missing_ok=True)
    return 0


def _data_dir_option(data_dir: Path) -> str:
    return "" if data_dir == DATA_DIR.resolve() else f" --data-dir {data_dir}"


def cmd_token(args: argparse.Namespace) -> int:
    from tools.dev_issuer import mint_dev_token

    data_dir = Path(args.data_dir).resolve()
    port = args.issuer_port
    if port is None:
        up = read_up_file(data_dir)
        if up is None:
            print(
                f"ferry token: no `ferry up` runs from {data_dir} ({UP_FILE} is missing); start it, or pass "
                "--issuer-port",
                file=sys.stderr,
            )
            return 2
        port = int(up["ports"]["issuer"])
    print(
        mint_dev_token(
            args.email, key_dir=data_dir / "dev-issuer", port=port, audience=AUDIENCE, name=args.name, ttl=args.ttl
        )
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tools.demo import run_demo

    return run_demo(args)


def demo_kinds() -> list[str]:
    """The vendors the demo offers: the connector registry's, where the demo can simulate them."""
    from shared.connectors.registry import available_kinds
    from tools.demo import DEMO_VENDORS

    return [kind for kind in available_kinds() if kind in DEMO_VENDORS]


def build_parser() -> argparse.ArgumentParser:
    """The `ferry` command line."""
    parser = argparse.ArgumentParser(
        prog="ferry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the local stack and serve every trigger")
    up.add_argument("--fresh", action="store_true", help="wipe local data first")
    up.add_argument("--workers", type=int, default=1, help="queue worker processes (0 = in the API process)")
    up.add_argument("--port", type=int, default=API_PORT, help=f"the API's port (default {API_PORT}; 0 = a free one)")
    up.add_argument("--data-dir", default=str(DATA_DIR), help="where local data, issuer keys and up.json live")
    for name in STAND_INS:
        up.add_argument(
            f"--{name}-port", type=int, default=0, help=f"port of the {name} stand-in (default: a free one)"
        )
    up.add_argument(
        "--allow-loopback-connectors",
        action="store_true",
        help="let connectors reach vendor simulators on this machine (off by default)",
    )
    up.set_defaults(func=cmd_up)
    tok = sub.add_parser("token", help="print a bearer token for EMAIL from the development issuer")
    tok.add_argument("email")
    tok.add_argument("--name")
    tok.add_argument("--ttl", type=int, default=3600)
    tok.add_argument("--data-dir", default=str(DATA_DIR), help="the data dir of the `ferry up` to sign in to")
    tok.add_argument("--issuer-port", type=int, help="the issuer's port (default: from the running `ferry up`)")
    tok.set_defaults(func=cmd_token)
    demo = sub.add_parser("demo", help="run a demo migration between simulated vendors")
    kinds = demo_kinds()
    demo.add_argument("--source", default="trello", choices=kinds)
    demo.add_argument("--destination", default="asana", choices=kinds)
    demo.add_argument("--boards", type=int, default=3)
    demo.add_argument("--cards", type=int, default=100, help="cards per board")
    demo.add_argument("--max-attachment-mb", type=int, default=20)
    demo.add_argument("--workers", type=int, default=1, help="queue worker processes")
    demo.add_argument("--keep", action="store_true", help="keep the API running after the demo (Ctrl-C stops)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
