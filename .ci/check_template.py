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

Usage: python3 .ci/check_template.py [path/to/template.yaml]
Exit status 0 when the template passes, 1 with one line per problem otherwise,
2 when the template cannot be read. Needs only the standard library and PyYAML.
"""

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
    # A CreateCase conflict without a ledger: the case opened earlier, by title.
    "security-ir:ListCases",
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
    return problems, function_actions


def main(argv):
    default = Path(__file__).resolve().parent.parent / "template.yaml"
    path = Path(argv[1]) if len(argv) > 1 else default
    try:
        template = load_template(path)
    except (OSError, yaml.YAMLError) as error:
        print(f"check_template: cannot read {path}: {error}", file=sys.stderr)
        return 2
    problems, actions = check(template)
    if problems:
        for problem in problems:
            print(f"check_template: {problem}", file=sys.stderr)
        print(f"check_template: {path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_template: {path}: OK, {FUNCTION} names exactly {len(actions)} actions, no wildcard")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
