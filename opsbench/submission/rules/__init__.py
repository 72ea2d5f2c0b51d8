"""The validator's rules, one module per group; `validate.RULES` lists them in order.

A rule is `(Package, ReleaseManifest) -> RuleVerdict`: it reads only the loaded package
(`opsbench.submission.load`) and reports every problem it finds with the file it is in.
"""
