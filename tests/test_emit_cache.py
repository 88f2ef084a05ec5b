"""The response cache's share of the emitters: the settings it adds, the entity its generated
tests act on, and the route dependency every list and read gets."""

from __future__ import annotations

from pathlib import Path

from generator import ir
from generator.emit.app import emit as emit_app
from generator.emit.cache_tests import cache_subject, emit, principal_statements, tweakable
from generator.emit.layers import emit as emit_layers
from generator.pipeline import compile_specs


def test_the_blog_cache_tests_act_on_comments_and_the_posts_they_embed(
    projects: dict[str, ir.Project],
) -> None:
    subject = cache_subject(projects["blog"])
    assert subject is not None
    assert (subject.name, subject.include, subject.related) == ("comment", "post", "post")
    assert subject.writer is not None
    assert {"list", "read", "delete"} <= set(subject.operations)


def test_an_api_without_auth_tests_its_cache_as_an_anonymous_caller(
    projects: dict[str, ir.Project],
) -> None:
    subject = cache_subject(projects["weather"])
    assert subject is not None
    assert subject.writer is None
    [test_file] = emit(projects["weather"])
    assert "HIT_STATEMENTS = 0\n" in test_file.content
    assert "test_callers_with_different_visibility" not in test_file.content


def test_a_hit_still_loads_the_caller_with_its_roles_in_one_statement(
    projects: dict[str, ir.Project],
) -> None:
    assert principal_statements(projects["weather"]) == 0  # no auth
    assert principal_statements(projects["blog"]) == 1  # one role, a column of the user row
    assert principal_statements(projects["shop"]) == 1  # a list of roles, read in the same SELECT
    [test_file] = emit(projects["shop"])
    assert "HIT_STATEMENTS = 1\n" in test_file.content


def test_a_tweakable_field_is_plain_text_that_may_change(projects: dict[str, ir.Project]) -> None:
    post = projects["blog"].entity("post")
    field = tweakable(post)
    assert field is not None
    assert field.type.kind in ("string", "text")
    assert not (field.pattern or field.unique or field.immutable or field.write_only)


def test_the_ttl_of_the_spec_is_the_default_setting(projects: dict[str, ir.Project]) -> None:
    files = {f.path: f.content for f in emit_app(projects["weather"])}
    assert (
        "CACHE_TTL_SECONDS: float = Field(default=300, ge=0)"
        in files["weather/weather/core/config.py"]
    )
    assert "CACHE_TTL_SECONDS=300\n" in files["weather/.env.example"]


def test_every_list_and_read_route_goes_through_the_cache(projects: dict[str, ir.Project]) -> None:
    routes = {f.path: f.content for f in emit_layers(projects["blog"]) if "/routes/" in f.path}
    post = routes["blog/blog/routes/post.py"]
    assert "Depends(cached_read(ListEnvelope[PostRead], Post, per_caller=True))" in post
    assert "Depends(cached_read(Envelope[PostRead], Post, per_caller=True))" in post
    assert post.count("return await read.keep(") == 2


def test_no_cache_tests_when_the_spec_does_not_cache(tmp_path: Path) -> None:
    spec = "api: {name: plain}\nentities:\n  note:\n    fields:\n      title: string\n"
    (tmp_path / "api.yaml").write_text(spec, encoding="utf-8")
    [project], diags = compile_specs(tmp_path)
    assert not diags.has_errors
    assert cache_subject(project) is not None
    assert emit(project) == []
