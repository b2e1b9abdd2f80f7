// The assistant panel of the run view: ask a question about this organisation's runs and
// read the answer with its citations (runs, items, documentation sections). The answer
// streams over server-sent events (POST /api/orgs/{orgId}/assistant/ask with
// Accept: text/event-stream); everything shown comes from the API and is rendered as text.
import { useRef, useState } from "react";
import { ApiProblem } from "../api/client";
import { apiUrl } from "../api/origin";
import { accessToken } from "../auth";
import { ProblemMessage } from "../ui";

export interface Citation {
  ref: number;
  type: "run" | "item" | "doc";
  runId?: string;
  kind?: string;
  sourceId?: string;
  sourceIds?: string[];
  section?: string;
}

interface Query {
  text: string;
  filter: string;
  mode: string;
  region: string;
  retrieved: number;
}

/** Split an SSE body into (event, data) pairs; returns the unfinished tail. */
export function parseSse(buffer: string, onEvent: (event: string, data: string) => void): string {
  let buf = buffer.replace(/\r\n/g, "\n");
  let cut: number;
  while ((cut = buf.indexOf("\n\n")) >= 0) {
    const block = buf.slice(0, cut);
    buf = buf.slice(cut + 2);
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) onEvent(event, data.join("\n"));
  }
  return buf;
}

function citationText(c: Citation): string {
  if (c.type === "doc") return `Ferry documentation: ${c.section ?? ""}`;
  if (c.type === "item" && c.sourceIds && c.sourceIds.length > 1)
    return `Run ${c.runId ?? ""}: ${c.sourceIds.length} ${c.kind ?? "item"} items (${c.sourceIds.join(", ")})`;
  if (c.type === "item") return `Run ${c.runId ?? ""}: ${c.kind ?? "item"} ${c.sourceId ?? ""}`;
  return `Run ${c.runId ?? ""}`;
}

export function AssistantPanel({ orgId, runId }: { orgId: string; runId: string }) {
  const [question, setQuestion] = useState("");
  const [answer, setAnswer] = useState("");
  const [citations, setCitations] = useState<Citation[]>([]);
  const [query, setQuery] = useState<Query | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const suggestions = [
    `Which items failed in run ${runId} and why?`,
    `Which items were skipped in run ${runId}?`,
    "What will the destination do to my labels and dates?",
  ];

  const ask = async (text: string) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    setError(null);
    setAnswer("");
    setCitations([]);
    setQuery(null);
    try {
      const token = await accessToken();
      const r = await fetch(apiUrl(`/api/orgs/${encodeURIComponent(orgId)}/assistant/ask`), {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ question: text }),
        signal: controller.signal,
      });
      if (!r.ok) throw ApiProblem.from(r.status, await r.json().catch(() => ({})));
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = parseSse(buf + value, (event, data) => {
          const parsed: unknown = JSON.parse(data);
          if (event === "query") setQuery(parsed as Query);
          else if (event === "delta") setAnswer((a) => a + String(parsed));
          else if (event === "citations") setCitations(parsed as Citation[]);
          else if (event === "error") setError(new ApiProblem(500, "The assistant could not finish the answer", undefined));
        });
      }
    } catch (e) {
      if (!controller.signal.aborted) setError(e);
    } finally {
      if (abort.current === controller) setBusy(false);
    }
  };

  return (
    <section aria-labelledby="assistant" className="assistant">
      <h2 id="assistant">Ask the assistant</h2>
      <p className="note">
        Answers come from this organisation&apos;s run records (ids, actions, reasons, counts) and Ferry&apos;s
        documentation, with the records they cite.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (question.trim()) void ask(question.trim());
        }}
      >
        <label htmlFor="assistant-question">Your question</label>
        <textarea
          id="assistant-question"
          value={question}
          maxLength={1000}
          rows={2}
          style={{ display: "block", width: "100%", boxSizing: "border-box" }}
          onChange={(e) => setQuestion(e.target.value)}
          placeholder="Why did 12 cards lose their start date?"
        />
        <div className="actions">
          <button type="submit" disabled={busy || !question.trim()}>
            {busy ? "Asking…" : "Ask"}
          </button>
          {suggestions.map((s) => (
            <button
              key={s}
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => {
                setQuestion(s);
                void ask(s);
              }}
            >
              {s}
            </button>
          ))}
        </div>
      </form>
      <ProblemMessage error={error} />
      {answer ? (
        <div className="assistant-answer" aria-live="polite" data-testid="assistant-answer">
          <p style={{ whiteSpace: "pre-wrap" }}>{answer}</p>
        </div>
      ) : null}
      {citations.length > 0 ? (
        <>
          <h3>Sources</h3>
          <ol className="citations" data-testid="assistant-citations">
            {citations.map((c) => (
              <li key={c.ref} value={c.ref}>
                {citationText(c)}
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {query ? (
        <details>
          <summary>What was searched</summary>
          <p>
            “{query.text}” — {query.mode}, {query.retrieved} records retrieved in region {query.region}, filtered by{" "}
            <code>{query.filter}</code>
          </p>
        </details>
      ) : null}
    </section>
  );
}
