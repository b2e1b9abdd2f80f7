"""The web console's hosting in the stamp (issue 15): the Function App serves it by default;
with `consoleHosting=staticWebApp` a Static Web App serves the same build, its origins join
the API's CORS list, and the deployment's `consoleConfig` output is what the console's
`config.json` and the site's headers are written from.

There is no Bicep compiler here, so the wiring is evaluated from the parsed templates
(bicep_model.evaluate) for each hosting choice, with the host names Azure would assign.
"""

from __future__ import annotations

from typing import Any

import pytest

from functions.http_api.console import (
    ASSET_CACHE,
    CONSOLE_CONFIG_KEYS,
    static_site_console_config,
    static_web_app_config,
)
from tests.infra.bicep_model import (
    MAIN,
    app_settings,
    decorator,
    evaluate,
    module,
    module_calls,
    one_resource,
    parameter_default,
    parameter_file,
    parse,
)

SITE_HOST = "nice-sea-0a1b2c3d4.6.azurestaticapps.net"
APP_HOST = "func-ferryprodeu.azurewebsites.net"
CUSTOM = "console.ferry.example"


def _main_scope(region: str, **overrides: str) -> dict[str, Any]:
    """main.bicep's parameters for one parameter file: its values, else the defaults."""
    main = parse(MAIN)
    values: dict[str, Any] = {**parameter_file(region), **overrides}
    scope: dict[str, Any] = {"stampRegion": values["stampRegion"]}
    for name in main["parameters"]:
        if name in values:
            scope[name] = values[name]
        elif parameter_default(main, name) is not None:
            scope[name] = evaluate(parameter_default(main, name), scope)
    return scope


def _site_outputs(custom_domain: str) -> dict[str, Any]:
    """modules/console.bicep's outputs, with the host name Azure gives the site."""
    console = module("console")
    scope: dict[str, Any] = {
        "customDomain": custom_domain,
        "site": {"name": "swa-ferryprodeu", "properties": {"defaultHostname": SITE_HOST}},
    }
    for name, var in console["variables"].items():
        scope[name] = evaluate(var["value"], scope)
    return {name: evaluate(out["value"], scope) for name, out in console["outputs"].items()}


def _deploy(region: str, hosting: str, custom_domain: str = "") -> dict[str, Any]:
    """What main.bicep hands the Function App and outputs, for one hosting choice."""
    main = parse(MAIN)
    scope = _main_scope(region, consoleHosting=hosting, consoleCustomDomain=custom_domain)
    calls = module_calls(main)
    condition = main["modules"]["consoleSite"]["config"]["condition"]
    deployed = evaluate(condition, scope)
    if deployed:
        # The module gets the parameters main passes it; only then are its outputs there.
        params = calls["consoleSite"][1]
        assert evaluate(params["customDomain"], scope) == custom_domain
        scope["consoleSite"] = {"outputs": _site_outputs(custom_domain)}
    scope["consoleOrigins"] = evaluate(main["variables"]["consoleOrigins"]["value"], scope)
    scope["functionApp"] = {"outputs": {"defaultHostName": APP_HOST}}
    outputs = {
        name: evaluate(out["value"], scope) for name, out in main["outputs"].items() if name.startswith("console")
    }
    cors = evaluate(calls["functionApp"][1]["corsAllowedOrigins"], scope)
    return {"siteDeployed": deployed, "cors": cors, "outputs": outputs, "scope": scope}


def test_the_app_serves_the_console_by_default_and_deploys_no_site() -> None:
    main = parse(MAIN)
    assert parameter_default(main, "consoleHosting") == "app"
    assert decorator(main, "consoleHosting", "allowed") == ["app", "staticWebApp"]
    for region in ("eu", "us"):
        result = _deploy(region, "app")
        assert result["siteDeployed"] is False
        assert result["cors"] == parameter_file(region)["corsAllowedOrigins"]
        assert result["outputs"]["consoleUrl"] == f"https://{APP_HOST}/console/"
        assert result["outputs"]["consoleStaticWebAppName"] == ""


