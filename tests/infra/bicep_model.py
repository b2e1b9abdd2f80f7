"""Read the Bicep region stamp with pycep-parser, for the infra tests.

pycep turns a `.bicep` file into JSON-like dicts: ``parameters``, ``variables``,
``resources`` (symbolic name → {type, api_version, config}), ``modules`` (symbolic
name → {path, config: {params}}) and ``outputs``. Identifiers and string literals
both come out as plain strings, so the helpers here only read what is literal in
the templates (names, settings keys, fixed property values).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[2]
BICEP_DIR = REPO_ROOT / "infra" / "bicep"
MAIN = BICEP_DIR / "main.bicep"
MODULES = BICEP_DIR / "modules"
PARAMETER_FILES = {
    "eu": BICEP_DIR / "main.eu.parameters.json",
    "us": BICEP_DIR / "main.us.parameters.json",
}


def bicep_files() -> list[Path]:
    """Every `.bicep` file of the stamp, sorted."""
    return sorted(BICEP_DIR.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """Parse one Bicep file (cached; the parser raises on a syntax error)."""
    parsed: dict[str, Any] = dict(BicepParser().parse(text=path.read_text(encoding="utf-8")))
    return parsed


def module(name: str) -> dict[str, Any]:
    """Parsed `modules/<name>.bicep`."""
    return parse(MODULES / f"{name}.bicep")


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of one ARM type in a parsed template: symbolic name → config."""
    found = {}
    for symbol, res in template.get("resources", {}).items():
        if res["type"] != resource_type or res.get("existing"):
            continue
        config = res["config"]
        if "loop_type" in config or "condition" in config:  # `[for ...]` / `if (...)` wrap the body
            config = config["config"]
        found[symbol] = config
    return found


def one_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The single resource of a type in a template (fails if there is not exactly one)."""
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def string_array_variable(template: dict[str, Any], name: str) -> list[str]:
    """A `var name = ['a', 'b']` of literal strings."""
    value = template["variables"][name]["value"]
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), value
    return list(value)


def parameter_default(template: dict[str, Any], name: str) -> Any:
    """Default value of a parameter (None when it has none)."""
    return template["parameters"][name].get("default")


def decorator(template: dict[str, Any], param: str, kind: str) -> Any:
    """Argument of `@kind(...)` on a parameter, or None."""
    for deco in template["parameters"][param].get("decorators", []):
        if deco.get("type") == kind:
            return deco.get("argument")
    return None


def app_settings() -> list[dict[str, Any]]:
    """The Function App's `siteConfig.appSettings` entries ({name, value})."""
    site = one_resource(module("functionapp"), "Microsoft.Web/sites")
    settings = site["properties"]["siteConfig"]["appSettings"]
    assert isinstance(settings, list) and settings, "siteConfig.appSettings is empty"
    return settings


def app_setting_names() -> list[str]:
    """Names of every app setting the Bicep sets, in file order."""
    return [entry["name"] for entry in app_settings()]


def parameter_file(region: str) -> dict[str, Any]:
    """Values of one stamp parameter file: parameter name → value."""
    raw = json.loads(PARAMETER_FILES[region].read_text(encoding="utf-8"))
    return {name: spec["value"] for name, spec in raw["parameters"].items()}


