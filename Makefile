# Task runner. Everything runs from the project venv (.venv), created and pinned by `make install`.
PY      := .venv/bin/python
STACK   ?= dev
OUT     ?= out

.PHONY: install lint lint-workflows policy-venv test plan review preflight bench manifests golden generate clean

# policies/pyproject.toml: the pack's packages are installed (editable) from requirements.txt.
.venv/.installed: requirements.txt requirements-dev.txt policies/pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: .venv/.installed

lint: install lint-workflows
	$(PY) -m ruff check .

# Workflow linters (pinned in requirements-dev.txt): zizmor (security audits; online audits run when GH_TOKEN is
# set) and actionlint (syntax, expressions, runner labels). Both must report nothing.
lint-workflows: install
	.venv/bin/zizmor --min-severity low .github/workflows
	.venv/bin/actionlint -config-file .github/actionlint.yaml

# The policy pack's own virtualenv, as policies/PulumiPolicy.yaml declares (used by `pulumi preview/up --policy-pack`).
policy-venv:
	python3 -m venv policies/.venv
	policies/.venv/bin/pip install --quiet --disable-pip-version-check -r policies/requirements.txt

test: install
	$(PY) -m pytest -n 2 --dist loadfile

# Offline plan + policy review of one stack under the mock engine (no cloud, no Pulumi CLI).
plan: install
	$(PY) -m planning --stack $(STACK) --json $(OUT)/$(STACK).json

review: install
	$(PY) -m planning --stack $(STACK) --quiet --sarif $(OUT)/$(STACK).sarif --json $(OUT)/$(STACK).json

# Check the stack's plan against the live account and chart repositories (read-only AWS credentials:
# docs/preflight-iam-policy.json); exit 1 when the deploy would be rejected. docs/preflight.md.
preflight: install
	$(PY) -m planning preflight --stack $(STACK) --json $(OUT)/$(STACK)-preflight.json --sarif $(OUT)/$(STACK)-preflight.sarif

manifests: install
	$(PY) -m planning --stack $(STACK) --quiet --manifests $(OUT)/manifests/$(STACK)

bench: install
	$(PY) -m planning.bench --runs 5

# Rewrite the resource-identity golden files (tests/golden/identity) after a deliberate rename or addition.
golden: install
	$(PY) -m planning.identity --update

# Rewrite what is generated from the stack files and the pack: the per-stack facts in policies/config/<stack>.json,
# the policy reference (README.md, docs/policies.md) and the cost tables (README.md, docs/cost.md). Tests fail
# when any of them is stale.
generate: install
	$(PY) -m planning.policy_config --write
	$(PY) -m planning.policy_docs README.md docs/policies.md
	$(PY) -m planning.cost_report.readme_table --write README.md
	$(PY) -m planning.cost_report.readme_table --write docs/cost.md

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
