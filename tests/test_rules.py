# ruff: noqa: E501  (expected diagnostics are compared line for line, at their full length)
"""Semantic rules (generator/validate/rules*.py): each test feeds a spec set written as YAML and
compares the exact rendered diagnostics (`file:line:column: severity: message` + hint)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from generator.diagnostics import Diagnostics
from generator.load import load_file
from generator.validate import rules, validate_specs

ALL = "{list: [admin], read: [admin], create: [admin], update: [admin], delete: [admin]}"
# A valid head with auth: more entities follow, written with entities().
AUTH_SPEC = f"""\
api: {{name: shop}}
roles:
  admin: {{}}
  editor: {{inherits: [admin]}}
auth: {{user_entity: user, username_field: email, password_field: password, roles_field: role}}
entities:
  user:
    fields:
      email: {{type: email, unique: true}}
      password: password
      role: {{type: enum, values: [admin, editor]}}
      team: string
    relations:
      org: {{type: many_to_one, target: org, required: false}}
    permissions: {ALL}
  org:
    permissions: {ALL}
"""


def entities(text: str) -> str:
    """More entities for AUTH_SPEC, written at any indentation."""
    return textwrap.indent(textwrap.dedent(text).lstrip("\n"), "  ")


def check(text: str = "", **files: str) -> str:
    """Validate one spec file `specs/spec.yaml` (or several, `name=text` as `specs/name.yaml`);
    return the rendered diagnostics. Texts may be indented: they are dedented."""
    diags = Diagnostics()
    loaded = []
    for name, body in (files or {"spec": text}).items():
        result = load_file(f"specs/{name}.yaml", textwrap.dedent(body), diags)
        assert result is not None, diags.render()
        result.rel = f"{name}.yaml"
        loaded.append(result)
    validate_specs(loaded, diags)
    return diags.render()


def lines(text: str) -> str:
    """Expected output written indented in the test: dedented, without the first newline."""
    return textwrap.dedent(text).lstrip("\n")


# --- 1. names -----------------------------------------------------------------------------------


def test_names_must_be_snake_case_without_double_or_trailing_underscore() -> None:
    assert check("""
        api: {name: Shop_}
        roles:
          Admin: {}
        enums:
          Status_: [a, b]
        entities:
          BlogPost:
            fields:
              Title: string
              a__b: {type: object, fields: {Inner: string}}
            relations:
              parent_: {type: many_to_one, target: BlogPost, required: false}
            endpoints:
              actions:
                doIt: {path: /x, request: {Note: string}}
        """) == lines(
        """
        specs/spec.yaml:2:13: error: api name `Shop_` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `shop`
        specs/spec.yaml:4:3: error: role name `Admin` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `admin`
        specs/spec.yaml:6:3: error: enum name `Status_` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `status`
        specs/spec.yaml:8:3: error: entity name `BlogPost` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `blog_post`
        specs/spec.yaml:10:7: error: field name `Title` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `title`
        specs/spec.yaml:11:7: error: field name `a__b` must not contain `__` (row_filter paths use it)
          hint: write `a_b`
        specs/spec.yaml:11:37: error: field name `Inner` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `inner`
        specs/spec.yaml:13:7: error: relation name `parent_` must not end with `_` (generated Python names use it)
          hint: write `parent`
        specs/spec.yaml:16:9: error: action name `doIt` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `do_it`
        specs/spec.yaml:16:36: error: field name `Note` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `note`
        """
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [("json", "stdlib"), ("fastapi", "dependency"), ("class", "keyword"), ("tests", "folder")],
)
def test_api_name_must_not_shadow_a_module_the_project_imports(name: str, why: str) -> None:
    out = check(f"api: {{name: {name}}}\n")
    assert out.startswith(f"specs/spec.yaml:1:13: error: api name `{name}` is ")
    assert out.endswith(f"  hint: choose another name, such as `{name}_api`\n")
    assert out.count("\n") == 2


def test_generated_field_names_and_pseudo_roles_cannot_be_declared() -> None:
    assert check("""
        api: {name: shop}
        roles:
          owner: {}
          anonymous: {}
        entities:
          post:
            fields:
              id: integer
              created_at: datetime
              deleted_at: datetime
              created_by: integer
              version: integer
              meta: {type: object, fields: {id: string}}
        """) == lines(
        """
        specs/spec.yaml:4:3: error: `owner` is a built-in pseudo-role and cannot be declared
          hint: remove it; every spec may use it without declaring it
        specs/spec.yaml:5:3: error: `anonymous` is a built-in pseudo-role and cannot be declared
          hint: remove it; every spec may use it without declaring it
        specs/spec.yaml:9:7: error: field `post.id`: `id` is generated and cannot be declared
          hint: remove it; every entity has an `id`
        specs/spec.yaml:10:7: error: field `post.created_at`: `created_at` is generated and cannot be declared
          hint: remove it; `api.timestamps` adds it
        specs/spec.yaml:11:7: error: field `post.deleted_at`: `deleted_at` is generated and cannot be declared
          hint: remove it; `soft_delete: true` adds it
        specs/spec.yaml:12:7: error: field `post.created_by`: `created_by` is generated and cannot be declared
          hint: remove it; `audit: true` adds it
        specs/spec.yaml:13:7: error: field `post.version`: `version` is generated and cannot be declared
          hint: remove it; `versioned: true` adds it
        """
    )


def test_entities_whose_class_table_or_path_collide_are_errors_citing_both() -> None:
    assert check("""
        api: {name: shop}
        entities:
          line_2: {}
          line2: {table: line_2s}
          post: {}
          article: {table: posts, path: posts}
          status: {}
          tag:
            fields:
              labels: {type: list, of: string}
          tag_label: {table: tags_labels}
          page:
            fields:
              meta: {type: object, fields: {kind: {type: enum, values: [a, b]}}}
          page_meta_kind: {}
        enums:
          status: [a]
        """) == lines(
        """
        specs/spec.yaml:5:3: error: entity `line2` has the same class name `Line2` as entity `line_2` (at specs/spec.yaml:4:3)
        specs/spec.yaml:5:18: error: entity `line2` has the same table `line_2s` as entity `line_2` (at specs/spec.yaml:4:3)
        specs/spec.yaml:7:20: error: entity `article` has the same table `posts` as entity `post` (at specs/spec.yaml:6:3)
        specs/spec.yaml:7:33: error: entity `article` has the same URL path `posts` as entity `post` (at specs/spec.yaml:6:3)
        specs/spec.yaml:11:7: error: the list field `tag.labels` has the same table `tags_labels` as entity `tag_label` (at specs/spec.yaml:12:22)
        specs/spec.yaml:15:64: error: the inline enum of field `page.meta.kind` has the same class name `PageMetaKind` as entity `page_meta_kind` (at specs/spec.yaml:16:3)
        specs/spec.yaml:18:3: error: enum `status` has the same class name `Status` as entity `status` (at specs/spec.yaml:8:3)
        """
    )


def test_an_entity_path_must_not_take_the_auth_routes() -> None:
    assert check(
        AUTH_SPEC
        + entities(f"""
          login:
            path: auth
            permissions: {ALL}
        """)
    ) == lines(
        """
        specs/spec.yaml:19:11: error: entity `login` has the same URL path `auth` as the auth routes (at specs/spec.yaml:5:1)
        """
    )


def test_names_over_63_bytes_are_errors() -> None:
    assert check("""
        api: {name: shop}
        entities:
          a_very_long_entity_name_that_goes_on_and_on_and_on:
            fields:
              a_field_name_that_is_long_enough_to_overflow_the_identifier_limit_x: string
              tags_with_an_extraordinarily_long_name_here: {type: list, of: string}
            relations:
              tag_relations_with_a_long_name_as_well: {type: many_to_many, target: tag}
          tag: {}
          short: {table: a_table_name_that_is_written_explicitly_and_is_far_too_long_for_pg}
        """) == lines(
        """
        specs/spec.yaml:6:7: error: column name `a_field_name_that_is_long_enough_to_overflow_the_identifier_limit_x` is 67 bytes, over the 63 bytes PostgreSQL allows
          hint: choose a shorter name
        specs/spec.yaml:7:7: error: table name `a_very_long_entity_name_that_goes_on_and_on_and_ons_tags_with_an_extraordinarily_long_name_here` of the list field `a_very_long_entity_name_that_goes_on_and_on_and_on.tags_with_an_extraordinarily_long_name_here` is 95 bytes, over the 63 bytes PostgreSQL allows
          hint: choose a shorter name or set `table:`
        specs/spec.yaml:9:7: error: table name `a_very_long_entity_name_that_goes_on_and_on_and_ons_tag_relations_with_a_long_name_as_well` of the many_to_many `a_very_long_entity_name_that_goes_on_and_on_and_on.tag_relations_with_a_long_name_as_well` is 90 bytes, over the 63 bytes PostgreSQL allows
          hint: choose a shorter name or set `table:`
        specs/spec.yaml:11:18: error: table name `a_table_name_that_is_written_explicitly_and_is_far_too_long_for_pg` of entity `short` is 66 bytes, over the 63 bytes PostgreSQL allows
          hint: choose a shorter name or set `table:`
        """
    )


def test_field_named_like_a_relation_or_its_column_is_an_error() -> None:
    assert check("""
        api: {name: shop}
        entities:
          user: {}
          tag: {}
          post:
            fields:
              author_id: integer
              author: string
              tag_ids: {type: list, of: integer}
              meta: {type: object, fields: {id: string, at: string}}
              meta_at: string
              lines: {type: list, of: {fields: {position: integer, post_id: integer, ok: string}}}
            relations:
              author: {type: many_to_one, target: user}
              tags: {type: many_to_many, target: tag}
              meta: {type: many_to_one, target: user}
        """) == lines(
        """
        specs/spec.yaml:8:7: error: field `post.author_id` clashes with relation `author`, which reads and writes as `author_id`
          hint: remove the field; the relation `author` owns `author_id`
        specs/spec.yaml:10:7: error: field `post.tag_ids` clashes with relation `tags`, which reads and writes as `tag_ids`
          hint: remove the field; the relation `tags` owns `tag_ids`
        specs/spec.yaml:12:7: error: field `post.meta_at` is stored in column `meta_at`, which field `post.meta.at` also uses
          hint: rename the object member or the other field
        specs/spec.yaml:13:41: error: field `post.lines.position` is stored in column `position`, which the child table `posts_lines` uses for its position
          hint: rename the member
        specs/spec.yaml:13:60: error: field `post.lines.post_id` is stored in column `post_id`, which the child table `posts_lines` uses for its parent key
          hint: rename the member
        specs/spec.yaml:15:7: error: `post.author` is declared both as a field and as a relation
          hint: rename one of them
        specs/spec.yaml:17:7: error: `post.meta` is declared both as a field and as a relation
          hint: rename one of them
        specs/spec.yaml:17:7: error: relation `post.meta` is stored in column `meta_id`, which field `post.meta.id` also uses
          hint: rename the object member or the other field
        """
    )


# --- 15. table and path -------------------------------------------------------------------------


def test_table_must_be_an_sql_identifier_and_path_a_kebab_segment() -> None:
    assert check("""
        api: {name: shop}
        entities:
          post: {table: Posts, path: blog_posts}
          item: {table: 1items, path: items/all}
          ok: {table: _ok_items, path: ok-items-2}
        """) == lines(
        """
        specs/spec.yaml:4:17: error: table `Posts` of entity `post` is not a plain SQL identifier (lowercase letters, digits and `_`, not starting with a digit)
          hint: write `posts`
        specs/spec.yaml:4:30: error: path `blog_posts` of entity `post` must be one lowercase kebab-case URL segment (letters, digits, single `-`)
          hint: write `blog-posts`
        specs/spec.yaml:5:17: error: table `1items` of entity `item` is not a plain SQL identifier (lowercase letters, digits and `_`, not starting with a digit)
          hint: write `n_1items`
        specs/spec.yaml:5:31: error: path `items/all` of entity `item` must be one lowercase kebab-case URL segment (letters, digits, single `-`)
          hint: write `items-all`
        """
    )


# --- 2. roles -----------------------------------------------------------------------------------


def test_roles_inherit_declared_roles_without_cycles_each_reported_once() -> None:
    assert check("""
        api: {name: shop}
        roles:
          a: {inherits: [b]}
          b: {inherits: [c, authenticated]}
          c: {inherits: [a, edtor]}
          editor: {inherits: [editor]}
          x: {inherits: [y]}
          y: {inherits: [x]}
          z: {inherits: [x]}
        """) == lines(
        """
        specs/spec.yaml:4:3: error: role inheritance has a cycle: `a -> b -> c -> a`
          hint: inheritance must be acyclic; remove one link
        specs/spec.yaml:5:21: error: role `b` inherits `authenticated`, a pseudo-role that cannot be inherited
        specs/spec.yaml:6:21: error: role `c` inherits unknown role `edtor`
          hint: did you mean `editor`?
        specs/spec.yaml:7:3: error: role inheritance has a cycle: `editor -> editor`
          hint: inheritance must be acyclic; remove one link
        specs/spec.yaml:8:3: error: role inheritance has a cycle: `x -> y -> x`
          hint: inheritance must be acyclic; remove one link
        """
    )


# --- 3. types -----------------------------------------------------------------------------------


def test_field_types_and_enum_values() -> None:
    assert check("""
        api: {name: shop}
        enums:
          level: [Low, low, PG-13, PG 13, high, high]
          nothing: []
        entities:
          thing:
            fields:
              a: strng
              b: enum
              c: {type: enum, enum: level, values: [x]}
              d: {type: enum, enum: levl}
              e: {type: enum, values: []}
              f: {type: enum, values: [Draft, draft]}
              g: {type: enum, values: [Ärger, ärger, straße, STRASSE]}
        """) == lines(
        """
        specs/spec.yaml:4:16: error: enum `level`: values `Low` and `low` differ only in case
          hint: keep one of them
        specs/spec.yaml:4:28: error: enum `level`: values `PG-13` and `PG 13` both become the Python name `PG_13`
          hint: keep one spelling
        specs/spec.yaml:4:41: error: enum `level`: value `high` appears twice
          hint: keep one of them
        specs/spec.yaml:5:12: error: enum `nothing` has no values
        specs/spec.yaml:9:10: error: field `thing.a`: unknown type `strng`
          hint: did you mean `string`?
        specs/spec.yaml:10:10: error: field `thing.b`: an enum needs `enum:` (a declared enum) or `values:`
        specs/spec.yaml:11:36: error: field `thing.c`: an enum takes `enum:` or `values:`, not both
        specs/spec.yaml:12:29: error: field `thing.d`: unknown enum `levl`
          hint: did you mean `level`?
        specs/spec.yaml:13:31: error: field `thing.e` has no values
        specs/spec.yaml:14:39: error: field `thing.f`: values `Draft` and `draft` differ only in case
          hint: keep one of them
        specs/spec.yaml:15:39: error: field `thing.g`: values `Ärger` and `ärger` differ only in case
          hint: keep one of them
        specs/spec.yaml:15:54: error: field `thing.g`: values `straße` and `STRASSE` differ only in case
          hint: keep one of them
        """
    )


def test_list_needs_of_object_needs_fields_and_lists_do_not_nest() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              g: list
              h: {type: list, of: {type: list, of: string}}
              i: object
              j: {type: object, fields: {}}
              k: {type: string, of: string, fields: {x: string}}
              l: {type: list, of: {type: intger}}
              m: {type: list, of: {fields: {n: {type: objet}}}}
        """) == lines(
        """
        specs/spec.yaml:6:10: error: field `thing.g`: a list needs `of:` (the item type)
          hint: for example `of: string`
        specs/spec.yaml:7:27: error: field `thing.h`: a list of lists is not supported
          hint: use `json` for nested arrays
        specs/spec.yaml:8:10: error: field `thing.i`: an object needs `fields:` with at least one member
        specs/spec.yaml:9:33: error: field `thing.j`: an object needs `fields:` with at least one member
        specs/spec.yaml:10:25: error: field `thing.k`: option `of` does not apply to type `string`
          hint: did you mean `type: list`?
        specs/spec.yaml:10:37: error: field `thing.k`: option `fields` does not apply to type `string`
          hint: did you mean `type: object`?
        specs/spec.yaml:11:34: error: items of `thing.l`: unknown type `intger`
          hint: did you mean `integer`?
        specs/spec.yaml:12:47: error: field `thing.m.n`: unknown type `objet`
          hint: did you mean `object`?
        """
    )


