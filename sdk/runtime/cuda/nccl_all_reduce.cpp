// NcclAllReduce over libnccl.so.2 opened with dlopen (never linked); the
// entry points' types come from nccl.h when the build found it
// (CITADEL_HAVE_NCCL_HEADER, sdk/CMakeLists.txt).
#include "runtime/cuda/nccl_all_reduce.h"

#include "runtime/core/error.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_library.h"

#include <cuda_runtime_api.h>

#ifdef CITADEL_HAVE_NCCL_HEADER
#include <nccl.h>
#endif

#include <string>
#include <utility>

namespace citadel::runtime::cuda {
namespace {

std::string describe_devices(const std::vector<int>& devices) {
  std::string list = "[";
  for (size_t i = 0; i < devices.size(); ++i) list += (i > 0 ? ", " : "") + std::to_string(devices[i]);
  return list + "]";
}

void check_devices(const std::vector<int>& devices) {
  if (devices.empty()) fail_invalid("NcclAllReduce: no devices (one per rank)");
  for (size_t i = 0; i < devices.size(); ++i) {
    for (size_t j = i + 1; j < devices.size(); ++j) {
      if (devices[i] == devices[j]) {
        fail_invalid("NcclAllReduce: device " + std::to_string(devices[i]) + " appears twice in " +
                     describe_devices(devices) +
                     "; NCCL cannot run two ranks on one GPU (StagedAllReduce can)");
      }
    }
  }
}

[[noreturn]] void throw_aborted() {
  throw RuntimeError(CITADEL_ERR_INTERNAL, "tensor-parallel all-reduce aborted: another rank failed");
}

#ifdef CITADEL_HAVE_NCCL_HEADER

// The entry points used here, resolved once; `missing` says why they are not
// (empty when all were found). The library stays loaded for the process's
// life: communicators may outlive any one owner's scope until exit.
struct NcclLibrary {
  std::string missing;
  decltype(&ncclCommInitAll) comm_init_all = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetLastError) last_error = nullptr;  // optional (NCCL >= 2.13)
};

NcclLibrary load_library() {
  NcclLibrary nccl;
  SharedLibrary library("libnccl.so.2");
  library.resolve(nccl.comm_init_all, "ncclCommInitAll");
  library.resolve(nccl.all_reduce, "ncclAllReduce");
  library.resolve(nccl.comm_destroy, "ncclCommDestroy");
  library.resolve(nccl.comm_abort, "ncclCommAbort");
  library.resolve(nccl.error_string, "ncclGetErrorString");
  library.resolve(nccl.get_version, "ncclGetVersion");
  library.resolve(nccl.last_error, "ncclGetLastError", false);
  if (std::string missing = library.finish(); !missing.empty()) {
    NcclLibrary unusable;  // no pointers into a closed library
    unusable.missing = std::move(missing);
    return unusable;
  }
  return nccl;
}

const NcclLibrary& library() {
  static const NcclLibrary nccl = load_library();
  return nccl;
}

// The loaded library, or RuntimeError(UNSUPPORTED) saying it is missing.
const NcclLibrary& require_library() {
  const NcclLibrary& nccl = library();
  if (!nccl.missing.empty()) {
    fail_unsupported("NCCL (libnccl.so.2) was not found (" + nccl.missing +
                     "); it is needed for tensor_parallel across GPUs: install NCCL 2 "
                     "(e.g. the libnccl2 package) or put it on LD_LIBRARY_PATH");
  }
  return nccl;
}

void check_nccl(const NcclLibrary& nccl, ncclResult_t result, const std::string& what, ncclComm_t comm) {
  if (result == ncclSuccess) return;
  std::string message = what + ": NCCL error: " + nccl.error_string(result);
  if (nccl.last_error != nullptr) {
    const char* detail = nccl.last_error(comm);
    if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
  }
  throw RuntimeError(CITADEL_ERR_INTERNAL, message);
}

#endif  // CITADEL_HAVE_NCCL_HEADER

}  // namespace

#ifdef CITADEL_HAVE_NCCL_HEADER

bool nccl_available() { return library().missing.empty(); }

