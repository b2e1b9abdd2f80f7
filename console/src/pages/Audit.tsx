import { useState } from "react";
import { api, call } from "../api/client";
import type { AuditEvent, Org, Page } from "../api/types";
import { Empty, Loading, ProblemMessage, Time } from "../ui";
import { useEffect } from "react";

export function AuditPage({ org }: { org: Org }) {
  const orgId = org.id;
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const load = async (continuation?: string) => {
    setLoading(true);
    try {
      const p = await call<Page<AuditEvent>>(
        api.GET("/api/orgs/{orgId}/audit", { params: { path: { orgId }, query: continuation ? { continuation } : {} } }),
      );
      setEvents((e) => (continuation ? [...e, ...p.items] : p.items));
      setNext(p.continuation ?? null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [orgId]);
  return (
    <>
      <h1>Audit log</h1>
      <p className="lead">Security-relevant actions in this organisation, newest first.</p>
      <ProblemMessage error={error} />
      {!loading && events.length === 0 && !error ? <Empty>No events yet.</Empty> : null}
      {events.length ? (
        <table className="table">
          <caption className="sr-only">Audit events</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">By</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time iso={e.at} />
                </td>
                <td>{e.action}</td>
                <td>{e.actor}</td>
                <td className="id">{e.target ?? "—"}</td>
                <td>{e.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {loading ? <Loading what="audit events" /> : null}
      {next ? (
        <button type="button" className="secondary" onClick={() => void load(next)}>
          Load older events
        </button>
      ) : null}
    </>
  );
}
