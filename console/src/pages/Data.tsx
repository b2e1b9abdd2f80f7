import { useEffect, useState } from "react";
import { api, call, rawGet } from "../api/client";
import { apiUrl } from "../api/origin";
import type { Org } from "../api/types";
import { Confirm, ProblemMessage, Time, saveBlob } from "../ui";

interface Export {
  id: string;
  status: string;
  createdAt: string;
  expiresAt: string;
  sizeBytes: number;
  download: string;
}

interface Deletion {
  id: string;
  status: string;
  statusUrl: string;
  token: string;
  tokenHeader: string;
  progress?: Record<string, { done: boolean; deleted: number }>;
  counts?: Record<string, number> | null;
  finishedAt?: string | null;
  orgHash?: string;
}

export function DataPage({ org, onDeleted }: { org: Org; onDeleted: () => void }) {
  const can = (a: string) => org.you.allowed.includes(a);
  return (
    <>
      <h1>Data &amp; deletion</h1>
      <p className="lead">
        Run logs and organisations inactive for 90 days are destroyed automatically. You can take a copy of your data, or
        delete everything now.
      </p>
      {can("export.request") ? <ExportPanel orgId={org.id} /> : null}
      {can("org.delete") ? <DeletePanel org={org} onDeleted={onDeleted} /> : null}
    </>
  );
}

function ExportPanel({ orgId }: { orgId: string }) {
  const [exp, setExp] = useState<Export | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      setExp(await call<Export>(api.POST("/api/orgs/{orgId}/exports", { params: { path: { orgId } }, body: { format: "zip" } })));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const download = async () => {
    try {
      const r = await rawGet(exp!.download);
      saveBlob(await r.blob(), `ferry-export-${exp!.id}.zip`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="panel" aria-labelledby="export">
      <h2 id="export">Export your data</h2>
      <p>A zip archive of the organisation's own data: members, connectors (never their secrets), migrations, runs and the audit log.</p>
      <button type="button" onClick={() => void create()} disabled={busy}>
        {busy ? "Preparing…" : "Prepare export"}
      </button>
      {exp ? (
        <p role="status">
          Export ready ({(exp.sizeBytes / 1024).toFixed(1)} KB), available until <Time iso={exp.expiresAt} />.{" "}
          <button type="button" className="secondary small" onClick={() => void download()}>
            Download zip
          </button>
        </p>
      ) : null}
      <ProblemMessage error={error} />
    </section>
  );
}

function DeletePanel({ org, onDeleted }: { org: Org; onDeleted: () => void }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [job, setJob] = useState<Deletion | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!job || job.status === "succeeded" || job.status === "done" || job.finishedAt) return;
    const t = window.setTimeout(async () => {
      try {
        const r = await fetch(apiUrl(job.statusUrl), { headers: { [job.tokenHeader]: job.token } });
        if (r.ok) setJob({ ...job, ...((await r.json()) as Partial<Deletion>) });
      } catch (e) {
        setError(e);
      }
    }, 1000);
    return () => window.clearTimeout(t);
  }, [job]);
  const remove = async () => {
    setOpen(false);
    setError(null);
    try {
      setJob(await call<Deletion>(api.DELETE("/api/orgs/{orgId}", { params: { path: { orgId: org.id } }, body: { confirm: typed } })));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="panel danger-zone" aria-labelledby="delete">
      <h2 id="delete">Delete the organisation</h2>
      <p>Deletes every connector, migration, run, log, member and key of “{org.name}”. Items already moved to your tools stay there.</p>
      {job ? (
        <div role="status">
          <p>
            Deletion <strong>{job.status}</strong>
            {job.finishedAt ? (
              <>
                {" "}
                — finished <Time iso={job.finishedAt} />. Receipt: organisation hash <code>{job.orgHash}</code>
              </>
            ) : (
              "…"
            )}
          </p>
          {job.progress ? (
            <ul>
              {Object.entries(job.progress).map(([k, v]) => (
                <li key={k}>
                  {k}: {v.done ? "done" : "in progress"} ({v.deleted} deleted)
                </li>
              ))}
            </ul>
          ) : null}
          {job.finishedAt ? (
            <button type="button" className="secondary" onClick={onDeleted}>
              Back to your organisations
            </button>
          ) : null}
        </div>
      ) : (
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          Delete organisation…
        </button>
      )}
      <ProblemMessage error={error} />
      <Confirm open={open} title="Delete this organisation?" confirmLabel="Delete everything" danger disabled={typed !== org.name} onCancel={() => setOpen(false)} onConfirm={() => void remove()}>
        <p>This cannot be undone. Type the organisation's name, “{org.name}”, to confirm.</p>
        <div className="field">
          <label htmlFor="confirm-name">Organisation name</label>
          <input id="confirm-name" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
        </div>
      </Confirm>
    </section>
  );
}
