#!/usr/bin/env python3
"""Check the IAM permissions in template.yaml against docs/design.md §9 and §12.

The function's role must name exactly the actions the code calls (EXPECTED
below), each spelled out, and grant Security IR writes only under the product's
tag condition: no action anywhere in the template (function
policies, IAM resources, resource policies) may contain a wildcard, and no
policy may use NotAction. The function's Policies must be inline statements:
a managed policy or a SAM policy template would grant actions this check cannot
see.

A statement wrapped in Fn::If counts with both branches, so an action granted
only under a condition (such as ssm-incidents:StartIncident when a response
plan is configured) is still named.

It also holds the function's role to the Service Authorization Reference, as
extracted into sim/models/iam.json (the facts the simulation authorizes by):
every granted action exists; each is granted on resources it is authorized
against (exactly "*" for an action with no resource types, an ARN of one of
its resource types otherwise, every required resource type covered); no
condition key that the action does not support (such a statement never
matches); no dependent action left ungranted. With --called FILE... (the
actions the simulation allowed the function during the tests, one per line),
every granted action must have been called by some test.

Usage: python3 .ci/check_template.py [path/to/template.yaml] [--called FILE...]
Exit status 0 when the template passes, 1 with one line per problem otherwise,
2 when the template cannot be read. Needs only the standard library and PyYAML.
"""

import json
import sys
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem, not a finding
    sys.exit("check_template: PyYAML is required (pip install pyyaml)")

# The function whose role is checked, and every action its code calls.
FUNCTION = "EscalatorFunction"

EXPECTED = {
    # GuardDuty investigations
    "guardduty:GetInvestigation",
    "guardduty:ListInvestigations",
    "guardduty:CreateInvestigation",
    "guardduty:GetFindings",
    # Security Incident Response cases
    "security-ir:CreateCase",
    "security-ir:GetCase",
    "security-ir:UpdateCase",
    "security-ir:CreateCaseComment",
    # Responders' comments, mirrored to the incidents (docs/design.md §14).
    "security-ir:ListComments",
    # A CreateCase conflict without a ledger: the case opened earlier, by title.
    "security-ir:ListCases",
    # ... adopted only when its tags (which GetCase does not show) name this product and the investigation.
    "security-ir:ListTagsForResource",
    # CreateCase carries tags (docs/design.md §5): IAM authorizes a tagged
    # CreateCase with security-ir:TagResource as well (Service Authorization
    # Reference, "API operations defined by AWS Security Incident Response").
    "security-ir:TagResource",
    # Incident Manager
    "ssm-incidents:ListIncidentRecords",
    "ssm-incidents:GetIncidentRecord",
    "ssm-incidents:ListRelatedItems",
    "ssm-incidents:UpdateRelatedItems",
    "ssm-incidents:CreateTimelineEvent",
    "ssm-incidents:StartIncident",
    "ssm-incidents:UpdateIncidentRecord",
    # The ledger
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
}

# Where policy documents live, by resource type: property paths to a policy
# document or to a list of {PolicyDocument: ...}.
# Security IR writes must carry the tag condition the service supports for
# them (Service Authorization Reference for security-ir): creating a case (and
# tagging it) only with the product's tag in the request, writing to a case only
# when the case carries it. Reads need no condition.
TAG_KEY = "created-by"
TAG_VALUE = "investigation-escalator"
REQUEST_TAGGED = {"security-ir:CreateCase", "security-ir:TagResource"}
# The tag keys CreateCase carries (src/case/builder.rs).
TAG_KEYS = ("created-by", "guardduty:investigation-id", "guardduty:detector-id")
RESOURCE_TAGGED = {"security-ir:UpdateCase", "security-ir:CreateCaseComment"}