def module_calls(template: dict[str, Any]) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Modules a template calls: symbolic name → (resolved path, params passed)."""
    calls = {}
    for symbol, mod in template.get("modules", {}).items():
        path = (BICEP_DIR / mod["detail"]["path"]).resolve()
        config = mod["config"]
        if "condition" in config:  # `module x '...' = if (cond) { ... }`
            config = config["config"]
        calls[symbol] = (path, config.get("params", {}))
    return calls


def _render(template_string: str, values: dict[str, str]) -> str:
    """Substitute `${name}` placeholders of a Bicep interpolated string."""
    out = template_string
    for key, value in values.items():
        out = out.replace("${" + key + "}", value)
    assert "${" not in out, f"unresolved placeholder in {template_string!r}"
    return out


def stamp_stores(name_prefix: str, region: str) -> dict[str, str]:
    """Names and endpoints a stamp deploys, derived from main.bicep's naming patterns.

    The host-name suffixes are Azure's public-cloud conventions for each service:
    Cosmos `documentEndpoint`, Key Vault `vaultUri`, Search `https://{name}.search.windows.net`
    and an OpenAI account with a custom subdomain.
    """
    main = parse(MAIN)
    base = _render(main["variables"]["base"]["value"], {"namePrefix": name_prefix, "stampRegion": region})
    calls = module_calls(main)
    name = {
        symbol: _render(params["name"], {"base": base})
        for symbol, (_, params) in calls.items()
        if isinstance(params.get("name"), str) and "${base}" in params["name"]
    }
    database = _render(parameter_default(main, "cosmosDatabaseName"), {"stampRegion": region})
    return {
        "storageAccount": name["storage"],
        "cosmosAccount": name["cosmos"],
        "cosmosEndpoint": f"https://{name['cosmos']}.documents.azure.com:443/",
        "cosmosDatabase": database,
        "keyVaultName": name["keyVault"],
        "keyVaultUri": f"https://{name['keyVault']}.vault.azure.net/",
        "searchEndpoint": f"https://{name['search']}.search.windows.net",
        "openAiEndpoint": f"https://{name['openAi']}.openai.azure.com/",
    }


def evaluate(expression: Any, scope: dict[str, Any]) -> Any:
    """Evaluate the small Bicep subset the app settings and console wiring use.

    Handles identifiers and literals (pycep renders both as strings: a string that names
    a scope entry is taken as that identifier), `${x}` interpolation (`x` may be a dotted
    path given whole in the scope), array and object literals, `a.b.c` property access,
    `a[0]`, `c ? x : y`, `==`, `!`, and the functions `join`, `union` (arrays) and `empty`.
    Anything else fails loudly.
    """
    if isinstance(expression, (bool, int)):
        return expression
    if isinstance(expression, str):
        if expression in scope:
            return scope[expression]
        out = _INTERPOLATION.sub(lambda m: _interpolated(m.group(1), scope) or m.group(0), expression)
        assert "${" not in out, f"cannot evaluate {expression!r}"
        return out
    if isinstance(expression, list):
        return [evaluate(item, scope) for item in expression]
    if "operator" in expression:
        kind = expression["operator"]["type"]
        operands = expression["operator"]["operands"]
        if kind == "property_accessor":
            return _property(evaluate(operands["operand_1"], scope), operands["operand_2"])
        if kind == "index_accessor":
            return evaluate(operands["operand_1"], scope)[evaluate(operands["operand_2"], scope)]
        if kind == "conditional":
            chosen = "true_value" if evaluate(operands["condition"], scope) else "false_value"
            return evaluate(operands[chosen], scope)
        if kind == "equals":
            return evaluate(operands["operand_1"], scope) == evaluate(operands["operand_2"], scope)
        if kind == "not":
            return not evaluate(operands["bool_value"], scope)
        raise AssertionError(f"unsupported Bicep operator {kind!r}")
    if "function" in expression:
        kind = expression["function"]["type"]
        args = expression["function"]["parameters"]
        if kind == "join":
            return evaluate(args["delimiter"], {}).join(evaluate(args["input_array"], scope))
        if kind == "union":  # of arrays: each value once, in order of first appearance
            merged: list[Any] = []
            for key in sorted(args, key=lambda k: int(k.removeprefix("arg_"))):
                merged += [v for v in evaluate(args[key], scope) if v not in merged]
            return merged
        if kind == "empty":
            return not evaluate(args["item_to_test"], scope)
        raise AssertionError(f"unsupported Bicep function {kind!r}")
    return {key: evaluate(value, scope) for key, value in expression.items()}  # an object literal


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def _interpolated(path: str, scope: dict[str, Any]) -> str | None:
    """The string a `${a.b.c}` placeholder stands for, or None when the scope lacks it."""
    value: Any = scope
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, str) else None


def _property(value: Any, accessor: Any) -> Any:
    """`value.a` or, nested as pycep renders `x.a.b`, `value.a.b`."""
    if isinstance(accessor, str):
        return value[accessor]
    operands = accessor["operator"]["operands"]
    assert accessor["operator"]["type"] == "property_accessor", accessor
    return _property(value[operands["operand_1"]], operands["operand_2"])
