"""The catalog is complete: every declared kind and runbook has its modules, and its declarations agree.

Adding a kind or a runbook touches no generic code; a forgotten piece fails here, not in a game day.
"""

import importlib
from pathlib import Path

import pytest

from catalog import KINDS, RUNBOOKS, naming, watched_alarms
from catalog.kinds import resolve
from customers import load_all


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_has_its_diagnosis_and_its_part_of_the_sandbox_world(name):
    diagnosis = importlib.import_module(f"lambdas.diagnosis.{name}")
    assert callable(diagnosis.diagnose)
    world = importlib.import_module(f"sandbox.world.{name}")
    for attr in ("KEY", "Spec", "AWS_SERVICES", "instance_of", "check", "build", "install", "snapshot"):
        assert hasattr(world, attr), f"sandbox/world/{name}.py lacks {attr}"


@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_every_runbook_has_its_module_a_known_target_kind_and_declared_outcomes(name):
    rb = RUNBOOKS[name]
    module = importlib.import_module(f"lambdas.runbooks.{naming.module_name(name)}")
    assert callable(module.handler)
    assert rb.target_kind in KINDS
    # the example input names an instance the way the target kind does, and is valid
    assert (rb.target_field or KINDS[rb.target_kind].target_field) in rb.example_input
    rb.input_model.model_validate(rb.example_input)
    names = [o.name for o in rb.outcomes]
    assert len(names) == len(set(names)) and names
    assert {o.kind for o in rb.outcomes} <= {"ok", "skipped", "refused", "failed"}


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_every_runbook_is_a_declaration_a_module_a_test_file_and_a_docs_page(name):
    module = naming.module_name(name)
    declaration = importlib.import_module(f"catalog.runbooks.{module}")
    # the declaration lives in its own module, and registered itself under its name
    assert any(value is RUNBOOKS[name] for value in vars(declaration).values()), f"catalog/runbooks/{module}.py"
    assert RUNBOOKS[name].input_model.__module__ == declaration.__name__
    for path in (f"lambdas/runbooks/{module}.py", f"tests/unit/runbooks/test_{module}.py", f"docs/runbooks/{name}.md"):
        assert (ROOT / path).is_file(), f"runbook {name} has no {path}"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_kinds_alarm_kinds_are_the_ones_customer_files_may_name(name):
    from catalog.alarms import ALARMS_BY_KIND

    assert KINDS[name].alarm_kinds == ALARMS_BY_KIND.get(name, ())
    assert set(ALARMS_BY_KIND) <= set(KINDS)


def test_the_catalog_has_no_import_circle():
    import ast

    imports: dict[str, set[str]] = {}
    for path in (ROOT / "catalog").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("catalog"):
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("catalog")}
        imports[module] = found

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for dep in imports.get(start, ()):
            if dep in imports and dep != "catalog" and dep not in seen:
                if dep == target or reaches(dep, target, seen | {dep}):
                    return True
        return False

    circles = sorted(m for m in imports if m != "catalog" and reaches(m, m, set()))
    assert circles == [], f"catalog modules that import themselves back: {circles}"


def test_runbooks_registered_are_the_modules_in_catalog_runbooks():
    modules = {p.stem for p in (ROOT / "catalog" / "runbooks").glob("[a-z]*.py")}
    assert modules == {naming.module_name(n) for n in RUNBOOKS}


def test_outcomes_that_need_a_person_are_refused_failed_or_undeclared():
    rb = RUNBOOKS["scale-ecs-service"]
    assert [o.name for o in rb.outcomes if o.needs_person] == ["refused", "timed_out"]
    assert not rb.needs_person("scaled") and rb.needs_person("something-new")


def test_every_alarm_kind_answers_with_a_declared_runbook_acting_on_its_own_kind():
    for kind in KINDS.values():
        for alarm in kind.alarm_kinds:
            if alarm.runbook is None:
                assert alarm.no_runbook_reason, f"{kind.name}/{alarm.condition} pages only: say why"
                continue
            assert RUNBOOKS[alarm.runbook].target_kind == kind.name
            # what admit builds for it is valid input for the runbook
            RUNBOOKS[alarm.runbook].input_model.model_validate({kind.target_field: "x", **alarm.runbook_input})


@pytest.mark.parametrize("config", load_all(), ids=lambda c: c.customer)
def test_every_permission_resolves_to_arns_of_the_customers_account(config):
    permissions = [p for rb in RUNBOOKS.values() for p in rb.permissions]
    permissions += [p for k in KINDS.values() for p in k.diagnosis_permissions]
    references = {p.resource for p in permissions}
    references |= {c.resource for p in permissions for c in p.conditions if c.resource and c.operator.startswith("Arn")}
    # S3 ARNs are global (no region, no account): they must name a bucket of the customer file
    buckets = {config.terraform.state_bucket, config.terraform.backup_bucket, config.content_bucket}
    for ref in references - {"*"}:
        for arn in resolve(ref, config):
            if arn.startswith("arn:aws:s3:::"):
                assert arn.removeprefix("arn:aws:s3:::").split("/")[0] in buckets, (ref, arn)
            else:
                assert f":{config.region}:{config.account}:" in arn, (ref, arn)
    # other condition values (s3:prefix, dynamodb:LeadingKeys) are exact values, never a pattern
    for c in (c for p in permissions for c in p.conditions if c.resource and not c.operator.startswith("Arn")):
        values = resolve(c.resource, config)
        assert values and all(v and "*" not in v for v in values), (c, values)
    for rb in RUNBOOKS.values():
        for p in rb.permissions:
            assert not (p.write and p.resource == "*"), f"{rb.name}: write {p.actions} on '*'"


