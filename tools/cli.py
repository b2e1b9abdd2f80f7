"""`ferry`: the developer command (installed into the project's virtual environment).

    ferry up [--fresh] [--workers N] [--allow-loopback-connectors]
                                       stand-ins + development issuer + every trigger
    ferry token EMAIL                  a bearer token from the development issuer
    ferry demo [...]                   the demo migration between simulated vendors
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".ferry"
ISSUER_PORT = 8765
API_PORT = 7071
PORTS = {"blob": 10000, "queue": 10001, "cosmos": 8081}
AUDIENCE = "api://ferry-local"


def local_values(stack_values: dict[str, str], *, loopback_connectors: bool) -> dict[str, str]:
    """Settings of a local run: the stand-ins' plus identity and connector switches.

    Loopback connectors (vendor simulators on this machine) are a choice of the caller:
    `ferry demo` runs its own simulators and turns them on; `ferry up` leaves them off unless
    asked (see `loopback_connectors_wanted`).
    """
    return {
        **stack_values,
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "FERRY_OIDC_ISSUERS": f"http://127.0.0.1:{ISSUER_PORT}",
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


def _apply_env(values: dict[str, str]) -> None:
    for key, value in values.items():
        os.environ[key] = value


def cmd_up(args: argparse.Namespace) -> int:
    from tools.dev_issuer import DevIssuer
    from tools.devhost.logsetup import configure_logging
    from tools.devhost.runner import serve
    from tools.stack import running_stack

    configure_logging()
    settings_file = ensure_local_settings()
    configured = json.loads(settings_file.read_text())["Values"]
    with running_stack(DATA_DIR / "stack", fresh=args.fresh, blob_port=PORTS["blob"],
                       queue_port=PORTS["queue"], cosmos_port=PORTS["cosmos"], persist_cosmos=True) as stack:
        loopback = loopback_connectors_wanted({**configured, **os.environ}, flag=args.allow_loopback_connectors)
        values = {**local_values(stack.values(), loopback_connectors=loopback),
                  **{k: v for k, v in configured.items() if k.startswith("FERRY_LOG")}}
        _apply_env(values)
        issuer = DevIssuer(DATA_DIR / "dev-issuer")
        with issuer.serve(ISSUER_PORT):
            print(f"Ferry API      http://127.0.0.1:{args.port}/api/docs", flush=True)
            print(f"Health         http://127.0.0.1:{args.port}/api/health", flush=True)
            print("Sign in        ferry token you@example.com  →  Authorization: Bearer <token>", flush=True)
            print("Stop           Ctrl-C (in-flight messages finish first)", flush=True)
            print(f"Connectors     loopback destinations {'allowed (local simulators)' if loopback else 'refused'}",
                  flush=True)
            asyncio.run(serve("function_app:app", port=args.port, workers=args.workers))
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from tools.dev_issuer import mint_dev_token

    print(mint_dev_token(args.email, key_dir=DATA_DIR / "dev-issuer", port=ISSUER_PORT,
                         audience=AUDIENCE, name=args.name, ttl=args.ttl))
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
    parser = argparse.ArgumentParser(prog="ferry", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the local stack and serve every trigger")
    up.add_argument("--fresh", action="store_true", help="wipe local data first")
    up.add_argument("--workers", type=int, default=1, help="queue worker processes (0 = in the API process)")
    up.add_argument("--port", type=int, default=API_PORT)
    up.add_argument("--allow-loopback-connectors", action="store_true",
                    help="let connectors reach vendor simulators on this machine (off by default)")
    up.set_defaults(func=cmd_up)
    tok = sub.add_parser("token", help="print a bearer token for EMAIL from the development issuer")
    tok.add_argument("email")
    tok.add_argument("--name")
    tok.add_argument("--ttl", type=int, default=3600)
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
