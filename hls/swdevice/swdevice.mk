# The software device (hls/swdevice/README.md): included by hls/Makefile, paths relative to hls/.
#   make -C hls swdevice   builds build/libqbridge_swdevice.so (XRT's C API over the kernel top functions)
#                          and build/qbridge_swdevice.xclbin (the axlf it loads), and checks the xclbin against
#                          fpga-bitstreams/manifest.json.
# The kernel sources come from hls/Makefile's KERNEL_SRCS when it defines it, else every kernels/*.cpp.
SWDEVICE_KERNEL_SRCS := $(if $(KERNEL_SRCS),$(KERNEL_SRCS),$(wildcard kernels/*.cpp))
SWDEVICE_CXX ?= g++
SWDEVICE_CXXFLAGS ?= -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -fvisibility=hidden
SWDEVICE_INCLUDES := -Iinclude -Ikernels -Iswdevice
SWDEVICE_LIB := build/libqbridge_swdevice.so
SWDEVICE_XCLBIN := build/qbridge_swdevice.xclbin
SWDEVICE_OBJDIR := build/swdevice

SWDEVICE_KERNEL_OBJS := $(patsubst kernels/%.cpp,$(SWDEVICE_OBJDIR)/%.o,$(SWDEVICE_KERNEL_SRCS))

.PHONY: swdevice swdevice-clean
swdevice: $(SWDEVICE_LIB) $(SWDEVICE_XCLBIN)
	@sh swdevice/check-manifest.sh $(SWDEVICE_XCLBIN) ../fpga-bitstreams/manifest.json

# The kernels as a shared object: the same sources and flags-as-C-simulation, position-independent. Static buffers
# stay per-process, one compute unit, which is what the device's single worker thread assumes.
$(SWDEVICE_OBJDIR)/%.o: kernels/%.cpp kernels/*.h $(wildcard include/*.h)
	@mkdir -p $(SWDEVICE_OBJDIR)
	$(SWDEVICE_CXX) $(SWDEVICE_CXXFLAGS) $(SWDEVICE_INCLUDES) -c $< -o $@

$(SWDEVICE_OBJDIR)/swdevice.o: swdevice/swdevice.cpp swdevice/swdevice_registry.h kernels/qbridge_kernels.h
	@mkdir -p $(SWDEVICE_OBJDIR)
	$(SWDEVICE_CXX) $(SWDEVICE_CXXFLAGS) $(SWDEVICE_INCLUDES) -c $< -o $@

$(SWDEVICE_LIB): $(SWDEVICE_OBJDIR)/swdevice.o $(SWDEVICE_KERNEL_OBJS)
	$(SWDEVICE_CXX) -shared -pthread -Wl,-soname,libqbridge_swdevice.so -Wl,--no-undefined -o $@.tmp $^ && mv $@.tmp $@

$(SWDEVICE_OBJDIR)/mkxclbin: swdevice/mkxclbin.cpp swdevice/swdevice_registry.h
	@mkdir -p $(SWDEVICE_OBJDIR)
	$(SWDEVICE_CXX) -std=c++17 -O2 -Wall -Wextra -Werror -Iswdevice $< -o $@

$(SWDEVICE_XCLBIN): $(SWDEVICE_OBJDIR)/mkxclbin
	$(SWDEVICE_OBJDIR)/mkxclbin $@

swdevice-clean:
	rm -rf $(SWDEVICE_OBJDIR) $(SWDEVICE_LIB) $(SWDEVICE_XCLBIN)
