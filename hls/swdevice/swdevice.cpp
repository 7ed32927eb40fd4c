// The Qbridge software device: XRT's native C API (the subset io.qbridge.xrt.XrtLibrary maps, with XRT's exact C
// signatures) implemented over the HLS kernel top functions of hls/kernels/, compiled once from their sources. It plays
// the part XRT's sw_emu plays on a Vitis machine, so the host's whole board path runs here without a card:
//   - xrtDeviceOpen(0) is the one device; any other index is "no device" (NULL).
//   - it loads only axlf xclbins in software-emulation mode for platform SW_PLATFORM whose kernels it knows;
//   - buffers exist only after xrtBOAlloc, in the bank asked for, each with a host backing store and a separate device
//     store: data moves only on xrtBOSync; a buffer argument in a bank the kernel is not connected to is refused;
//   - xrtPLKernelOpen needs the UUID of the loaded xclbin; a run needs every argument set before xrtRunStart;
//   - runs execute in order on one worker thread per device (one compute unit: the kernels keep static buffers), so
//     xrtRunWaitFor returns the current state when its timeout passes;
//   - handles are checked against the live set: a freed or closed handle is an error, not undefined behaviour.
// Errors return XRT's sentinels (NULL, -1, ERT_CMD_STATE_ABORT), set errno, and are written to stderr when
// xrtIniStringSet("Runtime.runtime_log", "console") was called (XRT's own switch for its log).
#include "swdevice_registry.h"
#include "../kernels/qbridge_kernels.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#define API extern "C" __attribute__((visibility("default")))

// The C-simulation's cycle counter (hls/kernels/qb_core.h, QB_COUNT_CYCLES): the kernels add their pipelined loops'
// iterations x II to it; the worker resets it before each run and stores it in the run.
extern "C" {
unsigned long long qb_cycles = 0;
}

namespace {

enum RunStateC { NEW = 1, QUEUED = 2, RUNNING = 3, COMPLETED = 4, ERROR = 5, ABORT = 6 };

std::mutex g_mu;                 // guards every registry and run state below
std::condition_variable g_cv;    // a run changed state
std::atomic<bool> g_console{false};

void fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fail(int err, const char *fmt, ...) {
    if (g_console.load()) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        std::fprintf(stderr, "[qbridge-swdevice] error: %s\n", msg);
    }
    errno = err;
}

struct Xclbin {
    std::vector<uint8_t> image;
    uint8_t uuid[16];
    std::vector<std::string> kernels; // IP_LAYOUT kernel names without the instance
};

struct Device;

struct Bo {
    Device *dev;
    size_t size;
    int bank;
    std::vector<uint8_t> host, device;
};

struct Kernel {
    Device *dev;
    const sw_kernel *desc;
    int index; // in SW_KERNELS
};

struct Run {
    Kernel *kernel; // valid while the run is registered; the worker uses the copies below
    const sw_kernel *desc;
    int index;
    int state = NEW;
    bool set[SW_MAX_ARGS] = {};
    uint64_t scalar[SW_MAX_ARGS] = {};
    std::shared_ptr<Bo> bo[SW_MAX_ARGS];
    uint64_t cycles = 0;
};

struct Device {
    std::shared_ptr<Xclbin> xclbin;
    std::deque<std::shared_ptr<Run>> queue;
    bool stopping = false;
    std::thread worker;
    uint64_t bankUsed[SW_NBANKS] = {};
};

std::map<void *, std::unique_ptr<Device>> g_devices;
std::map<void *, std::shared_ptr<Bo>> g_bos;
std::map<void *, std::unique_ptr<Kernel>> g_kernels;
std::map<void *, std::shared_ptr<Run>> g_runs;

Device *device(void *h) {
    auto it = g_devices.find(h);
    return it == g_devices.end() ? nullptr : it->second.get();
}
std::shared_ptr<Bo> bo(void *h) {
    auto it = g_bos.find(h);
    return it == g_bos.end() ? nullptr : it->second;
}
Kernel *kernel(void *h) {
    auto it = g_kernels.find(h);
    return it == g_kernels.end() ? nullptr : it->second.get();
}
std::shared_ptr<Run> run(void *h) {
    auto it = g_runs.find(h);
    return it == g_runs.end() ? nullptr : it->second;
}

