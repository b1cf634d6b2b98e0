# The two commands of the README.
#   make demo   installs tamis into .venv and scans the bundled samples (images, video, documents)
#   make test   installs tamis with its test tools and runs every test
VENV ?= .venv
export VENV
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

demo:
	scripts/install.sh video
	$(BIN)/tamis models
	$(BIN)/tamis scan samples/images samples/video samples/documents --annotate out/annotated \
		--blur-faces out/blurred --thumbnails out/thumbnails --report out/report.html \
		--format json --output out/results.json; test $$? -le 1
	$(BIN)/tamis scan samples/images samples/video samples/documents; test $$? -le 1
	@echo "Results: out/results.json and out/report.html; pictures: out/annotated/, out/thumbnails/, out/blurred/"

test:
	scripts/install.sh dev,nudity,video
	$(BIN)/python -m pytest -q --timeout 600

bench:
	$(BIN)/python bench/bench_images.py

lint:
	$(BIN)/ruff check src tests bench

clean:
	rm -rf out .pytest_cache build *.egg-info src/*.egg-info
