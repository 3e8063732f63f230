# tensord — top-level Makefile (plain make, objects in build/, -MMD dependencies).
#   make            build daemon, libtensord, Python package into build/
#   make test       install deps, build, run every suite (Check + pytest + a short fuzz run)
#   make fuzz       build the libFuzzer targets (clang) and run each FUZZ_TIME seconds
#   make demo       install deps, build what the demo runs (release daemon, libtensord, Python
#                   package; no sanitizer objects), run the demo and train the digits CNN
#   make install    PREFIX=/usr/local (install-daemon: the node service alone)
#   make coverage   gcov build in build/cov, Check + pytest against it, per-directory line coverage
#   make image      the container image (buildah); make check-image builds and runs it
#   make image-gpu  the image with the CUDA plugin; make check-image-gpu builds and runs both
#   make check-install  stage make install, build a C program with pkg-config alone, run it
#   make gen        regenerate files derived from proto/ops.def; make check-gen verifies
#   make gpu-bundle what a GPU machine needs (build/gpu-bundle.tar.xz; tests/gpu/make_bundle.sh)
#   make check-gpu-script  the GPU machine's script end to end here, on stand-in GPUs
#   V=1             verbose commands
PYTHON ?= /usr/bin/python3
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
CC ?= gcc
BUILD := build
VERSION := 0.1.0

Q := $(if $(V),,@)
# The sub-makes of demo and test build in parallel unless the user chose a -j: GNU make 4.3
# shows a command-line -j in MAKEFLAGS only at recipe time, so this is expanded there.
NPROC := $(shell nproc 2>/dev/null || echo 2)
JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))
say = $(if $(V),,@printf '  %-7s %s\n' $(1) $(2);)

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -llapacke
# FFTW 3 (Debian libfftw3-dev) for torch.fft: double and single precision (kernels/cpu/fft.c)
FFTW_LIBS := -lfftw3 -lfftw3f
# oneDNN (Debian libdnnl-dev, no .pc file) for the float32 convolutions (kernels/cpu/conv_dnnl.c);
# Debian builds it on OpenMP, whose per-thread team size the kernels set (libgomp)
DNNL_LIBS := $(shell pkg-config --libs dnnl 2>/dev/null || echo -ldnnl) -lgomp
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
# -fno-math-errno: nothing reads errno after libm calls, and sqrt and friends then
# compile to instructions that vectorize
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -fno-math-errno -g -fPIC -MMD -MP $(WARN) -DTD_VERSION='"$(VERSION)"' \
	-I$(BUILD)/gen $(OPENBLAS_CFLAGS)
CFLAGS ?= -O2
ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
GRPC_LIBS := -lgrpc -lgpr -lprotobuf-c
SYS_LIBS := -lpthread -lm
SYSTEMD_LIBS := $(shell pkg-config --libs libsystemd 2>/dev/null)
# the Prometheus endpoint (daemon/metrics_http.c; Debian libmicrohttpd-dev)
MHD_LIBS := -lmicrohttpd
HAVE_SYSTEMD := $(if $(SYSTEMD_LIBS),-DTD_HAVE_SYSTEMD,)

PROTO_C := $(BUILD)/gen/tensord.pb-c.c
META_SRC := kernels/status.c kernels/dtype.c kernels/op.c kernels/overlap.c $(wildcard kernels/shape*.c)
CPU_SRC := kernels/rng.c $(wildcard kernels/cpu/*.c)
# the contract code daemon and clients share (the default address, the rings)
PROTO_SRC := proto/td_address.c proto/td_ring.c
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
CLIENT_SRC := $(wildcard client_c/*.c) $(wildcard autograd/*.c)
CORE_SRC := $(META_SRC) $(CPU_SRC) $(DAEMON_SRC) $(PROTO_SRC)

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))
PY_EXT_SUFFIX := $(shell $(PYTHON) -c "import sysconfig;print(sysconfig.get_config_var('EXT_SUFFIX'))" 2>/dev/null)
PY_INC := $(shell $(PYTHON) -c "import sysconfig;print(sysconfig.get_paths()['include'])" 2>/dev/null)
NP_INC := $(shell $(PYTHON) -c "import numpy;print(numpy.get_include())" 2>/dev/null)
PY_DIR := $(BUILD)/python/tensord
PY_SRC := $(wildcard client_py/tensord/*.py client_py/tensord/*/*.py client_py/tensord/*/*/*.py \
	client_py/tensord/*/*/*/*.py client_py/tensord/*/*/*/*/*.py)

