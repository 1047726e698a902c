"""Least privilege, checked against what really ran: every AWS call a Lambda made in the sandbox is
matched against that function's role in the synthesized template.

moto does not enforce IAM, so this is the only place where a missing grant shows before a real
deployment. How the match is made, and where it is approximated:
- Actions: ``<iam prefix>:<Operation>`` (``stepfunctions`` is ``states``); DynamoDB
  ``TransactWriteItems`` is checked as the item actions it performs (PutItem, UpdateItem, ...).
- Resources: the template's Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select / Fn::Split are
  resolved with the deployment's physical ids; ``*`` and ``?`` are wildcards. The call's resource
  ARN is built from its parameters where they name it (ECS service and task, DynamoDB table, SNS
  topic, SSM parameter, Secrets Manager secret, state machine, execution). Where they do not (List*,
  DescribeScalableTargets, RegisterScalableTarget, ...), only the action is matched.
- S3: object operations are checked as the object actions IAM knows (HeadObject is s3:GetObject, a
  VersionId makes it s3:GetObjectVersion, CopyObject is a read of the source and s3:PutObject on the
  target, ListObjectsV2 and HeadBucket are s3:ListBucket) on ``arn:aws:s3:::<bucket>[/<key>]``.
- Conditions: the keys the call's parameters determine are evaluated: ``dynamodb:LeadingKeys`` (the
  partition key values the call touches), ``s3:prefix``, ``ecs:cluster``, ``application-autoscaling:service-namespace``
  and ``application-autoscaling:scalable-dimension``, ``aws:RequestedRegion``, with the String* / Arn*
  operators (ForAllValues / ForAnyValue included, ``IfExists`` as the plain operator). A key or
  operator the checker cannot know is ignored, which counts as satisfied, and named in
  ``ignored_conditions``, so an approximation is never silent.
- Explicit Deny statements win over Allow. Managed policies (AWSLambdaBasicExecutionRole: logs) are
  not read: the handlers make no Logs calls.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

SERVICE_PREFIX = {"stepfunctions": "states"}
# Granted for the Lambda service and runtime to use on the function's behalf, not called by its code.
ON_BEHALF = ("logs:", "xray:", "kms:", "dynamodb:getrecords", "dynamodb:getsharditerator")
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


class Unresolved(str):
    """A template value the checker cannot resolve: matches nothing."""


@dataclass
class Request:
    """One IAM authorisation that a call needs."""

    action: str
    resources: list[str] | None  # None: not known from the call's parameters
    context: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Verdict:
    function: str
    call: dict
    request: Request
    allowed: bool
    reason: str = ""


class Policies:
    """The Lambda functions' role statements of one deployed stack, resolved."""

    def __init__(
        self, template: dict, physical: dict[str, str], account: str, region: str, parameters: dict[str, str] | None = None
    ):
        self.template, self.physical, self.account, self.region = template, physical, account, region
        self.parameters = parameters or {}
        self.resources = template.get("Resources", {})
        self.ignored_conditions: set[str] = set()
        self.by_function: dict[str, list[dict]] = {}
        self.partition_keys: dict[str, str] = {}  # table name -> hash key attribute
        for logical, res in self.resources.items():
            if res["Type"] == "AWS::DynamoDB::Table":
                hash_key = next(k["AttributeName"] for k in res["Properties"]["KeySchema"] if k["KeyType"] == "HASH")
                self.partition_keys[self.physical.get(logical, logical)] = hash_key
        for logical, res in self.resources.items():
            if res["Type"] != "AWS::Lambda::Function":
                continue
            name = self.physical.get(logical) or res["Properties"].get("FunctionName")
            role = _logical_of(res["Properties"].get("Role"))
            self.by_function[name] = [self._resolve_statement(s) for s in self._statements_of(role)]

    # --- the template --------------------------------------------------------------------------------
    def _statements_of(self, role: str | None) -> list[dict]:
        out = []
        role_res = self.resources.get(role or "", {})
        for policy in role_res.get("Properties", {}).get("Policies", []):
            out += _as_list(policy["PolicyDocument"]["Statement"])
        for res in self.resources.values():
            if res["Type"] == "AWS::IAM::Policy" and role in [_logical_of(r) for r in res["Properties"].get("Roles", [])]:
                out += _as_list(res["Properties"]["PolicyDocument"]["Statement"])
        return out

    def _resolve_statement(self, st: dict) -> dict:
        resolved = {k: self.resolve(v) for k, v in st.items()}
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in resolved:
                # an unresolved value stays Unresolved (it matches nothing and is reported as not judged)
                resolved[key] = [v if isinstance(v, Unresolved) else str(v) for v in _as_list(resolved[key])]
        return resolved

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {k: self.resolve(v) for k, v in value.items()}
        fn, arg = next(iter(value.items()))
        intrinsic = self._INTRINSICS.get(fn)
        return intrinsic(self, arg) if intrinsic else Unresolved(str(value))

    def _fn_get_att(self, arg):
        logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
        return self._get_att(logical, attr)

    def _fn_join(self, arg):
        sep, parts = arg
        parts = [self.resolve(p) for p in parts]
        text = sep.join(str(p) for p in parts)
        return Unresolved(text) if any(isinstance(p, Unresolved) for p in parts) else text

    def _fn_select(self, arg):
        index, items = self.resolve(arg[0]), self.resolve(arg[1])
        return items[int(index)] if isinstance(items, list) else Unresolved(str(items))

    def _fn_split(self, arg):
        sep, text = arg[0], self.resolve(arg[1])
        return str(text).split(sep)

    def _fn_sub(self, arg):
        template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def sub(m):
            name = m.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", sub, template)

    # the intrinsic functions the templates use, by name; any other stays Unresolved
    _INTRINSICS: dict[str, Callable] = {
        "Ref": lambda self, arg: self._ref(arg),
        "Fn::GetAtt": _fn_get_att,
        "Fn::Join": _fn_join,
        "Fn::Select": _fn_select,
        "Fn::Split": _fn_split,
        "Fn::Sub": _fn_sub,
    }

    def _ref(self, name: str):
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        return Unresolved(f"Ref:{name}")

    def _get_att(self, logical: str, attr: str):
        res = self.resources.get(logical)
        phys = self.physical.get(logical)
        if res is None or phys is None:
            return Unresolved(f"{logical}.{attr}")
        arn = _arn_of(res["Type"], phys, self.account, self.region)
        if attr == "Arn" and arn:
            return arn
        return Unresolved(f"{logical}.{attr}")

    # --- the check -------------------------------------------------------------------------------------
    def check(self, call: dict) -> list[Verdict]:
        function = call["function"]
        statements = self.by_function.get(function)
        requests = requests_for(call, self.account, self.region, self.partition_keys)
        if statements is None:
            return [Verdict(function, call, r, False, f"no role statements found for function {function}") for r in requests]
        return [self._decide(function, call, r, statements) for r in requests]

    def _decide(self, function: str, call: dict, request: Request, statements: list[dict]) -> Verdict:
        allowing = [s for s in statements if s.get("Effect") == "Allow" and self._applies(s, request)]
        denying = [s for s in statements if s.get("Effect") == "Deny" and self._applies(s, request)]
        if denying:
            return Verdict(function, call, request, False, "an explicit Deny applies")
        if not allowing:
            return Verdict(function, call, request, False, "no statement of the role allows it")
        return Verdict(function, call, request, True)

    def _applies(self, st: dict, request: Request) -> bool:
        action = request.action.lower()
        if "Action" in st and not any(fnmatch.fnmatchcase(action, a.lower()) for a in st["Action"]):
            return False
        if "NotAction" in st and any(fnmatch.fnmatchcase(action, a.lower()) for a in st["NotAction"]):
            return False
        if request.resources is not None:
            for arn in request.resources:
                if "Resource" in st and not any(_arn_match(arn, p) for p in st["Resource"]):
                    return False
                if "NotResource" in st and any(_arn_match(arn, p) for p in st["NotResource"]):
                    return False
        return self._conditions_hold(st.get("Condition") or {}, request)

    def _conditions_hold(self, condition: dict, request: Request) -> bool:
        for operator, entries in condition.items():
            for key, expected in entries.items():
                values = request.context.get(key)
                if values is None or not _known_operator(operator):
                    self.ignored_conditions.add(f"{operator} {key}")
                    continue
                if not _evaluate(operator, values, [str(v) for v in _as_list(expected)]):
                    return False
        return True

    def granted_actions(self) -> dict[str, set[str]]:
        """Per function, the action patterns its role allows (lower case)."""
        return {
            fn: {a.lower() for s in sts if s.get("Effect") == "Allow" for a in s.get("Action", [])}
            for fn, sts in self.by_function.items()
        }


