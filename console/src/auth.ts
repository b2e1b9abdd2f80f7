// OIDC authorization code + PKCE (S256) for a public client. Tokens live in this module's
// memory only (never localStorage); only the PKCE verifier, state and nonce cross the
// redirect, in sessionStorage, and are removed as soon as the code is exchanged.
// Renewal: a refresh-token grant shortly before the access token expires; when that fails,
// a silent `prompt=none` round trip to the issuer (its session), else the sign-in page.

import { setApiBase } from "./api/origin";

export interface ConsoleConfig {
  issuer: string;
  clientId: string;
  scope: string;
  audience: string;
  apiBase: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

interface Tokens {
  accessToken: string;
  idToken?: string;
  refreshToken?: string;
  expiresAt: number; // ms since epoch
  email: string;
  name?: string;
}

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

const PENDING = "ferry.oidc.pending";
const SIGNED_IN = "ferry.oidc.signedIn"; // a hint only (no token): try a silent sign-in on reload
export const CALLBACK_PATH = "/console/callback";

let config: ConsoleConfig | null = null;
let discovery: Discovery | null = null;
let tokens: Tokens | null = null;
let renewTimer: number | undefined;
let renewing: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

function notify() {
  for (const l of listeners) l();
}

export function onAuthChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const arr = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const b of arr) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n = 32): string {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

async function s256(verifier: string): Promise<string> {
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
  return JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  if (config) return config;
  const r = await fetch("/console/config.json", { cache: "no-cache" });
  if (!r.ok) throw new Error(`the console's configuration did not load (${r.status})`);
  config = (await r.json()) as ConsoleConfig;
  setApiBase(config.apiBase);
  const d = await fetch(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!d.ok) throw new Error(`the sign-in service did not answer (${d.status})`);
  discovery = (await d.json()) as Discovery;
  return config;
}

function redirectUri(): string {
  return `${location.origin}${CALLBACK_PATH}`;
}

export async function signIn(opts: { returnTo?: string; silent?: boolean } = {}): Promise<void> {
  await loadConfig();
  const pending: Pending = {
    verifier: random(48),
    state: random(16),
    nonce: random(16),
    returnTo: opts.returnTo ?? location.pathname + location.search,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: config!.clientId,
    redirect_uri: redirectUri(),
    scope: config!.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: "S256",
  });
  if (opts.silent) q.set("prompt", "none");
  location.assign(`${discovery!.authorization_endpoint}?${q}`);
}

async function tokenRequest(body: Record<string, string>): Promise<Tokens> {
  const r = await fetch(discovery!.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body),
  });
  const data = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok) throw new Error(String(data.error_description ?? data.error ?? `token endpoint answered ${r.status}`));
  const access = String(data.access_token);
  const c = claims(String(data.id_token ?? access));
  return {
    accessToken: access,
    idToken: data.id_token ? String(data.id_token) : undefined,
    refreshToken: data.refresh_token ? String(data.refresh_token) : tokens?.refreshToken,
    expiresAt: Date.now() + Number(data.expires_in ?? 300) * 1000,
    email: String(c.email ?? c.preferred_username ?? ""),
    name: c.name ? String(c.name) : undefined,
  };
}

/** On /console/callback: exchange the code. Returns where to go next, or throws. */
export async function completeSignIn(): Promise<string> {
  await loadConfig();
  const params = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  const pending = raw ? (JSON.parse(raw) as Pending) : null;
  if (!pending || params.get("state") !== pending.state) throw new Error("the sign-in answer does not match a request from this tab");
  const error = params.get("error");
  if (error) {
    sessionStorage.removeItem(SIGNED_IN);
    throw new SignInError(error, params.get("error_description") ?? "");
  }
  const got = await tokenRequest({
    grant_type: "authorization_code",
    code: params.get("code") ?? "",
    redirect_uri: redirectUri(),
    client_id: config!.clientId,
    code_verifier: pending.verifier,
  });
  if (got.idToken) {
    const c = claims(got.idToken);
    if (c.nonce !== pending.nonce) throw new Error("the sign-in answer carries another nonce");
    if (c.iss !== config!.issuer) throw new Error("the ID token comes from another issuer");
  }
  setTokens(got);
  sessionStorage.setItem(SIGNED_IN, "1");
  return pending.returnTo && pending.returnTo.startsWith("/console") && !pending.returnTo.startsWith(CALLBACK_PATH)
    ? pending.returnTo
    : "/console/";
}

export class SignInError extends Error {
  constructor(
    public code: string,
    description: string,
  ) {
    super(description || code);
  }
}

function setTokens(t: Tokens | null) {
  tokens = t;
  window.clearTimeout(renewTimer);
  if (t) {
    const lifetime = t.expiresAt - Date.now();
    const lead = Math.min(60_000, lifetime / 2); // renew a minute early (half-way for short tokens)
    renewTimer = window.setTimeout(() => void renew(), Math.max(1_000, lifetime - lead));
  }
  notify();
}

/** Renew now (refresh token). Returns false when the user must sign in again. */
export function renew(): Promise<boolean> {
  if (renewing) return renewing;
  renewing = (async () => {
    try {
      if (!tokens?.refreshToken) throw new Error("no refresh token");
      setTokens(
        await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refreshToken, client_id: config!.clientId }),
      );
      return true;
    } catch {
      if (tokens && tokens.expiresAt > Date.now() + 5_000) return true;
      setTokens(null);
      return false;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

export async function accessToken(): Promise<string | null> {
  if (tokens && tokens.expiresAt - Date.now() < 5_000) await renew();
  return tokens?.accessToken ?? null;
}

export function currentUser(): { email: string; name?: string; expiresAt: number } | null {
  return tokens ? { email: tokens.email, name: tokens.name, expiresAt: tokens.expiresAt } : null;
}

export function wantsSilentSignIn(): boolean {
  return sessionStorage.getItem(SIGNED_IN) === "1";
}

export async function signOut(): Promise<void> {
  const idToken = tokens?.idToken;
  setTokens(null);
  sessionStorage.removeItem(SIGNED_IN);
  await loadConfig().catch(() => undefined);
  if (discovery?.end_session_endpoint) {
    const q = new URLSearchParams({ post_logout_redirect_uri: `${location.origin}/console/`, client_id: config!.clientId });
    if (idToken) q.set("id_token_hint", idToken);
    location.assign(`${discovery.end_session_endpoint}?${q}`);
  } else {
    location.assign("/console/");
  }
}
