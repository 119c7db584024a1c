#!/usr/bin/env python3
"""Trim botocore service models to the operations the simulation serves.

Usage: pip download --no-deps botocore; unzip it; then
    python3 sim/models/extract.py <path-to-botocore/data>
The trimmed models (operations plus every shape reachable from them) are
committed beside this script, so tests never need the network. botocore is
Apache-2.0; its models are AWS's own description of each wire contract.
"""
import gzip, json, pathlib, sys

SERVICES = {
    "guardduty": ("guardduty/2017-11-28", ["GetInvestigation", "ListInvestigations", "CreateInvestigation", "GetFindings"]),
    "security-ir": ("security-ir/2018-05-10", ["CreateCase", "GetCase", "UpdateCase", "CreateCaseComment", "ListComments", "ListCases", "ListTagsForResource", "TagResource",
                                                 # Not called by the function: responders' moves of a case, for the tests of §14.
                                                 "UpdateCaseStatus", "CloseCase"]),
    "ssm-incidents": ("ssm-incidents/2018-05-10", ["ListIncidentRecords", "GetIncidentRecord", "ListRelatedItems", "UpdateRelatedItems",
                                                   "CreateTimelineEvent", "ListTimelineEvents", "StartIncident", "UpdateIncidentRecord"]),
    # Not called by the function: the operator's `replay` reads the deployed function's configuration and policy.
    "lambda": ("lambda/2015-03-31", ["GetFunctionConfiguration", "GetPolicy"]),
}

def reachable(shapes, roots):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        s = shapes[name]
        refs = [m["shape"] for m in s.get("members", {}).values()]
        for key in ("member", "key", "value"):
            if key in s:
                refs.append(s[key]["shape"])
        todo.extend(refs)
    return seen

def main(data):
    out_dir = pathlib.Path(__file__).parent
    for svc, (path, ops) in SERVICES.items():
        model = json.load(gzip.open(pathlib.Path(data) / path / "service-2.json.gz"))
        roots, operations = set(), {}
        for op in ops:
            o = model["operations"][op]
            operations[op] = {k: o[k] for k in ("name", "http", "input", "output", "errors") if k in o}
            for key in ("input", "output"):
                if key in o:
                    roots.add(o[key]["shape"])
            roots.update(e["shape"] for e in o.get("errors", []))
        shapes = {n: s for n, s in model["shapes"].items() if n in reachable(model["shapes"], roots)}
        for s in shapes.values():
            s.pop("documentation", None)
            for m in s.get("members", {}).values():
                m.pop("documentation", None)
        trimmed = {"metadata": model["metadata"], "operations": operations, "shapes": shapes}
        (out_dir / f"{svc}.json").write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n")
        print(svc, len(operations), "operations", len(shapes), "shapes")

if __name__ == "__main__":
    main(sys.argv[1])
