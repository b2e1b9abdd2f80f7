"""Read the triggers of a function app through `app.get_functions()`, as the host does."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Trigger:
    name: str
    kind: str  # httpTrigger | queueTrigger | timerTrigger
    binding: dict[str, Any]
    function: Callable[..., Any]

    @property
    def arg_name(self) -> str:
        return str(self.binding["name"])


def load_app(spec: str) -> Any:
    """`module:attribute`, e.g. `function_app:app`."""
    module_name, _, attr = spec.partition(":")
    # Like the host, import from the function app's root folder.
    root = str(Path(__file__).resolve().parent.parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    module = importlib.import_module(module_name)
    return getattr(module, attr or "app")


def triggers(app: Any) -> list[Trigger]:
    """The app's triggers; `get_functions()` may run only once per app (it indexes names)."""
    cached = getattr(app, "_ferry_triggers", None)
    if cached is not None:
        return list(cached)
    out: list[Trigger] = []
    for fn in app.get_functions():
        bindings = json.loads(fn.get_function_json())["bindings"]
        trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), None)
        if trigger is None:
            continue
        out.append(Trigger(fn.get_function_name(), trigger["type"], trigger, fn.get_user_function()))
    app._ferry_triggers = tuple(out)
    return out
