import { api, call } from "../api/client";
import type { Migration, Org, Page } from "../api/types";
import { Link } from "../router";
import { Empty, Loading, ProblemMessage, Time, VendorName, useAsync } from "../ui";

export function MigrationsPage({ org }: { org: Org }) {
  const orgId = org.id;
  const list = useAsync(() => call<Page<Migration>>(api.GET("/api/orgs/{orgId}/migrations", { params: { path: { orgId } } })), [orgId]);
  const base = `/console/orgs/${encodeURIComponent(orgId)}`;
  return (
    <>
      <div className="row">
        <h1>Migrations</h1>
        {org.you.allowed.includes("migrations.manage") ? (
          <Link to={`${base}/migrations/new`} className="button">
            New migration
          </Link>
        ) : null}
      </div>
      {list.loading && !list.data ? <Loading what="migrations" /> : null}
      <ProblemMessage error={list.error} />
      {list.data && list.data.items.length === 0 ? (
        <Empty>
          No migrations yet. First add two <Link to={`${base}/connectors`}>connectors</Link>, then create a migration.
        </Empty>
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Migrations</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Containers</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((m) => (
              <tr key={m.id}>
                <td>
                  <Link to={`${base}/migrations/${encodeURIComponent(m.id)}`}>{m.name}</Link>
                </td>
                <td>
                  {m.scopes.map((s, i) => (
                    <span key={s.id}>
                      {i ? ", " : ""}
                      <VendorName name={s.name ?? s.id} />
                    </span>
                  ))}
                </td>
                <td>
                  <Time iso={m.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