def requests_for(call: dict, account: str, region: str, partition_keys: dict[str, str] | None = None) -> list[Request]:
    """The authorisations a call needs: action, resource ARNs when its parameters name them, context keys."""
    service, op, p = call["service"], call["operation"], call.get("params") or {}
    prefix = SERVICE_PREFIX.get(service, service)
    region = call.get("region") or region
    base = {"aws:RequestedRegion": [region]}
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}".format
    if service == "dynamodb":
        return _dynamodb_requests(op, p, base, arn, partition_keys or {})
    if service == "ecs":
        return _ecs_requests(op, p, base, arn)
    named = _named_requests(service, op, p, base, arn)
    if named is not None:
        return named
    if service == "s3" and "Bucket" in p:
        return _s3_requests(op, p, base)
    if service == "application-autoscaling":
        ctx = dict(base)
        if "ServiceNamespace" in p:
            ctx["application-autoscaling:service-namespace"] = [p["ServiceNamespace"]]
        if "ScalableDimension" in p:
            ctx["application-autoscaling:scalable-dimension"] = [p["ScalableDimension"]]
        return [Request(f"application-autoscaling:{op}", None, ctx)]
    return [Request(f"{prefix}:{op}", None, base)]


def _dynamodb_requests(op: str, p: dict, base: dict, arn: Callable[..., str], partition_keys: dict[str, str]) -> list[Request]:
    """A transaction or a batch is authorised per item's table and action; the partition keys are its LeadingKeys."""
    if op == "TransactWriteItems":
        out = []
        for item in p.get("TransactItems", []):
            kind, body = next(iter(item.items()))
            table = body["TableName"]
            out.append(
                Request(
                    f"dynamodb:{_TRANSACT.get(kind, kind)}",
                    [arn("dynamodb", f"table/{table}")],
                    base | _leading(body, partition_keys.get(table)),
                )
            )
        return out
    if op == "BatchWriteItem":
        out = []
        for table, writes in p.get("RequestItems", {}).items():
            keys = [w.get("PutRequest", {}).get("Item") or w.get("DeleteRequest", {}).get("Key") or {} for w in writes]
            leading = [_s(k.get(partition_keys.get(table, "pk"))) for k in keys]
            out.append(
                Request(
                    "dynamodb:BatchWriteItem",
                    [arn("dynamodb", f"table/{table}")],
                    base | {"dynamodb:LeadingKeys": [v for v in leading if v is not None]},
                )
            )
        return out
    table = p.get("TableName")
    resources = [arn("dynamodb", f"table/{table}")] if table else None
    return [Request(f"dynamodb:{op}", resources, base | _leading(p, partition_keys.get(table)))]


