// Dry-run adaptation codes in plain sentences (the engine's `adapt.*` / `skip.*` counters,
// shared/engine/adapt.py SUMMARIES). The run view groups them as counts.adapt / counts.skip.

const SENTENCES: Record<string, string> = {
  "task.assignees_truncated": "{n} tasks have several assignees; the destination keeps fewer, the others go to the description",
  "task.start_date_in_description": "{n} tasks have a start date; the destination has none, it goes to the description",
  "task.due_time_in_description": "{n} tasks have a due time; the destination keeps the date, the time of day goes to the description",
  // runs before the time of day went to the description
  "task.due_time_dropped": "{n} tasks have a due time; the destination keeps the date only",
  "task.checklists_in_description": "{n} tasks have checklists; the destination has none, they go to the description",
  "task.checklists_as_subtasks": "{n} tasks have checklists; they become subtasks",
  "task.checklist_items_truncated": "{n} tasks have more checklist items than the destination allows; the rest go to the description",
  "task.custom_fields_in_description": "{n} tasks have custom fields; they go to the description",
  "task.labels_in_description": "{n} tasks have labels; the destination has none, they go to the description",
  "task.subtask_flattened": "{n} subtasks become top-level tasks (noted in the description)",
  "task.name_truncated": "{n} task names are longer than the destination allows; the full name goes to the description",
  "task.completion_dropped": "{n} completed tasks cannot be marked complete",
  "task.archived_dropped": "{n} archived tasks cannot be archived in the destination; they arrive active",
  "section.archived_dropped": "{n} archived sections (lists) cannot be archived in the destination; they arrive active",
  "task.description_truncated": "{n} task descriptions are cut to the destination's limit",
  "project.description_truncated": "{n} project descriptions are cut to the destination's limit",
  "comment.author_prepended": "{n} comments cannot keep their author; the original author and time are written at the top",
  "comment.time_prepended": "{n} comments cannot keep their time; it is written at the top",
  "comment.text_truncated": "{n} comments are cut to the destination's limit",
  "attachment.link_unsupported": "{n} link attachments cannot be kept as links and are skipped",
  "task.labels_missing_in_description": "{n} tasks had labels that could not be created; their names go to the description",
  "attachment.too_large": "{n} attachments are larger than the destination's limit and are skipped",
};

export function adaptationSentences(counts: Record<string, Record<string, number>>): string[] {
  const out: string[] = [];
  for (const group of ["adapt", "skip"]) {
    for (const [code, n] of Object.entries(counts[group] ?? {}).sort()) {
      if (!n) continue;
      const t = SENTENCES[code];
      if (t) out.push(t.replace("{n}", n.toLocaleString()));
      else if (code.endsWith(".unsupported")) out.push(`${n.toLocaleString()} ${code.split(".")[0]}s cannot be migrated: the destination has none`);
      else out.push(`${n.toLocaleString()} × ${code.replace(/[._]/g, " ")}`);
    }
  }
  return out;
}

/** The item kinds a run counts, in the order they migrate. */
export const KIND_ORDER = ["project", "section", "label", "task", "comment", "attachment"];

export function itemKinds(counts: Record<string, Record<string, number>>): string[] {
  const extra = Object.keys(counts).filter((k) => !KIND_ORDER.includes(k) && !["adapt", "skip", "scope", "run"].includes(k));
  return [...KIND_ORDER.filter((k) => counts[k]), ...extra.sort()];
}

export function total(c: Record<string, number> | undefined): number {
  return Object.values(c ?? {}).reduce((a, b) => a + b, 0);
}

/** Counters per kind: the run view groups them ({task: {created: 3}}); run lists carry them
 * flat ({"task.created": 3}). Either way, grouped. */
export function grouped(counts: Record<string, unknown> | undefined | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [key, value] of Object.entries(counts ?? {})) {
    if (value && typeof value === "object") {
      out[key] = { ...(out[key] ?? {}), ...(value as Record<string, number>) };
    } else if (typeof value === "number") {
      const dot = key.indexOf(".");
      const kind = dot < 0 ? key : key.slice(0, dot);
      const action = dot < 0 ? "count" : key.slice(dot + 1);
      (out[kind] ??= {})[action] = value;
    }
  }
  return out;
}
