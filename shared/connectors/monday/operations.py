"""Every GraphQL operation the monday.com connector sends, by name (one place, so the tests
validate each against monday's official SDL, ``vendor-api/monday``).

Each operation also selects ``complexity { query after reset_in_x_seconds }``: the client
keeps the budget monday reports (``client.ComplexityWatch``). Page sizes are chosen so no
operation comes near the 5,000,000-point limit of one query.
"""

from __future__ import annotations

#: page size of ``boards``/``workspaces``/``users`` listings (``limit``/``page``)
LIST_PAGE = 100
#: updates read per item in one request (more are paged per item)
UPDATES_PAGE = 100
#: items per ``items_page`` request (monday allows 500; smaller pages keep queries light)
ITEMS_PAGE = 100
#: items per request when a group's items are listed with their order (monday's maximum)
ORDER_PAGE = 500
#: items per request when each carries a list (updates, files)
NESTED_PAGE = 25

_C = "complexity { query after reset_in_x_seconds }"

_VALUES = """column_values { id type text value
    ... on StatusValue { index label is_done }
    ... on PeopleValue { persons_and_teams { id kind } }
    ... on DateValue { date time }
    ... on TagsValue { tag_ids }
  }"""

ITEM_FIELDS = f"""fragment ItemFields on Item {{
  id name state created_at updated_at creator_id group {{ id }} description {{ id }}
  {_VALUES}
}}"""

_UPDATE = "id body created_at updated_at original_creation_date creator { id name email }"
_ASSET = "id name file_size file_extension created_at uploaded_by { id name email }"

