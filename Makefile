VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint typecheck openapi migrate demo

setup:
	@scripts/setup.sh

migrate: setup
	$(BIN)/housing-match db migrate

demo: migrate
	$(BIN)/housing-match demo load

run: demo
	$(BIN)/housing-match serve --host 127.0.0.1 --port 8000

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -m "not browser"
	$(BIN)/pytest -p no:xdist -m browser

openapi: setup
	$(BIN)/housing-match openapi --output openapi/openapi.json
