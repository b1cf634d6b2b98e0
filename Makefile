# The two commands of the README.
#   make demo   installs tamis into .venv and scans the bundled samples (images, video, documents)
#   make test   installs tamis with its test tools and the optional extras the tests cover
#               (nudity: AGPL-3.0; video, postgres: LGPL parts) into a separate .venv-test,
#               and runs every test there
VENV ?= .venv
TEST_VENV ?= .venv-test
BIN := $(VENV)/bin
TEST_BIN := $(TEST_VENV)/bin

.PHONY: demo test bench lint clean

demo:
	VENV=$(VENV) scripts/install.sh video
	$(BIN)/tamis models
	$(BIN)/tamis scan samples/images samples/video samples/documents --annotate out/annotated \
		--blur-faces out/blurred --thumbnails out/thumbnails --report out/report.html \
		--format json --output out/results.json; test $$? -le 1
	$(BIN)/tamis scan samples/images samples/video samples/documents; test $$? -le 1
	@echo "Results: out/results.json and out/report.html; pictures: out/annotated/, out/thumbnails/, out/blurred/"

test:
	VENV=$(TEST_VENV) scripts/install.sh dev,nudity,video,postgres
	$(TEST_BIN)/python -m pytest -q --timeout 600

bench:
	$(BIN)/python bench/bench_images.py

lint:
	$(TEST_BIN)/ruff check src tests bench

clean:
	rm -rf out .pytest_cache build *.egg-info src/*.egg-info
