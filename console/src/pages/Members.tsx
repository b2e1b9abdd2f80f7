import { useState, type FormEvent } from "react";
import { ApiProblem, api, call } from "../api/client";
import type { Member, Org, Page } from "../api/types";
import { Confirm, Empty, Field, Loading, ProblemMessage, Select, Time, useAsync } from "../ui";

export function MembersPage({ org }: { org: Org }) {
  const orgId = org.id;
  const list = useAsync(() => call<Page<Member>>(api.GET("/api/orgs/{orgId}/members", { params: { path: { orgId } } })), [orgId]);
  const canManage = org.you.allowed.includes("members.manage");
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const change = async (m: Member, body: { role?: "admin" | "member"; memberType?: "internal" | "external"; status?: "active" | "deactivated" }) => {
    setError(null);
    try {
      await call(api.PATCH("/api/orgs/{orgId}/members/{memberId}", { params: { path: { orgId, memberId: m.id } }, body }));
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <h1>Members</h1>
      <p className="lead">Admins manage people, keys and the organisation. External members only see migrations, runs and logs.</p>
      {list.loading && !list.data ? <Loading what="members" /> : null}
      <ProblemMessage error={list.error ?? error} />
      {list.data && list.data.items.length === 0 ? <Empty>No members.</Empty> : null}
      {list.data?.items.length ? (
        <table className="table">
          <caption className="sr-only">Members</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Added</th>
              {canManage ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((m) => (
              <tr key={m.id}>
                <td>{m.email}</td>
                <td>
                  {canManage ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void change(m, { role: e.target.value as "admin" })}>
                      <option value="admin">admin</option>
                      <option value="member">member</option>
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  {canManage ? (
                    <select aria-label={`Type of ${m.email}`} value={m.memberType} onChange={(e) => void change(m, { memberType: e.target.value as "internal" })}>
                      <option value="internal">internal</option>
                      <option value="external">external</option>
                    </select>
                  ) : (
                    m.memberType
                  )}
                </td>
                <td>{m.status}</td>
                <td>
                  <Time iso={m.addedAt} />
                </td>
                {canManage ? (
                  <td className="buttons">
                    <button type="button" className="secondary small" onClick={() => void change(m, { status: m.status === "active" ? "deactivated" : "active" })}>
                      {m.status === "active" ? "Deactivate" : "Reactivate"}
                    </button>
                    <button type="button" className="danger secondary small" onClick={() => setRemoving(m)}>
                      Remove
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {canManage ? <AddMember orgId={orgId} onAdded={list.reload} /> : null}
      <Confirm
        open={removing !== null}
        title={`Remove ${removing?.email ?? ""}?`}
        confirmLabel="Remove member"
        danger
        onCancel={() => setRemoving(null)}
        onConfirm={async () => {
          const m = removing!;
          setRemoving(null);
          try {
            await call(api.DELETE("/api/orgs/{orgId}/members/{memberId}", { params: { path: { orgId, memberId: m.id } } }));
            list.reload();
          } catch (e) {
            setError(e);
          }
        }}
      >
        <p>They lose access to this organisation at once.</p>
      </Confirm>
    </>
  );
}

function AddMember({ orgId, onAdded }: { orgId: string; onAdded: () => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [memberType, setType] = useState("internal");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await call(
        api.POST("/api/orgs/{orgId}/members", {
          params: { path: { orgId } },
          body: { email, role: role as "member", memberType: memberType as "internal" },
        }),
      );
      setEmail("");
      onAdded();
    } catch (err) {
      setError(err);
    }
  };
  const p = error instanceof ApiProblem ? error : null;
  return (
    <section className="panel" aria-labelledby="add-member">
      <h2 id="add-member">Add a member</h2>
      <form onSubmit={submit} className="form">
        <Field label="Email" type="email" value={email} onChange={setEmail} required error={p?.forField("email")} />
        <Select label="Role" value={role} onChange={setRole} options={[{ value: "member", label: "member" }, { value: "admin", label: "admin" }]} />
        <Select
          label="Type"
          value={memberType}
          onChange={setType}
          options={[
            { value: "internal", label: "internal" },
            { value: "external", label: "external (reads migrations, runs and logs only)" },
          ]}
        />
        <ProblemMessage error={error} />
        <button type="submit">Add member</button>
      </form>
    </section>
  );
}