# --- 4. options and defaults --------------------------------------------------------------------


def test_options_apply_only_to_types_that_use_them() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              a: {type: integer, max_length: 5, pattern: "x", searchable: true}
              b: {type: string, min: 1, max_items: 3, precision: 5}
              c: {type: list, of: string, unique: true, min: 1}
              d: {type: password, searchable: true, sortable: true}
              e: {type: json, filterable: true, index: true}
              f: {type: string, on_update: now}
              h: {type: string, values: [a]}
              i: {type: boolean, unique: false, filterable: true}
              j: {type: list, of: integer, default: [1]}
              k: {type: object, fields: {x: integer}, default: {x: 1}}
        """) == lines(
        """
        specs/spec.yaml:6:26: error: field `thing.a`: option `max_length` does not apply to type `integer`
          hint: use `min` / `max` for numbers
        specs/spec.yaml:6:41: error: field `thing.a`: option `pattern` does not apply to type `integer`
        specs/spec.yaml:6:55: error: field `thing.a`: option `searchable` does not apply to type `integer`
        specs/spec.yaml:7:25: error: field `thing.b`: option `min` does not apply to type `string`
          hint: use `min_length` / `max_length` for text
        specs/spec.yaml:7:33: error: field `thing.b`: option `max_items` does not apply to type `string`
          hint: use `min_length` / `max_length` for text
        specs/spec.yaml:7:47: error: field `thing.b`: option `precision` does not apply to type `string`
          hint: did you mean `type: decimal`?
        specs/spec.yaml:8:35: error: field `thing.c`: option `unique` does not apply to type `list`
        specs/spec.yaml:8:49: error: field `thing.c`: option `min` does not apply to type `list`
          hint: use `min_items` / `max_items` for lists
        specs/spec.yaml:9:27: error: field `thing.d`: option `searchable` does not apply to type `password`
        specs/spec.yaml:9:45: error: field `thing.d`: option `sortable` does not apply to type `password`
        specs/spec.yaml:10:23: error: field `thing.e`: option `filterable` does not apply to type `json`
        specs/spec.yaml:10:41: error: field `thing.e`: option `index` does not apply to type `json`
        specs/spec.yaml:11:25: error: field `thing.f`: option `on_update` does not apply to type `string`
        specs/spec.yaml:12:25: error: field `thing.h`: option `values` does not apply to type `string`
          hint: did you mean `type: enum`?
        specs/spec.yaml:14:36: error: field `thing.j`: option `default` does not apply to type `list`
        specs/spec.yaml:15:47: error: field `thing.k`: option `default` does not apply to type `object`
        """
    )


def test_row_options_do_not_apply_to_list_items_or_request_fields() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              g: {type: list, of: {type: string, unique: true, default: x, max_length: 9}}
            endpoints:
              actions:
                go:
                  path: /go
                  request: {note: {type: string, unique: true, read_only: true, default: x}}
        """) == lines(
        """
        specs/spec.yaml:6:42: error: items of `thing.g`: option `unique` does not apply to list items (set it on the list field)
        specs/spec.yaml:6:56: error: items of `thing.g`: option `default` does not apply to list items (set it on the list field)
        specs/spec.yaml:11:42: error: request field `thing.go.note`: option `unique` does not apply to a request field
        specs/spec.yaml:11:56: error: request field `thing.go.note`: option `read_only` does not apply to a request field
        """
    )


