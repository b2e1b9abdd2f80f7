"""The work item fields the simulator knows (reference name → type and write rules).

A field outside this table answers ``TF51535: Cannot find field …`` as the service does for
a field the process does not define. ``readonly`` fields are computed; ``bypass`` fields
may only be written with ``bypassRules=true`` (the "Bypass rules on work item updates"
permission), which is how the service lets a migration keep created dates and authors.
"""

from __future__ import annotations

from dataclasses import dataclass

STACK_RANK = "Microsoft.VSTS.Common.StackRank"
BACKLOG_PRIORITY = "Microsoft.VSTS.Common.BacklogPriority"
#: the order field of each system process (Agile, Basic and CMMI rank, Scrum prioritises)
RANK_FIELDS = (STACK_RANK, BACKLOG_PRIORITY)


@dataclass(frozen=True)
class FieldDef:
    reference: str
    name: str
    type: str  # string | html | identity | dateTime | integer | double | treePath | plainText
    readonly: bool = False
    bypass: bool = False


FIELDS: dict[str, FieldDef] = {
    f.reference.lower(): f
    for f in (
        FieldDef("System.Id", "ID", "integer", readonly=True),
        FieldDef("System.Rev", "Rev", "integer", readonly=True),
        FieldDef("System.TeamProject", "Team Project", "string", readonly=True),
        FieldDef("System.WorkItemType", "Work Item Type", "string", readonly=True),
        FieldDef("System.Title", "Title", "string"),
        FieldDef("System.Description", "Description", "html"),
        FieldDef("System.State", "State", "string"),
        FieldDef("System.Reason", "Reason", "string"),
        FieldDef("System.AreaPath", "Area Path", "treePath"),
        FieldDef("System.IterationPath", "Iteration Path", "treePath"),
        FieldDef("System.AssignedTo", "Assigned To", "identity"),
        FieldDef("System.CreatedBy", "Created By", "identity", bypass=True),
        FieldDef("System.CreatedDate", "Created Date", "dateTime", bypass=True),
        FieldDef("System.ChangedBy", "Changed By", "identity", bypass=True),
        FieldDef("System.ChangedDate", "Changed Date", "dateTime", bypass=True),
        FieldDef("System.CommentCount", "Comment Count", "integer", readonly=True),
        FieldDef("System.Parent", "Parent", "integer", readonly=True),
        FieldDef("System.Tags", "Tags", "plainText"),
        FieldDef("System.History", "History", "html"),
        FieldDef("Microsoft.VSTS.Common.Priority", "Priority", "integer"),
        # the backlog order: lower ranks first (the Bug type's field list in the REST
        # reference, "Work first on items with lower-valued stack rank"); Scrum names it
        # Backlog Priority. A work item never placed on a backlog has neither.
        FieldDef(STACK_RANK, "Stack Rank", "double"),
        FieldDef(BACKLOG_PRIORITY, "Backlog Priority", "double"),
        FieldDef("Microsoft.VSTS.Common.ClosedDate", "Closed Date", "dateTime", bypass=True),
        FieldDef("Microsoft.VSTS.Common.StateChangeDate", "State Change Date", "dateTime", readonly=True),
        FieldDef("Microsoft.VSTS.Scheduling.StartDate", "Start Date", "dateTime"),
        FieldDef("Microsoft.VSTS.Scheduling.TargetDate", "Target Date", "dateTime"),
        FieldDef("Microsoft.VSTS.Scheduling.DueDate", "Due Date", "dateTime"),
        FieldDef("Microsoft.VSTS.Scheduling.RemainingWork", "Remaining Work", "double"),
    )
}

#: System.Title's documented maximum (a string field holds 255 characters)
TITLE_MAX = 255
#: relation types the simulator accepts (``GET _apis/wit/workitemrelationtypes`` names)
RELATION_TYPES = {
    "System.LinkTypes.Hierarchy-Forward": "Child",
    "System.LinkTypes.Hierarchy-Reverse": "Parent",
    "System.LinkTypes.Related": "Related",
    "AttachedFile": "Attached File",
    "Hyperlink": "Hyperlink",
}
PARENT = "System.LinkTypes.Hierarchy-Reverse"
CHILD = "System.LinkTypes.Hierarchy-Forward"
#: work items per ids / batch get (VS403474 above)
MAX_BATCH = 200
#: WIQL results (VS402337 above)
MAX_WIQL = 20_000
#: one simple attachment upload (REST reference "Attachments - Create")
MAX_SIMPLE_UPLOAD = 130 * 1024 * 1024