POLICY_DOCUMENT_PROPERTIES = {
    "AWS::IAM::Policy": ["PolicyDocument"],
    "AWS::IAM::ManagedPolicy": ["PolicyDocument"],
    "AWS::IAM::RolePolicy": ["PolicyDocument"],
    "AWS::IAM::UserPolicy": ["PolicyDocument"],
    "AWS::IAM::GroupPolicy": ["PolicyDocument"],
    "AWS::SQS::QueuePolicy": ["PolicyDocument"],
    "AWS::SNS::TopicPolicy": ["PolicyDocument"],
    "AWS::S3::BucketPolicy": ["PolicyDocument"],
    "AWS::KMS::Key": ["KeyPolicy"],
}
POLICY_LIST_PROPERTIES = {
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::User": "Policies",
    "AWS::IAM::Group": "Policies",
}


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags into the
    long form: !Ref x -> {"Ref": x}, !GetAtt a.b -> {"Fn::GetAtt": [a, b]},
    !Sub s -> {"Fn::Sub": s}, !If [...] -> {"Fn::If": [...]}, and so on."""


def _construct_cfn_tag(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {"Fn::" + tag_suffix: value}


CloudFormationLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CloudFormationLoader)


def _is_no_value(node):
    return isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}


def _branches(node):
    """Yield the alternatives a node can take: both branches of Fn::If
    (recursively), nothing for AWS::NoValue, else the node itself."""
    if _is_no_value(node):
        return
    if isinstance(node, dict) and len(node) == 1 and "Fn::If" in node:
        args = node["Fn::If"]
        if isinstance(args, list) and len(args) == 3:
            yield from _branches(args[1])
            yield from _branches(args[2])
            return
    yield node


def _statements(document, where, problems):
    """Yield (statement, where) for each statement of a policy document."""
    for doc in _branches(document):
        if not isinstance(doc, dict):
            problems.append(f"{where}: policy document is not a mapping: {doc!r}")
            continue
        statements = doc.get("Statement")
        if statements is None:
            problems.append(f"{where}: policy document has no Statement")
            continue
        for statement_list in _branches(statements):
            if isinstance(statement_list, dict):
                statement_list = [statement_list]
            if not isinstance(statement_list, list):
                problems.append(f"{where}: Statement is not a list: {statement_list!r}")
                continue
            for index, item in enumerate(statement_list):
                for statement in _branches(item):
                    yield statement, f"{where} statement {index}"


def _actions(statement, where, problems):
    """The actions a statement names, checking each for wildcards."""
    if not isinstance(statement, dict):
        problems.append(f"{where}: statement is not a mapping: {statement!r}")
        return []
    if "NotAction" in statement:
        problems.append(f"{where}: uses NotAction; name each action instead")
    found = []
    for actions in _branches(statement.get("Action", [])):
        if isinstance(actions, str):
            actions = [actions]
        if not isinstance(actions, list):
            problems.append(f"{where}: Action is not a literal string or list: {actions!r}")
            continue
        for action in actions:
            for value in _branches(action):
                if not isinstance(value, str):
                    problems.append(f"{where}: Action is not a literal string: {value!r}")
                    continue
                if "*" in value or "?" in value:
                    problems.append(f"{where}: Action {value!r} contains a wildcard")
                found.append(value)
    return found


def _tag_conditions(statement, actions, where, problems):
    """Each Security IR write in `statement` needs its tag condition."""
    conditions = statement.get("Condition") or {}
    equals = conditions.get("StringEquals") or {} if isinstance(conditions, dict) else {}
    for action in actions:
        if action in REQUEST_TAGGED:
            key = f"aws:RequestTag/{TAG_KEY}"
        elif action in RESOURCE_TAGGED:
            key = f"aws:ResourceTag/{TAG_KEY}"
        else:
            continue
        if equals.get(key) != TAG_VALUE:
            problems.append(f"{where}: {action} is granted without the condition StringEquals {key} = {TAG_VALUE}")
        if action == "security-ir:TagResource":
            # Tagging only as part of CreateCase: never re-stamping a case that already
            # says who opened it, and only the product's own keys. The reference offers
            # TagResource aws:ResourceTag and aws:TagKeys (and no CreateAction key).
            null = conditions.get("Null") or {} if isinstance(conditions, dict) else {}
            if str(null.get(f"aws:ResourceTag/{TAG_KEY}")).lower() != "true":
                problems.append(f"{where}: {action} is granted without the condition Null aws:ResourceTag/{TAG_KEY} = true: the role could stamp the ownership tag on any case")
            keys = (conditions.get("ForAllValues:StringEquals") or {}).get("aws:TagKeys") if isinstance(conditions, dict) else None
            if not isinstance(keys, list) or set(keys) != set(TAG_KEYS):
                problems.append(f"{where}: {action} is granted without the condition ForAllValues:StringEquals aws:TagKeys = {sorted(TAG_KEYS)}")


def check(template):
    problems = []
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        return ["template has no Resources"], set()

    function_actions = set()
    function_seen = False
    for name, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        props = resource.get("Properties") or {}

        if kind == "AWS::Serverless::Function":
            is_target = name == FUNCTION
            function_seen |= is_target
            for policies in _branches(props.get("Policies", [])):
                if isinstance(policies, (str, dict)):
                    policies = [policies]
                for index, entry in enumerate(policies):
                    for policy in _branches(entry):
                        where = f"{name} Policies[{index}]"
                        if isinstance(policy, dict) and "Statement" in policy:
                            for statement, swhere in _statements(policy, where, problems):
                                actions = _actions(statement, swhere, problems)
                                if isinstance(statement, dict):
                                    _tag_conditions(statement, actions, swhere, problems)
                                if is_target:
                                    function_actions.update(actions)
                        else:
                            problems.append(
                                f"{where}: {policy!r} is a managed policy or SAM policy "
                                "template; use inline statements naming each action"
                            )
            if is_target and props.get("Role") is not None:
                problems.append(f"{name}: uses an external Role; its actions cannot be checked")

        elif kind in POLICY_DOCUMENT_PROPERTIES:
            for prop in POLICY_DOCUMENT_PROPERTIES[kind]:
                if prop in props:
                    for statement, where in _statements(props[prop], f"{name} {prop}", problems):
                        _actions(statement, where, problems)

        elif kind in POLICY_LIST_PROPERTIES:
            prop = POLICY_LIST_PROPERTIES[kind]
            for policies in _branches(props.get(prop, [])):
                for index, entry in enumerate(policies if isinstance(policies, list) else [policies]):
                    for policy in _branches(entry):
                        document = policy.get("PolicyDocument") if isinstance(policy, dict) else None
                        where = f"{name} {prop}[{index}]"
                        for statement, swhere in _statements(document, where, problems):
                            _actions(statement, swhere, problems)
            if kind == "AWS::IAM::Role" and props.get("ManagedPolicyArns"):
                problems.append(f"{name}: has ManagedPolicyArns; their actions cannot be checked")

    if not function_seen:
        problems.append(f"no AWS::Serverless::Function named {FUNCTION}")
        return problems, function_actions

    for action in sorted(EXPECTED - function_actions):
        problems.append(f"{FUNCTION}: expected action {action} is not granted")
    for action in sorted(function_actions - EXPECTED):
        problems.append(f"{FUNCTION}: action {action} is not one the code calls")
    problems += check_rules(template)
    problems += check_dead_letter_senders(template)
    problems += check_plumbing(template)
    problems += check_forwarder(template, load_template(FORWARDER))
    return problems, function_actions


# --- The function's event rules ------------------------------------------


def _pattern(node):
    """A rule's pattern as data: a mapping, or JSON text (Fn::Sub of a JSON
    document, for numeric matching on a parameter) parsed with each ${...}
    read as a number."""
    import re

    if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        node = node["Fn::Sub"]
    if isinstance(node, str):
        try:
            node = node.replace("${AWS::AccountId}", "ACCOUNT")
            return json.loads(re.sub(r"\$\{[^}]*\}", "0", node))
        except ValueError:
            return None
    return node if isinstance(node, dict) else None


def check_rules(template):
    """Every EventBridge rule of the function takes only this account's events
    (a bus policy that admits an organization must not let member accounts
    steer it), and each has a dead-letter queue. An event whose source does not
    start with "aws." can be put by anyone allowed events:PutEvents on its bus,
    so such a rule must not sit on the default bus."""
    problems = []
    function = (template.get("Resources") or {}).get(FUNCTION, {})
    events = (function.get("Properties") or {}).get("Events") or {}
    for name, event in events.items():
        if not isinstance(event, dict) or event.get("Type") != "EventBridgeRule":
            continue
        props = event.get("Properties") or {}
        pattern = _pattern(props.get("Pattern"))
        if pattern is None:
            problems.append(f"{FUNCTION} Events.{name}: its Pattern cannot be read")
            continue
        if pattern.get("account") != [{"Ref": "AWS::AccountId"}] and pattern.get("account") != ["ACCOUNT"]:
            problems.append(f"{FUNCTION} Events.{name}: the pattern does not filter on account: [!Ref AWS::AccountId]")
        if "DeadLetterConfig" not in props:
            problems.append(f"{FUNCTION} Events.{name}: no DeadLetterConfig")
        sources = pattern.get("source")
        own_sources = not isinstance(sources, list) or any(not (isinstance(s, str) and s.startswith("aws.")) for s in sources)
        if own_sources and props.get("EventBusName") in (None, "default"):
            problems.append(
                f"{FUNCTION} Events.{name}: takes sources anyone may put on the default bus; "
                "put it on the stack's own event bus (EventBusName)"
            )
    return problems


def check_dead_letter_senders(template):
    """A message in the dead-letter queue is replayed as a failed event, so the
    queue's policy must refuse every sender but the function's role (Lambda
    sends the failure records with it) and EventBridge acting for the
    function's own rules: a Deny of sqs:SendMessage to "*" unless
    aws:PrincipalArn is the role and aws:SourceArn is one of those rules. (A
    same-account principal needs only its own Allow; only a Deny stops it.)
    sim/tests/iam.rs evaluates the resolved policy for each kind of sender."""
    resources = template.get("Resources") or {}
    function = resources.get(FUNCTION) or {}
    events = (function.get("Properties") or {}).get("Events") or {}
    rules = sorted(
        f"{FUNCTION}{name}" for name, e in events.items() if isinstance(e, dict) and e.get("Type") in ("EventBridgeRule", "Schedule")
    )
    policy = ((resources.get("DeadLetterQueuePolicy") or {}).get("Properties") or {}).get("PolicyDocument") or {}
    for statement in policy.get("Statement") or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny" or statement.get("Principal") != "*":
            continue
        if statement.get("Action") not in ("sqs:SendMessage", ["sqs:SendMessage"]):
            continue
        keys = (statement.get("Condition") or {}).get("ArnNotEquals") or {}
        if set((statement.get("Condition") or {})) != {"ArnNotEquals"}:
            continue
        role = keys.get("aws:PrincipalArn")
        sources = keys.get("aws:SourceArn")
        sources = sources if isinstance(sources, list) else [sources]
        named = sorted(s.get("Fn::GetAtt", [None])[0] for s in sources if isinstance(s, dict))
        if role == {"Fn::GetAtt": [f"{FUNCTION}Role", "Arn"]} and named == rules:
            return []
    return [
        "DeadLetterQueuePolicy: no Deny of sqs:SendMessage to \"*\" unless aws:PrincipalArn is "
        f"{FUNCTION}Role and aws:SourceArn one of the function's rules ({', '.join(rules)}): "
        "anyone allowed sqs:SendMessage could queue a message that replay would run"
    ]


def check_plumbing(template):
    """What a production stack needs around the function: a log group of its
    own with a retention (Lambda's default group keeps logs for ever), and a
    reserved concurrency (a burst must not fan out into unbounded searches)."""
    problems = []
    resources = template.get("Resources") or {}
    props = (resources.get(FUNCTION) or {}).get("Properties") or {}
    if "ReservedConcurrentExecutions" not in props:
        problems.append(f"{FUNCTION}: no ReservedConcurrentExecutions")
    group = ((props.get("LoggingConfig") or {}).get("LogGroup") or {})
    name = group.get("Ref") if isinstance(group, dict) else None
    log_group = resources.get(name) if name else None
    if not (isinstance(log_group, dict) and log_group.get("Type") == "AWS::Logs::LogGroup"):
        problems.append(f"{FUNCTION}: LoggingConfig.LogGroup is not a log group of the stack's")
    elif "RetentionInDays" not in (log_group.get("Properties") or {}):
        problems.append(f"{name}: no RetentionInDays: the logs would be kept (and billed) for ever")
    return problems


def _security_ir_detail_types(template):
    """The detail-types of the function's rules on source aws.security-ir."""
    events = ((template.get("Resources") or {}).get(FUNCTION, {}).get("Properties") or {}).get("Events") or {}
    found = set()
    for event in events.values():
        pattern = _pattern((event.get("Properties") or {}).get("Pattern")) if isinstance(event, dict) else None
        if pattern and pattern.get("source") == ["aws.security-ir"]:
            found.update(pattern.get("detail-type") or [])
    return found


def check_forwarder(template, forwarder):
    """The Security IR Region's stack (deploy/security-ir-forwarder.yaml) forwards
    exactly the case events the main stack's rules take, of this account only,
    to the default bus of the function's Region, with a role that may do that
    and nothing else, and a dead-letter queue."""
    problems = []
    where = "security-ir-forwarder.yaml"
    resources = forwarder.get("Resources") or {}
    rules = [r for r in resources.values() if isinstance(r, dict) and r.get("Type") == "AWS::Events::Rule"]
    if len(rules) != 1:
        return [f"{where}: expected one AWS::Events::Rule, found {len(rules)}"]
    props = rules[0].get("Properties") or {}
    pattern = props.get("EventPattern") or {}
    wanted = _security_ir_detail_types(template)
    if pattern.get("source") != ["aws.security-ir"] or set(pattern.get("detail-type") or []) != wanted:
        problems.append(f"{where}: the rule must forward source aws.security-ir with exactly the main stack's detail-types {sorted(wanted)}")
    if pattern.get("account") != [{"Ref": "AWS::AccountId"}]:
        problems.append(f"{where}: the rule does not filter on account: [!Ref AWS::AccountId]")
    bus = {"Fn::Sub": "arn:${AWS::Partition}:events:${FunctionRegion}:${AWS::AccountId}:event-bus/default"}
    for target in props.get("Targets") or []:
        if target.get("Arn") != bus:
            problems.append(f"{where}: target {target.get('Id')} is not the default bus of FunctionRegion")
        if "DeadLetterConfig" not in target or "RoleArn" not in target:
            problems.append(f"{where}: target {target.get('Id')} needs a RoleArn and a DeadLetterConfig")
    for name, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::IAM::Role":
            for policy in (resource.get("Properties") or {}).get("Policies") or []:
                for statement, swhere in _statements(policy.get("PolicyDocument"), f"{where} {name}", problems):
                    if _actions(statement, swhere, problems) != ["events:PutEvents"] or statement.get("Resource") != bus:
                        problems.append(f"{swhere}: the forwarder's role may only put events on the function Region's default bus")
    return problems


# --- The Service Authorization Reference's facts -------------------------

FACTS = Path(__file__).resolve().parent.parent / "sim" / "models" / "iam.json"
FORWARDER = Path(__file__).resolve().parent.parent / "deploy" / "security-ir-forwarder.yaml"

# Values that stand in for the stack's when resolving resource ARNs: every
# conditional branch is taken both ways, and these make each branch's ARNs real.
SAMPLE_PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com"}
SAMPLE_PARAMETERS = {
    "DetectorId": "12abc34d567e8fa901bc2d34e56789f0",
    "IncidentResponsePlanArn": "arn:aws:ssm-incidents::123456789012:response-plan/SecurityResponse",
    "SecurityIrRegion": "us-west-2",
    "IncidentManagerRegion": "us-west-2",
}
# Global condition keys, present in every request context whatever the action
# (IAM User Guide, "AWS global condition context keys").
GLOBAL_KEY_PREFIXES = (
    "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths", "aws:principaltag/",
    "aws:principaltype", "aws:userid", "aws:username", "aws:requestedregion", "aws:sourceip", "aws:sourcevpc",
    "aws:sourcevpce", "aws:securetransport", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast",
    "aws:viaawsservice", "aws:currenttime", "aws:epochtime", "aws:multifactorauthpresent", "aws:sourcearn",
    "aws:sourceaccount", "aws:sourceorgid", "aws:resourceaccount", "aws:resourceorgid",
)


def _glob(pattern, text):
    """IAM's wildcard match (* any run, ? one character; case-sensitive)."""
    import fnmatch

    return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]"))