std::string nccl_version() {
  const NcclLibrary& nccl = library();
  if (!nccl.missing.empty()) return "unavailable: " + nccl.missing;
  int code = 0;
  if (nccl.get_version(&code) != ncclSuccess) return "unavailable: ncclGetVersion failed";
  // NCCL_VERSION: major*10000 + minor*100 + patch since 2.9, major*1000 + ... before.
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code % 10000 / 100 : code % 1000 / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

NcclAllReduce::NcclAllReduce(std::vector<int> device_ordinals) : devices_(std::move(device_ordinals)) {
  check_devices(devices_);
  const NcclLibrary& nccl = require_library();
  std::vector<ncclComm_t> comms(devices_.size(), nullptr);
  check_nccl(nccl, nccl.comm_init_all(comms.data(), static_cast<int>(devices_.size()), devices_.data()),
             "ncclCommInitAll over devices " + describe_devices(devices_), nullptr);
  comms_.assign(comms.begin(), comms.end());
}

NcclAllReduce::~NcclAllReduce() {
  if (aborted_.load()) return;  // ncclCommAbort freed them
  const NcclLibrary& nccl = library();
  for (ncclComm_t comm : comms_) {
    if (comm != nullptr) nccl.comm_destroy(comm);
  }
}

void NcclAllReduce::sum(int rank, float* data, size_t count, void* stream) {
  if (rank < 0 || rank >= ranks()) {
    fail_invalid("NcclAllReduce::sum: rank " + std::to_string(rank) + " of a group of " + std::to_string(ranks()));
  }
  if (aborted_.load()) throw_aborted();
  if (count == 0) return;  // every rank passes the same count: all skip
  const int device = devices_[static_cast<size_t>(rank)];
  int current = -1;
  check_cuda(cudaGetDevice(&current), "NcclAllReduce: cudaGetDevice");
  if (current != device) check_cuda(cudaSetDevice(device), "NcclAllReduce: cudaSetDevice");
  const NcclLibrary& nccl = library();
  ncclComm_t comm = comms_[static_cast<size_t>(rank)];
  check_nccl(nccl,
             nccl.all_reduce(data, data, count, ncclFloat, ncclSum, comm, static_cast<cudaStream_t>(stream)),
             "ncclAllReduce of " + std::to_string(count) + " floats on device " + std::to_string(device) +
                 " (rank " + std::to_string(rank) + ")",
             comm);
}

void NcclAllReduce::abort() {
  std::lock_guard<std::mutex> lock(abort_mutex_);
  if (aborted_.exchange(true)) return;
  const NcclLibrary& nccl = library();
  // Best effort: a communicator that fails to abort is lost either way.
  for (ncclComm_t comm : comms_) {
    if (comm != nullptr) nccl.comm_abort(comm);
  }
}

void NcclAllReduce::reset() {
  if (aborted_.load()) {
    fail_unsupported("NcclAllReduce over devices " + describe_devices(devices_) +
                     ": cannot reset an aborted NCCL group (make a new one)");
  }
}

#else  // no nccl.h at build time: the class exists, constructing one fails.

namespace {
constexpr const char* kNoHeader = "this build has no NCCL header (nccl.h)";
}  // namespace

bool nccl_available() { return false; }

std::string nccl_version() { return std::string("unavailable: ") + kNoHeader; }

NcclAllReduce::NcclAllReduce(std::vector<int> device_ordinals) : devices_(std::move(device_ordinals)) {
  check_devices(devices_);
  fail_unsupported("NcclAllReduce over devices " + describe_devices(devices_) + ": " + kNoHeader +
                   "; it is needed for tensor_parallel across GPUs (rebuild with NCCL's development files)");
}

NcclAllReduce::~NcclAllReduce() = default;

void NcclAllReduce::sum(int /*rank*/, float* /*data*/, size_t /*count*/, void* /*stream*/) {
  if (aborted_.load()) throw_aborted();
  fail_unsupported(kNoHeader);
}

void NcclAllReduce::abort() { aborted_.store(true); }

void NcclAllReduce::reset() {}

#endif  // CITADEL_HAVE_NCCL_HEADER

}  // namespace citadel::runtime::cuda
