import { useState, type FormEvent } from "react";
import { ApiProblem, api, call } from "../api/client";
import type { Connector, ConnectorTest, Container, Org, Page } from "../api/types";
import { KINDS, kindLabel } from "../connectorKinds";
import { Confirm, Empty, Field, Loading, ProblemMessage, Select, Time, VendorName, useAsync } from "../ui";
import { startConsent } from "./ConsentCallback";

export function ConnectorsPage({ org }: { org: Org }) {
  const orgId = org.id;
  const list = useAsync(
    () => call<Page<Connector>>(api.GET("/api/orgs/{orgId}/connectors", { params: { path: { orgId } } })),
    [orgId],
  );
  const canManage = org.you.allowed.includes("connectors.manage");
  const authorized = new URLSearchParams(location.search).get("authorized");
  const justAuthorized = list.data?.items.find((c) => c.id === authorized);
  return (
    <>
      <h1>Connectors</h1>
      <p className="lead">
        A connector is how Ferry reads from or writes to one of your tools. Secrets you enter are encrypted and never shown
        again: to change one, type a new value.
      </p>
      {justAuthorized ? (
        <p className="ok" role="status">
          “{justAuthorized.name}” is connected: the tool granted access and Ferry keeps its refresh token, encrypted.
        </p>
      ) : null}
      {list.loading && !list.data ? <Loading what="connectors" /> : null}
      <ProblemMessage error={list.error} />
      {list.data && list.data.items.length === 0 ? <Empty>No connectors yet: add the tool you move from and the one you move to.</Empty> : null}
      <ul className="stack" aria-label="Connectors">
        {list.data?.items.map((c) => (
          <ConnectorItem key={c.id} orgId={orgId} connector={c} canManage={canManage} onChange={list.reload} />
        ))}
      </ul>
      {canManage ? <ConnectorForm orgId={orgId} onSaved={list.reload} /> : null}
    </>
  );
}

function ConnectorItem(props: { orgId: string; connector: Connector; canManage: boolean; onChange: () => void }) {
  const { orgId, connector: c } = props;
  const [test, setTest] = useState<ConnectorTest | null>(null);
  const [containers, setContainers] = useState<Container[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [editing, setEditing] = useState(false);
  const path = { orgId, connectorId: c.id };
  const authType = String((c.connection?.auth as Record<string, unknown> | undefined)?.type ?? "");
  const oauthApp = authType === "oauth_app";
  const consented = c.secretFields.includes("auth.refresh_token");
  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <li className="card wide" aria-label={`Connector ${c.name}`}>
      <div className="row">
        <div>
          <h2 className="h3">{c.name}</h2>
          <span className="muted">
            {kindLabel(c.kind)} · {String(c.connection?.auth && (c.connection.auth as Record<string, unknown>).type)} · secrets set:{" "}
            {c.secretFields.length ? c.secretFields.map((f) => f.replace(/^auth\./, "")).join(", ") : "none"} · updated{" "}
            <Time iso={c.updatedAt ?? c.createdAt} />
          </span>
        </div>
        <div className="buttons">
          {props.canManage && oauthApp ? (
            <button type="button" className={consented ? "secondary" : ""} disabled={busy !== null} onClick={() => run("consent", () => startConsent(orgId, c.id))}>
              {busy === "consent" ? "Opening the tool…" : consented ? `Sign in with ${kindLabel(c.kind)} again` : `Sign in with ${kindLabel(c.kind)}`}
            </button>
          ) : null}
          {props.canManage ? (
            <button
              type="button"
              disabled={busy !== null}
              onClick={() =>
                run("test", async () => setTest(await call<ConnectorTest>(api.POST("/api/orgs/{orgId}/connectors/{connectorId}/test", { params: { path } }))))
              }
            >
              {busy === "test" ? "Testing…" : "Test"}
            </button>
          ) : null}
          <button
            type="button"
            className="secondary"
            disabled={busy !== null}
            aria-expanded={containers !== null}
            onClick={() =>
              containers
                ? setContainers(null)
                : run("browse", async () =>
                    setContainers(
                      (await call<{ items: Container[] }>(api.GET("/api/orgs/{orgId}/connectors/{connectorId}/containers", { params: { path } }))).items,
                    ),
                  )
            }
          >
            {busy === "browse" ? "Loading…" : containers ? "Hide containers" : "Browse containers"}
          </button>
          {props.canManage ? (
            <>
              <button type="button" className="secondary" onClick={() => setEditing(!editing)} aria-expanded={editing}>
                Edit
              </button>
              <button type="button" className="danger secondary" onClick={() => setConfirmDelete(true)}>
                Delete
              </button>
            </>
          ) : null}
        </div>
      </div>
      {oauthApp && !consented ? (
        <p className="hint">Not connected yet: sign in with {kindLabel(c.kind)} to let Ferry use it.</p>
      ) : null}
      {test ? (
        <p className={test.status === "ok" ? "ok" : "problem"} role="status">
          Test: <strong>{test.status === "ok" ? "connected" : test.status.replace(/_/g, " ")}</strong>
          {test.account ? <> as {String(test.account.displayName ?? test.account.email ?? test.account.id ?? "")}</> : null}
          {test.message ? <> — {test.message}</> : null}
        </p>
      ) : null}
      <ProblemMessage error={error} />
      {containers ? <ContainerTree items={containers} /> : null}
      {editing ? (
        <ConnectorForm
          orgId={orgId}
          existing={c}
          onSaved={() => {
            setEditing(false);
            props.onChange();
          }}
        />
      ) : null}
      <Confirm
        open={confirmDelete}
        title={`Delete connector “${c.name}”?`}
        confirmLabel="Delete connector"
        danger
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() =>
          run("delete", async () => {
            setConfirmDelete(false);
            await call(api.DELETE("/api/orgs/{orgId}/connectors/{connectorId}", { params: { path } }));
            props.onChange();
          })
        }
      >
        <p>Its encrypted secrets are destroyed. Migrations that use it can no longer run.</p>
      </Confirm>
    </li>
  );
}

