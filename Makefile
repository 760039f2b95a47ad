# Set-up is part of every target: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
# CPU machines: pin the CPU torch build. CUDA users: see README "Choosing a torch build".
CONSTRAINTS ?= constraints-cpu.txt
BIN := $(VENV)/bin
export NO_ALBUMENTATIONS_UPDATE := 1
export WANDB_MODE ?= offline
export HYDRA_FULL_ERROR := 1

.PHONY: help install demo test test-full bench reproduce readme-results gpu-kit gpu-check clean

help:  ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: $(VENV)/.installed  ## create .venv and install the package with its dependencies

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) inpainting/_tvshim.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# setuptools' editable-install banner (a warning from the build backend) says nothing a user can act on
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e '.[dev,search,loggers,export,patchmatch]'
	$(BIN)/python tools/install_tvshim.py
	$(BIN)/python -c "import torchvision, lightning, lpips; print('torch', __import__('torch').__version__, '| torchvision', torchvision.__version__, '| lightning', lightning.__version__)"
	touch $@

# the demo's nets are small: on a CPU shared with other jobs two OpenMP threads spin-wait (measured: 10 min of CPU
# for the demo with two threads, 2 min with one); other counts: make demo DEMO_THREADS=N
DEMO_THREADS ?= 1
demo: install  ## train + evaluate JPGNet over Telea on embedded photos, beside the classical rows (CPU, minutes)
	OMP_NUM_THREADS=$(DEMO_THREADS) $(BIN)/inpaint-train experiment=demo

test: install  ## run the test suite (slow tests excluded)
	$(BIN)/python -m pytest -m "not slow" -q

test-full: install  ## run every test, slow ones included
	$(BIN)/python -m pytest -q

bench: install  ## operator benchmark (prints fast/reference ratios)
	$(BIN)/python benchmarks/bench_filter.py

TABLE ?= misf_table3
SCALE ?= demo
reproduce: install  ## one paper table: make reproduce TABLE=misf_table3 SCALE=demo|small|full|released [WEIGHTS=<dir>] [ARGS="paths.data_dir=/data"]
	$(BIN)/inpaint-reproduce table=$(TABLE) scale=$(SCALE) out_dir=experiments/results $(if $(WEIGHTS),weights=$(WEIGHTS)) $(ARGS)

readme-results: install  ## rewrite the README's measured tables from the committed reports in experiments/results/
	$(BIN)/python -m inpainting.reproduce.readme

# GPU machines without a package index (docs/gpu.md): build the kit where there is one, carry .gpu-kit/ along
GPU_TORCH ?= 2.13.0
gpu-kit: install  ## wheels (Python 3.12 manylinux) of what a GPU image lacks, in .gpu-kit/, checked to resolve offline; the authors' MISF code
	$(BIN)/python tools/gpu_kit.py download --torch $(GPU_TORCH)
	$(BIN)/python tools/gpu_kit.py check
	$(BIN)/python tools/gpu_kit.py fetch-misf

# no `install` prerequisite: the GPU machine has no index; its own python (or this tree's .venv when present)
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
gpu-check:  ## on a GPU machine: install .gpu-kit (--target), CUDA tests, bench_gpu.py; report in gpu-check/ (md + json)
	$(GPU_PYTHON) tools/gpu_check.py --out gpu-check

clean:  ## remove run outputs (not the venv)
	rm -rf outputs multirun logs