def test_bounds_are_consistent_finite_and_within_the_type() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              a: {type: string, min_length: 10, max_length: 5}
              b: {type: integer, min: 10, max: 1}
              c: {type: list, of: string, min_items: 4, max_items: 2}
              d: {type: decimal, precision: 4, scale: 6}
              e: {type: decimal, scale: 20}
              f: {type: string, min_length: 300}
              g: {type: string, pattern: "([a-z"}
              h: {type: float, min: .nan, max: .inf}
              i: {type: integer, max: 3000000000}
              j: {type: bigint, max: 3000000000}
              k: {type: text, min_length: 300}
        """) == lines(
        """
        specs/spec.yaml:6:25: error: field `thing.a`: `min_length` (10) is greater than `max_length` (5)
        specs/spec.yaml:7:26: error: field `thing.b`: `min` (10) is greater than `max` (1)
        specs/spec.yaml:8:35: error: field `thing.c`: `min_items` (4) is greater than `max_items` (2)
        specs/spec.yaml:9:40: error: field `thing.d`: `scale` (6) is greater than `precision` (4)
        specs/spec.yaml:10:26: error: field `thing.e`: `scale` (20) is greater than the default `precision` (18)
        specs/spec.yaml:11:25: error: field `thing.f`: `min_length` (300) is greater than the default `max_length` of `string` (255)
          hint: set `max_length`
        specs/spec.yaml:12:34: error: field `thing.g`: `pattern` is not a valid regular expression: unterminated character set
        specs/spec.yaml:13:29: error: field `thing.h`: `min` (.nan) is not a finite number
        specs/spec.yaml:13:40: error: field `thing.h`: `max` (.inf) is not a finite number
        specs/spec.yaml:14:31: error: field `thing.i`: `max` (3000000000) is outside the range of `integer` (-2147483648 to 2147483647)
          hint: use `bigint`
        """
    )


def test_defaults_match_the_type_and_the_limits() -> None:
    assert check("""
        api: {name: shop}
        enums:
          level: [low, high]
        entities:
          thing:
            fields:
              a: {type: integer, default: "5"}
              b: {type: integer, default: true}
              c: {type: integer, min: 0, max: 10, default: 11}
              d: {type: string, max_length: 3, default: abcd}
              e: {type: string, default: no}
              f: {type: enum, enum: level, default: hgh}
              g: {type: date, default: 2024-01-01}
              h: {type: datetime, default: yesterday}
              i: {type: time, default: now}
              j: {type: uuid, default: not-a-uuid}
              k: {type: float, default: .nan}
              n: {type: string, default: null}
              r: {type: string, pattern: "^[a-z]+$", default: ABC}
              s: {type: email, default: nobody}
              t: {type: json, default: {any: [1, 2]}}
              u: {type: date, default: "2024-02-30"}
              v: {type: integer, default: 99999999999}
              x: {type: decimal, default: 1.5}
              y: {type: uuid, default: 6f1c1a52-3c8b-4b8e-9d1e-1b2c3d4e5f60}
              z: {type: string, nullable: true, default: null}
        """) == lines(
        """
        specs/spec.yaml:8:35: error: field `thing.a`: default `"5"` is not an integer
        specs/spec.yaml:9:35: error: field `thing.b`: default `true` is not an integer
        specs/spec.yaml:10:52: error: field `thing.c`: default `11` is above `max` (10)
        specs/spec.yaml:11:49: error: field `thing.d`: default `abcd` is longer than `max_length` (3)
        specs/spec.yaml:12:34: error: field `thing.e`: default `no` is not a string
          hint: YAML reads `no` as a boolean; write "no"
        specs/spec.yaml:13:45: error: field `thing.f`: default `hgh` is not one of the enum values (`low`, `high`)
          hint: did you mean `high`?
        specs/spec.yaml:14:32: error: field `thing.g`: default `2024-01-01` is not `now` or an ISO date such as `2024-01-31`
          hint: YAML reads `2024-01-01` as a date; write "2024-01-01"
        specs/spec.yaml:15:36: error: field `thing.h`: default `yesterday` is not `now` or an ISO datetime such as `2024-01-31T12:00:00Z`
        specs/spec.yaml:17:32: error: field `thing.j`: default `not-a-uuid` is not a UUID
        specs/spec.yaml:18:33: error: field `thing.k`: default `.nan` is not a finite number
        specs/spec.yaml:19:34: error: field `thing.n`: default `null` is null, but the field is not nullable
          hint: add `nullable: true`
        specs/spec.yaml:20:55: error: field `thing.r`: default `ABC` does not match `pattern`
        specs/spec.yaml:21:33: error: field `thing.s`: default `nobody` is not a valid email address
        specs/spec.yaml:23:32: error: field `thing.u`: default `"2024-02-30"` is not `now` or an ISO date such as `2024-01-31`
        specs/spec.yaml:24:35: error: field `thing.v`: default `99999999999` is outside the range of `integer` (-2147483648 to 2147483647)
          hint: use `bigint`
        """
    )


def test_default_now_only_on_date_datetime_time_and_never_on_password() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              a: {type: date, default: now}
              b: {type: datetime, default: now}
              c: {type: integer, default: now}
              d: {type: boolean, default: now}
              e: {type: string, default: now}
              f: {type: password, default: secret}
        """) == lines(
        """
        specs/spec.yaml:8:35: error: field `thing.c`: default `now` is only for date, datetime and time fields, not `integer`
        specs/spec.yaml:9:35: error: field `thing.d`: default `now` is only for date, datetime and time fields, not `boolean`
        specs/spec.yaml:11:27: error: field `thing.f`: option `default` does not apply to type `password`
          hint: passwords are only stored as hashes of what is sent
        """
    )


def test_conflicting_flags_and_filterable_query_parameter_names() -> None:
    assert check("""
        api: {name: shop}
        entities:
          thing:
            fields:
              a: {type: string, read_only: true, write_only: true}
              b: {type: string, read_only: true, immutable: true}
              page: {type: integer, filterable: true}
              q: {type: string, filterable: true}
              include_deleted: {type: boolean, filterable: true}
              limit: {type: integer}
        """) == lines(
        """
        specs/spec.yaml:6:42: error: field `thing.a`: `read_only` and `write_only` cannot be combined
          hint: nobody could ever write or read such a field
        specs/spec.yaml:7:25: error: field `thing.b`: `immutable` and `read_only` cannot be combined
          hint: `immutable` is about the value sent on create, and a read_only field is never sent
        specs/spec.yaml:8:29: error: field `thing.page` cannot be filterable: `?page=` is a query parameter of every list route
          hint: rename the field, or drop `filterable`
        specs/spec.yaml:9:25: error: field `thing.q` cannot be filterable: `?q=` is a query parameter of every list route
          hint: rename the field, or drop `filterable`
        specs/spec.yaml:10:40: error: field `thing.include_deleted` cannot be filterable: `?include_deleted=` is a query parameter of every list route
          hint: rename the field, or drop `filterable`
        """
    )


def test_denormalized_warns_unless_the_field_copies_a_related_value() -> None:
    assert check("""
        api: {name: shop}
        entities:
          customer:
            fields:
              email: email
          order:
            fields:
              customer_email: {type: email, denormalized: {reason: snapshot}}
              customer_mail: {type: email, denormalized: {reason: typo}}
              total: {type: decimal, denormalized: {reason: nothing to copy}}
            relations:
              customer: {type: many_to_one, target: customer}
        """) == lines(
        """
        specs/spec.yaml:10:36: warning: field `order.customer_mail` is marked `denormalized` but does not copy a related value (`<relation>_<field>` after a many_to_one or one_to_one)
          hint: did you mean `customer_email`?
        specs/spec.yaml:11:30: warning: field `order.total` is marked `denormalized` but does not copy a related value (`<relation>_<field>` after a many_to_one or one_to_one)
        """
    )


