# Task runner. Everything runs from the project venv (.venv), created and pinned by `make install`.
PY      := .venv/bin/python
STACK   ?= dev
OUT     ?= out

.PHONY: install lint lint-workflows policy-venv test plan review bench manifests golden clean

.venv/.installed: requirements.txt requirements-dev.txt
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

manifests: install
	$(PY) -m planning --stack $(STACK) --quiet --manifests $(OUT)/manifests/$(STACK)

bench: install
	$(PY) -m planning.bench --stack $(STACK) --runs 5

# Rewrite the resource-identity golden files (tests/golden/identity) after a deliberate rename or addition.
golden: install
	$(PY) -m planning.identity --update

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
