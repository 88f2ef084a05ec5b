"""The many_to_one that a one_to_many's `inverse` adds to its target is an ordinary relation.

Found by the `relations_and_inverse` case's own suite: `replies.thread_id` was NOT NULL but
absent from `ReplyCreate`, so no reply could be created (a 409 on the constraint).
"""

from __future__ import annotations

from pathlib import Path

from generator.emit.schemas import readable_relations, writable_relations
from generator.pipeline import compile_specs

CASES = Path(__file__).parent / "cases"


def test_the_added_inverse_is_written_and_read_by_id() -> None:
    projects, diags = compile_specs(CASES / "relations_and_inverse" / "spec")
    assert not diags.has_errors
    reply = projects[0].entity("reply")
    thread = next(r for r in reply.relations if r.name == "thread")
    assert thread.implicit and thread.required  # added by the compiler, NOT NULL

    assert thread in writable_relations(reply)
    assert thread in readable_relations(reply)


def test_the_carried_tenant_key_stays_off_the_wire() -> None:
    projects, diags = compile_specs(CASES / "tenancy" / "spec")
    assert not diags.has_errors
    task = projects[0].entity("task")  # scoped through `tenant: project`: carries the key
    key = next(r for r in task.relations if r.target == "organization")
    assert key.implicit

    assert key not in writable_relations(task)
    assert key not in readable_relations(task)
