// The typed API client: openapi-fetch over the types generated from /api/openapi.json
// (src/api/schema.d.ts, made by the build). Every call carries the in-memory access token;
// every problem+json answer becomes an ApiProblem with the fields it names.
import createClient from "openapi-fetch";
import { accessToken, renew } from "../auth";
import { apiUrl, toApiOrigin } from "./origin";
import type { paths } from "./schema";

export const api = createClient<paths>({ baseUrl: "" });

api.use({
  async onRequest({ request }) {
    const token = await accessToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return toApiOrigin(request);
  },
});

export interface FieldError {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    public status: number,
    public title: string,
    public detail: string | undefined,
    public errors: FieldError[] = [],
    public type?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }

  static from(status: number, body: unknown): ApiProblem {
    const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const errors = Array.isArray(b.errors)
      ? (b.errors as Record<string, unknown>[]).map((e) => ({ field: String(e.field ?? ""), message: String(e.message ?? "") }))
      : [];
    return new ApiProblem(
      status,
      String(b.title ?? (status === 0 ? "Network error" : `HTTP ${status}`)),
      b.detail ? String(b.detail) : undefined,
      errors,
      b.type ? String(b.type) : undefined,
    );
  }

  /** The message for one form field, if the API named it (e.g. "connection.auth.token"). */
  forField(name: string): string | undefined {
    const hit = this.errors.find((e) => e.field === name || e.field.endsWith(`.${name}`) || e.field.startsWith(`${name}.`));
    return hit?.message;
  }
}

type Result = { data?: unknown; error?: unknown; response: Response };

/** Await an openapi-fetch call; its data typed as `T`, or an ApiProblem thrown. */
export async function call<T>(p: Promise<Result>): Promise<T> {
  let res: Result;
  try {
    res = await p;
  } catch (e) {
    throw new ApiProblem(0, "Network error", e instanceof Error ? e.message : String(e));
  }
  if (res.response.status === 401) void renew();
  if (res.error !== undefined || !res.response.ok) throw ApiProblem.from(res.response.status, res.error);
  return res.data as T;
}

/** A raw authenticated GET (downloads, streams): the Response, or an ApiProblem thrown. */
export async function rawGet(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  const token = await accessToken();
  const r = await fetch(apiUrl(path), { headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, signal });
  if (!r.ok) throw ApiProblem.from(r.status, await r.json().catch(() => ({})));
  return r;
}
