# C simulation and C/RTL co-simulation of one Qbridge kernel with its bench (make cosim):
#   vitis_hls -f cosim.tcl -tclargs TOP HLS_DIR PLATFORM CLOCK_NS ROWS COLS VECTORS
lassign $argv top hls_dir platform clock_ns rows cols vectors
set src [string map {qb_ ""} $top]
set flags "-std=c++14 -I$hls_dir/include -I$hls_dir/kernels -DQB_PE_ROWS=$rows -DQB_PE_COLS=$cols"
open_project -reset proj_$top
set_top $top
add_files $hls_dir/kernels/qb_$src.cpp -cflags $flags
add_files -tb $hls_dir/tb/tb_$src.cpp -cflags $flags
open_solution -reset sol -flow_target vitis
if {[info exists ::env(QB_PART)]} { set_part $::env(QB_PART) } else { set_part xcu55c-fsvh2892-2L-e }
create_clock -period $clock_ns -name default
csim_design -argv $vectors
csynth_design
cosim_design -argv $vectors
exit
