// Where the API is. Served by the Functions app, the console calls `/api` on its own origin;
// uploaded to a Static Web App (infra/bicep/modules/console.bicep), its config.json names the
// stamp's API on another origin (`https://func-….azurewebsites.net/api`), which CORS admits.
let apiOrigin = "";

/** Take the configured API base (`/api` or `https://host/api`): every API path goes there. */
export function setApiBase(apiBase: string | undefined): void {
  if (!apiBase || apiBase.startsWith("/")) {
    apiOrigin = "";
    return;
  }
  const u = new URL(apiBase);
  apiOrigin = u.origin === location.origin ? "" : u.origin;
}

/** The URL of an API path (`/api/...`); absolute URLs, already elsewhere, are kept. */
export function apiUrl(path: string): string {
  return apiOrigin && path.startsWith("/") ? `${apiOrigin}${path}` : path;
}

/** A request the typed client built against this page's origin, sent to the API's instead.
 * The body is copied as bytes: a Request passed as another's init would carry it as a stream,
 * which Chromium refuses without `duplex`. */
export async function toApiOrigin(request: Request): Promise<Request> {
  if (!apiOrigin) return request;
  const u = new URL(request.url);
  if (u.origin !== location.origin) return request;
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
  return new Request(`${apiOrigin}${u.pathname}${u.search}`, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
  });
}
