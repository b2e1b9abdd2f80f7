// One form per connector kind and auth type, mirroring the API's connection models
// (shared/connectors/kinds.py). Secret fields are write-only: never shown, only replaced.

export interface FieldDef {
  name: string;
  label: string;
  secret?: boolean;
  type?: string;
  hint?: string;
  optional?: boolean;
}

export interface AuthDef {
  label: string;
  fields: FieldDef[];
  note?: string;
}

export interface KindDef {
  label: string;
  fields: FieldDef[];
  auths: Record<string, AuthDef>;
}

const entra: FieldDef[] = [
  { name: "entra_tenant_id", label: "Directory (tenant) ID or domain", hint: "e.g. contoso.onmicrosoft.com" },
  { name: "client_id", label: "Application (client) ID", hint: "the Entra app registration's GUID" },
];

export const KINDS: Record<string, KindDef> = {
  trello: {
    label: "Trello",
    fields: [],
    auths: {
      api_key_token: {
        label: "API key and token",
        fields: [
          { name: "api_key", label: "API key", secret: true },
          { name: "token", label: "Token", secret: true, hint: "from trello.com/app-key → Token" },
        ],
      },
    },
  },
  asana: {
    label: "Asana",
    fields: [],
    auths: {
      pat: { label: "Personal access token", fields: [{ name: "token", label: "Personal access token", secret: true }] },
      oauth_app: {
        label: "OAuth app",
        note:
          "Save the app's credentials, then press “Sign in with the tool” on the connector: the tool asks you to allow access and Ferry keeps the refresh token it gives, encrypted. Register this console's /console/oauth/callback as the app's redirect URI (or name yours below).",
        fields: [
          { name: "client_id", label: "Client ID" },
          { name: "client_secret", label: "Client secret", secret: true },
          { name: "redirect_uri", label: "Redirect URI", type: "url", optional: true },
          { name: "refresh_token", label: "Refresh token", secret: true, optional: true, hint: "optional: only to paste a token obtained elsewhere" },
        ],
      },
    },
  },
  planner: {
    label: "Microsoft Planner (Microsoft 365)",
    fields: [],
    auths: {
      client_credentials: {
        label: "Entra application (client secret)",
        fields: [...entra, { name: "client_secret", label: "Client secret", secret: true }],
      },
      username_password: {
        label: "Microsoft 365 username and password",
        fields: [
          ...entra,
          { name: "username", label: "Username", type: "email" },
          { name: "password", label: "Password", secret: true },
        ],
      },
    },
  },
  jira: {
    label: "Jira",
    fields: [{ name: "site_url", label: "Site URL", type: "url", hint: "https://your-site.atlassian.net" }],
    auths: {
      api_token: {
        label: "Email and API token",
        fields: [
          { name: "email", label: "Email", type: "email" },
          { name: "api_token", label: "API token", secret: true },
        ],
      },
    },
  },
  azure_devops: {
    label: "Azure DevOps",
    fields: [{ name: "organization_url", label: "Organization URL", type: "url", hint: "https://dev.azure.com/your-org" }],
    auths: { pat: { label: "Personal access token", fields: [{ name: "pat", label: "Personal access token", secret: true }] } },
  },
  monday: {
    label: "monday.com",
    fields: [],
    auths: { api_token: { label: "API token", fields: [{ name: "api_token", label: "API token", secret: true }] } },
  },
};

export function kindLabel(kind: string): string {
  return KINDS[kind]?.label ?? kind;
}