# --- 5. relations -------------------------------------------------------------------------------


def test_relation_targets_options_and_inverses() -> None:
    assert check("""
        api: {name: shop}
        entities:
          user: {}
          tag: {}
          post:
            relations:
              author: {type: many_to_one, target: usr}
              tags: {type: many_to_many, target: tag, required: true, on_delete: cascade, inverse: x}
              editor: {type: many_to_one, target: user, on_delete: set_null}
              reviewer: {type: one_to_one, target: user, required: false, on_delete: set_null}
              comments: {type: one_to_many, target: comment, inverse: topic, through: tag}
              notes: {type: one_to_many, target: note, inverse: post}
              parent: {type: many_to_one, target: post, required: false}
              children: {type: one_to_many, target: post, inverse: parent}
          comment:
            relations:
              topic: {type: many_to_one, target: tag}
          note:
            fields:
              post: string
          page:
            relations:
              notes: {type: one_to_many, target: note, inverse: subject}
          book:
            relations:
              notes: {type: one_to_many, target: note, inverse: subject}
        """) == lines(
        """
        specs/spec.yaml:8:43: error: relation `post.author` targets unknown entity `usr`
          hint: did you mean `user`?
        specs/spec.yaml:9:47: error: relation `post.tags`: `required` applies only to many_to_one and one_to_one relations, not many_to_many
        specs/spec.yaml:9:63: error: relation `post.tags`: `on_delete` applies only to many_to_one and one_to_one relations, not many_to_many
        specs/spec.yaml:9:83: error: relation `post.tags`: `inverse` applies only to one_to_many relations, not many_to_many
        specs/spec.yaml:10:60: error: relation `post.editor`: `on_delete: set_null` needs `required: false`
          hint: add `required: false`, or choose `cascade` or `restrict`
        specs/spec.yaml:12:63: error: relation `post.comments`: its inverse `comment.topic` must be a many_to_one to `post`, not a many_to_one to `tag`
        specs/spec.yaml:12:70: error: relation `post.comments`: `through` applies only to many_to_many relations, not one_to_many
        specs/spec.yaml:13:57: error: the inverse `post` that `post.notes` creates on `note` clashes with its field `post`
          hint: rename the inverse, or declare the many_to_one on the target
        specs/spec.yaml:27:57: error: the inverse `note.subject` is created by both `page.notes` and `book.notes`
          hint: give each one_to_many its own inverse name
        """
    )


def test_through_entity_links_both_sides() -> None:
    assert check("""
        api: {name: shop}
        entities:
          student: {}
          course:
            relations:
              students: {type: many_to_many, target: student, through: enrollment}
              peers: {type: many_to_many, target: course, through: link}
              others: {type: many_to_many, target: student, through: enrolment}
              mates: {type: many_to_many, target: student, through: seat}
          enrollment:
            relations:
              course: {type: many_to_one, target: course}
          link:
            relations:
              a: {type: many_to_one, target: course}
          seat:
            relations:
              course: {type: many_to_one, target: course}
              student: {type: many_to_one, target: student}
        """) == lines(
        """
        specs/spec.yaml:7:64: error: relation `course.students`: the `through` entity `enrollment` needs a many_to_one to `student`
        specs/spec.yaml:8:60: error: relation `course.peers`: the `through` entity `link` needs a many_to_one to `course` for each side
        specs/spec.yaml:9:62: error: relation `course.others`: `through` names unknown entity `enrolment`
          hint: did you mean `enrollment`?
        """
    )


def test_required_reference_to_the_entity_itself_warns() -> None:
    assert check("""
        api: {name: shop}
        entities:
          category:
            relations:
              parent: {type: many_to_one, target: category}
              twin: {type: one_to_one, target: category, required: false}
        """) == lines(
        """
        specs/spec.yaml:6:7: warning: relation `category.parent` is a required reference to `category` itself: the first `category` can never be created
          hint: add `required: false`
        """
    )


# --- 6. owner -----------------------------------------------------------------------------------


def test_owner_needs_an_auth_block() -> None:
    assert check("""
        api: {name: shop}
        entities:
          user: {}
          post:
            relations:
              author: {type: many_to_one, target: user}
            owner: author
        """) == lines(
        """
        specs/spec.yaml:8:12: error: entity `post` has an `owner`, which needs an `auth` block
          hint: add an `auth:` block naming the user entity
        """
    )


def test_owner_is_a_to_one_relation_to_the_user_entity_or_self_on_it() -> None:
    assert check(
        AUTH_SPEC
        + entities(f"""
          staff:
            permissions: {ALL}
          post:
            relations:
              author: {{type: many_to_one, target: user}}
              watchers: {{type: many_to_many, target: user}}
              boss: {{type: many_to_one, target: staff}}
            owner: athor
            permissions: {ALL}
          note:
            relations:
              watchers: {{type: many_to_many, target: user}}
            owner: watchers
            permissions: {ALL}
          memo:
            relations:
              boss: {{type: many_to_one, target: staff}}
            owner: boss
            permissions: {ALL}
          item:
            owner: self
            permissions: {ALL}
          comment:
            owner: writer
            permissions: {ALL}
          writer_profile:
            relations:
              comments: {{type: one_to_many, target: comment, inverse: writer}}
            permissions: {ALL}
        """)
    ) == lines(
        """
        specs/spec.yaml:25:12: error: entity `post`: `owner` names `athor`, which is not a relation of `post`
          hint: did you mean `author`?
        specs/spec.yaml:30:12: error: entity `note`: the owner relation `watchers` must be a many_to_one or one_to_one, not a many_to_many
        specs/spec.yaml:35:12: error: entity `memo`: the owner relation `boss` points at `staff`, not at the auth user entity `user`
        specs/spec.yaml:38:12: error: entity `item`: `owner: self` is only for the auth user entity `user`
        specs/spec.yaml:41:12: error: entity `comment`: the owner relation `writer` points at `writer_profile`, not at the auth user entity `user`
        """
    )


def test_owner_in_permissions_needs_an_owner() -> None:
    assert check(
        AUTH_SPEC
        + entities("""
          post:
            permissions: {list: [owner], read: [admin], create: [admin], update: [admin], delete: [admin]}
            field_permissions: {title: {read: [owner]}}
            fields:
              title: string
            endpoints:
              actions:
                go: {path: "/{id}/go", roles: [owner]}
        """)
    ) == lines(
        """
        specs/spec.yaml:19:26: error: entity `post`: `permissions.list` lists `owner`, but `post` has no `owner`
          hint: set `owner:` to the relation that points at the user
        specs/spec.yaml:20:40: error: entity `post`: `field_permissions.title.read` lists `owner`, but `post` has no `owner`
          hint: set `owner:` to the relation that points at the user
        specs/spec.yaml:25:40: error: entity `post`: `endpoints.actions.go.roles` lists `owner`, but `post` has no `owner`
          hint: set `owner:` to the relation that points at the user
        """
    )


# --- 7. unique, indexes, checks, dependencies ---------------------------------------------------


def test_unique_and_index_entries_name_columns_once() -> None:
    assert check("""
        api: {name: shop}
        entities:
          user: {}
          tag: {}
          post:
            soft_delete: true
            versioned: true
            fields:
              slug: string
              title: string
              tags_list: {type: list, of: string}
              data: json
            relations:
              author: {type: many_to_one, target: user}
              tags: {type: many_to_many, target: tag}
            unique: [[author, slg], [], [slug, slug], [tags], [created_at, title], [data]]
            indexes: [[deleted_at, updated_at], [tags_list], [versoin], [version, id]]
        """) == lines(
        """
        specs/spec.yaml:17:23: error: entity `post`: `unique` names `slg`, which is not a field or relation of `post`
          hint: did you mean `slug`?
        specs/spec.yaml:17:29: error: entity `post`: a `unique` entry is empty
          hint: list at least one field
        specs/spec.yaml:17:40: error: entity `post`: a `unique` entry names `slug` twice
        specs/spec.yaml:17:48: error: entity `post`: `unique` names `tags`, which is a many_to_many relation and has no column
        specs/spec.yaml:17:77: error: entity `post`: `unique` names `data`, which is a json field and has no comparable column
        specs/spec.yaml:18:42: error: entity `post`: `indexes` names `tags_list`, which is a list field and has no comparable column
        specs/spec.yaml:18:55: error: entity `post`: `indexes` names `versoin`, which is not a field or relation of `post`
          hint: did you mean `version`?
        """
    )


