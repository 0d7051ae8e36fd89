# Every entry point of the project. `make` alone lists them.
#   STACK=auto|docker|embedded   how LocalStack runs (auto: docker when a Docker engine answers)
#   LOCALSTACK_PORT=4566         the stack's port on 127.0.0.1
#   DEBUG_FUNCTION=<name>        `make up`: that function waits for a debugpy client on 127.0.0.1:DEBUG_PORT (5678)
SHELL := /bin/bash
STACK ?= auto
LOCALSTACK_PORT ?= 4566
export STACK LOCALSTACK_PORT
export AWS_ENDPOINT_URL ?= http://127.0.0.1:$(LOCALSTACK_PORT)
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
PY := .venv/bin/python

.PHONY: help setup up down status deploy dev destroy seed run failures redrive logs trace snapshot restore test test-fast test-unit bench docs
help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed -E 's/:.*## /\t/'

setup: ## install everything (cached; a second run takes seconds)
	@bash stack/setup.sh

up: setup ## start the local stack and wait until it is ready (DEBUG_FUNCTION=<name>: that function waits for a debugger)
	@python3 stack/stackctl.py up

down: ## stop the local stack and everything it started
	@python3 stack/stackctl.py down

status: ## what runs, in which mode, on which port
	@python3 stack/stackctl.py status

deploy: ## build the Lambda zips and apply terraform/ to the running stack
	@$(PY) stack/terraform/deploy.py apply

dev: ## deploy the functions from the working tree and hot-reload each save to functions/ or lib/ until Ctrl-C (make deploy: zips again)
	@$(PY) stack/hot_reload.py

destroy: ## tear the deployment down
	@$(PY) stack/terraform/deploy.py destroy

seed: ## generate a day of bills and a year of salaries and upload them
	@$(PY) -m seed demo

run: up deploy seed ## the main job: stack up, deployed, seeded, the page URL printed
	@$(PY) stack/next_steps.py

failures: ## list uploads that failed every attempt (the ingest failures queue), with the error of each
	@$(PY) -m ops.failures list

redrive: ## replay them once the cause is fixed; each that succeeds leaves the queue
	@$(PY) -m ops.failures redrive

logs: ## follow every function's log and the workflow's until Ctrl-C; FN=start_payment one of them, SINCE=10m (default 5m), ONCE=1 print and exit
	@$(PY) -m ops.logs $(if $(FN),--function '$(FN)') $(if $(SINCE),--since '$(SINCE)') $(if $(filter 1 yes true,$(ONCE)),--once)

trace: ## one payment's story in order (PAYMENT=<PaymentId>), or an uploaded file's (KEY=bills-due/x.csv); SINCE=2h to look further back
	@$(PY) -m ops.trace $(if $(PAYMENT),--payment '$(PAYMENT)') $(if $(KEY),--key '$(KEY)') $(if $(BUCKET),--bucket '$(BUCKET)') $(if $(SINCE),--since '$(SINCE)')

snapshot: ## save the deployment's tables and data buckets: make snapshot NAME=x (without NAME: list the snapshots)
	@$(PY) -m ops.snapshot $(if $(NAME),save "$(NAME)",list)

restore: ## put snapshot NAME back, exactly, e.g. after make down && make up && make deploy: make restore NAME=x
	@$(PY) -m ops.snapshot restore "$(NAME)"

test: setup ## every test suite, in parallel workers where they can share the stack (tests/run.py); starts the stack (and stops it after) if it is not running
	@stack/offline.sh $(PY) -m tests.run $(ARGS)

test-fast: ## the inner loop: unit tests, then one payment and one upload through the running stack
	@$(PY) -m pytest -q -n 2 tests/unit stack/lambda_executor/tests $(ARGS) && $(PY) -m pytest -q -m smoke tests/integration $(ARGS)

test-unit: ## the fast tests that need no stack
	@$(PY) -m pytest -n 2 tests/unit stack/lambda_executor/tests $(ARGS)

docs: ## write the Inputs and Outputs tables of terraform/README.md and each module's README from their variables.tf and outputs.tf
	@$(PY) stack/terraform/module_docs.py

bench: ## benchmarks (not part of the tests); options: make bench BENCH_ARGS='--rows 10000' (python -m bench -h)
	@$(PY) -m bench $(BENCH_ARGS)