void execute(Run &r) {
    const uint8_t *p[SW_MAX_ARGS] = {};
    for (int i = 0; i < r.desc->nargs; i++)
        if (r.desc->args[i].kind == SW_ARG_BUFFER) p[i] = r.bo[i]->device.data();
    auto u = [&](int i) { return (uint32_t)r.scalar[i]; };
    float *out = (float *)(void *)const_cast<uint8_t *>(p[4]);
    const char *name = r.desc->name;
    if (!std::strcmp(name, "qb_verify")) {
        std::this_thread::sleep_for(std::chrono::microseconds(r.scalar[3]));
        std::memcpy(const_cast<uint8_t *>(p[1]), p[0], (size_t)u(2) * 4);
    } else if (!std::strcmp(name, "qb_microscopiq")) {
        qb_microscopiq(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10), u(11), u(12),
                       u(13), u(14), (int32_t)u(15));
    } else if (!std::strcmp(name, "qb_fineq")) {
        qb_fineq(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10));
    } else if (!std::strcmp(name, "qb_mx")) {
        qb_mx(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10));
    } else if (!std::strcmp(name, "qb_intgroup")) {
        qb_intgroup(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10), u(11), u(12));
    } else if (!std::strcmp(name, "qb_lobcq")) {
        qb_lobcq(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10), u(11), u(12));
    } else if (!std::strcmp(name, "qb_axbxp")) {
        qb_axbxp(p[0], (const int8_t *)p[1], p[2], (const float *)(const void *)p[3], out, u(5), u(6), u(7), u(8), u(9), u(10), u(11), u(12),
                 u(13), u(14), u(15), u(16), u(17));
    }
}

// The kernels keep their buffers in static arrays (one compute unit each): two devices opened in one process must
// not run them at once either.
std::mutex g_kernelMu;

// Minimum buffer bytes a layer kernel reads or writes, from its scalars: a run whose buffers are smaller would make
// the kernel read past them, which a card reports as an AXI error; here the run ends in ERT_CMD_STATE_ERROR.
bool buffersFit(const Run &r, std::string &why) {
    if (!std::strcmp(r.desc->name, "qb_verify")) {
        uint64_t need = (uint64_t)(uint32_t)r.scalar[2] * 4;
        if (r.bo[0]->size < need || r.bo[1]->size < need) { why = "qb_verify: words exceed a buffer"; return false; }
        return true;
    }
    uint64_t n = (uint32_t)r.scalar[5], k = (uint32_t)r.scalar[6], t = (uint32_t)r.scalar[7], mode = (uint32_t)r.scalar[8];
    uint64_t codes = t * k, scales = mode == QB_ACT_INT8_TOKEN ? t * 4 : t * ((k + 31) / 32);
    if (!std::strcmp(r.desc->name, "qb_lobcq") && mode == QB_ACT_LOBCQ) {
        // LO-BCQ activations: per token the fp32 row scale and k / L_A records (docs/formats.md §8.1)
        uint64_t nc = (uint32_t)r.scalar[10], lb = (uint32_t)r.scalar[11], la = (uint32_t)r.scalar[12], sb = 0;
        while (sb < 4 && (1ull << sb) < nc) sb++;
        uint64_t rb = lb == 0 || la == 0 ? 0 : 1 + ((la / lb) * sb + 7) / 8 + la / 2;
        codes = la == 0 ? 0 : t * (k / la) * rb;
        scales = t * 4;
    }
    struct { int arg; uint64_t need; } checks[] = {{1, codes}, {2, scales}, {4, t * n * 4}, {3, (uint32_t)r.scalar[9] ? n * 4 : 0}};
    for (auto &c : checks)
        if (r.bo[c.arg]->size < c.need) {
            why = std::string(r.desc->name) + ": argument '" + r.desc->args[c.arg].name + "' holds " + std::to_string(r.bo[c.arg]->size) + " bytes, the call needs " +
                  std::to_string(c.need);
            return false;
        }
    return true;
}