def test_checks_read_field_op_field_or_literal() -> None:
    assert check("""
        api: {name: shop, timestamps: false}
        entities:
          post:
            fields:
              price: decimal
              cost: decimal
              title: string
              tags: {type: list, of: string}
            checks:
              - "price > 0"
              - "price >= cost"
              - "price >= prce"
              - "updated_at >= created_at"
              - "title != 'x'"
              - "price >> 1"
              - "price > inf"
              - "title != null"
              - "price"
              - "tags = 'a'"
              - "price < -1.5e3"
        """) == lines(
        """
        specs/spec.yaml:13:9: error: entity `post`: check `price >= prce` names `prce`, which is not a field or relation of `post`
          hint: did you mean `price`?
        specs/spec.yaml:14:9: error: entity `post`: check `updated_at >= created_at` names `created_at`, which is not a field or relation of `post`
        specs/spec.yaml:14:9: error: entity `post`: check `updated_at >= created_at` names `updated_at`, which is not a field or relation of `post`
        specs/spec.yaml:16:9: error: entity `post`: check `price >> 1` must read `<field> <op> <field or literal>`
          hint: op is one of < <= > >= = !=; a literal is a number, a quoted string, true, false or null
        specs/spec.yaml:17:9: error: entity `post`: check `price > inf` names `inf`, which is not a field or relation of `post`
        specs/spec.yaml:19:9: error: entity `post`: check `price` must read `<field> <op> <field or literal>`
          hint: op is one of < <= > >= = !=; a literal is a number, a quoted string, true, false or null
        specs/spec.yaml:20:9: error: entity `post`: check `tags = 'a'` names `tags`, which is a list field and has no comparable column
        """
    )


def test_dependencies_parse_name_columns_and_derive_distinct_entities() -> None:
    assert check("""
        api: {name: shop}
        entities:
          user: {}
          customer:
            fields:
              zip_code: string
              city: string
              state: string
              country: string
              tags: {type: list, of: string}
            relations:
              user: {type: many_to_one, target: user}
            dependencies:
              - "zip_code -> city, state"
              - "zip_code -> country"
              - "city -> city"
              - "zip_code, -> city"
              - "zip -> town"
              - "a -> b -> c"
              - "tags -> city"
              - {fd: "city -> country", entity: user}
              - {fd: "state -> country", entity: State}
              - "user -> country"
              - {fd: "state -> city", entity: region}
          store:
            fields:
              zip_code: string
              city: string
            dependencies:
              - "zip_code -> city"
              - {fd: "city -> zip_code", entity: store_city}
        """) == lines(
        """
        specs/spec.yaml:17:9: error: entity `customer`: dependency `city -> city` has `city` on both sides
        specs/spec.yaml:17:9: error: entity `customer`: dependency `city -> city` starts from names that `zip_code -> city, state` moves to another table, in a way gen cannot synthesize (several sources, part of the left side, or a cycle)
          hint: make the left side one dependency's right side, without a cycle
        specs/spec.yaml:18:9: error: entity `customer`: dependency `zip_code, -> city` must read `a, b -> c, d`
          hint: names separated by commas, one `->`
        specs/spec.yaml:19:9: error: entity `customer`: dependency `zip -> town` names `town`, which is not a field or relation of `customer`
        specs/spec.yaml:19:9: error: entity `customer`: dependency `zip -> town` names `zip`, which is not a field or relation of `customer`
        specs/spec.yaml:20:9: error: entity `customer`: dependency `a -> b -> c` must read `a, b -> c, d`
          hint: names separated by commas, one `->`
        specs/spec.yaml:21:9: error: entity `customer`: dependency `tags -> city` names `tags`, which is a list field and has no comparable column
        specs/spec.yaml:22:9: error: entity `customer`: dependency `city -> country` starts from names that `zip_code -> city, state` moves to another table, in a way gen cannot synthesize (several sources, part of the left side, or a cycle)
          hint: make the left side one dependency's right side, without a cycle
        specs/spec.yaml:22:41: error: entity `customer`: the dependency's entity `user` is already an entity (at specs/spec.yaml:4:3)
          hint: choose another `entity:` name
        specs/spec.yaml:23:42: error: dependency entity name `State` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `state`
        specs/spec.yaml:24:9: error: entity `customer`: the dependency's entity `user` is already an entity (at specs/spec.yaml:4:3)
          hint: name its entity: `{fd: "...", entity: other_name}`
        specs/spec.yaml:31:9: error: entity `store`: this dependency derives entity `zip_code`, as does the one at specs/spec.yaml:15:9
          hint: name its entity: `{fd: "...", entity: other_name}`
        specs/spec.yaml:31:9: error: entity `store`: dependency `zip_code -> city` starts from names that `city -> zip_code` moves to another table, in a way gen cannot synthesize (several sources, part of the left side, or a cycle)
          hint: make the left side one dependency's right side, without a cycle
        specs/spec.yaml:32:9: error: entity `store`: dependency `city -> zip_code` starts from names that `zip_code -> city` moves to another table, in a way gen cannot synthesize (several sources, part of the left side, or a cycle)
          hint: make the left side one dependency's right side, without a cycle
        """
    )


# --- 8. permissions -----------------------------------------------------------------------------


def test_without_auth_every_role_named_must_be_anonymous() -> None:
    assert check("""
        api: {name: shop}
        roles:
          admin: {}
        entities:
          post:
            fields:
              title: string
            permissions: {list: [anonymous], read: [authenticated], create: [admin], delete: [owner]}
            field_permissions: {title: {write: [admin]}}
            row_filter:
              admin: {title: x}
              anonymous: {title: $me}
            endpoints:
              actions:
                go: {path: /go, roles: [admin]}
        """) == lines(
        """
        specs/spec.yaml:9:45: error: entity `post`: `permissions.read` names `authenticated`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/spec.yaml:9:70: error: entity `post`: `permissions.create` names `admin`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/spec.yaml:9:87: error: entity `post`: `permissions.delete` names `owner`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/spec.yaml:10:41: error: entity `post`: `field_permissions.title.write` names `admin`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/spec.yaml:12:7: error: entity `post`: `row_filter` names `admin`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/spec.yaml:13:26: error: entity `post`: row_filter `anonymous`: `title`: `$me` needs an `auth` block (a caller)
        specs/spec.yaml:16:33: error: entity `post`: `endpoints.actions.go.roles` names `admin`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        """
    )


def test_roles_named_in_permissions_are_declared_or_pseudo_roles() -> None:
    assert check(
        AUTH_SPEC
        + entities("""
          post:
            fields:
              title: string
            permissions: {list: [anonymous], read: [edtor], create: [authenticated], update: [admin], delete: [admin]}
            field_permissions: {title: {write: [admn]}, ttle: {read: [admin]}}
            row_filter:
              owner: {title: x}
              nobody: {title: x}
              authenticated: {title: x}
            endpoints:
              actions:
                go: {path: /go, roles: [editr]}
        """)
    ) == lines(
        """
        specs/spec.yaml:21:45: error: entity `post`: `permissions.read` names unknown role `edtor`
          hint: did you mean `editor`?
        specs/spec.yaml:22:41: error: entity `post`: `field_permissions.title.write` names unknown role `admn`
          hint: did you mean `admin`?
        specs/spec.yaml:22:49: error: entity `post`: `field_permissions` names `ttle`, which is not a field or relation of `post`
          hint: did you mean `title`?
        specs/spec.yaml:24:7: error: entity `post`: `owner` cannot be a row_filter key
          hint: owners always see their own rows
        specs/spec.yaml:25:7: error: entity `post`: `row_filter` names unknown role `nobody`
        specs/spec.yaml:29:33: error: entity `post`: `endpoints.actions.go.roles` names unknown role `editr`
          hint: did you mean `editor`?
        """
    )


def test_with_auth_an_operation_permissions_do_not_mention_warns() -> None:
    assert check(
        AUTH_SPEC
        + entities("""
          post:
            permissions: {list: [anonymous], read: [anonymous], update: [admin], delete: []}
            endpoints:
              actions:
                go: {path: /go}
          page:
            endpoints: {crud: [list, read]}
            permissions: {list: [admin], read: [admin], create: [admin], delete: [admin]}
        """)
    ) == lines(
        """
        specs/spec.yaml:19:5: warning: entity `post`: `create` is allowed to no role
          hint: add `create` to `permissions`
        specs/spec.yaml:22:9: warning: action `post.go` is allowed to no role
          hint: add `roles:`
        specs/spec.yaml:25:49: warning: entity `page`: `permissions.create` has no effect: `create` is not in `endpoints.crud`
        specs/spec.yaml:25:66: warning: entity `page`: `permissions.delete` has no effect: `delete` is not in `endpoints.crud`
        """
    )


# --- 9. row_filter ------------------------------------------------------------------------------


def test_row_filter_keys_follow_relation_paths() -> None:
    assert check(
        AUTH_SPEC
        + entities(f"""
          post:
            fields:
              title: string
            relations:
              author: {{type: many_to_one, target: user}}
              categories: {{type: many_to_many, target: category}}
            permissions: {ALL}
            row_filter:
              editor:
                categories__reviewers: $me
                categories__reviewers__team: x
                categories__reviewers__user__id: $me
                authr__email: x
                author__emial: x
                title____x: 1
                author__org__id__ne: 1
                created_at__gte: "2024-01-01"
                id: 3
          category:
            fields:
              name: string
            relations:
              reviewers: {{type: many_to_many, target: user}}
            permissions: {ALL}
        """)
    ) == lines(
        """
        specs/spec.yaml:29:9: error: entity `post`: row_filter `editor`: key `categories__reviewers__user__id`: `user` is not a relation of `user`
        specs/spec.yaml:30:9: error: entity `post`: row_filter `editor`: key `authr__email`: `authr` is not a relation of `post`
          hint: did you mean `author`?
        specs/spec.yaml:31:9: error: entity `post`: row_filter `editor`: key `author__emial`: `emial` is not a field or relation of `user`
          hint: did you mean `email`?
        specs/spec.yaml:32:9: error: entity `post`: row_filter `editor`: key `title____x` is not a path of names joined by `__`
        """
    )


