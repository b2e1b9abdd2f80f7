import { useState, type FormEvent } from "react";
import { ApiProblem, api, call } from "../api/client";
import type { ApiKey, Org, Page } from "../api/types";
import { Confirm, Empty, Field, Loading, ProblemMessage, Time, useAsync } from "../ui";

const SCOPES = [
  ["read", "read: see migrations, runs, reports"],
  ["write", "write: manage connectors, migrations and runs"],
  ["admin", "admin: members, keys, audit, export"],
] as const;

export function KeysPage({ org }: { org: Org }) {
  const orgId = org.id;
  const list = useAsync(() => call<Page<ApiKey>>(api.GET("/api/orgs/{orgId}/keys", { params: { path: { orgId } } })), [orgId]);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Set<string>>(new Set(["read"]));
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const k = await call<ApiKey>(
        api.POST("/api/orgs/{orgId}/keys", { params: { path: { orgId } }, body: { name, scopes: [...scopes] as ("read" | "write" | "admin")[] } }),
      );
      setCreated(k);
      setCopied(false);
      setName("");
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const p = error instanceof ApiProblem ? error : null;
  return (
    <>
      <h1>API keys</h1>
      <p className="lead">Keys let scripts use the API for this organisation. Ferry stores only a digest: a key is shown once.</p>
      {created?.key ? (
        <div className="panel ok" role="status">
          <p>
            <strong>Key “{created.name}” created.</strong> Copy it now: it will not be shown again.
          </p>
          <code className="secret" aria-label="New API key">
            {created.key}
          </code>{" "}
          <button
            type="button"
            className="small"
            onClick={() => navigator.clipboard?.writeText(created.key!).then(() => setCopied(true), () => setCopied(false))}
          >
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      ) : null}
      {list.loading && !list.data ? <Loading what="API keys" /> : null}
      <ProblemMessage error={list.error} />
      {list.data && list.data.items.length === 0 ? <Empty>No API keys.</Empty> : null}
      {list.data?.items.length ? (
        <table className="table">
          <caption className="sr-only">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key starts</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((k) => (
              <tr key={k.id}>
                <td>{k.name}</td>
                <td className="id">{k.prefix}…</td>
                <td>{k.scopes.join(", ")}</td>
                <td>
                  <Time iso={k.createdAt} />
                </td>
                <td>
                  <Time iso={k.lastUsedAt} />
                </td>
                <td>
                  {k.revokedAt ? (
                    <>
                      revoked <Time iso={k.revokedAt} />
                    </>
                  ) : (
                    <button type="button" className="danger secondary small" onClick={() => setRevoking(k)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <section className="panel" aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <form onSubmit={submit} className="form">
          <Field label="Name" value={name} onChange={setName} required error={p?.forField("name")} />
          <fieldset className="checks">
            <legend>Scopes</legend>
            {SCOPES.map(([s, label]) => (
              <label key={s} className="check">
                <input
                  type="checkbox"
                  checked={scopes.has(s)}
                  onChange={(e) => {
                    const next = new Set(scopes);
                    if (e.target.checked) next.add(s);
                    else next.delete(s);
                    setScopes(next);
                  }}
                />
                {label}
              </label>
            ))}
          </fieldset>
          <ProblemMessage error={error} />
          <button type="submit" disabled={scopes.size === 0}>
            Create key
          </button>
        </form>
      </section>
      <Confirm
        open={revoking !== null}
        title={`Revoke key “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke key"
        danger
        onCancel={() => setRevoking(null)}
        onConfirm={async () => {
          const k = revoking!;
          setRevoking(null);
          try {
            await call(api.DELETE("/api/orgs/{orgId}/keys/{keyId}", { params: { path: { orgId, keyId: k.id } } }));
            list.reload();
          } catch (e) {
            setError(e);
          }
        }}
      >
        <p>Scripts using it stop working immediately.</p>
      </Confirm>
    </>
  );
}
