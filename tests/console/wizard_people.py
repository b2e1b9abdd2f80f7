"""What every browser test that creates a migration in the wizard does with its people step:
send whoever matches nobody at the destination to the fallback person."""

from __future__ import annotations

from typing import Any


def send_unmatched_to_fallback(page: Any, fallback: str) -> None:
    """Wait for the people of both tools, pick "The fallback person" for each person nobody
    matches, and name the fallback person."""
    from playwright.sync_api import expect

    people = page.get_by_role("table", name="People at the source")
    expect(page.get_by_role("status").filter(has_text="Loading the people")).to_have_count(0)
    expect(people).to_be_visible()
    unresolved = people.locator("tr[data-state=unresolved]")
    for _ in range(unresolved.count()):  # each choice re-renders the table: always the first left
        unresolved.first.get_by_role("combobox").select_option(label="The fallback person")
    expect(unresolved).to_have_count(0)
    page.get_by_label("Fallback person (destination email)").fill(fallback)