export function ContainerTree({ items }: { items: Container[] }) {
  if (items.length === 0) return <Empty>This connector can read no containers.</Empty>;
  const roots = items.filter((i) => !i.parentId || !items.some((p) => p.id === i.parentId));
  const children = (id: string) => items.filter((i) => i.parentId === id);
  const node = (i: Container) => (
    <li key={i.id}>
      <span className="kind">{i.kind}</span> <VendorName name={i.name} />
      {children(i.id).length ? <ul>{children(i.id).map(node)}</ul> : null}
    </li>
  );
  return <ul className="tree" aria-label="Containers">{roots.map(node)}</ul>;
}

function ConnectorForm(props: { orgId: string; existing?: Connector; onSaved: () => void }) {
  const ex = props.existing;
  const exAuth = (ex?.connection?.auth ?? {}) as Record<string, unknown>;
  const [name, setName] = useState(ex?.name ?? "");
  const [kind, setKind] = useState(ex?.kind ?? "trello");
  const [authType, setAuthType] = useState(String(exAuth.type ?? Object.keys(KINDS.trello.auths)[0]));
  const [values, setValues] = useState<Record<string, string>>(() => {
    const v: Record<string, string> = {};
    for (const [k, val] of Object.entries(ex?.connection ?? {})) if (typeof val === "string") v[k] = val;
    for (const [k, val] of Object.entries(exAuth)) if (typeof val === "string" && k !== "type") v[`auth.${k}`] = val;
    return v;
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const def = KINDS[kind];
  const auth = def.auths[authType] ?? Object.values(def.auths)[0];
  const set = (k: string) => (v: string) => setValues((s) => ({ ...s, [k]: v }));
  const problem = error instanceof ApiProblem ? error : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const authBody: Record<string, string> = { type: authType };
    for (const f of auth.fields) {
      const v = values[`auth.${f.name}`] ?? "";
      if (v !== "" || (!f.optional && !f.secret && !ex)) authBody[f.name] = v;
      else if (!ex && !f.optional) authBody[f.name] = v;
    }
    const connection: Record<string, unknown> = { kind, auth: authBody };
    for (const f of def.fields) connection[f.name] = values[f.name] ?? "";
    if (values.base_url) connection.base_url = values.base_url;
    try {
      if (ex) {
        const { kind: _k, ...changes } = connection;
        void _k;
        await call(
          api.PATCH("/api/orgs/{orgId}/connectors/{connectorId}", {
            params: { path: { orgId: props.orgId, connectorId: ex.id } },
            body: { name, connection: changes },
          }),
        );
      } else {
        await call(api.POST("/api/orgs/{orgId}/connectors", { params: { path: { orgId: props.orgId } }, body: { name, connection } }));
        setName("");
        setValues({});
      }
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label={ex ? `Edit ${ex.name}` : "Add a connector"} className={ex ? "" : "panel"}>
      {ex ? null : <h2>Add a connector</h2>}
      <form onSubmit={submit} className="form" autoComplete="off">
        <Field label="Connector name" value={name} onChange={setName} required error={problem?.forField("name")} />
        {ex ? null : (
          <Select
            label="Tool"
            value={kind}
            onChange={(k) => {
              setKind(k);
              setAuthType(Object.keys(KINDS[k].auths)[0]);
            }}
            options={Object.entries(KINDS).map(([value, d]) => ({ value, label: d.label }))}
          />
        )}
        {Object.keys(def.auths).length > 1 ? (
          <Select
            label="Sign-in method"
            value={authType}
            onChange={setAuthType}
            options={Object.entries(def.auths).map(([value, a]) => ({ value, label: a.label }))}
          />
        ) : null}
        {auth.note ? <p className="hint">{auth.note}</p> : null}
        {def.fields.map((f) => (
          <Field key={f.name} label={f.label} type={f.type} value={values[f.name] ?? ""} onChange={set(f.name)} hint={f.hint} required error={problem?.forField(f.name)} />
        ))}
        {auth.fields.map((f) => (
          <Field
            key={f.name}
            label={f.label + (f.secret ? " (secret)" : "")}
            type={f.secret ? "password" : f.type}
            autoComplete={f.secret ? "new-password" : "off"}
            value={values[`auth.${f.name}`] ?? ""}
            onChange={set(`auth.${f.name}`)}
            required={!f.optional && !(ex && f.secret)}
            placeholder={ex && f.secret && ex.secretFields.includes(`auth.${f.name}`) ? "set — type to replace" : undefined}
            hint={f.hint ?? (f.secret ? "write-only: stored encrypted, never shown again" : undefined)}
            error={problem?.forField(`auth.${f.name}`) ?? problem?.forField(f.name)}
          />
        ))}
        <details>
          <summary>Advanced</summary>
          <Field
            label="API base URL override"
            type="url"
            value={values.base_url ?? ""}
            onChange={set("base_url")}
            hint="Only for local simulators; leave empty for the vendor's own API."
            error={problem?.forField("base_url")}
          />
        </details>
        <ProblemMessage error={error} />
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : ex ? "Save changes" : "Add connector"}
        </button>
      </form>
    </section>
  );
}
