"""Preflight: what a real deploy would reject, found in seconds with read-only credentials before `pulumi up`.

The offline plan (``planning.engine``) tells what the program will ask AWS and Helm repositories for; the
checks here ask the live account and the public catalogues whether those things are offered, exist, and fit
in the quotas. See docs/preflight.md.
"""
