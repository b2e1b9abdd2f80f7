import { useMemo, useState, type FormEvent } from "react";
import { ApiProblem, api, call } from "../api/client";
import type { Me, OrgSummary } from "../api/types";
import { Link, navigate } from "../router";
import { COUNTRIES, countryName, regionExplanation, regionOf } from "../regions";
import { Empty, Field, Loading, ProblemMessage, Select, useAsync } from "../ui";

export function OrgsPage() {
  const me = useAsync(() => call<Me>(api.GET("/api/me")), []);
  return (
    <>
      <h1>Organisations</h1>
      {me.loading && !me.data ? <Loading what="your organisations" /> : null}
      <ProblemMessage error={me.error} />
      {me.data ? <OrgList orgs={me.data.organisations} /> : null}
      <CreateOrg />
    </>
  );
}

function OrgList({ orgs }: { orgs: OrgSummary[] }) {
  if (orgs.length === 0) return <Empty>You are not a member of any organisation yet. Create one below.</Empty>;
  return (
    <ul className="cards" aria-label="Your organisations">
      {orgs.map((o) => (
        <li key={o.id} className="card">
          <Link to={`/console/orgs/${encodeURIComponent(o.id)}`} className="cardlink">
            <strong>{o.name}</strong>
          </Link>
          <span className="muted">
            {o.region.toUpperCase()} region · {o.role ?? "member"}
            {o.memberType === "external" ? " (external)" : ""}
          </span>
        </li>
      ))}
    </ul>
  );
}

function CreateOrg() {
  const [name, setName] = useState("");
  const [country, setCountry] = useState("DE");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const options = useMemo(
    () =>
      COUNTRIES.map((c) => ({ value: c, label: `${countryName(c)} (${c})` })).sort((a, b) => a.label.localeCompare(b.label)),
    [],
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const org = await call<{ id: string }>(api.POST("/api/orgs", { body: { name, country } }));
      navigate(`/console/orgs/${encodeURIComponent(org.id)}/connectors`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const problem = error instanceof ApiProblem ? error : null;
  return (
    <section aria-labelledby="create-org">
      <h2 id="create-org">Create an organisation</h2>
      <form onSubmit={submit} className="form">
        <Field label="Name" value={name} onChange={setName} required error={problem?.forField("name")} />
        <Select
          label="Country"
          value={country}
          onChange={setCountry}
          options={options}
          error={problem?.forField("country")}
          hint={
            <>
              <strong>Region: {regionOf(country).toUpperCase()}.</strong> {regionExplanation(country)} The region is
              chosen once, at creation.
            </>
          }
        />
        <ProblemMessage error={error} />
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create organisation"}
        </button>
      </form>
    </section>
  );
}
