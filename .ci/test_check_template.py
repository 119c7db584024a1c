#!/usr/bin/env python3
"""The template check catches the faults IAM would refuse: each mutation below
of template.yaml must make .ci/check_template.py fail, naming the fault, and
the template as committed must pass. Run by .ci/run; needs PyYAML.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_template  # noqa: E402

import yaml  # noqa: E402

TEMPLATE = (Path(__file__).resolve().parent.parent / "template.yaml").read_text(encoding="utf-8")

GUARDDUTY_READ = """                - guardduty:GetFindings
              Resource: "*\""""
RECORDS = """                - !Sub arn:${AWS::Partition}:ssm-incidents::${AWS::AccountId}:incident-record/*
                - !Sub arn:${AWS::Partition}:ssm-incidents::${AWS::AccountId}:response-plan/*"""

# (name, text to replace, replacement, words the check must print)
MUTATIONS = [
    (
        "GuardDuty reads scoped to the detector (the grant IAM denied before)",
        GUARDDUTY_READ,
        GUARDDUTY_READ.replace('"*"', "!Sub arn:${AWS::Partition}:guardduty:${AWS::Region}:${AWS::AccountId}:detector/${DetectorId}"),
        "has no resource types",
    ),
    ("UpdateRelatedItems dropped", "                - ssm-incidents:UpdateRelatedItems\n", "", "ssm-incidents:UpdateRelatedItems is not granted"),
    (
        "incident records without their response plans",
        RECORDS,
        RECORDS.splitlines()[0],
        "no grant names a response-plan",
    ),
    (
        "UpdateRelatedItems on a wrong ARN",
        RECORDS,
        "                - !Sub arn:${AWS::Partition}:ssm-incidents:${AWS::Region}:${AWS::AccountId}:incident/*",
        "none of its resource types",
    ),
    (
        "a condition key ListCases does not support",
        """                - security-ir:ListCases
              Resource: "*\"""",
        """                - security-ir:ListCases
              Resource: "*"
              Condition:
                StringEquals:
                  aws:ResourceTag/created-by: investigation-escalator""",
        "does not support condition key",
    ),
    (
        "CreateCase without TagResource",
        "                - security-ir:TagResource\n",
        "                - security-ir:GetCase\n",
        "also authorized as security-ir:TagResource",
    ),
    (
        "TagResource on any case (the ownership tag stamped on a case the role did not open)",
        '                "Null":\n                  aws:ResourceTag/created-by: "true"',
        "",
        "Null aws:ResourceTag/created-by = true",
    ),
    (
        "the Case Closed rule takes any account's events",
        "              account: [!Ref AWS::AccountId]\n              source: [aws.security-ir]\n",
        "              source: [aws.security-ir]\n",
        "Events.CaseClosed: the pattern does not filter on account",
    ),
    (
        "the finding rule (JSON text) takes any account's events",
        '{"account": ["${AWS::AccountId}"],\n              ',
        "{",
        "Events.GuardDutyFinding: the pattern does not filter on account",
    ),
    (
        "the log group keeps logs for ever",
        "      RetentionInDays: !Ref LogRetentionDays\n",
        "",
        "no RetentionInDays",
    ),
    (
        "no reserved concurrency",
        "      ReservedConcurrentExecutions: !Ref ReservedConcurrency\n",
        "",
        "no ReservedConcurrentExecutions",
    ),
    (
        "a Security IR event the forwarder does not forward",
        "              detail-type: [Case Updated, Case Comment Added]\n",
        "              detail-type: [Case Updated, Case Comment Added, Case Reopened]\n",
        "exactly the main stack's detail-types",
    ),
    (
        "anyone of the account may queue a dead letter",
        "          - Sid: OnlyTheStackSendsDeadLetters\n            Effect: Deny\n",
        "          - Sid: OnlyTheStackSendsDeadLetters\n            Effect: Allow\n",
        "DeadLetterQueuePolicy: no Deny of sqs:SendMessage",
    ),
    (
        "a rule's dead letters refused (the Deny forgets the sweep's rule)",
        "EscalatorFunctionRole.Arn\n                aws:SourceArn:\n                  - !GetAtt EscalatorFunctionInvestigationEvent.Arn\n"
        "                  - !GetAtt EscalatorFunctionSweepSchedule.Arn\n",
        "EscalatorFunctionRole.Arn\n                aws:SourceArn:\n                  - !GetAtt EscalatorFunctionInvestigationEvent.Arn\n",
        "DeadLetterQueuePolicy: no Deny of sqs:SendMessage",
    ),
    (
        "the custom-source rule back on the default bus",
        "            EventBusName: !Ref RequestBus\n",
        "",
        "Events.InvestigationEvent: takes sources anyone may put on the default bus",
    ),
]


def problems_of(text):
    template = yaml.load(text, Loader=check_template.CloudFormationLoader)
    facts = check_template.json.loads(check_template.FACTS.read_text(encoding="utf-8"))
    found, _ = check_template.check(template)
    more, _ = check_template.check_facts(template, facts)
    return found + more


def main():
    failures = []
    base = problems_of(TEMPLATE)
    if base:
        failures.append(f"the committed template fails: {base}")
    for name, old, new, expected in MUTATIONS:
        if old not in TEMPLATE:
            failures.append(f"{name}: the text to mutate is gone from template.yaml; update this test")
            continue
        found = problems_of(TEMPLATE.replace(old, new, 1))
        hit = [p for p in found if expected in p]
        print(f"mutation: {name}: {'caught' if hit else 'MISSED'}: {hit[0] if hit else found}")
        if not hit:
            failures.append(f"{name}: the check did not say {expected!r}")
    for f in failures:
        print(f"test_check_template: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
