# The two front-door commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
APP := .venv-app/bin/python

.PHONY: setup run test test-fast lint train eval eval-nlu bench

setup:
	@scripts/bootstrap.sh

run: setup
	@$(APP) -m bot.cli run

train: setup
	@$(APP) -m bot.cli train

test: setup
	@scripts/test.sh

test-fast: setup
	@$(APP) -m pytest -m "not e2e and not postgres" -q

lint: setup
	@$(APP) -m ruff check .

eval: setup
	@$(APP) -m bot.evaluation.report $(EVAL_ARGS)

eval-nlu: setup
	@$(APP) -m bot.evaluation.report --only nlu $(EVAL_ARGS)

bench: setup
	@$(APP) -m bench.stack
