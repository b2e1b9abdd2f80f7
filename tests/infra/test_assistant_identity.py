"""The assistant's isolation in the stamp (issue 17): its own user-assigned identity, whose
only roles are reading the search index and using the OpenAI deployments — no Cosmos DB,
Key Vault or Storage role anywhere — attached to the app and named by
FERRY_ASSISTANT_CLIENT_ID, which the code uses for answering."""

from __future__ import annotations

from tests.infra.bicep_model import MAIN, app_settings, module, module_calls, parse, resources_of_type

SEARCH_INDEX_DATA_READER = "1407120a-92aa-4202-b7e9-c0e197c71c8f"
OPENAI_USER = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"


def test_assistant_identity_has_exactly_two_read_roles() -> None:
    assistant = module("assistant")
    roles = assistant["variables"]["roles"]["value"]
    assert set(roles.values()) == {SEARCH_INDEX_DATA_READER, OPENAI_USER}
    assignments = resources_of_type(assistant, "Microsoft.Authorization/roleAssignments")
    assert {a["scope"] for a in assignments.values()} == {"search", "openAi"}
    for assignment in assignments.values():  # the module's own identity, nobody else
        principal = str(assignment["properties"]["principalId"])
        assert "'identity'" in principal and "'principalId'" in principal
    by_scope = {a["scope"]: a["properties"]["roleDefinitionId"] for a in assignments.values()}
    assert "searchIndexDataReader" in str(by_scope["search"])
    assert "cognitiveServicesOpenAiUser" in str(by_scope["openAi"])


def test_assistant_identity_touches_no_data_store_or_secret() -> None:
    assistant = module("assistant")
    types = {r["type"] for r in assistant["resources"].values()}
    assert types == {
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Search/searchServices",
        "Microsoft.CognitiveServices/accounts",
    }
    assert not any(t.startswith(("Microsoft.DocumentDB", "Microsoft.KeyVault", "Microsoft.Storage")) for t in types)
    # Nor does the stamp hand the assistant identity to the stamp's role module.
    for name, (_, params) in module_calls(parse(MAIN)).items():
        if name in ("hostRoles", "peerRoles"):
            assert "assistant" not in str(params.get("principalId"))


def test_the_app_carries_the_assistant_identity_and_names_it() -> None:
    calls = module_calls(parse(MAIN))
    assert "'search'" in str(calls["assistant"][1]["searchServiceName"])
    assert "'openAi'" in str(calls["assistant"][1]["openAiAccountName"])
    client_id = str(calls["functionApp"][1]["assistantIdentityClientId"])
    assert "'assistant'" in client_id and "'clientId'" in client_id
    settings = {s["name"]: s["value"] for s in app_settings()}
    assert settings["FERRY_ASSISTANT_CLIENT_ID"] == "assistantIdentityClientId"
    site = resources_of_type(module("functionapp"), "Microsoft.Web/sites")["app"]
    assert "'${assistantIdentityId}'" in site["identity"]["userAssignedIdentities"]
