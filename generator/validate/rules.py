"""Semantic rules of the spec language: names, references and cross-field rules.

The models (models.py) check structure and types; these rules check meaning, over one merged
spec set. Every rule reports every problem it finds, at the most precise span (the key for a bad
name, the value for a bad reference), and goes on; nothing here raises. The rule families live
in the rules_*.py modules, each function about one family; `check_rules` runs them in order over
lookups built once (rules_context.build_context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from generator.diagnostics import Diagnostics
from generator.validate.rules_access import check_permissions, check_roles
from generator.validate.rules_auth import check_api, check_auth, check_seed
from generator.validate.rules_context import Ctx, build_context
from generator.validate.rules_endpoints import check_endpoints
from generator.validate.rules_fields import check_denormalized, check_fields
from generator.validate.rules_filters import check_row_filters
from generator.validate.rules_keys import check_checks, check_dependencies, check_keys
from generator.validate.rules_names import check_columns, check_derived_names, check_names
from generator.validate.rules_relations import check_entity_options, check_owner, check_relations
from generator.validate.specset import SpecSet

if TYPE_CHECKING:
    from generator.compile_cache import CompileCache

# Every code these rules report. Codes are stable: never renumber, only add.
CODES: dict[str, str] = {
    # names (rules 1, 15)
    "E301": "a name is not snake_case, holds `__`, or ends with `_`",
    "E302": "`api.name` is a keyword, a standard library module, or a package the project imports",
    "E303": "a generated field name (id, timestamps, audit, version) is declared",
    "E304": "a pseudo-role (anonymous, authenticated, owner) is declared",
    "E305": "two entities or enums get the same Python class name",
    "E306": "two tables (entity, list child or association table) get the same name",
    "E307": "two entities (or an entity and the auth routes) get the same URL path",
    "E308": "a table or column name is over 63 bytes",
    "E309": "a field is named like a relation's wire name (`<relation>_id`, `<singular>_ids`)",
    "E310": "a field and a relation of one entity have the same name",
    "E311": "an object member's prefixed column lands on another column",
    "E312": "`table` is not a plain SQL identifier",
    "E313": "`path` is not one lowercase kebab-case URL segment",
    # roles (rule 2)
    "E314": "a role inherits an unknown role or a pseudo-role",
    "E315": "role inheritance has a cycle",
    # types (rule 3)
    "E316": "unknown field type",
    "E317": "an enum field has neither or both of `enum:` and `values:`",
    "E318": "an enum field names an unknown enum",
    "E319": "an enum has no values",
    "E320": "enum values repeat, differ only in case, or map to one Python name",
    "E321": "a list field has no `of:`",
    "E322": "an object field has no `fields:`",
    "E323": "a list of lists",
    # options and defaults (rule 4)
    "E324": "an option does not apply to the field's type",
    "E325": "an option does not apply to list items or request fields",
    "E326": "inconsistent bounds (min > max, min_length > max_length, scale > precision ...)",
    "E327": "`pattern` is not a valid regular expression",
    "E328": "`min`/`max` is not finite or outside the range of the integer type",
    "E329": "a default of the wrong type",
    "E330": "a default outside the field's bounds, lengths or pattern",
    "E331": "`default: now` on a type other than date, datetime and time",
    "E332": "a default on a password field",
    "E333": "options that cannot be combined (read_only + write_only, immutable + read_only)",
    "E334": "a field named like a list query parameter is filterable",
    # relations (rule 5)
    "E335": "a relation targets an unknown entity",
    "E336": "a relation option does not apply to the relation's kind",
    "E337": "`on_delete: set_null` on a required relation",
    "E338": "`inverse` names a relation that is not a many_to_one back to this entity",
    "E339": "a created inverse clashes with a field or another created inverse",
    "E340": "`through` names an unknown entity or one without many_to_one to both ends",
    # owner (rule 6)
    "E341": "`owner` without an `auth` block",
    "E342": "`owner` is not a to-one relation to the user entity (or `self` off the user entity)",
    "E343": "`owner` is listed in permissions of an entity without `owner`",
    # unique, indexes, checks, dependencies (rule 7)
    "E344": "an empty `unique` or `indexes` entry",
    "E345": "a `unique` or `indexes` entry names something that is not a column",
    "E346": "a `unique` or `indexes` entry names a column twice",
    "E347": "a check does not read `<field> <op> <field or literal>`",
    "E348": "a check names something that is not a column",
    "E349": "a dependency does not read `a, b -> c, d`",
    "E350": "a dependency names something that is not a column",
    "E351": "a name is on both sides of a dependency",
    "E352": "a dependency's entity name is taken by an entity or another dependency",
    # permissions and row filters (rules 8, 9)
    "E353": "an unknown role is named",
    "E354": "`owner` is a row_filter key",
    "E355": "a role other than `anonymous` is named without an `auth` block",
    "E356": "`field_permissions` names something that is not a field or relation",
    "E357": "a row_filter key is not a relation path ending in a field or relation",
    "E358": "a row_filter variable is unknown, or `$me` where there is no caller",
    "E359": "`$me.<field>` names no field or many_to_one of the user entity",
    "E360": "a row_filter value is a list where one value is expected, or the reverse",
    "E361": "a row_filter constant does not fit its field",
    # endpoints (rule 10)
    "E362": "`endpoints.crud` lists an operation twice",
    "E363": "an action path is malformed",
    "E364": "an action route clashes with a CRUD route or another action",
    "E365": "an action `response` names an unknown entity",
    "E366": "an action is named like a generated operation",
    "E367": "an action lists `owner` but its path has no `{id}`",
    # entity options (rule 11)
    "E368": "`audit` without an `auth` block",
    "E369": "`tenant` without `api.tenancy`",
    "E370": "`tenant` is not a to-one relation path ending at the tenant entity",
    "E371": "`api.tenancy.entity` names an unknown entity",
    # auth (rule 12)
    "E372": "`auth.user_entity` names an unknown entity",
    "E373": "`auth.username_field` is missing, not string/email/slug, or not unique",
    "E374": "`auth.password_field` is missing or not a password field",
    "E375": "`auth.roles_field` is missing, not an enum (list), or holds undeclared roles",
    "E376": "a registration role is not a declared role or not a value of the roles field",
    "E377": "`creates_tenant` without `api.tenancy` or without `tenant_role`",
    # api (rule 13)
    "E378": "`api.base_path` is malformed",
    "E379": "a locale gen ships no messages for",
    "E380": "a locale is listed twice",
    "E381": "`pagination.default_limit` is greater than `max_limit`",
    "E382": "a CORS origin is `*`, has a path, or is not `scheme://host[:port]`",
    # seed (rule 14)
    "E383": "seed names an unknown entity",
    "E384": "a seed row sets something that is not a field",
    "E385": "a seed value does not fit its field",
    "E386": "a seed row lacks a required field",
    "E387": "a seed row sets a password",
    "E388": "a dependency starts from a name another dependency moves out",
    "E389": "a `tenant:`-scoped entity declares a name its carried tenant key takes",
    "E399": "internal error in a rule (a bug in gen, reported instead of raised)",
    # warnings
    "W301": "`denormalized` on a field that copies no related value",
    "W302": "a required to-one relation to the entity itself (no first row is possible)",
    "W303": "a CRUD operation that `permissions` does not mention (allowed to no role)",
    "W304": "an action with no roles (allowed to no role)",
    "W305": "`permissions` names an operation that `endpoints.crud` leaves out",
    "W306": "a GET or DELETE action with a request body",
}

Rule = Callable[[Ctx], None]
RULES: tuple[Rule, ...] = (
    check_names,  # 1
    check_derived_names,  # 1, 15
    check_columns,  # 1
    check_roles,  # 2
    check_fields,  # 3, 4
    check_denormalized,  # 4
    check_relations,  # 5
    check_owner,  # 6
    check_keys,  # 7
    check_checks,  # 7
    check_dependencies,  # 7
    check_permissions,  # 8
    check_row_filters,  # 9
    check_endpoints,  # 10
    check_entity_options,  # 11
    check_auth,  # 12
    check_api,  # 13
    check_seed,  # 14
)


def check_rules(spec_set: SpecSet, diags: Diagnostics, cache: CompileCache | None = None) -> None:
    """Run every semantic rule over one merged spec set; problems go to diags. With a cache,
    the rules about one entity alone are taken from it when its inputs are unchanged."""
    try:
        ctx = build_context(spec_set, diags, cache)
    except Exception as exc:  # pragma: no cover - a bug in gen, reported instead of raised
        diags.error(
            "E399",
            f"internal error while resolving names: {exc!r}",
            spec_set.api.key_span(),
            "please report this as a bug in gen",
        )
        return
    for rule in RULES:
        try:
            rule(ctx)
        except Exception as exc:  # a bug in a rule must not hide what the others find
            diags.error(
                "E399",
                f"internal error in rule `{rule.__name__}`: {exc!r}",
                spec_set.api.key_span(),
                "please report this as a bug in gen",
            )