void workerLoop(Device *d) {
    std::unique_lock<std::mutex> lk(g_mu);
    for (;;) {
        g_cv.wait(lk, [&] { return d->stopping || !d->queue.empty(); });
        if (d->queue.empty()) return; // stopping, nothing left
        std::shared_ptr<Run> r = d->queue.front();
        d->queue.pop_front();
        std::string why;
        if (!buffersFit(*r, why)) {
            r->state = ERROR;
            g_cv.notify_all();
            if (g_console.load()) std::fprintf(stderr, "[qbridge-swdevice] error: run ended in ERT_CMD_STATE_ERROR: %s\n", why.c_str());
            continue;
        }
        r->state = RUNNING;
        g_cv.notify_all();
        lk.unlock();
        {
            std::lock_guard<std::mutex> k(g_kernelMu);
            qb_cycles = 0;
            execute(*r); // the run holds its buffers (shared_ptr), so freeing them meanwhile cannot pull memory away
            r->cycles = qb_cycles;
        }
        lk.lock();
        r->state = COMPLETED;
        g_cv.notify_all();
    }
}

uint32_t le32(const uint8_t *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }
uint64_t le64(const uint8_t *p) { return le32(p) | ((uint64_t)le32(p + 4) << 32); }

// Checks an xclbin as the software device's loader: container bounds, mode, platform, kernels.
std::shared_ptr<Xclbin> parseXclbin(const uint8_t *b, size_t size, std::string &why) {
    if (size < AXLF_HEADER_BYTES || std::memcmp(b, "xclbin2", 8) != 0) { why = "not an xclbin (magic)"; return nullptr; }
    uint64_t len = le64(b + 304);
    if (len != size) { why = "length " + std::to_string(len) + " != image size " + std::to_string(size); return nullptr; }
    unsigned mode = b[332] | (b[333] << 8);
    if (mode != AXLF_MODE_SW_EMU) { why = "mode " + std::to_string(mode) + " is not software emulation (5): this is not an xclbin for the software device"; return nullptr; }
    char plat[65] = {};
    std::memcpy(plat, b + 352, 64);
    if (std::strcmp(plat, SW_PLATFORM) != 0) { why = std::string("platform '") + plat + "' is not " SW_PLATFORM; return nullptr; }
    uint32_t n = le32(b + 448);
    if (n == 0 || n > 0x10000 || 456ull + 40ull * n > size) { why = "section table outside the file"; return nullptr; }
    auto x = std::make_shared<Xclbin>();
    std::memcpy(x->uuid, b + 416, 16);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = b + 456 + 40 * i;
        uint64_t off = le64(s + 24), sz = le64(s + 32);
        if (off > size || sz > size - off) { why = "section " + std::to_string(i) + " outside the file"; return nullptr; }
        if (le32(s) == AXLF_IP_LAYOUT) {
            if (sz < 8) { why = "IP_LAYOUT too short"; return nullptr; }
            uint32_t cnt = le32(b + off);
            if (8ull + 80ull * cnt > sz) { why = "IP_LAYOUT count exceeds the section"; return nullptr; }
            for (uint32_t j = 0; j < cnt; j++) {
                const uint8_t *ip = b + off + 8 + 80 * j;
                if (le32(ip) != 1) continue;
                char name[65] = {};
                std::memcpy(name, ip + 16, 64);
                std::string k(name);
                k = k.substr(0, k.find(':'));
                x->kernels.push_back(k);
            }
        }
    }
    if (x->kernels.empty()) { why = "no kernels in IP_LAYOUT"; return nullptr; }
    x->image.assign(b, b + size);
    return x;
}

int loadImage(void *dh, const uint8_t *b, size_t size, const char *what) {
    std::string why;
    auto x = parseXclbin(b, size, why);
    std::lock_guard<std::mutex> lk(g_mu);
    Device *d = device(dh);
    if (!d) { fail(EINVAL, "xrtDeviceLoadXclbin: not an open device handle"); return -1; }
    if (!x) { fail(EINVAL, "xrtDeviceLoadXclbin(%s): %s", what, why.c_str()); return -1; }
    d->xclbin = x;
    return 0;
}

} // namespace

API int xrtIniStringSet(const char *key, const char *value) {
    if (!key || !value) { fail(EINVAL, "xrtIniStringSet: NULL key or value"); return -1; }
    if (!std::strcmp(key, "Runtime.runtime_log")) g_console.store(!std::strcmp(value, "console"));
    return 0;
}

API void *xrtDeviceOpen(unsigned int index) {
    if (index != 0) { fail(ENODEV, "xrtDeviceOpen(%u): the software device has only device 0", index); return nullptr; }
    std::lock_guard<std::mutex> lk(g_mu);
    auto d = std::make_unique<Device>();
    Device *p = d.get();
    p->worker = std::thread(workerLoop, p);
    g_devices[p] = std::move(d);
    return p;
}