def test_row_filter_values_are_constants_or_me_and_lists_only_with_in() -> None:
    assert check(
        AUTH_SPEC
        + entities(f"""
          post:
            fields:
              status: {{type: enum, values: [draft, published]}}
              views: integer
              tags: {{type: list, of: string}}
            relations:
              author: {{type: many_to_one, target: user}}
            permissions: {ALL}
            row_filter:
              anonymous: [{{status: publishd}}, {{author: $me}}]
              editor:
                status__in: [draft, published]
                views__gte: abc
                views__in: 3
                status: [draft]
                author: $you
                author__team: $me.team
                author__org: $me.org
                author__email: $me.mail
                id__in: [1, x]
                tags: x
                author__in: [1, 2]
        """)
    ) == lines(
        """
        specs/spec.yaml:27:28: error: entity `post`: row_filter `anonymous`: `status`: value `publishd` is not one of the enum values (`draft`, `published`)
          hint: did you mean `published`?
        specs/spec.yaml:27:48: error: entity `post`: row_filter `anonymous`: `author`: `$me` needs a caller, and `anonymous` has none
        specs/spec.yaml:30:21: error: entity `post`: row_filter `editor`: `views__gte`: value `abc` is not an integer
        specs/spec.yaml:31:20: error: entity `post`: row_filter `editor`: `views__in` takes a list
          hint: write `[3]`
        specs/spec.yaml:32:17: error: entity `post`: row_filter `editor`: `status` takes one value, not a list
          hint: use `status__in` for a list
        specs/spec.yaml:33:17: error: entity `post`: row_filter `editor`: `author`: unknown variable `$you`
          hint: use `$me` (the caller's user id) or `$me.<field>`
        specs/spec.yaml:36:24: error: entity `post`: row_filter `editor`: `author__email`: `$me.mail`: `mail` is not a field or many_to_one of the user entity `user`
          hint: did you mean `email`?
        specs/spec.yaml:37:21: error: entity `post`: row_filter `editor`: `id__in`: value `x` is not an integer id
        """
    )


# --- 10. endpoints ------------------------------------------------------------------------------


def test_crud_has_no_duplicates_and_action_paths_are_well_formed() -> None:
    assert check("""
        api: {name: shop}
        entities:
          post:
            endpoints:
              crud: [list, read, list, create]
              actions:
                a: {path: publish}
                b: {path: "/{slug}/x"}
                c: {path: "/{id}/{id}"}
                d: {path: "/x//y"}
                e: {path: "/x y"}
                m: {path: "/{id}/"}
                ok: {path: "/{id}/publish-now"}
        """) == lines(
        """
        specs/spec.yaml:6:26: error: entity `post`: `endpoints.crud` lists `list` twice
        specs/spec.yaml:8:19: error: action `post.a`: path `publish` must start with `/`
          hint: write `/publish`
        specs/spec.yaml:9:19: error: action `post.b`: path `/{slug}/x` holds `{slug}`; the only placeholder an action path may hold is `{id}`
        specs/spec.yaml:10:19: error: action `post.c`: path `/{id}/{id}` holds `{id}` twice
        specs/spec.yaml:11:19: error: action `post.d`: path `/x//y` has an empty segment (`//` or a trailing `/`)
        specs/spec.yaml:12:19: error: action `post.e`: path `/x y` has a segment `x y` with characters other than letters, digits, `-`, `_`, `.` and `~`
        specs/spec.yaml:13:19: error: action `post.m`: path `/{id}/` has an empty segment (`//` or a trailing `/`)
        """
    )


def test_action_routes_do_not_clash_and_responses_name_entities() -> None:
    assert check("""
        api: {name: shop}
        entities:
          post:
            soft_delete: true
            endpoints:
              crud: [list, read, create, delete]
              actions:
                f: {method: GET, path: "/{id}"}
                g: {method: POST, path: /}
                h: {method: POST, path: /stats}
                i: {method: POST, path: /stats}
                j: {method: PATCH, path: "/{id}"}
                k: {method: POST, path: "/{id}/restore"}
                create: {path: /make}
                restore: {path: /undo}
                l: {path: /l, response: psot, method: GET, request: {x: string}}
        """) == lines(
        """
        specs/spec.yaml:9:32: error: action `post.f` (GET /{id}) clashes with the `read` route
          hint: choose another path or method
        specs/spec.yaml:10:33: error: action `post.g` (POST /) clashes with the `create` route
          hint: choose another path or method
        specs/spec.yaml:12:33: error: action `post.i` (POST /stats) clashes with action `h`
          hint: choose another path or method
        specs/spec.yaml:14:33: error: action `post.k` (POST /{id}/restore) clashes with the restore route of a soft_delete entity
          hint: choose another path or method
        specs/spec.yaml:15:9: error: action `post.create`: the name `create` is taken by the generated `create` operation
          hint: choose another action name
        specs/spec.yaml:16:9: error: action `post.restore`: the name `restore` is taken by the generated `restore` operation
          hint: choose another action name
        specs/spec.yaml:17:33: error: action `post.l`: `response` names unknown entity `psot`
          hint: did you mean `post`?
        specs/spec.yaml:17:52: warning: action `post.l`: a GET request should carry no body
          hint: use POST, PUT or PATCH, or drop `request`
        """
    )


def test_action_request_fields_obey_the_field_rules() -> None:
    assert check("""
        api: {name: shop}
        entities:
          post:
            endpoints:
              actions:
                publish:
                  path: "/{id}/publish"
                  request:
                    Note: {type: strin}
                    id: integer
                    when: {type: datetime, default: now}
                    level: {type: integer, min: 5, default: 1}
        """) == lines(
        """
        specs/spec.yaml:10:13: error: field name `Note` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `note`
        specs/spec.yaml:10:26: error: request field `post.publish.Note`: unknown type `strin`
          hint: did you mean `string`?
        specs/spec.yaml:13:53: error: request field `post.publish.level`: default `1` is below `min` (5)
        """
    )


# --- 11. entity options -------------------------------------------------------------------------


def test_audit_needs_auth_and_tenant_needs_tenancy() -> None:
    assert check("""
        api: {name: shop}
        entities:
          post:
            audit: true
            tenant: project
        """) == lines(
        """
        specs/spec.yaml:5:5: error: entity `post`: `audit` needs an `auth` block (it records the caller)
        specs/spec.yaml:6:13: error: entity `post`: `tenant` needs `api.tenancy`
        """
    )


def test_tenant_is_a_to_one_path_leading_to_the_tenant_entity_or_a_scoped_one() -> None:
    assert check("""
        api: {name: shop, tenancy: {entity: organization}}
        entities:
          organization: {}
          user: {}
          project:
            relations:
              org: {type: many_to_one, target: organization}
              owner_user: {type: many_to_one, target: user}
              tags: {type: many_to_many, target: organization}
          task:
            tenant: project
            relations:
              project: {type: many_to_one, target: project}
          step:
            tenant: task.project__org
            relations:
              task: {type: many_to_one, target: task}
          subtask:
            tenant: task
            relations:
              task: {type: many_to_one, target: task}
          note:
            tenant: project.owner_user
            relations:
              project: {type: many_to_one, target: project}
          memo:
            tenant: project__tags
            relations:
              project: {type: many_to_one, target: project}
          doc:
            tenant: project__org
            relations:
              project: {type: many_to_one, target: project}
              organization: {type: many_to_one, target: organization}
          sheet:
            tenant: projet__org
            relations:
              project: {type: many_to_one, target: project}
          a:
            tenant: b
            relations:
              b: {type: many_to_one, target: b}
          b:
            tenant: a
            relations:
              a: {type: many_to_one, target: a, required: false}
        """) == lines(
        """
        specs/spec.yaml:24:13: error: entity `note`: `tenant` path `project.owner_user` ends at `user`, which is neither the tenant entity `organization` nor scoped to it
          hint: end the path at `organization` or at an entity with a many_to_one to it
        specs/spec.yaml:28:13: error: entity `memo`: `tenant` path `project__tags`: `tags` is a many_to_many, not a to-one relation of `project`
        specs/spec.yaml:32:13: error: entity `doc` has its own many_to_one `organization` to the tenant entity; `tenant: project__org` would scope it a second way
          hint: remove `tenant:`
        specs/spec.yaml:37:13: error: entity `sheet`: `tenant` path `projet__org`: `projet` is not a relation of `sheet`
          hint: did you mean `project`?
        specs/spec.yaml:41:13: error: entity `a`: `tenant` path `b` ends at `b`, which is neither the tenant entity `organization` nor scoped to it
          hint: end the path at `organization` or at an entity with a many_to_one to it
        specs/spec.yaml:45:13: error: entity `b`: `tenant` path `a` ends at `a`, which is neither the tenant entity `organization` nor scoped to it
          hint: end the path at `organization` or at an entity with a many_to_one to it
        """
    )


def test_tenancy_entity_must_exist() -> None:
    assert check("""
        api: {name: shop, tenancy: {entity: organisation}}
        entities:
          organization: {}
          post:
            tenant: org
            relations:
              org: {type: many_to_one, target: organization}
        """) == lines(
        """
        specs/spec.yaml:2:37: error: `api.tenancy.entity` names unknown entity `organisation`
          hint: did you mean `organization`?
        """
    )