DAEMON := $(BUILD)/tensord
DAEMON_ASAN := $(BUILD)/asan/tensord
LIBTD := $(BUILD)/libtensord.so
PY_EXT := $(PY_DIR)/_C$(PY_EXT_SUFFIX)
CHECK_SRC := $(wildcard tests/check_*.c)
CHECKS := $(patsubst tests/%.c,$(BUILD)/asan/tests/%,$(CHECK_SRC))
EXAMPLE := $(BUILD)/example_c
CTL := $(BUILD)/tensordctl

all: $(DAEMON) $(DAEMON_ASAN) $(LIBTD) python $(EXAMPLE) $(CTL)
.PHONY: all deps test coverage install-daemon image check-image image-gpu check-image-gpu check check-cuda cuda-skip check-rocm rocm-skip \
	valgrind pytest fuzz demo install check-install gen check-gen python bench clean gpu-bundle check-gpu-script bench-records

# ---- generated code
$(PROTO_C): proto/tensord.proto
	@mkdir -p $(BUILD)/gen
	$(call say,PROTOC,$<)protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<
$(BUILD)/gen/tensord.pb-c.h: $(PROTO_C)

gen:
	$(PYTHON) proto/gen_ops.py
	$(PYTHON) proto/gen_derivatives.py
check-gen:
	$(PYTHON) proto/gen_ops.py --check
	$(PYTHON) proto/gen_derivatives.py --check

# ---- objects: release (opt) and sanitized (asan)
# Small fixed-size copies and clears (struct td_meta is ~280 bytes) are the daemon's per-record
# cost for small ops; GCC expands them as rep movs/stos, whose start-up costs more than the copy.
# Vector loops up to 1 KiB, the library call above (docs/performance.md).
IS_GCC_X86 := $(and $(findstring x86_64,$(shell $(CC) -dumpmachine 2>/dev/null)),$(findstring Free Software,$(shell $(CC) --version 2>/dev/null)))
STRINGOP_STRATEGY := vector_loop:1024:noalign,libcall:-1:noalign
STRINGOP_FLAGS := $(if $(IS_GCC_X86),-mmemcpy-strategy=$(STRINGOP_STRATEGY) -mmemset-strategy=$(STRINGOP_STRATEGY))
$(BUILD)/opt/%.o: %.c | $(BUILD)/gen/tensord.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS_BASE) $(CFLAGS) $(STRINGOP_FLAGS) $(HAVE_SYSTEMD) -c $< -o $@
$(BUILD)/asan/%.o: %.c | $(BUILD)/gen/tensord.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,CC-ASAN,$<)$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) $(HAVE_SYSTEMD) -c $< -o $@
$(BUILD)/opt/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_BASE) $(CFLAGS) -Wno-error -c $< -o $@
$(BUILD)/asan/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) -Wno-error -c $< -o $@

# These kernels pass 32-byte GCC vectors between static always_inline helpers; compiling their
# baseline (non-AVX) clone, GCC prints a note that such arguments changed ABI in GCC 4.6. The
# note is an inform() that only -Wno-psabi turns off (#pragma GCC diagnostic cannot), and no
# function taking or returning a vector is visible outside its object, so it is noise here.
PSABI_QUIET := kernels/cpu/math_dim.c kernels/cpu/unary.c kernels/cpu/loss.c
$(call obj,opt,$(PSABI_QUIET)) $(call obj,asan,$(PSABI_QUIET)): CFLAGS_BASE += -Wno-psabi

PB_OPT := $(BUILD)/opt/gen/tensord.pb-c.o
PB_ASAN := $(BUILD)/asan/gen/tensord.pb-c.o

# ---- daemon (jemalloc in release; ASan brings its own allocator)
$(DAEMON): $(call obj,opt,$(CORE_SRC) daemon/main.c) $(PB_OPT)
	$(call say,LINK,$@)$(CC) -o $@ $^ $(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) -ljemalloc $(SYSTEMD_LIBS) $(MHD_LIBS) $(SYS_LIBS)
$(DAEMON_ASAN): $(call obj,asan,$(CORE_SRC) daemon/main.c) $(PB_ASAN)
	$(call say,LINK,$@)$(CC) -fsanitize=address,undefined -o $@ $^ $(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) $(SYSTEMD_LIBS) $(MHD_LIBS) $(SYS_LIBS)