API int xrtDeviceClose(void *dh) {
    std::unique_ptr<Device> d;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        auto it = g_devices.find(dh);
        if (it == g_devices.end()) { fail(EINVAL, "xrtDeviceClose: not an open device handle"); return -1; }
        d = std::move(it->second);
        g_devices.erase(it);
        d->stopping = true;
        // what the host did not release goes with the device (XRT does the same when the process exits)
        for (auto i = g_runs.begin(); i != g_runs.end();) i = i->second->kernel->dev == d.get() ? g_runs.erase(i) : std::next(i);
        for (auto i = g_kernels.begin(); i != g_kernels.end();) i = i->second->dev == d.get() ? g_kernels.erase(i) : std::next(i);
        for (auto i = g_bos.begin(); i != g_bos.end();) i = i->second->dev == d.get() ? g_bos.erase(i) : std::next(i);
        g_cv.notify_all();
    }
    d->worker.join(); // queued runs finish first
    return 0;
}

API int xrtDeviceLoadXclbin(void *dh, const void *axlf) {
    if (!axlf) { fail(EINVAL, "xrtDeviceLoadXclbin: NULL image"); return -1; }
    const uint8_t *b = (const uint8_t *)axlf;
    if (std::memcmp(b, "xclbin2", 8) != 0) { fail(EINVAL, "xrtDeviceLoadXclbin: not an xclbin (magic)"); return -1; }
    return loadImage(dh, b, (size_t)le64(b + 304), "<memory>");
}

API int xrtDeviceLoadXclbinFile(void *dh, const char *path) {
    if (!path) { fail(EINVAL, "xrtDeviceLoadXclbinFile: NULL path"); return -1; }
    FILE *f = std::fopen(path, "rb");
    if (!f) { fail(ENOENT, "xrtDeviceLoadXclbinFile(%s): cannot open", path); return -1; }
    std::vector<uint8_t> b;
    uint8_t buf[65536];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + got);
    std::fclose(f);
    return loadImage(dh, b.data(), b.size(), path);
}

API int xrtDeviceGetXclbinUUID(void *dh, unsigned char *out) {
    std::lock_guard<std::mutex> lk(g_mu);
    Device *d = device(dh);
    if (!d || !out) { fail(EINVAL, "xrtDeviceGetXclbinUUID: not an open device handle"); return -1; }
    if (d->xclbin) std::memcpy(out, d->xclbin->uuid, 16);
    else std::memset(out, 0, 16);
    return 0;
}

API void *xrtPLKernelOpen(void *dh, const unsigned char *uuid, const char *name) {
    std::lock_guard<std::mutex> lk(g_mu);
    Device *d = device(dh);
    if (!d || !uuid || !name) { fail(EINVAL, "xrtPLKernelOpen: bad device handle, UUID or name"); return nullptr; }
    if (!d->xclbin) { fail(EINVAL, "xrtPLKernelOpen(%s): no xclbin is loaded", name); return nullptr; }
    if (std::memcmp(uuid, d->xclbin->uuid, 16) != 0) { fail(EINVAL, "xrtPLKernelOpen(%s): the UUID is not the loaded xclbin's", name); return nullptr; }
    std::string k(name);
    k = k.substr(0, k.find(':'));
    if (std::find(d->xclbin->kernels.begin(), d->xclbin->kernels.end(), k) == d->xclbin->kernels.end()) {
        fail(ENOENT, "xrtPLKernelOpen(%s): no such kernel in the loaded xclbin", name);
        return nullptr;
    }
    for (int i = 0; i < SW_NKERNELS; i++)
        if (k == SW_KERNELS[i].name) {
            auto kn = std::make_unique<Kernel>(Kernel{d, &SW_KERNELS[i], i});
            void *h = kn.get();
            g_kernels[h] = std::move(kn);
            return h;
        }
    fail(ENOENT, "xrtPLKernelOpen(%s): the software device has no such kernel", name);
    return nullptr;
}

