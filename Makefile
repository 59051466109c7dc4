# edgestate: `make test` sets up a fresh machine (redis-server, the Node conformance client, the
# Python tools in .venv) and runs every check; `make dev` runs the whole API locally;
# `make build` / `make deploy` build and ship it with AWS SAM; `make bench` prints figures.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CONFORMANCE_DIR := tests/conformance
UPSTASH_LOCAL_PORT ?= 8079
UPSTASH_LOCAL_TOKEN ?= local-dev-token
REDIS_PORT ?= 6379
WATCH_PORT ?= 9000

# Python tools (cargo-lambda + zig, AWS SAM CLI + cfn-lint) live in a project-local venv, at
# the versions pinned in requirements-*.txt. A stamp file per requirements file makes a
# repeated install a no-op until the pins change.
VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
DEV_TOOLS := $(VENV)/.dev-tools.stamp
AWS_TOOLS := $(VENV)/.aws-tools.stamp
BROWSER_TOOLS := $(VENV)/.browser-tools.stamp
# The venv's tools first; no telemetry from the SAM CLI.
export PATH := $(VENV_BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0

# The Lambda architecture of template.yaml and its Rust target.
LAMBDA_TARGET := aarch64-unknown-linux-gnu

# Root installs directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help
help:
	@echo "make dev                  the API on :$(WATCH_PORT) (cargo lambda watch) over redis-server +"
	@echo "                          upstash-local on :$(UPSTASH_LOCAL_PORT); Ctrl-C stops what it started"
	@echo "make test                 install what is missing, then template checks, fmt, clippy, every test"
	@echo "make validate             cfn-lint, sam validate --lint and the SAM transform on template.yaml;"
	@echo "                          openapi.yaml against the OpenAPI 3.1 schema"
	@echo "make build                sam build: every function for arm64 into .aws-sam/"
	@echo "make deploy STAGE=staging|production   build, then sam deploy --config-env STAGE"
	@echo "make bench                benchmarks that print figures (upstash-local overhead, route"
	@echo "                          latency, login timing, each function's cold start, CPU and memory)"
	@echo "make load                 the function binaries under load, 3 processes each, for 30 s: req/s,"
	@echo "                          latency, REST requests, CPU and RSS per route; checks limits, submit"
	@echo "                          once and logout across processes (LOAD_SECONDS=, LOAD_CLIENTS=, ...)"

# ---- set-up ---------------------------------------------------------------------------

.PHONY: deps
deps: redis-server node-deps

.PHONY: redis-server
redis-server:
	@command -v redis-server >/dev/null || { \
	  command -v apt-get >/dev/null || { \
	    echo "redis-server is missing: install Redis (7 or newer) with your package manager" >&2; \
	    exit 1; }; \
	  echo "installing redis-server"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

.PHONY: node-deps
node-deps: $(CONFORMANCE_DIR)/node_modules/.package-lock.json

$(CONFORMANCE_DIR)/node_modules/.package-lock.json: $(CONFORMANCE_DIR)/package-lock.json
	@command -v npm >/dev/null || { \
	  command -v apt-get >/dev/null || { \
	    echo "npm is missing: install Node.js 20 and npm" >&2; \
	    exit 1; }; \
	  echo "installing nodejs and npm"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --prefix $(CONFORMANCE_DIR) --no-audit --no-fund

# The venv itself: python3 with its venv module (Debian ships that as python3-venv).
$(VENV)/bin/python:
	@command -v python3 >/dev/null || { \
	  command -v apt-get >/dev/null || { \
	    echo "python3 is missing: install Python 3.9 or newer (with its venv module)" >&2; \
	    exit 1; }; \
	  echo "installing python3"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null; }
	@python3 -m venv $(VENV) 2>/dev/null || { \
	  rm -rf $(VENV); \
	  command -v apt-get >/dev/null || { \
	    echo "python3 cannot create a venv: install the Python venv module (python3-venv)" >&2; \
	    exit 1; }; \
	  echo "installing python3-venv"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && \
	  python3 -m venv $(VENV); }

.PHONY: dev-tools aws-tools
dev-tools: $(DEV_TOOLS)
aws-tools: $(AWS_TOOLS)

$(DEV_TOOLS): requirements-dev.txt | $(VENV)/bin/python
	@echo "installing cargo-lambda and zig into $(VENV)"
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

$(AWS_TOOLS): requirements-aws.txt | $(VENV)/bin/python
	@echo "installing the AWS SAM CLI and cfn-lint into $(VENV)"
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# The browser tests (tests/browser.rs): Debian's chromium, driven headless by Playwright for
# Python from .venv.
.PHONY: browser-tools chromium
browser-tools: chromium $(BROWSER_TOOLS)

chromium:
	@command -v chromium >/dev/null || { \
	  command -v apt-get >/dev/null || { \
	    echo "chromium is missing: install Chromium with your package manager" >&2; \
	    exit 1; }; \
	  echo "installing chromium"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(BROWSER_TOOLS): requirements-browser.txt | $(VENV)/bin/python
	@echo "installing Playwright into $(VENV)"
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

# ---- checks ---------------------------------------------------------------------------

# A debug build of the workspace needs about 3 GB under target/; short of that, the linker
# fails with a message that does not say why. Say it up front (and go on: it may still fit).
MIN_FREE_GB := 4
.PHONY: disk-space
disk-space:
	@mkdir -p target; free=$$(df -Pk target | awk 'NR == 2 { print int($$4 / 1048576) }'); \
	  [ "$$free" -ge $(MIN_FREE_GB) ] || \
	  echo "warning: $${free} GB free for target/; building every test needs about $(MIN_FREE_GB) GB" >&2

.PHONY: test
test: disk-space deps browser-tools validate
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	@if cargo nextest --version >/dev/null 2>&1; then \
	  cargo nextest run --workspace --locked; \
	else \
	  cargo test --workspace --locked; \
	fi

# All offline. `sam validate` wants a region only to build a client it does not call. cfn-lint
# checks SAM resources against SAM's schema without running the SAM transform, so the next
# step runs it, as CloudFormation will at deploy time. Whether template.yaml, openapi.yaml and
# the watch router agree on the routes is tests/routes.rs's job.
.PHONY: validate
validate: aws-tools
	cfn-lint template.yaml
	sam validate --lint --template-file template.yaml --region us-east-1
	$(VENV)/bin/python scripts/sam_translate_check.py template.yaml
	openapi-spec-validator openapi.yaml

.PHONY: bench
bench: redis-server
	cargo build --profile bench --workspace --bins --locked
	cargo bench -p edgestate-tests --locked

# The function binaries under load (tests/load): a redis-server of its own on a free port,
# several processes per function. Every binary is built in the `load` profile (optimised,
# without the release profile's fat LTO), where the load test finds them beside itself.
# LOAD_SECONDS (30), LOAD_CLIENTS (16), LOAD_INSTANCES (3 per function), LOAD_MAX_REQUESTS
# (200000) and LOAD_REPORT (target/load/report.json) tune it, from the command line or the
# environment.
.PHONY: load
load: redis-server
	cargo build --profile load --locked --workspace --bins
	"$${CARGO_TARGET_DIR:-target}/load/load"

# ---- local stack ----------------------------------------------------------------------

.PHONY: dev
dev: redis-server dev-tools
	@REDIS_PORT=$(REDIS_PORT) UPSTASH_LOCAL_PORT=$(UPSTASH_LOCAL_PORT) \
	  UPSTASH_LOCAL_TOKEN=$(UPSTASH_LOCAL_TOKEN) WATCH_PORT=$(WATCH_PORT) \
	  bash scripts/dev.sh

# ---- build and deploy -----------------------------------------------------------------

# Cross-compiling needs the Rust standard library of the Lambda target; cargo-lambda brings
# the linker (zig) but not that. rustup fetches it once when it is missing.
.PHONY: lambda-target
lambda-target:
	@[ -d "$$(rustc --print sysroot)/lib/rustlib/$(LAMBDA_TARGET)" ] || { \
	  command -v rustup >/dev/null || { \
	    echo "the Rust standard library for $(LAMBDA_TARGET) is missing and there is no" \
	      "rustup to install it: add that target to your toolchain" >&2; \
	    exit 1; }; \
	  echo "installing the Rust standard library for $(LAMBDA_TARGET)"; \
	  rustup target add $(LAMBDA_TARGET); }

# `sam build` compiles each function with `cargo lambda build --release --arm64 --bin NAME`
# in the workspace (rust-cargolambda is a SAM beta feature, hence --beta-features). It is
# CPU-heavy (fat LTO per binary), so it runs at the lowest priority.
.PHONY: build
build: dev-tools aws-tools lambda-target
	nice -n 19 sam build --beta-features --template-file template.yaml

.PHONY: deploy
deploy:
	@case "$(STAGE)" in \
	  staging|production) ;; \
	  "") echo "set the stage: make deploy STAGE=staging (or STAGE=production)" >&2; exit 1 ;; \
	  *) echo "unknown STAGE '$(STAGE)': use staging or production" >&2; exit 1 ;; \
	esac
	@$(MAKE) --no-print-directory build
	sam deploy --config-env $(STAGE)
