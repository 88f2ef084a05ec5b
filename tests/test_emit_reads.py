"""Reads in one statement: list values and many_to_many ids are correlated subqueries of the
row's own SELECT (column properties the repository undefers); writes still replace the rows of
the relationships; a create does not look up the caller's own row again."""

from __future__ import annotations

from generator import ir
from generator.emit.entity_context import entity_context, entity_loads
from generator.emit.models import ModuleBuilder, id_lists, loaded_attr, loaded_lists, scalar_list
from generator.emit.schemas import emit as emit_schemas


def field(entity: ir.Entity, name: str) -> ir.Field:
    return next(f for f in entity.fields if f.name == name)


def test_scalar_lists_are_read_in_the_row_and_lists_of_objects_are_not(
    projects: dict[str, ir.Project],
) -> None:
    product = projects["shop"].entity("product")
    assert scalar_list(field(product, "tags"))
    assert loaded_attr(field(product, "tags")) == "tags_loaded"
    assert not scalar_list(field(product, "specs"))  # objects: child rows, selectinload
    assert not scalar_list(field(product, "name"))
    assert [r.name for r in id_lists(projects["blog"].entity("post"))] == ["tags"]


def test_the_model_declares_deferred_subquery_columns(projects: dict[str, ir.Project]) -> None:
    blog = projects["blog"]
    module = ModuleBuilder("blog")
    lines = loaded_lists(module, blog, blog.entity("post"))
    assert lines == [
        "keywords_loaded: Mapped[list[str]] = column_property(item_list(PostKeyword.value, "
        "PostKeyword.position, PostKeyword.post_id == id), deferred=True, raiseload=True)",
        "tag_ids: Mapped[list[int]] = column_property(item_list(posts_tags.c.tag_id, "
        "posts_tags.c.tag_id, posts_tags.c.post_id == id), deferred=True, raiseload=True)",
    ]
    assert {i.name for i in module.imports} >= {"column_property", "item_list"}
    assert loaded_lists(ModuleBuilder("blog"), blog, blog.entity("category")) == []


def test_uuid_ids_are_typed_as_uuids(projects: dict[str, ir.Project]) -> None:
    shop = projects["shop"]
    lines = loaded_lists(ModuleBuilder("shop"), shop, shop.entity("product"))
    assert any(line.startswith("category_ids: Mapped[list[uuid.UUID]]") for line in lines)
    assert not any("specs" in line for line in lines)


def test_loads_undefer_the_values_and_keep_selectinload_for_objects(
    projects: dict[str, ir.Project],
) -> None:
    shop = projects["shop"]
    loads = entity_loads(shop, shop.entity("product"))
    assert "undefer(Product.category_ids)" in loads
    assert "undefer(Product.tags_loaded)" in loads
    assert "selectinload(Product.specs)" in loads
    assert not any(load.startswith("selectinload(Product.tags)") for load in loads)


def test_an_embedded_row_reads_its_lists_in_its_own_select(
    projects: dict[str, ir.Project],
) -> None:
    blog = projects["blog"]
    includes = dict(entity_context(blog, blog.entity("post")).includes)
    assert includes["author"].endswith(".options(undefer(User.notify_on_loaded))")


def test_writes_know_the_collections_they_load_and_the_callers_own_id(
    projects: dict[str, ir.Project],
) -> None:
    blog = projects["blog"]
    c = entity_context(blog, blog.entity("post"))
    assert c.collections == (("tag_ids", "tags"), ("keywords", "keywords"))
    assert {t.wire: t.users for t in c.to_one} == {"author_id": True, "category_id": False}
    weather = projects["weather"]  # no auth: no caller to trust
    assert not any(t.users for e in weather.entities for t in entity_context(weather, e).to_one)


def test_the_read_schema_reads_the_loaded_values_or_the_wire_name(
    projects: dict[str, ir.Project],
) -> None:
    files = {f.path: f.content for f in emit_schemas(projects["blog"])}
    post = files["blog/blog/schemas/post.py"]
    assert (
        'keywords: Annotated[list[str], Field(validation_alias=AliasChoices("keywords_loaded", '
        '"keywords"))]'
    ) in " ".join(post.split()).replace("[ ", "[").replace(" ]", "]")
    assert "tag_ids: list[int]" in post


def test_a_create_inserts_with_returning_only_when_the_row_alone_is_what_responses_read(
    projects: dict[str, ir.Project],
) -> None:
    """INSERT ... RETURNING replaces the reload when a response reads nothing but the row's
    columns and its loaded lists; an object stored as prefixed columns (spread by the model's
    setter, which an INSERT statement never calls) or rows read with `selectinload` keep the
    flush and the reload."""
    blog, shop = projects["blog"], projects["shop"]
    assert entity_context(blog, blog.entity("post")).returning == ("tag_ids", "keywords_loaded")
    assert entity_context(blog, blog.entity("category")).returning == ()
    assert entity_context(shop, shop.entity("product")).returning is None  # specs: selectinload
    weather = projects["weather"]
    assert any(f.storage == "flattened" for f in weather.entity("reading").fields)
    assert entity_context(weather, weather.entity("reading")).returning is None
