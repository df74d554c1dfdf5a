# loopml: the commands a new machine and CI run. `make test` and `make demo` install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.loopml-installed
SYSTEM_PACKAGES := postgresql redis-server
BENCH_PACKAGES := python3-xgboost python3-sklearn python3-scipy python3-optuna python3-onnx python3-flask gunicorn python3-fastapi python3-uvicorn wrk prometheus coreutils

.PHONY: help install system-deps lint typecheck test bench demo clean

help:
	@echo "make demo       install npm packages if missing, then run the MLOps loop on bundled flights data"
	@echo "make test       install what is missing, then lint, typecheck and every test"
	@echo "make bench      run the benchmarks; results go to bench/results/"
	@echo "make lint | typecheck | install | clean"

install: $(NPM_STAMP) system-deps
	npx tsx src/ui/build.ts

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The PostgreSQL and Redis tests start real servers on 127.0.0.1: their Debian packages must be present.
system-deps:
	@missing=""; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: $(NPM_STAMP)
	npx eslint .
	npx prettier --check .

typecheck: $(NPM_STAMP)
	npx tsc --noEmit -p tsconfig.json

test: install
	$(MAKE) lint typecheck
	@mkdir -p test-results
	npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json

bench: install
	@if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	dpkg -s $(BENCH_PACKAGES) >/dev/null 2>&1 || { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BENCH_PACKAGES) >/dev/null; }
	npx tsx bench/run.ts

demo: $(NPM_STAMP)
	npx tsx demo/run.ts

clean:
	rm -rf node_modules test-results .loopml