# --- 12. auth -----------------------------------------------------------------------------------


def test_auth_user_entity_and_registration_roles_exist() -> None:
    assert check("""
        api: {name: shop}
        roles:
          admin: {}
          user: {}
        auth:
          user_entity: usr
          username_field: email
          password_field: password
          roles_field: role
          registration: {default_role: authenticated, tenant_role: boss, creates_tenant: true}
        entities:
          user:
            permissions: {list: [admin], read: [admin], create: [admin], update: [admin], delete: [admin]}
        """) == lines(
        """
        specs/spec.yaml:7:16: error: `auth.user_entity` names unknown entity `usr`
          hint: did you mean `user`?
        specs/spec.yaml:11:32: error: `auth.registration.default_role` `authenticated` is a pseudo-role
        specs/spec.yaml:11:60: error: `auth.registration.tenant_role` `boss` is not a declared role
        specs/spec.yaml:11:66: error: `creates_tenant` needs `api.tenancy`
        """
    )


def test_auth_fields_have_the_right_types_and_roles_are_declared() -> None:
    assert check(f"""
        api: {{name: shop}}
        roles:
          admin: {{}}
          user: {{}}
        auth:
          user_entity: user
          username_field: email
          password_field: pass
          roles_field: role
          registration: {{default_role: guest}}
        entities:
          user:
            fields:
              email: email
              pasword: password
              role: {{type: enum, values: [admin, usr, superuser, user]}}
            permissions: {ALL}
        """) == lines(
        """
        specs/spec.yaml:8:19: error: `auth.username_field` `email` must be `unique`
          hint: add `unique: true` to `user.email`
        specs/spec.yaml:9:19: error: `auth.password_field` names `pass`, which is not a field of `user`
        specs/spec.yaml:10:16: error: `auth.roles_field` `role` has values that are not declared roles: `usr`, `superuser`
          hint: declare them under `roles:`
        specs/spec.yaml:11:32: error: `auth.registration.default_role` `guest` is not a declared role
        """
    )


def test_auth_field_types_with_a_list_of_enum_roles_field() -> None:
    assert check(f"""
        api: {{name: shop}}
        roles:
          admin: {{}}
          user: {{}}
          guest: {{}}
        enums:
          role: [admin, user, gest]
        auth:
          user_entity: user
          username_field: login
          password_field: secret
          roles_field: roles
          registration: {{default_role: guest}}
        entities:
          user:
            fields:
              login: {{type: integer, unique: true}}
              secret: string
              roles: {{type: list, of: {{type: enum, enum: role}}}}
            permissions: {ALL}
        """) == lines(
        """
        specs/spec.yaml:11:19: error: `auth.username_field` `login` is of type `integer`; it must be string, email or slug
        specs/spec.yaml:12:19: error: `auth.password_field` `secret` is of type `string`; it must be a `password` field
          hint: set `type: password`
        specs/spec.yaml:13:16: error: `auth.roles_field` `roles` has values that are not declared roles: `gest`
          hint: did you mean `guest`?
        specs/spec.yaml:14:32: error: `auth.registration.default_role` `guest` is not a value of the roles field `roles`
        """
    )


def test_roles_field_must_be_an_enum_and_creates_tenant_needs_a_tenant_role() -> None:
    assert check(f"""
        api: {{name: shop, tenancy: {{entity: org}}}}
        roles:
          admin: {{}}
        auth:
          user_entity: user
          username_field: email
          password_field: password
          roles_field: role
          registration: {{creates_tenant: true}}
        entities:
          org:
            permissions: {ALL}
          user:
            fields:
              email: {{type: email, unique: true}}
              password: password
              role: string
            permissions: {ALL}
        """) == lines(
        """
        specs/spec.yaml:9:16: error: `auth.roles_field` `role` must be an enum field or a list of enum, not `string`
        specs/spec.yaml:10:18: error: `creates_tenant` needs a `tenant_role` (the role the registrant gets in the new tenant)
        """
    )


def test_a_tenant_path_entity_may_not_take_the_name_of_its_carried_tenant_key() -> None:
    """Rows scoped by `tenant:` store the key as the user's relation to the tenant names it."""
    assert check(f"""
        api: {{name: shop, tenancy: {{entity: org}}}}
        roles:
          admin: {{}}
        auth:
          user_entity: user
          username_field: email
          password_field: password
          roles_field: role
        entities:
          org:
            permissions: {ALL}
          user:
            fields:
              email: {{type: email, unique: true}}
              password: password
              role: {{type: enum, values: [admin]}}
            relations:
              organization: {{type: many_to_one, target: org}}
            permissions: {ALL}
          project:
            relations:
              organization: {{type: many_to_one, target: org}}
            permissions: {ALL}
          task:
            tenant: project
            fields:
              organization: string
            relations:
              project: {{type: many_to_one, target: project}}
            permissions: {ALL}
          step:
            tenant: project
            relations:
              project: {{type: many_to_one, target: project}}
            permissions: {ALL}
        """) == lines(
        """
        specs/spec.yaml:26:13: error: entity `task`: `organization` is the name of the tenant key its rows carry (as `user.organization`); a field or relation of that name would clash with it
          hint: rename `task.organization`
        """
    )


# --- 13. api ------------------------------------------------------------------------------------


def test_api_locales_pagination_and_cors_origins() -> None:
    assert check("""
        api:
          name: shop
          base_path: api/v1/
          locales: [en, fr, vi, en, vn]
          pagination: {default_limit: 200, max_limit: 100}
          cors:
            origins:
              - "*"
              - "http://localhost:3000/"
              - "localhost:3000"
              - "https://app.example.com"
              - "ftp://x.org"
              - "http://[::1]:8080"
              - "http://x:99999"
        """) == lines(
        """
        specs/spec.yaml:4:14: error: `api.base_path` `api/v1/` must start with `/`
          hint: write `/api/v1/`
        specs/spec.yaml:5:17: error: `api.locales`: gen ships no messages for locale `fr`
          hint: the shipped locales are `en` and `vi`
        specs/spec.yaml:5:25: error: `api.locales` lists `en` twice
        specs/spec.yaml:5:29: error: `api.locales`: gen ships no messages for locale `vn`
          hint: the shipped locales are `en` and `vi`
        specs/spec.yaml:6:31: error: `api.pagination.default_limit` (200) is greater than `max_limit` (100)
        specs/spec.yaml:9:9: error: CORS origin `*` is not allowed; list each origin
          hint: for example `https://app.example.com`
        specs/spec.yaml:10:9: error: CORS origin `http://localhost:3000/` must not have a path
          hint: write `http://localhost:3000`
        specs/spec.yaml:11:9: error: CORS origin `localhost:3000` must read `scheme://host[:port]` (http or https)
          hint: for example `http://localhost:3000`
        specs/spec.yaml:13:9: error: CORS origin `ftp://x.org` must read `scheme://host[:port]` (http or https)
          hint: for example `http://localhost:3000`
        specs/spec.yaml:15:9: error: CORS origin `http://x:99999` must read `scheme://host[:port]` (http or https)
          hint: for example `http://localhost:3000`
        """
    )


@pytest.mark.parametrize(
    ("base_path", "problem"),
    [
        ("/api/v1/", "must not end with `/`\n  hint: write `/api/v1`"),
        ("/api//v1", "has an empty segment (`//`)"),
        ("/api v1", "may hold only letters, digits, `/`, `_`, `.` and `-`"),
        ("/", None),
        ("/api/v1.2_x-y", None),
    ],
)
def test_api_base_path_starts_with_a_slash_and_has_no_trailing_slash(
    base_path: str, problem: str | None
) -> None:
    out = check(f"api: {{name: shop, base_path: '{base_path}'}}\n")
    expected = f"specs/spec.yaml:1:30: error: `api.base_path` `{base_path}` {problem}\n"
    assert out == (expected if problem else "")


# --- 14. seed -----------------------------------------------------------------------------------


def test_seed_rows_name_fields_with_values_of_their_type() -> None:
    assert check("""
        api: {name: shop}
        enums:
          level: [low, high]
        entities:
          category:
            fields:
              name: {type: string, max_length: 5}
              level: {type: enum, enum: level}
              rank: {type: integer, default: 0}
              note: {type: text, nullable: true}
              secret: {type: password, nullable: true}
              tags: {type: list, of: string}
        seed:
          category:
            - {name: News, level: low}
            - {name: Reviews, level: hi, rank: x}
            - {nme: X, level: low}
            - {name: A, level: low, secret: x, tags: [a, 1]}
          categry: [{name: x}]
        """) == lines(
        """
        specs/spec.yaml:17:14: error: seed row of `category`: `name` `Reviews` is longer than `max_length` (5)
        specs/spec.yaml:17:30: error: seed row of `category`: `level` `hi` is not one of the enum values (`low`, `high`)
          hint: did you mean `high`?
        specs/spec.yaml:17:40: error: seed row of `category`: `rank` `x` is not an integer
        specs/spec.yaml:18:7: error: seed row of `category` lacks required field(s) `name`
        specs/spec.yaml:18:8: error: seed row of `category` sets `nme`, which is not a field of `category`
          hint: did you mean `name`?
        specs/spec.yaml:19:29: error: seed row of `category` sets the password field `secret`
          hint: create users with the generated project's `create-user` command
        specs/spec.yaml:19:46: error: seed row of `category`: `tags` `["a", 1]` has an item `1` that is not a string
        specs/spec.yaml:20:3: error: seed names unknown entity `categry`
          hint: did you mean `category`?
        """
    )