def _ecs_requests(op: str, p: dict, base: dict, arn: Callable[..., str]) -> list[Request]:
    cluster = (p.get("cluster") or "default").split("/")[-1]
    ctx = base | {"ecs:cluster": [arn("ecs", f"cluster/{cluster}")]}
    if op in ("UpdateService", "DescribeServices"):
        names = [p["service"]] if "service" in p else p.get("services", [])
        return [Request(f"ecs:{op}", [n if n.startswith("arn:") else arn("ecs", f"service/{cluster}/{n}") for n in names], ctx)]
    if op == "DescribeTasks":
        return [
            Request(
                "ecs:DescribeTasks",
                [t if t.startswith("arn:") else arn("ecs", f"task/{cluster}/{t}") for t in p.get("tasks", [])],
                ctx,
            )
        ]
    return [Request(f"ecs:{op}", None, ctx)]


def _named_requests(service: str, op: str, p: dict, base: dict, arn: Callable[..., str]) -> list[Request] | None:
    """A call whose parameters name its resource (a topic, parameters, a secret, a state machine); None: not one."""
    if service == "sns" and "TopicArn" in p:
        return [Request(f"sns:{op}", [p["TopicArn"]], base)]
    if service == "ssm" and ("Name" in p or "Names" in p):
        names = [p["Name"]] if "Name" in p else p["Names"]
        return [Request(f"ssm:{op}", [arn("ssm", "parameter" + (n if n.startswith("/") else "/" + n)) for n in names], base)]
    if service == "secretsmanager" and "SecretId" in p:
        sid = p["SecretId"]
        # AWS appends six random characters to a secret's name in its ARN
        return [
            Request(
                f"secretsmanager:{op}", [sid if sid.startswith("arn:") else arn("secretsmanager", f"secret:{sid}-AbCdEf")], base
            )
        ]
    if service == "events" and op == "PutEvents":
        buses = sorted({str(e.get("EventBusName") or "default") for e in p.get("Entries", [])})
        return [
            Request("events:PutEvents", [b if b.startswith("arn:") else arn("events", f"event-bus/{b}") for b in buses], base)
        ]
    if service == "stepfunctions":
        target = p.get("stateMachineArn") or p.get("executionArn")
        return [Request(f"states:{op}", [target] if target else None, base)]
    return None


