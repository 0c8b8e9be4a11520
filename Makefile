# Task runner. Everything runs from the project venv (.venv), created and pinned by `make install`.
PY      := .venv/bin/python
STACK   ?= dev
OUT     ?= out
# Any stack file instead of a project stack (a blueprint, a developer's stack): make plan STACK_FILE=<path>.
# Its outputs are named <folder>-<stack> (blueprints/003-bsc-rag/Pulumi.dev.yaml -> out/003-bsc-rag-dev.json).
STACK_FILE ?=
TARGET  := $(if $(STACK_FILE),--stack-file $(STACK_FILE),--stack $(STACK))
# The interpreter .venv is made from: the distribution's CPython 3.11 where there is one that can make a venv
# (Debian ships ensurepip apart, in python3.11-venv), else python3 on PATH. Debian links /usr/bin/python3.11
# statically; a pyenv build loads libpython as a shared library and, unless built with --enable-optimizations,
# without profile-guided optimisation. Plans feel it most: compare `python -m planning.bench --runs 1 --targets prod`
# in a venv of each. Switching an existing .venv: rm -rf .venv.
DISTRIBUTION_PYTHON := /usr/bin/python3.11
BASE_PYTHON ?= $(or $(shell $(DISTRIBUTION_PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 \
                 && echo $(DISTRIBUTION_PYTHON)),python3)
NAME    := $(if $(STACK_FILE),$(notdir $(patsubst %/,%,$(dir $(abspath $(STACK_FILE)))))-$(patsubst Pulumi.%.yaml,%,$(notdir $(STACK_FILE))),$(STACK))

.PHONY: install bytecode lint lint-workflows policy-venv test test-stats plan report review preflight bench manifests golden generate clean

# First run: about a minute of downloads; pip's one line per package shows it is moving.
# policies/pyproject.toml: the pack's packages are installed (editable) from requirements.txt.
.venv/.installed: requirements.txt requirements-dev.txt policies/pyproject.toml
	@echo "Creating .venv and installing the pinned packages of requirements-dev.txt (first run only, about a minute)..."
	$(BASE_PYTHON) -m venv .venv
	@{ $(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt; \
	   echo $$? > .venv/.pip-status; } | grep --line-buffered -E '^(Collecting|Successfully installed)' || true
	@exit $$(cat .venv/.pip-status)
	touch $@

install: .venv/.installed

# The project's own modules compiled once, and again when edited (a no-op otherwise). Python writes __pycache__
# itself unless the environment sets PYTHONDONTWRITEBYTECODE, as some CI images and containers do; then every
# process (each plan, test worker and planner the tests start) compiles every module it imports again, which
# `make bench` shows in its imports phase. pip compiles the installed packages the same way, whatever that
# setting says.
SOURCES := __main__.py components config planning policies tests tools
bytecode: install
	@$(PY) -m compileall -q -x '/\.venv/' $(SOURCES)

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

test: bytecode
	$(PY) -m pytest -n 2 --dist loadfile

# Where a cold run's time goes (the plan cache emptied first, as on CI's fresh checkout): the whole-stack plans and
# reviews the suite makes, collection, start-up and the rest, by file (tests/suite_stats.py).
test-stats: bytecode
	rm -rf .pytest_cache/plans
	SUITE_STATS=$(OUT)/suite-stats $(PY) -m pytest -n 2 --dist loadfile

# Offline plan + policy review of one stack under the mock engine (no cloud, no Pulumi CLI): one screen,
# verdict first. Add ARGS=--tree for every resource, cost line and finding.
plan: bytecode
	$(PY) -m planning $(TARGET) --json $(OUT)/$(NAME).json $(ARGS)

# The reviewer's page: out/<stack>.html (opens offline). BASE=out/main.json adds what changed against it.
report: bytecode
	$(PY) -m planning $(TARGET) --json $(OUT)/$(NAME).json --html $(OUT)/$(NAME).html \
		$(if $(BASE),--base $(BASE)) $(ARGS)

review: bytecode
	$(PY) -m planning $(TARGET) --quiet --sarif $(OUT)/$(NAME).sarif --json $(OUT)/$(NAME).json \
		--html $(OUT)/$(NAME).html

# Check the stack's plan against the live account and chart repositories (read-only AWS credentials:
# docs/preflight-iam-policy.json); exit 1 when the deploy would be rejected. docs/preflight.md.
preflight: bytecode
	$(PY) -m planning preflight --stack $(STACK) --json $(OUT)/$(STACK)-preflight.json --sarif $(OUT)/$(STACK)-preflight.sarif

manifests: bytecode
	$(PY) -m planning --stack $(STACK) --quiet --manifests $(OUT)/manifests/$(STACK)

bench: bytecode
	$(PY) -m planning.bench --runs 5

# Rewrite the resource-identity golden files (tests/golden/identity) after a deliberate rename or addition.
golden: bytecode
	$(PY) -m planning.identity --update

# Rewrite everything generated from the stack files, the program, the pack and the workflows: the per-stack facts
# in policies/config/<stack>.json, the policy reference, the cost tables, the config reference, the diagrams,
# the teardown and deploy-permission pages and the preflight IAM policy. Tests fail when any of it is stale.
generate: bytecode
	$(PY) -m planning.policy_config --write
	$(PY) -m planning.policy_docs docs/policies.md
	$(PY) -m planning.cost_report.readme_table --write docs/cost.md
	$(PY) -m planning.cost_report.readme_table --write-blueprints README.md
	$(PY) -m config.reference
	$(PY) -m planning.diagrams
	$(PY) -m planning.teardown
	$(PY) -m planning.permissions
	$(PY) -m planning.preflight.iam_policy

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
