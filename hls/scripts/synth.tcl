# C synthesis of one Qbridge kernel (make synth): vitis_hls -f synth.tcl -tclargs TOP HLS_DIR PLATFORM CLOCK_NS ROWS COLS
lassign $argv top hls_dir platform clock_ns rows cols
set src [string map {qb_ ""} $top]
open_project -reset proj_$top
set_top $top
add_files $hls_dir/kernels/qb_$src.cpp -cflags "-std=c++14 -I$hls_dir/include -I$hls_dir/kernels -DQB_PE_ROWS=$rows -DQB_PE_COLS=$cols"
open_solution -reset sol -flow_target vitis
# The U55C's part; other platforms: set QB_PART in the environment.
if {[info exists ::env(QB_PART)]} { set_part $::env(QB_PART) } else { set_part xcu55c-fsvh2892-2L-e }
create_clock -period $clock_ns -name default
csynth_design
exit