OPERATIONS: dict[str, str] = {
    # --- account -------------------------------------------------------------------------
    "me": f"query {{ {_C} me {{ id name email }} }}",
    "users_by_email": f"query($emails: [String!]) {{ {_C} users(emails: $emails, limit: 1000) {{ id name email }} }}",
    "users_page": f"query($page: Int!) {{ {_C} users(limit: 500, page: $page) {{ id name email }} }}",
    "workspaces": f"query($page: Int!) {{ {_C} workspaces(limit: {LIST_PAGE}, page: $page) {{ id name }} }}",
    "boards_list": f"query($page: Int!) {{ {_C} boards(limit: {LIST_PAGE}, page: $page) "
    f"{{ id name type workspace_id }} }}",
    "boards_described": f"query($page: Int!, $ws: [ID]) {{ {_C} boards(limit: {LIST_PAGE}, "
    f"page: $page, workspace_ids: $ws) {{ id type description }} }}",
    # --- a board -------------------------------------------------------------------------
    "board": f"query($ids: [ID!]) {{ {_C} boards(ids: $ids) {{ id name description state "
    f"workspace_id created_at columns {{ id title type settings_str }} "
    f"groups {{ id title position archived }} }} }}",
    "tags": f"query {{ {_C} tags {{ id name color }} }}",
    # --- items (tasks) -------------------------------------------------------------------
    "items_first": f"""query($ids: [ID!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ items_page(limit: $limit) {{ cursor
    items {{ ...ItemFields subitems {{ ...ItemFields }} }} }} }} }}
{ITEM_FIELDS}""",
    "items_next": f"""query($cursor: String!, $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor
    items {{ ...ItemFields subitems {{ ...ItemFields }} }} }} }}
{ITEM_FIELDS}""",
    "updates_first": f"""query($ids: [ID!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ items_page(limit: $limit) {{ cursor
    items {{ id updates(limit: {UPDATES_PAGE}) {{ {_UPDATE} }}
      subitems {{ id updates(limit: {UPDATES_PAGE}) {{ {_UPDATE} }} }} }} }} }} }}""",
    "updates_next": f"""query($cursor: String!, $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor
    items {{ id updates(limit: {UPDATES_PAGE}) {{ {_UPDATE} }}
      subitems {{ id updates(limit: {UPDATES_PAGE}) {{ {_UPDATE} }} }} }} }} }}""",
    "item_updates_page": f"query($ids: [ID!], $page: Int!) {{ {_C} items(ids: $ids) "
    f"{{ id updates(limit: {UPDATES_PAGE}, page: $page) {{ {_UPDATE} }} }} }}",
    "assets_first": f"""query($ids: [ID!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ items_page(limit: $limit) {{ cursor
    items {{ id assets(assets_source: all) {{ {_ASSET} }}
      subitems {{ id assets(assets_source: all) {{ {_ASSET} }} }} }} }} }} }}""",
    "assets_next": f"""query($cursor: String!, $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor
    items {{ id assets(assets_source: all) {{ {_ASSET} }}
      subitems {{ id assets(assets_source: all) {{ {_ASSET} }} }} }} }} }}""",
    "ids_first": f"""query($ids: [ID!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ items_page(limit: $limit) {{ cursor items {{ id }} }} }} }}""",
    "ids_next": f"""query($cursor: String!, $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor items {{ id }} }} }}""",
    "tagvals_first": f"""query($ids: [ID!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ items_page(limit: $limit) {{ cursor
    items {{ id column_values(types: [tags]) {{ id ... on TagsValue {{ tag_ids }} }}
      subitems {{ id column_values(types: [tags]) {{ id ... on TagsValue {{ tag_ids }} }} }}
    }} }} }} }}""",
    "tagvals_next": f"""query($cursor: String!, $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor
    items {{ id column_values(types: [tags]) {{ id ... on TagsValue {{ tag_ids }} }}
      subitems {{ id column_values(types: [tags]) {{ id ... on TagsValue {{ tag_ids }} }} }}
    }} }} }}""",
    "order_first": f"""query($ids: [ID!], $group: [String], $cols: [String!], $limit: Int!) {{ {_C}
  boards(ids: $ids) {{ groups(ids: $group) {{ items_page(limit: $limit) {{ cursor
    items {{ id column_values(ids: $cols) {{ id text }} }} }} }} }} }}""",
    "order_next": f"""query($cursor: String!, $cols: [String!], $limit: Int!) {{ {_C}
  next_items_page(cursor: $cursor, limit: $limit) {{ cursor
    items {{ id column_values(ids: $cols) {{ id text }} }} }} }}""",
    "asset_url": f"query($ids: [ID!]!) {{ {_C} assets(ids: $ids) {{ id public_url }} }}",
    "items_by_id": f"""query($ids: [ID!]) {{ {_C}
  items(ids: $ids) {{ ...ItemFields parent_item {{ id }}
    board {{ id columns {{ id title type settings_str }} }} }} }}
{ITEM_FIELDS}""",
    "default_group": f"""query($ids: [ID!]) {{ {_C}
  boards(ids: $ids) {{ groups(ids: ["topics"]) {{ id title items_page(limit: 1) {{ items {{ id }} }} }} }} }}""",
    "item_meta": f"query($ids: [ID!]) {{ {_C} items(ids: $ids) {{ id name board {{ id }} "
    f"group {{ id }} parent_item {{ id }} }} }}",
    "item_update_bodies": f"query($ids: [ID!], $page: Int!) {{ {_C} items(ids: $ids) {{ id "
    f"updates(limit: {UPDATES_PAGE}, page: $page) {{ id body }} }} }}",
    "item_assets": f"query($ids: [ID!]) {{ {_C} items(ids: $ids) {{ id "
    f"assets(assets_source: all) {{ id name file_size }} "
    f"column_values {{ id type value }} }} }}",
    "find_items": f"query($board: ID!, $column: String!, $values: [String]!) {{ {_C} "
    f"items_page_by_column_values(board_id: $board, limit: 10, columns: "
    f"[{{column_id: $column, column_values: $values}}]) {{ items {{ id state }} }} }}",
    # --- writes ----------------------------------------------------------------------------
    "create_board": f"mutation($name: String!, $ws: ID, $desc: String) {{ {_C} "
    f"create_board(board_name: $name, board_kind: public, workspace_id: $ws, "
    f"description: $desc, empty: true) {{ id }} }}",
    "update_board": f"mutation($id: ID!, $name: String!, $desc: String!) {{ {_C} "
    f"name: update_board(board_id: $id, board_attribute: name, new_value: $name) "
    f"description: update_board(board_id: $id, board_attribute: description, "
    f"new_value: $desc) }}",
    "delete_board": f"mutation($id: ID!) {{ {_C} delete_board(board_id: $id) {{ id }} }}",
    "create_column": f"mutation($board: ID!, $id: String, $title: String!, $type: ColumnType!) "
    f"{{ {_C} create_column(board_id: $board, id: $id, title: $title, "
    f"column_type: $type) {{ id title type settings_str }} }}",
    "create_group": f"mutation($board: ID!, $name: String!, $anchor: String, $method: PositionRelative) "
    f"{{ {_C} create_group(board_id: $board, group_name: $name, relative_to: $anchor, "
    f"position_relative_method: $method) {{ id }} }}",
    "place_group": f"mutation($board: ID!, $group: String!, $how: GroupAttributes!, $anchor: String!) "
    f"{{ {_C} update_group(board_id: $board, group_id: $group, group_attribute: $how, "
    f"new_value: $anchor) {{ id }} }}",
    "rename_group": f"mutation($board: ID!, $group: String!, $title: String!) {{ {_C} "
    f"update_group(board_id: $board, group_id: $group, group_attribute: title, "
    f"new_value: $title) {{ id }} }}",
    "delete_group": f"mutation($board: ID!, $group: String!) {{ {_C} "
    f"delete_group(board_id: $board, group_id: $group) {{ id }} }}",
    "create_tag": f"mutation($name: String) {{ {_C} create_or_get_tag(tag_name: $name) {{ id name color }} }}",
    "create_item": f"mutation($board: ID!, $group: String, $name: String!, $values: JSON, $anchor: ID, "
    f"$method: PositionRelative) {{ {_C} create_item(board_id: $board, group_id: $group, item_name: $name, "
    f"column_values: $values, create_labels_if_missing: true, relative_to: $anchor, "
    f"position_relative_method: $method) {{ id }} }}",
    "place_item": f"mutation($item: ID!, $anchor: ID!, $method: PositionRelative!) {{ {_C} "
    f"change_item_position(item_id: $item, relative_to: $anchor, position_relative_method: $method) "
    f"{{ id }} }}",
    "create_subitem": f"mutation($parent: ID!, $name: String!, $values: JSON) {{ {_C} "
    f"create_subitem(parent_item_id: $parent, item_name: $name, "
    f"column_values: $values, create_labels_if_missing: true) "
    f"{{ id board {{ id }} }} }}",
    "change_values": f"mutation($board: ID!, $item: ID, $values: JSON!) {{ {_C} "
    f"change_multiple_column_values(board_id: $board, item_id: $item, "
    f"column_values: $values, create_labels_if_missing: true) {{ id }} }}",
    "move_item": f"mutation($item: ID, $group: String!) {{ {_C} "
    f"move_item_to_group(item_id: $item, group_id: $group) {{ id }} }}",
    "set_description": f"mutation($item: ID!, $md: String!) {{ {_C} "
    f"set_item_description_content(item_id: $item, markdown: $md) "
    f"{{ success error }} }}",
    "delete_item": f"mutation($item: ID) {{ {_C} delete_item(item_id: $item) {{ id }} }}",
    "create_update": f"mutation($item: ID, $body: String!, $when: String) {{ {_C} "
    f"create_update(item_id: $item, body: $body, original_creation_date: $when) "
    f"{{ id }} }}",
    "edit_update": f"mutation($id: ID!, $body: String!) {{ {_C} edit_update(id: $id, body: $body) {{ id }} }}",
    "delete_update": f"mutation($id: ID!) {{ {_C} delete_update(id: $id) {{ id }} }}",
    "add_file": f"mutation($item: ID!, $column: String!, $file: File!) {{ {_C} "
    f"add_file_to_column(item_id: $item, column_id: $column, file: $file) "
    f"{{ id name file_size }} }}",
    "clear_files": f"mutation($board: ID!, $item: ID, $column: String!, $value: JSON!) {{ {_C} "
    f"change_column_value(board_id: $board, item_id: $item, column_id: $column, "
    f"value: $value) {{ id }} }}",
}


def docs_markdown(count: int) -> str:
    """One request exporting ``count`` item descriptions as markdown (aliases d0, d1, …)."""
    args = ", ".join(f"$d{i}: ID!" for i in range(count))
    fields = " ".join(f"d{i}: export_markdown_from_doc(docId: $d{i}) {{ success markdown }}" for i in range(count))
    return f"query({args}) {{ {_C} {fields} }}"
