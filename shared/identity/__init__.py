"""Identity and tenancy core: token validation, regions, roles, API keys, abuse limits.

Pure modules with no storage or web-framework imports; the HTTP layer wires them into
dependencies and the data layer persists what they decide.
"""