API int xrtKernelClose(void *kh) {
    std::lock_guard<std::mutex> lk(g_mu);
    if (!g_kernels.count(kh)) { fail(EINVAL, "xrtKernelClose: not an open kernel handle"); return -1; }
    for (auto &r : g_runs)
        if (r.second->kernel == kh) { fail(EBUSY, "xrtKernelClose(%s): a run of it is still open", ((Kernel *)kh)->desc->name); return -1; }
    g_kernels.erase(kh);
    return 0;
}

API int xrtKernelArgGroupId(void *kh, int argno) {
    std::lock_guard<std::mutex> lk(g_mu);
    Kernel *k = kernel(kh);
    if (!k) { fail(EINVAL, "xrtKernelArgGroupId: not an open kernel handle"); return -1; }
    if (argno < 0 || argno >= k->desc->nargs || k->desc->args[argno].kind != SW_ARG_BUFFER) {
        fail(EINVAL, "xrtKernelArgGroupId(%s, %d): not a buffer argument", k->desc->name, argno);
        return -1;
    }
    return k->desc->args[argno].bank;
}

API void *xrtBOAlloc(void *dh, size_t size, uint64_t flags, uint32_t grp) {
    std::lock_guard<std::mutex> lk(g_mu);
    Device *d = device(dh);
    if (!d) { fail(EINVAL, "xrtBOAlloc: not an open device handle"); return nullptr; }
    if (size == 0 || (flags & 0xFF000000ull) != 0) { fail(EINVAL, "xrtBOAlloc(%zu, flags 0x%llx): size 0 or unsupported flags", size, (unsigned long long)flags); return nullptr; }
    if (grp >= SW_NBANKS) { fail(EINVAL, "xrtBOAlloc: memory group %u does not exist (%d banks)", grp, SW_NBANKS); return nullptr; }
    if (d->bankUsed[grp] + size > SW_BANK_BYTES) { fail(ENOMEM, "xrtBOAlloc(%zu): bank %s is full", size, SW_BANKS[grp]); return nullptr; }
    auto b = std::make_shared<Bo>();
    b->dev = d;
    b->size = size;
    b->bank = (int)grp;
    b->host.assign(size, 0);
    b->device.assign(size, 0xA5); // device memory is not zeroed: reading it before a sync shows
    d->bankUsed[grp] += size;
    void *h = b.get();
    g_bos[h] = b;
    return h;
}

API int xrtBOFree(void *bh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b) { fail(EINVAL, "xrtBOFree: not a live buffer handle"); return -1; }
    Device *d = device(b->dev);
    if (d) d->bankUsed[b->bank] -= b->size;
    g_bos.erase(bh);
    return 0;
}

API size_t xrtBOSize(void *bh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b) { fail(EINVAL, "xrtBOSize: not a live buffer handle"); return 0; }
    return b->size;
}

API void *xrtBOMap(void *bh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b) { fail(EINVAL, "xrtBOMap: not a live buffer handle"); return nullptr; }
    return b->host.data();
}

API int xrtBOWrite(void *bh, const void *src, size_t size, size_t seek) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b || !src) { fail(EINVAL, "xrtBOWrite: not a live buffer handle"); return -1; }
    if (seek > b->size || size > b->size - seek) { fail(EINVAL, "xrtBOWrite(%zu, %zu): outside the %zu-byte buffer", size, seek, b->size); return -1; }
    std::memcpy(b->host.data() + seek, src, size);
    return 0;
}

API int xrtBORead(void *bh, void *dst, size_t size, size_t skip) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b || !dst) { fail(EINVAL, "xrtBORead: not a live buffer handle"); return -1; }
    if (skip > b->size || size > b->size - skip) { fail(EINVAL, "xrtBORead(%zu, %zu): outside the %zu-byte buffer", size, skip, b->size); return -1; }
    std::memcpy(dst, b->host.data() + skip, size);
    return 0;
}

API int xrtBOSync(void *bh, int dir, size_t size, size_t offset) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto b = bo(bh);
    if (!b) { fail(EINVAL, "xrtBOSync: not a live buffer handle"); return -1; }
    if (offset > b->size || size > b->size - offset) { fail(EINVAL, "xrtBOSync(%zu, %zu): outside the %zu-byte buffer", size, offset, b->size); return -1; }
    if (dir == 0) std::memcpy(b->device.data() + offset, b->host.data() + offset, size);
    else if (dir == 1) std::memcpy(b->host.data() + offset, b->device.data() + offset, size);
    else { fail(EINVAL, "xrtBOSync: direction %d is not TO_DEVICE (0) or FROM_DEVICE (1)", dir); return -1; }
    return 0;
}

