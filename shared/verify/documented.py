"""The documented adaptations, per destination, each with the line that documents it.

A difference between a source record and its destination copy is allowed only when the
rule that explains it is listed here for that destination; the comparison records which
rules it used, so the report can say which adaptations appeared. Anything else is a
failure. Sources of the quotes:

* Trello has no connector README; its adaptations are documented in the module docstring of
  ``shared/connectors/trello/capabilities.py`` (quoted as ``trello/capabilities.py``) and in
  ``TrelloWriter.adapt`` (``trello/writer.py``).
* ``shared/connectors/asana/README.md`` ("Reading", "Writing (documented adaptations)").
* ``shared/connectors/planner/README.md`` ("Writing", "Reading").
* ``shared/connectors/jira/README.md`` ("Reading", "Writing (documented adaptations)").
* ``shared/connectors/monday/README.md`` ("What maps to what", "Adaptations", "Markers").
* ``shared/connectors/azure_devops/README.md`` ("Reading", "Writing (documented adaptations)").
* Generic engine adaptations: ``shared/engine/adapt.py`` ``SUMMARIES``.
"""

from __future__ import annotations

ENGINE = "shared/engine/adapt.py SUMMARIES"

#: rule → where it is documented, per destination vendor
DOCUMENTED: dict[str, dict[str, str]] = {
    "trello": {
        "marker.footer": "trello/capabilities.py: 'Markers: a [ferry:…] footer at the end of "
        "board and card descriptions and of comments'",
        "comment.author_time_prepended": "trello/capabilities.py: 'Comments are written by "
        "the token's member at the time of writing … the "
        "engine prepends the original author and time.'",
        "task.subtask_flattened": "trello/capabilities.py: 'No subtasks (checklists are "
        "native)'; " + ENGINE + " task.subtask_flattened",
        "task.custom_field_as_text": "trello/capabilities.py: 'Custom fields are native … "
        "multi-select and people values are written as text'",
        "task.date_only_at_noon_utc": "trello/capabilities.py: 'Dates: a date-only due/start "
        "is written as 12:00 UTC of that day.'",
        "text.truncated": "trello/capabilities.py: 'Texts: card names, descriptions and "
        "comments hold at most 16,384 characters.'",
        "task.assignee_not_on_board": "trello/capabilities.py: 'Assignees are matched by "
        "e-mail among the board's members …; unmatched people "
        "are named in the card description instead.'",
        "label.color_mapped": "trello/writer.py TrelloWriter.adapt: 'Pure, Trello-specific "
        "adaptations (label colours; …)'",
        "label.renamed_empty": "trello/README.md: 'A label without a name is named after its "
        "colour (label.renamed_empty)'",
        "task.section_default_list": "trello/capabilities.py: 'Every card needs a list: a "
        "task without section (an Asana subtask the engine "
        'flattened, …) goes to a list "Tasks"\'; '
        "trello/README.md",
    },
    "asana": {
        "marker.footer": "asana/README.md: 'Markers: last line [ferry:…] of project/task "
        "notes, tag notes and comment text'",
        "task.subtask_without_section": "asana/README.md: 'Subtasks belong to their parent "
        "task, not to a section: a source subtask in a section … loses it'",
        "comment.author_time_prepended": "asana/README.md: 'Comments are written by the "
        "token's user now: the engine prepends author and "
        "time.'",
        "task.assignees_truncated": "asana/README.md: 'One assignee'; " + ENGINE + " task.assignees_truncated",
        "task.assignee_not_in_workspace": "asana/README.md: 'an assignee without an account "
        "in the workspace is named in the notes'",
        "task.start_date_in_description": "asana/README.md: 'A start date without a due "
        "date, or after it, moves to the notes'",
        "task.checklists_as_subtasks": "asana/README.md: 'Checklists become subtasks (one per item …)'",
        "task.custom_fields_in_description": "asana/README.md: 'Custom field values go to "
        "the notes of subtasks … and in free workspaces'",
        "task.custom_field_as_text": "asana/README.md: 'yes/no, multi-select and people values are written as text'",
        "section.default_reused": "asana/README.md: 'New projects come with Asana's empty "
        '"Untitled section": the first migrated section reuses it.\'',
        "label.unused_not_read": "asana/README.md (Reading): 'Labels = the workspace tags used by the project's tasks'",
        "section.archived_dropped": "asana/README.md: 'Archived sections and tasks cannot be "
        "archived in Asana …'; " + ENGINE + " section.archived_dropped",
        "task.archived_dropped": "asana/README.md: 'Archived sections and tasks cannot be "
        "archived in Asana …'; " + ENGINE + " task.archived_dropped",
        # Not in the README: the palette mapping is in asana/mapping.py (ASANA_COLORS,
        # asana_color: 'canonical names map onto it'); reported as a documentation gap.
        "label.color_mapped": "asana/mapping.py ASANA_COLORS: 'Asana's palette …; canonical names map onto it.'",
        "label.renamed_empty": "asana/README.md: 'Tags need a name: a label without one … is "
        "named after its colour and reported (label.renamed_empty)'",
    },
    "planner": {
        "marker.footer": "planner/README.md Writing: 'TASK | … PATCH …/details (description "
        "+ marker footer, checklist)'; 'COMMENT | … marker footer in the post'",
        "comment.author_time_prepended": "planner/README.md: 'comment author and time not "
        "kept (the engine prepends them; …)'",
        "project.description_dropped": "planner/README.md: 'a project description is dropped "
        "(project.description_dropped, loss)'",
        "task.checklists_merged": "planner/README.md: 'several checklists are merged into "
        "Planner's single checklist (task.checklists_merged)'",
        "checklist.single_unnamed": "planner/README.md: 'Planner's single checklist' (a "
        "Planner task has one checklist, without a name)",
        "task.checklist_items_truncated": "planner/README.md Capabilities: '20 checklist items'",
        "task.name_truncated": "planner/README.md Capabilities: '255-char titles'",
        "task.subtask_flattened": "planner/README.md Capabilities: 'no subtasks (flattened by the engine)'",
        "task.custom_fields_in_description": "planner/README.md Capabilities: 'no custom fields'",
        "task.assignee_not_in_tenant": "planner/README.md: 'Assignees whose e-mail is not a "
        "user of the destination tenant are named in the "
        'description ("Assigned in the source to: …")\'',
        "task.date_only_at_noon_utc": "planner/README.md: 'Date-only due/start dates are written at 12:00 UTC'",
        "section.archived_dropped": ENGINE + " section.archived_dropped: 'archived sections "
        "(lists) cannot be archived in the destination; they "
        "arrive active'",
        "task.archived_dropped": ENGINE + " task.archived_dropped: 'archived tasks cannot be "
        "archived in the destination; they arrive active'",
        "label.color_by_category": "planner/README.md: 'LABEL | the categoryN of the label's "
        "colour in the Planner apps when it is free, else the "
        "first free one'; Reading: 'colour = the Planner apps' "
        "colour of that category'",
        "label.renamed_empty": "planner/README.md: 'a label without a name … is named after "
        "its colour (label.renamed_empty …)'",
    },
    "jira": {
        "marker.footer": "jira/README.md: 'Markers: a last paragraph [ferry:…] in issue "
        "descriptions and comments, a last line in project descriptions'",
        "comment.author_time_prepended": "jira/README.md: 'Comments are written by the "
        "token's account at the time of writing: the engine prepends the original author and "
        "time'",
        "project.renamed_for_jira": "jira/README.md: 'A name already used on the site, or "
        "longer than 80 characters, is changed (project.renamed_for_jira)'",
        "section.archived_dropped": ENGINE + " section.archived_dropped: 'archived sections "
        "(lists) cannot be archived in the destination; they arrive active'",
        "task.archived_dropped": ENGINE + " task.archived_dropped: 'archived tasks cannot be "
        "archived in the destination; they arrive active'",
        "task.section_replaced_by_completion": "jira/README.md: 'a completed task whose "
        "section is not a done status goes to the project's first done status, an open task "
        "in a done status to the first to-do status (task.section_replaced_by_completion, "
        "loss: the section name)'",
        "task.assignee_not_in_jira": "jira/README.md: 'a person without an account on the "
        "site is named in the description (task.assignee_not_in_jira)'",
        "task.assignees_truncated": "jira/README.md: 'One assignee'; " + ENGINE + " task.assignees_truncated",
        "label.renamed_for_jira": "jira/README.md: 'Labels cannot contain blanks: needs "
        "review becomes needs_review (label.renamed_for_jira)'",
        "label.color_dropped": "jira/README.md: 'Jira labels have no colour: a label's colour "
        "is not kept (label.color_dropped)'",
        "label.unused_not_read": "jira/README.md (Reading): 'Labels are the labels and the "
        "components the project's issues use'; Writing: 'Jira labels exist as soon as an issue "
        "carries them'",
        "label.renamed_empty": "jira/README.md: 'a label without a name is named after its "
        "colour (label.renamed_empty)'",
        "task.checklists_in_description": "jira/README.md: 'The engine moves into the "
        "description what Jira cannot hold here: checklists, …'; " + ENGINE + " task.checklists_in_description",
        "task.start_date_in_description": "jira/README.md: 'a site without such a field gets "
        "the start date as a line of the description (task.start_date_in_description)'",
        "task.due_time_in_description": "jira/README.md: '… a due time of day (duedate is a "
        "date: the day is kept, the time goes to a line Due time: …) …'; " + ENGINE + " task.due_time_in_description",
        "task.custom_fields_in_description": "jira/README.md: '… and custom field values'; "
        + ENGINE
        + " task.custom_fields_in_description",
        "task.name_truncated": "jira/README.md: 'Names longer than 255 characters and texts "
        "longer than 32,767 are cut by the engine'",
        "section.existing_status_reused": "jira/README.md: 'Sections: an existing status of "
        "the same name (case-insensitive) is used'",
        "section.order_not_kept": "jira/README.md: 'statuses the new project already has keep "
        "their place on its board and created ones are added after them, so the board's "
        "column order can differ from the source's section order'",
        "task.order_not_kept": "jira/README.md: 'issues are listed in key (creation) order and "
        "the engine writes a page concurrently, so tasks are not in source order'",
        "task.subtask_without_section": "jira/README.md (Reading): 'Sub-tasks have no section (only their completion)'",
        "section.project_default": "jira/README.md: 'statuses the new project already has keep "
        "their place on its board' (a new project's To Do, In Progress and Done)",
    },
    "monday": {
        "comment.author_time_prepended": "monday/README.md: 'Comments are written by the "
        "token's user: the engine puts the original author on top (comment.author_prepended); "
        "the original time is kept.'",
        "task.start_date_in_description": "monday/README.md: 'Start dates are not written (no "
        "Timeline column): the engine moves them into the description.'",
        "task.checklists_in_description": "monday/README.md: 'Checklists and custom fields go to the description too.'",
        "task.custom_fields_in_description": "monday/README.md: 'Checklists and custom fields "
        "go to the description too.'",
        "attachment.link_as_update": "monday/README.md: 'Link attachments cannot go into a "
        "Files column: each is written as an update Link: [name](url) with its marker "
        "(attachment.link_as_update); reading monday, such an update is a comment.'",
        "task.assignee_not_in_account": "monday/README.md: 'Assignees without a monday "
        "account are named in the description (Assignees (not in monday.com): …, "
        "task.assignee_not_in_account)'",
        "task.name_truncated": "monday/README.md: 'Names hold at most 255 characters (the engine cuts longer ones).'",
        "label.renamed_empty": "monday/README.md: 'A label without a name is named after its "
        "colour (label.renamed_empty).'",
        "label.color_assigned": "monday/README.md: 'monday gives every tag its own colour and has "
        "no argument or mutation that sets one, so the label's colour is not kept: the writer "
        "reports each label whose colour is not the tag's (label.color_assigned).'",
        "task.subtask_without_section": "monday/README.md: 'Subitems have no group: … a section "
        "a source gives a subtask (an Azure DevOps child's state) is not kept "
        "(task.subtask_without_section, a loss)'",
        "label.unused_not_read": "monday/README.md: 'A tag exists on a board by being used: a "
        "label no task uses is written (create_or_get_tag) but not read back "
        "(label.unused_not_read).'",
        "section.archived_dropped": ENGINE + " section.archived_dropped: 'archived sections "
        "(lists) cannot be archived in the destination; they arrive active'",
        "task.archived_dropped": ENGINE + " task.archived_dropped: 'archived tasks cannot be "
        "archived in the destination; they arrive active'",
    },
    "azure_devops": {
        "comment.author_time_prepended": "azure_devops/README.md: 'Comments are written by "
        "the connection's identity at the time of writing: the engine prepends the original "
        "author and time'",
        "project.name_adapted": "azure_devops/README.md: 'A name longer than 64 characters or "
        'holding \\ / : * ? " < > ; # $ { } , + = [ ] | % & @ is adjusted '
        "(project.name_adapted)'",
        "project.renamed_duplicate": "azure_devops/README.md: 'a name already used gets a "
        "number (project.renamed_duplicate)'",
        "section.mapped_to_state": "azure_devops/README.md: 'a name that means a state "
        "category (Doing, In progress, Done, Backlog …) is the first state of that category "
        "(section.mapped_to_state)'",
        "task.state_from_completion": "azure_devops/README.md: 'a completed task whose column "
        "is not a Completed state gets the type's first Completed state, an open task in a "
        "Completed state its first Proposed state (task.state_from_completion). A task in an "
        "area gets the state its completion says.'",
        "task.assignees_truncated": "azure_devops/README.md: 'One assignee'; " + ENGINE + " task.assignees_truncated",
        "label.color_dropped": "azure_devops/README.md: 'colours are not kept'",
        "section.as_area": "azure_devops/README.md: 'any other section becomes an area under "
        "the project (System.AreaPath)'; Reading: 'Area and iteration paths are not read'",
        "section.project_default": "azure_devops/README.md: 'Columns are never created or "
        "deleted (they belong to the process)'; Reading: 'Sections are the board's columns: "
        "the states of the project's work item types in process order'",
        "label.renamed_empty": "azure_devops/README.md: 'a label without a name is named after "
        "its colour (label.renamed_empty)'",
        "label.unused_not_read": "azure_devops/README.md: 'Tags: a tag exists by being used'",
        "task.checklists_in_description": "azure_devops/README.md: 'The engine moves into the "
        "description what Azure Boards cannot hold here: checklists and custom field values.'",
        "task.custom_fields_in_description": "azure_devops/README.md: 'The engine moves into "
        "the description what Azure Boards cannot hold here: checklists and custom field "
        "values.'",
        "task.name_truncated": "azure_devops/README.md: 'names longer than 255 characters are cut by the engine'",
        "task.name_multiline": "azure_devops/README.md: 'A title holds one line: a multi-line "
        "name keeps its first line … as the title and goes whole to the end of the description "
        "as the line Full name: … (task.name_multiline)'",
        "label.collision": "azure_devops/README.md: 'tags are case-insensitive: labels whose "
        "names differ in case only are one tag, spelled as it was first used "
        "(label.collision)'",
        "section.archived_dropped": ENGINE + " section.archived_dropped: 'archived sections "
        "(lists) cannot be archived in the destination; they arrive active'",
        "task.archived_dropped": ENGINE + " task.archived_dropped: 'archived tasks cannot be "
        "archived in the destination; they arrive active'",
    },
}


def documented(dest: str, rule: str) -> bool:
    """Whether ``rule`` is a documented adaptation of destination ``dest``."""
    return rule in DOCUMENTED[dest]
