# The software device (hls/swdevice/README.md), included at the end of hls/Makefile and reusing its KERNEL_SRCS,
# KERNEL_CXXFLAGS, HLS_DIR and BUILD:
#   make -C hls swdevice   builds build/libqbridge_swdevice.so (XRT's C API over the kernel top functions, compiled
#                          from the same sources as the C-simulation, with its cycle counter) and
#                          build/qbridge_swdevice.xclbin (the axlf it loads), and checks that xclbin against
#                          fpga-bitstreams/manifest.json.
SWDEVICE_DIR := $(HLS_DIR)/swdevice
SWDEVICE_OBJDIR := $(BUILD)/swdevice
SWDEVICE_LIB := $(BUILD)/libqbridge_swdevice.so
SWDEVICE_XCLBIN := $(BUILD)/qbridge_swdevice.xclbin
# The kernels as the C-simulation compiles them (cycle counter on), position-independent for the shared object.
SWDEVICE_KERNEL_OBJS := $(patsubst $(HLS_DIR)/kernels/%.cpp,$(SWDEVICE_OBJDIR)/%.o,$(KERNEL_SRCS))
# The device itself is host software (threads, containers): C++17 with the project's warnings, not kernel rules.
SWDEVICE_CXXFLAGS := -std=c++17 -O2 -Wall -Wextra -Werror -fPIC -fvisibility=hidden $(HLS_INCLUDES) -I$(SWDEVICE_DIR)

.PHONY: swdevice swdevice-clean
swdevice: $(SWDEVICE_LIB) $(SWDEVICE_XCLBIN)
	@sh $(SWDEVICE_DIR)/check-manifest.sh $(SWDEVICE_XCLBIN) $(ROOT)/fpga-bitstreams/manifest.json

$(SWDEVICE_OBJDIR)/%.o: $(HLS_DIR)/kernels/%.cpp $(KERNEL_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(KERNEL_CXXFLAGS) -DQB_COUNT_CYCLES -fPIC -fvisibility=hidden -c -o $@ $<

$(SWDEVICE_OBJDIR)/swdevice.o: $(SWDEVICE_DIR)/swdevice.cpp $(SWDEVICE_DIR)/swdevice_registry.h $(HLS_DIR)/kernels/qbridge_kernels.h
	@mkdir -p $(dir $@)
	$(CXX) $(SWDEVICE_CXXFLAGS) -c -o $@ $<

$(SWDEVICE_LIB): $(SWDEVICE_OBJDIR)/swdevice.o $(SWDEVICE_KERNEL_OBJS) $(SWDEVICE_DIR)/exports.map
	$(CXX) -shared -pthread -Wl,-soname,libqbridge_swdevice.so -Wl,--no-undefined -Wl,--version-script=$(SWDEVICE_DIR)/exports.map -o $@.tmp $(filter %.o,$^) && mv $@.tmp $@

$(SWDEVICE_OBJDIR)/mkxclbin: $(SWDEVICE_DIR)/mkxclbin.cpp $(SWDEVICE_DIR)/swdevice_registry.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -Wall -Wextra -Werror -I$(SWDEVICE_DIR) -o $@ $<

$(SWDEVICE_XCLBIN): $(SWDEVICE_OBJDIR)/mkxclbin
	$(SWDEVICE_OBJDIR)/mkxclbin $@

swdevice-clean:
	rm -rf $(SWDEVICE_OBJDIR) $(SWDEVICE_LIB) $(SWDEVICE_XCLBIN)