def _s3_requests(op: str, p: dict, base: dict) -> list[Request]:
    """S3 operations are authorised as object or bucket actions (CopyObject: read the source, put the target)."""
    bucket = f"arn:aws:s3:::{p['Bucket']}"
    obj = f"{bucket}/{p.get('Key', '')}"
    if op in ("GetObject", "HeadObject"):
        return [Request("s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject", [obj], base)]
    if op == "CopyObject":
        source = p.get("CopySource")
        if isinstance(source, dict):
            src, version = f"arn:aws:s3:::{source.get('Bucket')}/{source.get('Key')}", source.get("VersionId")
        else:
            path, _, query = str(source).partition("?versionId=")
            src, version = f"arn:aws:s3:::{path.lstrip('/')}", query
        return [Request("s3:GetObjectVersion" if version else "s3:GetObject", [src], base), Request("s3:PutObject", [obj], base)]
    if op in ("ListObjectsV2", "ListObjects"):
        return [Request("s3:ListBucket", [bucket], base | {"s3:prefix": [p.get("Prefix", "")]})]
    if op == "HeadBucket":  # authorised by s3:ListBucket (S3 API reference, HeadBucket)
        return [Request("s3:ListBucket", [bucket], base)]
    if op in ("PutObject", "DeleteObject"):
        return [Request(f"s3:{op}", [obj], base)]
    return [Request(f"s3:{op}", [bucket], base)]


def _leading(params: dict, hash_key: str | None) -> dict:
    item = params.get("Key") or params.get("Item")
    if hash_key is None and isinstance(params.get("Key"), dict) and len(params["Key"]) == 1:
        hash_key = next(iter(params["Key"]))  # a table not in the stack (e.g. Terraform's lock table): its only key
    hash_key = hash_key or "pk"
    if item is not None:
        value = _s(item.get(hash_key))
        return {"dynamodb:LeadingKeys": [value]} if value is not None else {}
    expr = params.get("KeyConditionExpression")
    if expr:  # "pk = :v" (or "#n = :v" with #n naming the hash key)
        names = {k: v for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
        for left, placeholder in re.findall(r"([#\w]+)\s*=\s*(:\w+)", expr):
            if names.get(left, left) == hash_key:
                value = _s((params.get("ExpressionAttributeValues") or {}).get(placeholder))
                if value is not None:
                    return {"dynamodb:LeadingKeys": [value]}
    return {}


def _s(attr) -> str | None:
    if isinstance(attr, dict):
        for kind in ("S", "N", "B"):
            if kind in attr:
                return str(attr[kind])
    return attr if isinstance(attr, str) else None


def _arn_of(rtype: str, phys: str, account: str, region: str) -> str | None:
    if phys.startswith("arn:"):
        return phys
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}".format
    return {
        "AWS::DynamoDB::Table": arn("dynamodb", f"table/{phys}"),
        "AWS::KMS::Key": arn("kms", f"key/{phys}"),
        "AWS::Lambda::Function": arn("lambda", f"function:{phys}"),
        "AWS::Logs::LogGroup": arn("logs", f"log-group:{phys}:*"),
        "AWS::SQS::Queue": arn("sqs", phys.rsplit("/", 1)[-1]),
        "AWS::SSM::Parameter": arn("ssm", "parameter" + (phys if phys.startswith("/") else "/" + phys)),
        "AWS::SNS::Topic": phys,
        "AWS::S3::Bucket": f"arn:aws:s3:::{phys}",
    }.get(rtype)


def _arn_match(arn: str, pattern: str) -> bool:
    if isinstance(pattern, Unresolved):
        return False
    return fnmatch.fnmatchcase(arn, pattern)


def _known_operator(operator: str) -> bool:
    op = operator.split(":")[-1].removesuffix("IfExists")
    return op in (
        "StringEquals",
        "StringNotEquals",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
    )


def _evaluate(operator: str, values: list[str], expected: list[str]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    op = op.removesuffix("IfExists")
    like = op in ("StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")
    negated = "Not" in op

    def one(v: str) -> bool:
        hit = any(fnmatch.fnmatchcase(v, e) if like else v == e for e in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    return bool(values) and all(one(v) for v in values)  # single-valued keys: the one value


def unused_grants(granted: dict[str, set[str]], used: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per function, granted action patterns that no recorded call matched."""
    out = {}
    for fn, patterns in granted.items():
        calls = used.get(fn, set())
        unused = sorted(p for p in patterns if not any(fnmatch.fnmatchcase(a, p) for a in calls))
        if unused:
            out[fn] = unused
    return out


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _logical_of(ref) -> str | None:
    if isinstance(ref, dict):
        if "Ref" in ref:
            return ref["Ref"]
        if "Fn::GetAtt" in ref:
            att = ref["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else att.split(".")[0]
    return None