# ---- tensordctl: a plain gRPC client of the daemon's admin calls (no libtensord)
$(CTL): $(call obj,opt,client_c/tools/tensordctl.c proto/td_address.c) $(PB_OPT)
	$(call say,LINK,$@)$(CC) -o $@ $^ $(GRPC_LIBS) $(SYS_LIBS)

# ---- libtensord and its C example
$(LIBTD): $(call obj,opt,$(CLIENT_SRC) $(META_SRC) $(PROTO_SRC)) $(PB_OPT)
	$(call say,LINK,$@)$(CC) -shared -Wl,-soname,libtensord.so -o $@ $^ $(GRPC_LIBS) $(SYS_LIBS)
$(EXAMPLE): client_c/example/example.c $(LIBTD)
	$(call say,LINK,$@)$(CC) $(CFLAGS_BASE) $(CFLAGS) -Iclient_c -o $@ $(filter %.c,$^) -L$(BUILD) -ltensord -Wl,-rpath,'$$ORIGIN'

# ---- Python package: pure-Python files + the _C extension over libtensord
python: $(PY_EXT) $(patsubst client_py/tensord/%,$(PY_DIR)/%,$(PY_SRC)) $(PY_DIR)/libtensord.so
# Replaced by rename, never rewritten in place: a running client maps these files, and a
# file truncated under its mapping faults (SIGBUS) on its next page in.
$(PY_DIR)/%.py: client_py/tensord/%.py
	@mkdir -p $(dir $@)
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@
$(PY_DIR)/libtensord.so: $(LIBTD)
	@mkdir -p $(PY_DIR)
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@
$(PY_EXT): $(wildcard client_py/ext/*.c) $(wildcard client_py/ext/*.h) $(PY_DIR)/libtensord.so
	@mkdir -p $(PY_DIR)
	$(call say,PYEXT,$@)$(CC) $(CFLAGS_BASE) $(CFLAGS) -Wno-missing-field-initializers \
		-fno-strict-aliasing -I$(PY_INC) -I$(NP_INC) -Iclient_c -shared -o $@ $(wildcard client_py/ext/*.c) \
		-L$(PY_DIR) -ltensord -Wl,-rpath,'$$ORIGIN'

# ---- the CUDA plugin (kernels/cuda -> build/libtensord_cuda.so, dlopen'ed by the daemon):
# built when nvcc is found (CUDA=0 skips it).  SASS for sm_90 (H100/H200) plus compute_90
# PTX that newer GPUs JIT; static cudart; cuBLASLt found through the plugin's own rpath
# (an executable's RUNPATH does not apply to a library's NEEDED entries): first beside the
# plugin ($ORIGIN: the GPU image puts the CUDA libraries there), then the toolkit's.  The version
# script keeps the static runtime's symbols local: only td_device_backend_entry is exported.
# `make ROCM=1` also builds the same sources with hipcc into build/libtensord_hip.so.
NVCC ?= /usr/local/cuda/bin/nvcc
CUDA ?= auto
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH_FLAGS ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
HAVE_NVCC := $(if $(filter 0,$(CUDA)),,$(shell command -v $(NVCC) 2>/dev/null))
CUDA_SRC := $(wildcard kernels/cuda/*.cu)
CUDA_PLUGIN := $(BUILD)/libtensord_cuda.so
NVCC_FLAGS := -std=c++17 -O3 -g -Xcompiler -fPIC,-fvisibility=hidden,-Wall $(CUDA_ARCH_FLAGS) -MMD -MP \
	-diag-suppress 186
CUDA_TARGET := $(if $(HAVE_NVCC),$(CUDA_PLUGIN),$(if $(filter 0,$(CUDA)),,cuda-skip))
cuda-skip:
	@echo "tensord: nvcc not found, building without CUDA (set NVCC=...)"
$(BUILD)/cuda/%.o: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	$(call say,NVCC,$<)$(NVCC) $(NVCC_FLAGS) -c $< -o $@
$(CUDA_PLUGIN): $(patsubst kernels/cuda/%.cu,$(BUILD)/cuda/%.o,$(CUDA_SRC)) kernels/cuda/plugin.map
	$(call say,LINK,$@)$(NVCC) -shared -cudart static -o $@ $(filter %.o,$^) -lcublasLt -ldl \
		-Xlinker --version-script=kernels/cuda/plugin.map -Xlinker -rpath,'$$ORIGIN' -Xlinker -rpath,$(CUDA_HOME)/lib64

HIPCC ?= hipcc
HIP_ARCHS ?= gfx90a
HIP_PLUGIN := $(BUILD)/libtensord_hip.so
HIP_TARGET := $(if $(filter 1,$(ROCM)),$(HIP_PLUGIN))
HAVE_HIPCC := $(shell command -v $(HIPCC) 2>/dev/null)
# (all's first line is read before these are set: the plugins join it here)
all: $(CUDA_TARGET) $(HIP_TARGET)
$(BUILD)/hip/%.o: kernels/cuda/%.cu
	@mkdir -p $(dir $@)
	$(call say,HIPCC,$<)$(HIPCC) -x hip -std=c++17 -O3 -fPIC -fvisibility=hidden $(addprefix --offload-arch=,$(HIP_ARCHS)) \
		-MMD -MP -c $< -o $@
$(HIP_PLUGIN): $(patsubst kernels/cuda/%.cu,$(BUILD)/hip/%.o,$(CUDA_SRC)) kernels/cuda/plugin.map
	$(call say,LINK,$@)$(HIPCC) -shared -fPIC -o $@ $(filter %.o,$^) -ldl -Wl,--version-script=kernels/cuda/plugin.map

# The elementwise functors run on the host against the CPU kernels (tests/check_cuda_ops.cu):
# their semantics are checked here, where no GPU runs them.
CUDA_OPS_CHECK := $(BUILD)/cuda/check_cuda_ops
$(CUDA_OPS_CHECK): tests/check_cuda_ops.cu $(call obj,opt,$(META_SRC) $(CPU_SRC)) $(wildcard kernels/cuda/*.cuh kernels/cuda/*.h)
	@mkdir -p $(dir $@)
	$(call say,NVCC,$<)$(NVCC) -std=c++17 -O1 -diag-suppress 186 $(CUDA_ARCH_FLAGS) -o $@ $< \
		$(filter %.o,$^) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) -lpthread -lm

# The plugin's own checks: it exports one symbol, carries sm_90 SASS and compute_90 PTX
# (cuobjdump where the toolkit has it, else tests/gpu/fatbin_archs.py reads the fatbin
# headers), loads with nothing but its rpath, and its Check suite passes (here without a
# GPU: init() reports 0 devices and why; with one it also runs kernels), and so does
# check_cuda_ops (the elementwise functors on the host against the CPU kernels).
check-cuda: $(CUDA_PLUGIN) $(BUILD)/asan/tests/check_cuda_plugin $(CUDA_OPS_CHECK)
	@set -e; syms=$$(nm -D --defined-only $(CUDA_PLUGIN) | awk '$$2 ~ /^[A-TV-Z]$$/ {print $$3}' | sort -u); \
	if [ "$$syms" != "td_device_backend_entry" ]; then echo "check-cuda: exports: $$syms"; exit 1; fi; \
	if command -v cuobjdump >/dev/null; then archs=$$(cuobjdump --list-elf --list-ptx $(CUDA_PLUGIN)); \
	else archs=$$($(PYTHON) tests/gpu/fatbin_archs.py $(CUDA_PLUGIN)); fi; \
	echo "$$archs" | grep -q 'sm_90' || { echo "check-cuda: no sm_90 SASS: $$archs"; exit 1; }; \
	echo "$$archs" | grep -q 'compute_90' || { echo "check-cuda: no compute_90 PTX: $$archs"; exit 1; }; \
	if env -u LD_LIBRARY_PATH ldd $(CUDA_PLUGIN) | grep -q 'not found'; then ldd $(CUDA_PLUGIN); exit 1; fi; \
	echo "check-cuda: exports td_device_backend_entry only; $$(echo $$archs | tr '\n' ' ')"
	TD_CUDA_PLUGIN=$(abspath $(CUDA_PLUGIN)) CK_DEFAULT_TIMEOUT=60 $(BUILD)/asan/tests/check_cuda_plugin
	$(CUDA_OPS_CHECK)

# The ROCm build compiles wherever hipcc is (Debian's hipcc, libamdhip64-dev and
# rocm-device-libs); make check builds it and checks its one export.  No AMD GPU runs it here.
check-rocm: $(HIP_PLUGIN)
	@syms=$$(nm -D --defined-only $(HIP_PLUGIN) | awk '$$2 ~ /^[A-TV-Z]$$/ {print $$3}' | sort -u); \
	if [ "$$syms" != "td_device_backend_entry" ]; then echo "check-rocm: exports: $$syms"; exit 1; fi; \
	echo "check-rocm: $(HIP_PLUGIN) built for $(HIP_ARCHS), exports td_device_backend_entry only"
rocm-skip:
	@echo "tensord: hipcc not found, not compiling the ROCm build (apt-get install hipcc libamdhip64-dev rocm-device-libs)"

# The same suite built lean for the GPU machine, which has none of the daemon's libraries:
# no sanitizers (ASan's shadow memory and the CUDA driver's address reservations collide),
# Check and subunit linked statically, kernels/dtype.c the only project code besides.
CUDA_CHECK_GPU := $(BUILD)/gpu/check_cuda_plugin
$(CUDA_CHECK_GPU): tests/check_cuda_plugin.c kernels/dtype.c
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(filter-out -MMD -MP,$(CFLAGS_BASE)) $(CFLAGS) -o $@ $^ \
		-Wl,-Bstatic -lcheck_pic -lsubunit -Wl,-Bdynamic -lrt -lm -ldl -pthread

# ---- tests (Check suites built with ASan/UBSan against the daemon's objects)
$(BUILD)/asan/tests/check_%: tests/check_%.c $(call obj,asan,$(CORE_SRC) $(CLIENT_SRC)) $(PB_ASAN)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) -Iclient_c -o $@ $(filter %.c %.o,$^) \
		$$(pkg-config --cflags --libs check) $(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) $(SYSTEMD_LIBS) $(MHD_LIBS) $(SYS_LIBS)

# the same suites without ASan, for valgrind (memcheck and ASan cannot share a process)
$(BUILD)/opt/tests/check_%: tests/check_%.c $(call obj,opt,$(CORE_SRC) $(CLIENT_SRC)) $(PB_OPT)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS_BASE) $(CFLAGS) -Iclient_c -o $@ $(filter %.c %.o,$^) \
		$$(pkg-config --cflags --libs check) $(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) $(SYSTEMD_LIBS) $(MHD_LIBS) $(SYS_LIBS)

# the executor's cost per small op, without a client (docs/performance.md): make bench-records
BENCH_RECORDS := $(BUILD)/opt/tests/bench_records
$(BENCH_RECORDS): tests/bench/records.c $(call obj,opt,$(CORE_SRC) $(CLIENT_SRC)) $(PB_OPT)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS_BASE) $(CFLAGS) -Iclient_c -o $@ $(filter %.c %.o,$^) \
		$(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) $(SYSTEMD_LIBS) $(MHD_LIBS) $(SYS_LIBS)
bench-records: $(BENCH_RECORDS)
	$(BENCH_RECORDS)

# check_conv runs oneDNN's JIT code too (valgrind reports no AVX-512, so oneDNN picks AVX2 code;
# its OpenMP threads' TLS shows as "possibly lost", not counted)
VALGRIND_CHECKS := $(BUILD)/opt/tests/check_shape $(BUILD)/opt/tests/check_session $(BUILD)/opt/tests/check_conv \
	$(BUILD)/opt/tests/check_graph
valgrind: $(VALGRIND_CHECKS) $(DAEMON)
	@set -e; for t in $(VALGRIND_CHECKS); do echo "== valgrind $$t"; TENSORD_BIN=$(abspath $(DAEMON)) \
		CK_FORK=no valgrind -q --show-possibly-lost=no \
		--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $$t; done

# ---- libFuzzer targets (clang, ASan/UBSan): fuzz_records (the record decoder, meta layer
# and executor), fuzz_ring (the shared-memory rings as the daemon reads them, then the
# same execution), fuzz_messages (the protobuf messages of a gRPC call, decoded and
# checked as rpc.c does, then executed), fuzz_meta (td_meta_infer alone) and fuzz_graph (the
# reader of saved graphs, libtensord).  Only the objects a session needs (no gRPC); one CPU ISA (no ifunc
# clones under the fuzzer).  Each runs FUZZ_TIME seconds; new inputs land in
# build/fuzz/corpus_NAME, seeds are in tests/fuzz/corpus (records) and tests/fuzz/corpus_NAME.
FUZZ_CC ?= clang
FUZZ_TIME ?= 30
FUZZ_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-DTD_NO_CLONES -Wno-unknown-pragmas -include tests/fuzz/clang_compat.h
FUZZ_SRC := $(META_SRC) $(CPU_SRC) daemon/session.c daemon/graph.c daemon/exec.c daemon/handles.c daemon/share.c daemon/alloc.c daemon/log.c \
	daemon/mempressure.c \
	daemon/device.c daemon/device_alloc.c daemon/device_host.c daemon/device_transfer.c \
	daemon/metrics.c daemon/client_msg.c proto/td_ring.c client_c/graph.c
FUZZ_TARGETS := records ring messages meta graph
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
$(BUILD)/fuzz/obj/%.o: %.c | $(BUILD)/gen/tensord.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,CC-FUZZ,$<)$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_FLAGS) -Wno-error -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(call obj,fuzz/obj,$(FUZZ_SRC)) $(BUILD)/fuzz/obj/gen/tensord.pb-c.o
	$(call say,LINK,$@)$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) \
		-lprotobuf-c $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) $(SYS_LIBS)
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz_$$t $(FUZZ_TIME) s"; \
		seeds=tests/fuzz/corpus; [ $$t = records ] || seeds=tests/fuzz/corpus_$$t; \
		mkdir -p $(BUILD)/fuzz/corpus_$$t; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			$(BUILD)/fuzz/corpus_$$t $$seeds; done

deps:
	@sh tests/install_deps.sh

check: $(CHECKS) $(DAEMON_ASAN) $(if $(HAVE_NVCC),check-cuda) $(if $(HAVE_HIPCC),check-rocm,rocm-skip)
	@set -e; for t in $(CHECKS); do echo "== $$t"; TENSORD_BIN=$(abspath $(DAEMON_ASAN)) \
		CK_DEFAULT_TIMEOUT=60 $$t; done

# Local clients talk over the shared-memory rings; the suites that exercise the session
# protocol run once more on gRPC, the transport of remote clients.
GRPC_SUITES := test_execution test_client_kill test_multiclient test_bad_input test_lifetime test_threads_fork \
	test_errors test_elementwise
pytest: all
	TENSORD_BIN=$(abspath $(DAEMON_ASAN)) TENSORD_EXAMPLE=$(abspath $(EXAMPLE)) \
		PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) -m pytest -q -p no:cacheprovider tests/python
	TENSORD_TRANSPORT=grpc TENSORD_BIN=$(abspath $(DAEMON_ASAN)) PYTHONPATH=$(abspath $(BUILD)/python) \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(patsubst %,tests/python/%.py,$(GRPC_SUITES))

test: deps
	$(MAKE) $(JOBS) all
	$(MAKE) check-gen
	$(MAKE) check
	$(MAKE) valgrind
	$(MAKE) pytest
	$(MAKE) check-install
	$(MAKE) check-gpu-script bench-records
	$(MAKE) $(JOBS) fuzz FUZZ_TIME=15

demo: deps
	$(MAKE) --no-print-directory $(JOBS) $(DAEMON) python
	PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) client_py/examples/demo.py
	PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) client_py/examples/train_digits.py --out $(BUILD)/digits-run

bench: all
	PYTHONPATH=$(abspath $(BUILD)/python) $(PYTHON) tests/bench/bench.py
	PYTHONPATH=$(abspath $(BUILD)/python) TENSORD_BIN=$(abspath $(DAEMON)) $(PYTHON) tests/bench/lifecycle.py
	PYTHONPATH=$(abspath $(BUILD)/python) TENSORD_BIN=$(abspath $(DAEMON)) $(PYTHON) tests/bench/sharing.py
	PYTHONPATH=$(abspath $(BUILD)/python) TENSORD_BIN=$(abspath $(DAEMON)) $(PYTHON) tests/bench/distributed.py

# ---- the GPU machine's bundle (tests/gpu/make_bundle.sh; docs/performance.md "GPU figures").
# The GPU machine has none of Debian's libraries: the daemon, tensordctl and libtensord are
# linked once more with an old-style DT_RPATH to the bundle's lib/ (DT_RPATH, unlike RUNPATH,
# also serves the libraries those load, so no LD_LIBRARY_PATH is needed, and a Python process
# that also loads torch keeps its own libraries), the libraries ldd names are copied there,
# and the Python extension is rebuilt on that machine for its python3 (tests/gpu/build_ext.sh).
# The CUDA plugin is carried when it was built here.  The directory is ~100 MiB (OpenBLAS
# alone is 36), so what travels is build/gpu-bundle.tar.xz.
BUNDLE := $(BUILD)/gpu-bundle
BUNDLE_RPATH = -Wl,--disable-new-dtags,-rpath,'$$ORIGIN/$(1)'
$(BUILD)/bundle/tensord: $(call obj,opt,$(CORE_SRC) daemon/main.c) $(PB_OPT)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -o $@ $^ $(GRPC_LIBS) $(OPENBLAS_LIBS) $(FFTW_LIBS) $(DNNL_LIBS) -ljemalloc $(SYSTEMD_LIBS) $(MHD_LIBS) \
		$(SYS_LIBS) $(call BUNDLE_RPATH,../lib)
$(BUILD)/bundle/tensordctl: $(call obj,opt,client_c/tools/tensordctl.c proto/td_address.c) $(PB_OPT)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -o $@ $^ $(GRPC_LIBS) $(SYS_LIBS) $(call BUNDLE_RPATH,../lib)
$(BUILD)/bundle/libtensord.so: $(call obj,opt,$(CLIENT_SRC) $(META_SRC) $(PROTO_SRC)) $(PB_OPT)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -shared -Wl,-soname,libtensord.so -o $@ $^ $(GRPC_LIBS) $(SYS_LIBS) $(call BUNDLE_RPATH,)
gpu-bundle: $(BUILD)/bundle/tensord $(BUILD)/bundle/tensordctl $(BUILD)/bundle/libtensord.so python $(CUDA_TARGET) \
		$(if $(HAVE_NVCC),$(CUDA_CHECK_GPU))
	sh tests/gpu/make_bundle.sh $(BUILD) $(BUNDLE)

# tests/gpu/run.sh (or daemon_checks.sh alone before run.sh exists) from the unpacked bundle,
# with a clean environment: here no GPU, so the GPU-only steps skip with their reason and the
# daemon steps run on 2 stand-in GPUs (tests/gpu/check_bundle.sh).
check-gpu-script: gpu-bundle
	sh tests/gpu/check_bundle.sh $(BUNDLE).tar.xz

# Debian's python3 searches $(PREFIX)/lib/python3.X/dist-packages for /usr/local
PY_SITE := $(PREFIX)/lib/$(shell $(PYTHON) -c "import sys;print('python%d.%d' % sys.version_info[:2])")/dist-packages
# The node service alone (daemon, tensordctl, units, settings, docs): the container
# image's build stage runs this.
install-daemon: $(DAEMON) $(CTL)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/tensord
	install -m 755 $(CTL) $(DESTDIR)$(PREFIX)/bin/tensordctl
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d \
		$(DESTDIR)$(PREFIX)/lib/tmpfiles.d $(DESTDIR)$(SYSCONFDIR)/tensord $(DESTDIR)$(PREFIX)/share/doc/tensord
	sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|' -e 's|/etc/tensord/|$(SYSCONFDIR)/tensord/|' deploy/tensord.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/tensord.service
	install -m 644 deploy/tensord.socket $(DESTDIR)$(PREFIX)/lib/systemd/system/tensord.socket
	install -m 644 deploy/tensord.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/tensord.conf
	install -m 644 deploy/tensord.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/tensord.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/tensord/tensord.conf ] || \
		install -m 644 deploy/tensord.conf $(DESTDIR)$(SYSCONFDIR)/tensord/tensord.conf
	install -m 644 docs/operations.md $(DESTDIR)$(PREFIX)/share/doc/tensord/operations.md

install: all install-daemon
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PY_SITE)/tensord
	install -m 755 $(LIBTD) $(DESTDIR)$(PREFIX)/lib/libtensord.so
	install -d $(DESTDIR)$(PREFIX)/include/tensord/client_c $(DESTDIR)$(PREFIX)/include/tensord/kernels \
		$(DESTDIR)$(PREFIX)/include/tensord/proto
	install -m 644 client_c/tensord.h client_c/td_args.h client_c/td_ops.h $(DESTDIR)$(PREFIX)/include/tensord/client_c/
	install -m 644 kernels/meta.h kernels/checked.h kernels/dtype.h kernels/op.h kernels/op_attrs.h kernels/status.h \
		$(DESTDIR)$(PREFIX)/include/tensord/kernels/
	install -m 644 proto/td_record.h proto/td_address.h proto/td_stats.h proto/td_device.h proto/ops.def $(DESTDIR)$(PREFIX)/include/tensord/proto/
	printf '#include "tensord/client_c/tensord.h"\n' > $(DESTDIR)$(PREFIX)/include/tensord.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' client_c/tensord.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/tensord.pc
	# unlink before writing, as install(1) does: running clients keep the old files' pages
	cp -r --remove-destination $(PY_DIR)/. $(DESTDIR)$(PY_SITE)/tensord/
	@echo "installed; python: $(PY_SITE)/tensord"

# The installed-header test: what `make install` ships must be enough to build and run a
# client (tests/install/check_install.sh says how).
STAGE := $(abspath $(BUILD)/stage)
check-install: all
	@rm -rf $(STAGE)
	$(Q)$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local >/dev/null
	sh tests/install/check_install.sh $(STAGE) $(abspath $(DAEMON)) \
		"$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr/local PYTHON=$(PYTHON)" $(PYTHON)

# ---- the container image (docker/Dockerfile; docs/operations.md "In a container").
# buildah, chroot isolation; the base is Debian 12 from Debian's archive by debootstrap
# when localhost/debian:12 is not in the image store yet (a few minutes, once).
IMAGE ?= localhost/tensord:$(VERSION)
image:
	sh docker/build_image.sh $(IMAGE)
# builds the image and runs it with a client on the host (slow: not part of make test)
check-image: python image
	TENSORD_IMAGE_TEST=1 TENSORD_IMAGE=$(IMAGE) PYTHONPATH=$(abspath $(BUILD)/python) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/python/test_image.py -k 'not gpu'
# The GPU variant (docker/Dockerfile.gpu): the node image plus the CUDA plugin and the CUDA
# libraries it links (docker/build_gpu_image.sh stages them).  check-image-gpu builds
# both and runs both image tests (here, without a driver, the GPU image serves the CPU).
GPU_IMAGE ?= localhost/tensord-gpu:$(VERSION)
image-gpu: $(CUDA_PLUGIN)
	sh docker/build_gpu_image.sh $(GPU_IMAGE) $(IMAGE) $(CUDA_PLUGIN)
check-image-gpu: python image image-gpu
	TENSORD_IMAGE_TEST=1 TENSORD_IMAGE=$(IMAGE) TENSORD_GPU_IMAGE=$(GPU_IMAGE) PYTHONPATH=$(abspath $(BUILD)/python) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/python/test_image.py

# ---- coverage (not part of make test): the daemon, libtensord, the Python extension and
# the Check suites built with gcc --coverage (-O0, no sanitizers) in $(BUILD)/cov by a
# sub-make, the Check suites and pytest (COV_PYTESTS) run against them, then gcovr's
# per-file report (HTML in $(BUILD)/cov/html) and tests/coverage/by_dir.py's per-directory
# summary.  Counts from earlier runs are cleared first.  Test failures are reported after
# the summary and make the target fail.
COV_BUILD := $(BUILD)/cov
COV_PYTESTS ?= tests/python
COV_CHECK_SRC := $(filter-out tests/check_cuda_plugin.c,$(CHECK_SRC))
COV_CHECKS := $(patsubst tests/%.c,$(COV_BUILD)/opt/tests/%,$(COV_CHECK_SRC))
coverage:
	@sh tests/install_deps.sh coverage
	$(MAKE) --no-print-directory $(JOBS) BUILD=$(COV_BUILD) CC="$(CC) --coverage -fprofile-update=atomic" CFLAGS=-O0 \
		CUDA=0 $(COV_BUILD)/tensord $(COV_BUILD)/libtensord.so $(COV_BUILD)/tensordctl $(COV_BUILD)/example_c python \
		$(COV_CHECKS)
	@find $(COV_BUILD) -name '*.gcda' -delete
	@fail=0; for t in $(COV_CHECKS); do echo "== $$t"; TENSORD_BIN=$(abspath $(COV_BUILD)/tensord) \
		CK_DEFAULT_TIMEOUT=120 $$t || fail=1; done; \
	TENSORD_BIN=$(abspath $(COV_BUILD)/tensord) PYTHONPATH=$(abspath $(COV_BUILD)/python) \
		TENSORD_CTL=$(abspath $(COV_BUILD)/tensordctl) TENSORD_EXAMPLE=$(abspath $(COV_BUILD)/example_c) \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(COV_PYTESTS) || fail=1; \
	mkdir -p $(COV_BUILD)/html; \
	gcovr --root . --object-directory $(COV_BUILD) --exclude 'tests/' --exclude '$(BUILD)/' \
		--gcov-ignore-parse-errors --json-summary $(COV_BUILD)/summary.json \
		--html-details $(COV_BUILD)/html/index.html $(COV_BUILD) >/dev/null; \
	$(PYTHON) tests/coverage/by_dir.py $(COV_BUILD)/summary.json; \
	echo "coverage: per file in $(COV_BUILD)/html/index.html"; \
	[ $$fail = 0 ] || { echo "coverage: some tests failed (the figures cover what ran)"; exit 1; }

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