API void *xrtRunOpen(void *kh) {
    std::lock_guard<std::mutex> lk(g_mu);
    Kernel *k = kernel(kh);
    if (!k) { fail(EINVAL, "xrtRunOpen: not an open kernel handle"); return nullptr; }
    auto r = std::make_shared<Run>();
    r->kernel = k;
    r->desc = k->desc;
    r->index = k->index;
    void *h = r.get();
    g_runs[h] = r;
    return h;
}

API int xrtRunSetArg(void *rh, int index, ...) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto r = run(rh);
    if (!r) { fail(EINVAL, "xrtRunSetArg: not an open run handle"); return -1; }
    if (index < 0 || index >= r->desc->nargs) { fail(EINVAL, "xrtRunSetArg(%s, %d): no such argument", r->desc->name, index); return -1; }
    if (r->state == QUEUED || r->state == RUNNING) { fail(EBUSY, "xrtRunSetArg(%s, %d): the run is in flight", r->desc->name, index); return -1; }
    const sw_arg &a = r->desc->args[index];
    va_list ap;
    va_start(ap, index);
    int rc = 0;
    if (a.kind == SW_ARG_BUFFER) {
        void *bh = va_arg(ap, void *);
        auto b = bo(bh);
        if (!b || b->dev != r->kernel->dev) { fail(EINVAL, "xrtRunSetArg(%s, %d '%s'): not a live buffer of this device", r->desc->name, index, a.name); rc = -1; }
        else if (b->bank != a.bank) {
            fail(EINVAL, "xrtRunSetArg(%s, %d '%s'): the buffer is in %s, the argument is connected to %s", r->desc->name, index, a.name, SW_BANKS[b->bank], SW_BANKS[a.bank]);
            rc = -1;
        } else r->bo[index] = b;
    } else if (a.kind == SW_ARG_S32) {
        r->scalar[index] = (uint32_t)va_arg(ap, int);
    } else {
        r->scalar[index] = va_arg(ap, uint64_t);
    }
    va_end(ap);
    if (rc == 0) r->set[index] = true;
    return rc;
}

API int xrtRunStart(void *rh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto r = run(rh);
    if (!r) { fail(EINVAL, "xrtRunStart: not an open run handle"); return -1; }
    if (r->state == QUEUED || r->state == RUNNING) { fail(EBUSY, "xrtRunStart(%s): the run is already in flight", r->desc->name); return -1; }
    for (int i = 0; i < r->desc->nargs; i++)
        if (!r->set[i]) { fail(EINVAL, "xrtRunStart(%s): argument %d '%s' is not set", r->desc->name, i, r->desc->args[i].name); return -1; }
    Device *d = r->kernel->dev;
    r->state = QUEUED;
    d->queue.push_back(r);
    g_cv.notify_all();
    return 0;
}

API int xrtRunWaitFor(void *rh, unsigned int timeout_ms) {
    std::unique_lock<std::mutex> lk(g_mu);
    auto r = run(rh);
    if (!r) { fail(EINVAL, "xrtRunWaitFor: not an open run handle"); return ABORT; }
    auto done = [&] { return r->state == COMPLETED || r->state == ERROR || r->state == ABORT || r->state == NEW; };
    if (timeout_ms == 0) g_cv.wait(lk, done); // XRT: 0 means no timeout
    else g_cv.wait_for(lk, std::chrono::milliseconds(timeout_ms), done);
    return r->state;
}

API int xrtRunState(void *rh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto r = run(rh);
    if (!r) { fail(EINVAL, "xrtRunState: not an open run handle"); return ABORT; }
    return r->state;
}

// Not part of XRT: the C-simulation cycle count of a completed run (0 before completion or for an unknown handle).
// The host looks it up only in the software device, to print it beside the measured time.
API unsigned long long qbridge_swdevice_run_cycles(void *rh) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto r = run(rh);
    return r && r->state == COMPLETED ? r->cycles : 0;
}

API int xrtRunClose(void *rh) {
    std::lock_guard<std::mutex> lk(g_mu);
    if (!g_runs.erase(rh)) { fail(EINVAL, "xrtRunClose: not an open run handle"); return -1; }
    return 0; // a run still queued or running finishes on the worker, which holds its own reference
}
