// Writes the software device's xclbin: a real axlf container (XRT xrt/detail/xclbin.h layout, little-endian) in
// software-emulation mode for platform SW_PLATFORM, with MEM_TOPOLOGY, IP_LAYOUT, CONNECTIVITY and EMBEDDED_METADATA
// generated from swdevice_registry.h. Deterministic: no time stamp, and the UUID is a hash of the sections, so the
// same registry gives the same bytes (and the sha256 that fpga-bitstreams/manifest.json pins).
// Usage: mkxclbin OUT.xclbin   (prints "uuid <UUID>" on success; writes OUT.tmp and renames it)
#include "swdevice_registry.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

void put32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) b[at + i] = (uint8_t)(v >> (8 * i));
}
void put64(std::vector<uint8_t> &b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; i++) b[at + i] = (uint8_t)(v >> (8 * i));
}
void putstr(std::vector<uint8_t> &b, size_t at, const std::string &s, size_t max) {
    for (size_t i = 0; i < s.size() && i + 1 < max; i++) b[at + i] = (uint8_t)s[i];
}

struct Section {
    uint32_t kind;
    std::string name;
    std::vector<uint8_t> data;
};

std::vector<uint8_t> memTopology() {
    std::vector<uint8_t> b(8 + 40 * SW_NBANKS, 0);
    put32(b, 0, SW_NBANKS);
    for (int i = 0; i < SW_NBANKS; i++) {
        size_t o = 8 + 40 * (size_t)i;
        b[o] = 5;     // m_type MEM_HBM (XRT enum MEM_TYPE)
        b[o + 1] = 1; // m_used
        put64(b, o + 8, SW_BANK_BYTES / 1024);          // m_size in KiB
        put64(b, o + 16, 0x4000000000ull + (uint64_t)i * SW_BANK_BYTES); // m_base_address
        putstr(b, o + 24, SW_BANKS[i], 16);
    }
    return b;
}

std::vector<uint8_t> ipLayout() {
    std::vector<uint8_t> b(8 + 80 * SW_NKERNELS, 0);
    put32(b, 0, SW_NKERNELS);
    for (int i = 0; i < SW_NKERNELS; i++) {
        size_t o = 8 + 80 * (size_t)i;
        put32(b, o, 1);               // IP_KERNEL
        put32(b, o + 4, 1u << 8);     // control protocol AP_CTRL_CHAIN in bits 8..15
        put64(b, o + 8, 0x1800000ull + 0x10000ull * (uint64_t)i);
        putstr(b, o + 16, std::string(SW_KERNELS[i].name) + ":" + SW_KERNELS[i].name + "_1", 64);
    }
    return b;
}

std::vector<uint8_t> connectivity() {
    std::vector<uint8_t> b(4, 0);
    uint32_t n = 0;
    for (int i = 0; i < SW_NKERNELS; i++)
        for (int a = 0; a < SW_KERNELS[i].nargs; a++) {
            if (SW_KERNELS[i].args[a].kind != SW_ARG_BUFFER) continue;
            size_t o = b.size();
            b.resize(o + 12, 0);
            put32(b, o, (uint32_t)a);
            put32(b, o + 4, (uint32_t)i);
            put32(b, o + 8, (uint32_t)SW_KERNELS[i].args[a].bank);
            n++;
        }
    put32(b, 0, n);
    return b;
}

std::string hex(uint64_t v) {
    char s[32];
    std::snprintf(s, sizeof s, "0x%llX", (unsigned long long)v);
    return s;
}

std::vector<uint8_t> metadata() {
    std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"qbridge_swdevice\">\n"
                    "  <platform vendor=\"qbridge\" boardid=\"swdevice\" name=\"" SW_PLATFORM "\" featureRomTime=\"0\">\n"
                    "    <version major=\"1\" minor=\"0\"/>\n"
                    "    <device name=\"fpga0\" fpgaDevice=\"software\" addrWidth=\"64\">\n"
                    "      <core name=\"OCL_REGION_0\" target=\"csim\" type=\"clc_region\" clockFreq=\"300MHz\" numComputeUnits=\"" +
                    std::to_string(SW_NKERNELS) + "\">\n";
    for (int i = 0; i < SW_NKERNELS; i++) {
        const sw_kernel &k = SW_KERNELS[i];
        x += std::string("        <kernel name=\"") + k.name + "\" language=\"c\" vlnv=\"qbridge:hls:" + k.name +
             ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\" interrupt=\"true\" hwControlProtocol=\"ap_ctrl_chain\">\n";
        x += "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"0x1000\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n";
        uint64_t off = 0x10;
        for (int a = 0; a < k.nargs; a++) {
            const sw_arg &g = k.args[a];
            bool buf = g.kind == SW_ARG_BUFFER;
            uint64_t size = g.kind == SW_ARG_S32 ? 4 : 8;
            std::string port = buf ? std::string("M_AXI_GMEM") + std::to_string(g.bank) : "S_AXI_CONTROL";
            x += std::string("          <arg name=\"") + g.name + "\" addressQualifier=\"" + (buf ? "1" : "0") + "\" id=\"" + std::to_string(a) +
                 "\" port=\"" + port + "\" size=\"" + hex(size) + "\" offset=\"" + hex(off) + "\" hostOffset=\"0x0\" hostSize=\"" + hex(size) +
                 "\" type=\"" + g.ctype + "\"/>\n";
            off += size <= 4 ? 8 : 12;
        }
        x += std::string("          <instance name=\"") + k.name + "_1\"><addrRemap base=\"" + hex(0x1800000ull + 0x10000ull * (uint64_t)i) +
             "\" range=\"0x10000\" port=\"S_AXI_CONTROL\"/></instance>\n        </kernel>\n";
    }
    x += "      </core>\n    </device>\n  </platform>\n</project>\n";
    std::vector<uint8_t> b(x.begin(), x.end());
    b.push_back(0);
    return b;
}