@pytest.mark.parametrize("custom_domain", ["", CUSTOM])
def test_a_static_web_app_joins_the_api_cors_list(custom_domain: str) -> None:
    result = _deploy("eu", "staticWebApp", custom_domain)
    assert result["siteDeployed"] is True
    expected = [f"https://{SITE_HOST}"] + ([f"https://{custom_domain}"] if custom_domain else [])
    assert result["scope"]["consoleOrigins"] == expected
    # The parameter file's own origins stay, each origin once, never "*".
    assert result["cors"] == parameter_file("eu")["corsAllowedOrigins"] + expected
    assert "*" not in result["cors"]
    url = f"https://{custom_domain or SITE_HOST}/console/"
    assert result["outputs"]["consoleUrl"] == url
    assert result["outputs"]["consoleStaticWebAppName"] == "swa-ferryprodeu"


def test_the_function_app_applies_that_cors_list() -> None:
    site = one_resource(module("functionapp"), "Microsoft.Web/sites")
    cors = site["properties"]["siteConfig"]["cors"]
    assert cors == {"allowedOrigins": "corsAllowedOrigins", "supportCredentials": False}  # bearer tokens, no cookies


@pytest.mark.parametrize("hosting", ["app", "staticWebApp"])
def test_console_config_output_makes_the_static_site(hosting: str) -> None:
    """The output the README's deploy step feeds to `console static-site` is accepted as is, and
    the site's policy lets the page reach the stamp's API and the issuer."""
    config = _deploy("eu", hosting)["outputs"]["consoleConfig"]
    assert tuple(config) == CONSOLE_CONFIG_KEYS
    as_az_prints_it = {"consoleConfig": {"type": "Object", "value": config}}
    site_config = static_site_console_config(as_az_prints_it)
    assert site_config["apiBase"] == f"https://{APP_HOST}/api"
    assert site_config["issuer"] == parameter_file("eu")["oidcIssuers"][0]
    assert (
        site_config["clientId"] == "ferry-console" and site_config["audience"] == parameter_file("eu")["oidcAudience"]
    )
    swa = static_web_app_config(site_config)
    csp = dict(d.strip().split(" ", 1) for d in swa["globalHeaders"]["Content-Security-Policy"].split(";"))
    assert f"https://{APP_HOST}" in csp["connect-src"].split()
    assert "https://login.microsoftonline.com" in csp["connect-src"].split()
    assert csp["script-src"] == "'self'"
    assets = next(r for r in swa["routes"] if r["route"] == "/console/assets/*")
    assert assets["headers"]["Cache-Control"] == ASSET_CACHE


def test_the_static_web_app_has_no_repository_and_no_preview_environments() -> None:
    console = module("console")
    site = one_resource(console, "Microsoft.Web/staticSites")
    assert site["properties"]["provider"] == "None"
    assert site["properties"]["stagingEnvironmentPolicy"] == "Disabled"
    assert site["sku"] == {"name": "plan", "tier": "plan"}
    domain = one_resource(console, "Microsoft.Web/staticSites/customDomains")
    assert domain["properties"]["validationMethod"] == "cname-delegation"
    assert console["resources"]["domain"]["config"]["condition"]["operator"]["type"] == "not"  # only when named
    # main's choices are exactly what the module accepts
    main = parse(MAIN)
    assert decorator(main, "consoleLocation", "allowed") == decorator(console, "location", "allowed")
    assert decorator(main, "consoleSku", "allowed") == decorator(console, "plan", "allowed")
    assert evaluate(parameter_default(main, "consoleLocation"), {"stampRegion": "eu"}) == "westeurope"
    assert evaluate(parameter_default(main, "consoleLocation"), {"stampRegion": "us"}) == "eastus2"


def test_the_app_served_console_signs_in_with_the_stamp_client() -> None:
    """FERRY_CONSOLE_CLIENT_ID / _SCOPE, which /console/config.json reads, come from the same
    parameters as the Static Web App's config.json."""
    settings = {s["name"]: s["value"] for s in app_settings()}
    assert settings["FERRY_CONSOLE_CLIENT_ID"] == "consoleClientId"
    assert settings["FERRY_CONSOLE_SCOPE"] == "consoleScope"
    params = module_calls(parse(MAIN))["functionApp"][1]
    assert params["consoleClientId"] == "consoleClientId" and params["consoleScope"] == "consoleScope"
    config = parse(MAIN)["outputs"]["consoleConfig"]["value"]
    assert config["clientId"] == "consoleClientId" and config["scope"] == "consoleScope"
