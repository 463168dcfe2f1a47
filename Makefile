.PHONY: demo test test-all lint bench clean
# The two commands of the README. Each installs what it needs and is safe to run twice.
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
# Also the `nightly` group (wheel and sdist builds, cluster jobs, DuckDB baseline).
test-all:
	AMP_TEST_MARK= HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-nightly} bash scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy amp_features
clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache demo-output
