"""What a Jira Cloud project can hold, as the engine needs to know it.

- Sections are the statuses of the project's workflow (the board's columns); completion is
  the status category "done" (``writer.py`` reconciles the two).
- One assignee (``fields.assignee``, an accountId found by e-mail).
- Sub-tasks: one level (an issue of a sub-task type under a standard issue).
- Labels: Jira labels (no blanks; per site, not per project) — see ``mapping.label_name``.
- Comments are written by the credential's account at the time of writing; the engine
  prepends the original author and time.
- Start dates in the site's "Start date" field (a custom date field whose id differs per
  site, found by name in ``GET /field``; a site without one gets the date in the
  description, ``task.start_date_in_description``).
- No checklists, no time of day on the due date (``duedate`` is a date), no custom fields
  (priority is read as a field value): the engine moves those into the description.
- Markers: the last paragraph ``[ferry:…]`` of project descriptions (plain text), issue
  descriptions and comments (ADF); web links carry it as their ``globalId``. Statuses and
  labels are found by name, file attachments by name and size.
- Rate: Atlassian publishes no figures for API-token traffic (burst limits per tenant and
  API, per-issue write limits; https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).
  The pacer starts at 20 requests/s with a burst of 40 and follows ``Retry-After`` on 429s.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

JIRA_RATE_LIMIT = RateLimit(requests=20, per_seconds=1, burst=40, concurrency=8)
#: summary length (the create screen refuses more: "Summary must be less than 255 characters")
MAX_SUMMARY = 255
#: ADF bodies of descriptions and comments hold at most 32,767 characters of text
#: (the limit of Jira's text fields; the engine cuts and reports longer ones)
MAX_TEXT = 32_767


def jira_capabilities() -> Capabilities:
    return Capabilities(
        vendor="jira",
        read_kinds=frozenset(Kind),
        write_kinds=frozenset(Kind),
        max_attachment_bytes=None,  # a site setting (admin); a refusal fails the item alone
        max_assignees=1,
        labels_per_project=False,
        max_name_chars=MAX_SUMMARY,
        max_description_chars=MAX_TEXT,
        max_comment_chars=MAX_TEXT,
        comment_author_kept=False,
        comment_time_kept=False,
        checklists=ChecklistSupport.NONE,
        subtasks=True,
        sections=True,
        start_dates=True,
        due_times=False,
        custom_fields=False,
        link_attachments=True,
        completion=True,
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.PROJECT, Kind.TASK, Kind.COMMENT}),
        natural_key_kinds=frozenset({Kind.SECTION, Kind.LABEL, Kind.ATTACHMENT}),
        rate_limit=JIRA_RATE_LIMIT,
    )