def test_unknown_kind_or_part_is_a_clear_error():
    config = load_all()[0]
    with pytest.raises(KeyError, match="unknown resource kind 'rds'"):
        resolve("rds", config)
    with pytest.raises(KeyError, match="declares no ARNs for 'volume'"):
        resolve("ecs_service.volume", config)


@pytest.mark.parametrize("config", load_all(), ids=lambda c: c.customer)
def test_watched_alarms_cover_every_instance_of_every_kind(config):
    alarms = watched_alarms(config)
    expected = sum(len(k.instances(config)) * len(k.alarm_kinds) for k in KINDS.values())
    assert len(alarms) == expected
    for name, watched in alarms.items():
        assert name == naming.alarm_name(config.customer, watched.target, watched.alarm.condition)


def test_alarm_names_do_not_repeat_the_customers_prefix():
    # a target already named lecture-<c>-... (the Aurora cluster) is shortened; other targets are not
    assert naming.alarm_name("dhbw", "lecture-dhbw-cluster", "cpu-high") == "lecture-dhbw-cluster-cpu-high"
    assert naming.alarm_name("dhbw", "lecture-backend-service", "cpu-high") == "lecture-dhbw-lecture-backend-service-cpu-high"
    assert naming.alarm_name("dhbw", "lecture-edt-cluster", "cpu-high") == "lecture-dhbw-lecture-edt-cluster-cpu-high"
    names = set(watched_alarms(load_all()[0]))
    assert {
        "lecture-dhbw-cluster-connections-high",
        "lecture-dhbw-cluster-cpu-high",
        "lecture-dhbw-cluster-memory-low",
        "lecture-dhbw-lecture-backend-service-cpu-high",
    } <= names


def test_rds_alarms_are_p2_and_snapshot_first():
    rds = KINDS["rds_cluster"]
    assert [a.condition for a in rds.alarm_kinds] == ["connections-high", "cpu-high", "memory-low", "cluster-unavailable"]
    degraded = [a for a in rds.alarm_kinds if not a.down]
    assert all(a.severity == "P2" and a.impact and a.runbook == "snapshot-rds-cluster" for a in degraded)
    assert RUNBOOKS["snapshot-rds-cluster"].runs_before_page
    # the cluster being unavailable is the customer down (P1), paged only: a snapshot needs an available cluster
    [down] = [a for a in rds.alarm_kinds if a.down]
    assert (down.condition, down.severity, down.runbook, down.treat_missing_data) == (
        "cluster-unavailable",
        "P1",
        None,
        "breaching",
    )


def test_api_and_distribution_are_instances_only_when_named_and_their_global_arns_are_the_customers():
    base = load_all()[0]
    assert KINDS["api_gateway"].instances(base) == () and KINDS["cloudfront"].instances(base) == ()
    assert resolve("api_gateway", base) == [] and resolve("cloudfront", base) == []
    named = type(base).model_validate(
        {**base.model_dump(), "api": {"name": "lecture-api"}, "cdn": {"distribution_id": "E2QWRUHAPOMQZL"}}
    )
    assert KINDS["api_gateway"].instances(named) == ("lecture-api",)
    # API Gateway ARNs carry the region and no account; CloudFront's the account and no region
    assert all(a.startswith(f"arn:aws:apigateway:{named.region}::/restapis") for a in resolve("api_gateway", named))
    assert resolve("cloudfront", named) == [f"arn:aws:cloudfront::{named.account}:distribution/E2QWRUHAPOMQZL"]
    # CloudFront's metrics exist in us-east-1 only: outside it the distribution gets no alarms
    assert KINDS["cloudfront"].instances(named) == ()
    east = type(base).model_validate({**named.model_dump(), "region": "us-east-1"})
    assert KINDS["cloudfront"].instances(east) == ("E2QWRUHAPOMQZL",)


def test_a_bad_api_or_distribution_in_the_customer_file_names_the_field():
    base = load_all()[0].model_dump()
    with pytest.raises(ValueError, match="cdn.distribution_id"):
        type(load_all()[0]).model_validate({**base, "cdn": {"distribution_id": "not an id"}})
    with pytest.raises(ValueError, match="api.name"):
        type(load_all()[0]).model_validate({**base, "api": {"name": ""}})


def test_the_down_alarm_kinds_are_the_outages_not_the_warnings():
    from catalog.alarms import down_alarm_kind_keys

    down = down_alarm_kind_keys()
    assert {"ecs_service/running-tasks-low", "api_gateway/5xx"} <= down
    assert "ecs_service/cpu-high" not in down