# --- the whole ----------------------------------------------------------------------------------

BLOG = """
api:
  name: blog
  title: Blog API
  locales: [en, vi]
  cors: {origins: ["http://localhost:3000", "https://blog.example.com:8443"]}
  tenancy: {entity: organization}
roles:
  admin: {description: Full access, inherits: [editor]}
  editor: {inherits: [author]}
  author: {inherits: [user]}
  user: {}
  reviewer: {}
  org_owner: {inherits: [admin]}
auth:
  user_entity: user
  username_field: email
  password_field: password
  roles_field: roles
  registration: {enabled: true, default_role: user, creates_tenant: true, tenant_role: org_owner}
enums:
  post_status: [draft, published, archived]
  role: [admin, editor, author, user, reviewer, org_owner]
entities:
  organization:
    fields:
      name: {type: string, max_length: 120}
    permissions: {list: [admin], read: [authenticated], create: [admin], update: [org_owner], delete: [org_owner]}
  user:
    fields:
      email: {type: email, unique: true}
      password: password
      roles: {type: list, of: {type: enum, enum: role}, max_items: 6}
      display_name: {type: string, max_length: 100}
    relations:
      organization: {type: many_to_one, target: organization}
    owner: self
    permissions: {list: [admin], read: [owner, admin], create: [admin], update: [owner, admin], delete: [admin]}
    field_permissions: {roles: {write: [admin]}}
    row_filter:
      user: {id: $me}
  category:
    fields:
      name: {type: string, max_length: 80, unique: true}
    relations:
      reviewers: {type: many_to_many, target: user}
      parent: {type: many_to_one, target: category, required: false, on_delete: set_null}
      organization: {type: many_to_one, target: organization}
    permissions: {list: [anonymous], read: [anonymous], create: [admin], update: [admin], delete: [admin]}
  post:
    description: A blog post.
    soft_delete: true
    audit: true
    versioned: true
    fields:
      title: {type: string, max_length: 200, searchable: true}
      body: text
      slug: {type: slug, unique: true, immutable: true}
      status: {type: enum, enum: post_status, default: draft, filterable: true}
      views: {type: integer, min: 0, default: 0, read_only: true}
      published_at: {type: datetime, nullable: true, sortable: true}
      edited_at: {type: datetime, nullable: true, on_update: now, read_only: true}
      keywords: {type: list, of: string, max_items: 20}
      weekdays: {type: list, of: {type: enum, values: [mon, tue, wed, thu, fri]}, max_items: 5}
      price: {type: decimal, precision: 10, scale: 2, min: 0}
      address: {type: object, nullable: true, fields: {street: string, zip_code: string}}
      zip_code: {type: string, nullable: true}
      city: {type: string, nullable: true}
      state: {type: string, nullable: true}
      country: {type: string, nullable: true}
      author_email: {type: email, denormalized: {reason: the address at publication}}
    relations:
      author: {type: many_to_one, target: user, on_delete: cascade}
      categories: {type: many_to_many, target: category}
      comments: {type: one_to_many, target: comment, inverse: post}
    owner: author
    tenant: author__organization
    unique: [[author, slug]]
    indexes: [[status, published_at], [deleted_at]]
    checks: ["published_at >= created_at", "price >= 0", "status != 'archived'"]
    dependencies:
      - "zip_code -> city, state"
      - {fd: "city -> country", entity: city_country}
    permissions:
      list: [anonymous]
      read: [anonymous]
      create: [author]
      update: [owner, editor]
      delete: [owner, admin]
    field_permissions:
      status: {write: [editor, admin]}
      views: {read: [editor, admin]}
    row_filter:
      anonymous: {status: published}
      user: [{status: published}, {author: $me}]
      reviewer: {categories__reviewers: $me, status__in: [draft, published]}
      author: {author__organization: $me.organization, views__gte: 0}
    endpoints:
      crud: [list, read, create, update, delete]
      actions:
        publish:
          method: POST
          path: /{id}/publish
          roles: [owner, editor]
          summary: Publish a post
          request: {note: {type: string, nullable: true, max_length: 500}}
          response: post
        stats: {method: GET, path: /stats, roles: [admin]}
  comment:
    fields:
      body: text
    relations:
      author: {type: many_to_one, target: user}
    owner: author
    permissions: {list: [anonymous], read: [anonymous], create: [user], update: [owner], delete: [owner, admin]}
seed:
  category:
    - {name: News}
    - {name: Reviews}
"""


def test_a_realistic_spec_has_no_problems() -> None:
    assert check(BLOG) == ""


def test_every_problem_is_reported_in_one_run_sorted_by_place() -> None:
    out = check(
        api="""
        api: {name: shop, locales: [en, de]}
        roles:
          admin: {inherits: [root]}
        """,
        shop="""
        entities:
          Product:
            fields:
              price: {type: decimal, min: 10, max: 1}
              kind: {type: enum, values: [a, A]}
            relations:
              maker: {type: many_to_one, target: makr}
            permissions: {list: [admin]}
            checks: ["price >> 0"]
        seed:
          product: [{price: 1}]
        """,
    )
    assert out == lines(
        """
        specs/api.yaml:2:33: error: `api.locales`: gen ships no messages for locale `de`
          hint: the shipped locales are `en` and `vi`
        specs/api.yaml:4:22: error: role `admin` inherits unknown role `root`
        specs/shop.yaml:3:3: error: entity name `Product` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `product`
        specs/shop.yaml:5:30: error: field `Product.price`: `min` (10) is greater than `max` (1)
        specs/shop.yaml:6:38: error: field `Product.kind`: values `a` and `A` differ only in case
          hint: keep one of them
        specs/shop.yaml:8:42: error: relation `Product.maker` targets unknown entity `makr`
        specs/shop.yaml:9:26: error: entity `Product`: `permissions.list` names `admin`, but without an `auth` block every operation is `anonymous`
          hint: add an `auth:` block, or list `anonymous`
        specs/shop.yaml:10:14: error: entity `Product`: check `price >> 0` must read `<field> <op> <field or literal>`
          hint: op is one of < <= > >= = !=; a literal is a number, a quoted string, true, false or null
        specs/shop.yaml:12:3: error: seed names unknown entity `product`
          hint: did you mean `Product`?
        """
    )


def test_names_defined_in_several_files_are_resolved_across_them() -> None:
    assert check(
        a="""
        api: {name: shop}
        enums:
          level: [low, high]
        """,
        b="""
        entities:
          thing:
            fields:
              level: {type: enum, enum: level, default: hgh}
            relations:
              other: {type: many_to_one, target: other_thing}
        """,
        c="""
        entities:
          other_thing: {}
        """,
    ) == lines(
        """
        specs/b.yaml:5:49: error: field `thing.level`: default `hgh` is not one of the enum values (`low`, `high`)
          hint: did you mean `high`?
        """
    )


# --- the module itself --------------------------------------------------------------------------


def test_a_crashing_rule_is_reported_instead_of_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(rules, "RULES", (broken, *rules.RULES))
    assert check("api: {name: shop}\nentities: {Bad: {}}\n") == lines(
        """
        specs/spec.yaml:1:1: error: internal error in rule `broken`: KeyError('boom')
          hint: please report this as a bug in gen
        specs/spec.yaml:2:12: error: entity name `Bad` must be snake_case (lowercase letters, digits and `_`, starting with a letter)
          hint: write `bad`
        """
    )


def test_every_code_reported_is_in_the_code_table_and_the_reverse() -> None:
    folder = Path(rules.__file__).parent
    used = set()
    for path in folder.glob("rules*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "rules.py":
            used |= set(re.findall(r'"([EW]3\d\d)"', text))
    assert used | {"E399"} == set(rules.CODES)


def test_dependencies_with_one_determinant_are_one_table_not_an_error() -> None:
    assert (
        check("""
        api: {name: shop}
        entities:
          customer:
            fields:
              zip_code: string
              city: string
              state: string
            dependencies:
              - "zip_code -> city"
              - "zip_code -> state"
        """)
        == ""
    )


def test_an_entity_must_not_take_the_refresh_token_table_or_the_auth_modules() -> None:
    assert check(
        AUTH_SPEC
        + entities(f"""
          session:
            table: refresh_tokens
            permissions: {ALL}
          refresh_token:
            table: tokens
            permissions: {ALL}
          auth:
            path: logins
            permissions: {ALL}
        """)
    ) == lines(
        """
        specs/spec.yaml:19:12: error: entity `session` has the same table `refresh_tokens` as the refresh-token table of `auth` (at specs/spec.yaml:5:1)
        specs/spec.yaml:21:3: error: entity `refresh_token` has the same class name `RefreshToken` as the refresh-token model of `auth` (at specs/spec.yaml:5:1)
        specs/spec.yaml:24:3: error: entity `auth` has the same class name `Auth` as the auth routes (at specs/spec.yaml:5:1)
        """
    )