// FNV-1a 64 over the bytes with a seed, twice: the UUID is a content hash (not a secret, just stable and distinct).
uint64_t fnv(const std::vector<uint8_t> &b, uint64_t h) {
    for (uint8_t c : b) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: mkxclbin OUT.xclbin\n");
        return 2;
    }
    std::vector<Section> secs = {{AXLF_MEM_TOPOLOGY, "MEM_TOPOLOGY", memTopology()},
                                 {AXLF_IP_LAYOUT, "IP_LAYOUT", ipLayout()},
                                 {AXLF_CONNECTIVITY, "CONNECTIVITY", connectivity()},
                                 {AXLF_EMBEDDED_METADATA, "EMBEDDED_METADATA", metadata()}};
    size_t headers = 448 + 8 + AXLF_SECTION_BYTES * secs.size();
    size_t at = (headers + 7) & ~(size_t)7;
    std::vector<size_t> offs;
    for (auto &s : secs) {
        offs.push_back(at);
        at = (at + s.data.size() + 7) & ~(size_t)7;
    }
    std::vector<uint8_t> f(at, 0);
    std::memcpy(f.data(), "xclbin2", 8);
    put32(f, 8, 0xFFFFFFFFu);                      // m_signature_length = -1: unsigned
    std::memset(f.data() + 12, 0xFF, 28 + 256);    // reserved and key block, as xclbinutil leaves them
    put64(f, 304, f.size());                       // m_length
    f[330] = 2;                                    // version 2.1.0 of the container
    f[331] = 1;
    f[332] = AXLF_MODE_SW_EMU;                     // m_mode (uint16); m_actionMask stays 0
    putstr(f, 352, SW_PLATFORM, 64);
    put32(f, 448, (uint32_t)secs.size());
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    for (size_t i = 0; i < secs.size(); i++) {
        size_t o = 456 + AXLF_SECTION_BYTES * i;
        put32(f, o, secs[i].kind);
        putstr(f, o + 4, secs[i].name, 16);
        put64(f, o + 24, offs[i]);
        put64(f, o + 32, secs[i].data.size());
        std::memcpy(f.data() + offs[i], secs[i].data.data(), secs[i].data.size());
        h1 = fnv(secs[i].data, h1);
        h2 = fnv(secs[i].data, h2 ^ (i + 1));
    }
    uint8_t uuid[16];
    for (int i = 0; i < 8; i++) { uuid[i] = (uint8_t)(h1 >> (56 - 8 * i)); uuid[8 + i] = (uint8_t)(h2 >> (56 - 8 * i)); }
    uuid[6] = (uint8_t)((uuid[6] & 0x0F) | 0x80); // RFC 9562 version 8 (custom)
    uuid[8] = (uint8_t)((uuid[8] & 0x3F) | 0x80); // RFC 4122 variant
    std::memcpy(f.data() + 416, uuid, 16);
    std::memcpy(f.data() + 296, uuid, 8);          // m_uniqueId: the first 8 bytes, so it is stable too
    std::string tmp = std::string(argv[1]) + ".tmp";
    FILE *o = std::fopen(tmp.c_str(), "wb");
    if (!o || std::fwrite(f.data(), 1, f.size(), o) != f.size() || std::fclose(o) != 0) {
        std::fprintf(stderr, "mkxclbin: cannot write %s\n", tmp.c_str());
        std::remove(tmp.c_str());
        return 1;
    }
    if (std::rename(tmp.c_str(), argv[1]) != 0) {
        std::fprintf(stderr, "mkxclbin: cannot rename %s to %s\n", tmp.c_str(), argv[1]);
        std::remove(tmp.c_str());
        return 1;
    }
    std::printf("uuid ");
    for (int i = 0; i < 16; i++) std::printf(i == 4 || i == 6 || i == 8 || i == 10 ? "-%02x" : "%02x", uuid[i]);
    std::printf("\n");
    return 0;
}