def _resolve_texts(node, template, params, subs=None):
    """Every string `node` can resolve to, taking each Fn::If both ways."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [x for item in node for x in _resolve_texts(item, template, params, subs)]
    if not isinstance(node, dict) or len(node) != 1:
        return []
    (key, arg), = node.items()
    if key == "Ref":
        if arg == "AWS::NoValue":
            return []
        if arg in SAMPLE_PSEUDO:
            return [SAMPLE_PSEUDO[arg]]
        if arg in params:
            return [params[arg]]
        if arg in template.get("Resources", {}):
            return [f"{arg}-physical-id"]
        return ["*"]
    if key == "Fn::If":
        return [x for branch in arg[1:] for x in _resolve_texts(branch, template, params, subs)]
    if key == "Fn::GetAtt":
        res, attr = arg
        kind = template.get("Resources", {}).get(res, {}).get("Type")
        if kind == "AWS::DynamoDB::Table" and attr == "Arn":
            return [f"arn:aws:dynamodb:us-east-1:123456789012:table/{res}-physical-id"]
        return ["*"]
    if key == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        results = [""]
        import re

        for literal, name in re.findall(r"([^$]*(?:\$(?!\{)[^$]*)*)(?:\$\{([^}]*)\})?", text):
            options = [""]
            if name:
                if name in variables:
                    options = _resolve_texts(variables[name], template, params) or [""]
                else:
                    options = _resolve_texts({"Ref": name}, template, params) or [""]
            results = [r + literal + o for r in results for o in options]
        return results
    return ["*"]


def _parameters(template):
    params = {}
    for name, decl in (template.get("Parameters") or {}).items():
        default = decl.get("Default", "")
        params[name] = SAMPLE_PARAMETERS.get(name, str(default))
    return params


def _fits(pattern, arn_format):
    """Whether a Resource pattern can name a resource of this ARN format."""
    import re

    format_glob = re.sub(r"\$\{[^}]*\}", "*", arn_format)
    sample = arn_format.replace("${Partition}", "aws").replace("${Region}", "us-east-1").replace("${Account}", "123456789012")
    return _glob(format_glob, pattern) or _glob(pattern, re.sub(r"\$\{[^}]*\}", "SAMPLE", sample))


def _supports(key, action_facts, service_facts, types):
    key = key.lower()
    if key.startswith(GLOBAL_KEY_PREFIXES):
        return True
    keys = [k for row in action_facts["resourceTypes"] for k in row["conditionKeys"]]
    keys += [k for t in types for k in service_facts["resources"].get(t, {}).get("conditionKeys", [])]
    for k in keys:
        k = k.lower()
        if k == key or (k.endswith("${tagkey}") and key.startswith(k[: -len("${tagkey}")]) and len(key) > len(k) - len("${tagkey}")):
            return True
    return False


def check_facts(template, facts):
    """The function's statements against the reference's facts."""
    problems = []
    function = (template.get("Resources") or {}).get(FUNCTION, {})
    params = _parameters(template)
    granted = {}  # action -> list of resource patterns, over all Allow statements
    for policies in _branches((function.get("Properties") or {}).get("Policies", [])):
        for index, entry in enumerate(policies if isinstance(policies, list) else [policies]):
            for policy in _branches(entry):
                if not (isinstance(policy, dict) and "Statement" in policy):
                    continue
                for statement, where in _statements(policy, f"{FUNCTION} Policies[{index}]", []):
                    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                        continue
                    where = f"{where} ({statement.get('Sid', 'no Sid')})"
                    actions = _actions(statement, where, [])
                    patterns = _resolve_texts(statement.get("Resource", []), template, params)
                    conditions = statement.get("Condition") or {}
                    keys = [k for block in conditions.values() if isinstance(block, dict) for k in block]
                    for action in actions:
                        prefix, _, name = action.partition(":")
                        service = facts["services"].get(prefix)
                        if service is None:
                            problems.append(f"{where}: {action}: sim/models/iam.json has no facts for {prefix} (add it to extract_iam.py)")
                            continue
                        found = {n.lower(): a for n, a in service["actions"].items()}.get(name.lower())
                        if found is None:
                            problems.append(f"{where}: {action} is not an action of {prefix} ({service['reference']})")
                            continue
                        types = [row["type"] for row in found["resourceTypes"] if row["type"]]
                        for pattern in patterns:
                            if not types and pattern != "*":
                                problems.append(
                                    f"{where}: {action} has no resource types, so IAM authorizes it against \"*\" only; "
                                    f"granted on {pattern} it is denied"
                                )
                            elif types and pattern == "*":
                                problems.append(f"{where}: {action} takes {', '.join(types)}: scope it instead of \"*\"")
                            elif types and not any(_fits(pattern, service["resources"][t]["arn"]) for t in types):
                                problems.append(f"{where}: {action} is granted on {pattern}, which is none of its resource types ({', '.join(types)})")
                        for key in keys:
                            if not _supports(key, found, service, types):
                                problems.append(f"{where}: {action} does not support condition key {key}: the statement never matches it")
                        for row in found["resourceTypes"]:
                            for dependent in row["dependentActions"]:
                                granted.setdefault(("dependent", dependent), []).append(action)
                        granted.setdefault(action, []).extend(patterns)
    for action, patterns in granted.items():
        if isinstance(action, tuple):
            if action[1] not in granted:
                problems.append(f"{FUNCTION}: {action[1]} is a dependent action of {', '.join(patterns)} and is not granted")
            continue
        prefix, _, name = action.partition(":")
        service = facts["services"].get(prefix)
        found = service and {n.lower(): a for n, a in service["actions"].items()}.get(name.lower())
        if not found:
            continue
        for row in found["resourceTypes"]:
            if row["type"] and row["required"]:
                arn = service["resources"][row["type"]]["arn"]
                if not any(_fits(p, arn) for p in patterns):
                    problems.append(
                        f"{FUNCTION}: {action} is authorized against every required resource type, and no grant names a {row['type']} ({arn})"
                    )
    for operation, also in facts.get("operationActions", {}).items():
        if operation in granted:
            for other in also["alsoAuthorizedAs"]:
                if other not in granted:
                    problems.append(f"{FUNCTION}: {operation} with {also['whenMember']} is also authorized as {other}, which is not granted")
    return problems, {a for a in granted if not isinstance(a, tuple)}


def main(argv):
    args = argv[1:]
    called_files = []
    if "--called" in args:
        at = args.index("--called")
        called_files, args = args[at + 1 :], args[:at]
    default = Path(__file__).resolve().parent.parent / "template.yaml"
    path = Path(args[0]) if args else default
    try:
        template = load_template(path)
        facts = json.loads(FACTS.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"check_template: cannot read {path} or {FACTS}: {error}", file=sys.stderr)
        return 2
    problems, actions = check(template)
    fact_problems, granted = check_facts(template, facts)
    problems += fact_problems
    if called_files:
        called = set()
        for name in called_files:
            called |= {line.strip() for line in Path(name).read_text(encoding="utf-8").splitlines() if line.strip()}
        # DynamoDB is served by moto, which the simulation does not front: the
        # ledger's two actions are held to EXPECTED and the facts only.
        for action in sorted(a for a in granted if not a.startswith("dynamodb:") and a not in called):
            problems.append(f"{FUNCTION}: {action} is granted but no test made the function call it")
        print(f"check_template: {len(called)} actions called by the function in the tests")
    if problems:
        for problem in problems:
            print(f"check_template: {problem}", file=sys.stderr)
        print(f"check_template: {path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"check_template: {path}: OK, {FUNCTION} names exactly {len(actions)} actions, no wildcard; "
        f"each granted on resources it is authorized against ({facts['source']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
