// CudnnConv3d over libcudnn.so.9 opened with dlopen (see cudnn_conv3d.h).
// cuDNN 9 marks its classic convolution API deprecated (it remains, and is
// what is used here); the warnings are silenced for this file alone.
#include "runtime/cuda/cudnn_conv3d.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/shared_library.h"

#ifdef CITADEL_HAVE_CUDNN_HEADER
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <cudnn.h>
#endif

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>

namespace citadel::runtime::cuda {

#ifdef CITADEL_HAVE_CUDNN_HEADER
namespace {

constexpr const char* kLibrary = "libcudnn.so.9";

// The entry points used here, resolved once; `missing` says why they are not
// (empty when all were found). The library stays loaded for the process's life.
struct CudnnLibrary {
  std::string missing;
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnDestroy) destroy = nullptr;
  decltype(&cudnnSetStream) set_stream = nullptr;
  decltype(&cudnnGetErrorString) error_string = nullptr;
  decltype(&cudnnCreateTensorDescriptor) create_tensor = nullptr;
  decltype(&cudnnDestroyTensorDescriptor) destroy_tensor = nullptr;
  decltype(&cudnnSetTensorNdDescriptor) set_tensor = nullptr;
  decltype(&cudnnCreateFilterDescriptor) create_filter = nullptr;
  decltype(&cudnnDestroyFilterDescriptor) destroy_filter = nullptr;
  decltype(&cudnnSetFilterNdDescriptor) set_filter = nullptr;
  decltype(&cudnnCreateConvolutionDescriptor) create_convolution = nullptr;
  decltype(&cudnnDestroyConvolutionDescriptor) destroy_convolution = nullptr;
  decltype(&cudnnSetConvolutionNdDescriptor) set_convolution = nullptr;
  decltype(&cudnnSetConvolutionMathType) set_math = nullptr;
  decltype(&cudnnFindConvolutionForwardAlgorithm) find_algorithm = nullptr;
  decltype(&cudnnGetConvolutionForwardWorkspaceSize) workspace_size = nullptr;
  decltype(&cudnnConvolutionForward) forward = nullptr;
  decltype(&cudnnAddTensor) add_tensor = nullptr;
  decltype(&cudnnGetVersion) version = nullptr;
  decltype(&cudnnOpsVersionCheck) ops_check = nullptr;
  decltype(&cudnnCnnVersionCheck) cnn_check = nullptr;
};

CudnnLibrary load_library() {
  CudnnLibrary cudnn;
  SharedLibrary library(kLibrary);
  library.resolve(cudnn.create, "cudnnCreate");
  library.resolve(cudnn.destroy, "cudnnDestroy");
  library.resolve(cudnn.set_stream, "cudnnSetStream");
  library.resolve(cudnn.error_string, "cudnnGetErrorString");
  library.resolve(cudnn.create_tensor, "cudnnCreateTensorDescriptor");
  library.resolve(cudnn.destroy_tensor, "cudnnDestroyTensorDescriptor");
  library.resolve(cudnn.set_tensor, "cudnnSetTensorNdDescriptor");
  library.resolve(cudnn.create_filter, "cudnnCreateFilterDescriptor");
  library.resolve(cudnn.destroy_filter, "cudnnDestroyFilterDescriptor");
  library.resolve(cudnn.set_filter, "cudnnSetFilterNdDescriptor");
  library.resolve(cudnn.create_convolution, "cudnnCreateConvolutionDescriptor");
  library.resolve(cudnn.destroy_convolution, "cudnnDestroyConvolutionDescriptor");
  library.resolve(cudnn.set_convolution, "cudnnSetConvolutionNdDescriptor");
  library.resolve(cudnn.set_math, "cudnnSetConvolutionMathType");
  library.resolve(cudnn.find_algorithm, "cudnnFindConvolutionForwardAlgorithm");
  library.resolve(cudnn.workspace_size, "cudnnGetConvolutionForwardWorkspaceSize");
  library.resolve(cudnn.forward, "cudnnConvolutionForward");
  library.resolve(cudnn.add_tensor, "cudnnAddTensor");
  library.resolve(cudnn.version, "cudnnGetVersion");
  library.resolve(cudnn.ops_check, "cudnnOpsVersionCheck");
  library.resolve(cudnn.cnn_check, "cudnnCnnVersionCheck");
  std::string missing = library.finish();
  // libcudnn.so.9 loads its sub-libraries (ops, cnn) only when first used:
  // ask for them now, so that a broken install is reported at load rather
  // than in the middle of a video.
  if (missing.empty() && cudnn.version() < 90000) {
    missing = std::string(kLibrary) + " is version " + std::to_string(cudnn.version()) + ", 9.0 or later is needed";
  }
  const std::pair<decltype(cudnn.ops_check), const char*> sub_libraries[] = {{cudnn.ops_check, "libcudnn_ops"},
                                                                           {cudnn.cnn_check, "libcudnn_cnn"}};
  for (const auto& [check, name] : sub_libraries) {
    if (!missing.empty()) break;
    if (const cudnnStatus_t status = check(); status != CUDNN_STATUS_SUCCESS)
      missing = std::string(name) + " did not load: " + cudnn.error_string(status);
  }
  if (!missing.empty()) {
    CudnnLibrary unusable;  // no pointers into a closed library
    unusable.missing = std::move(missing);
    return unusable;
  }
  return cudnn;
}

const CudnnLibrary& library() {
  static const CudnnLibrary cudnn = load_library();
  return cudnn;
}

void check_cudnn(cudnnStatus_t status, const std::string& what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  fail_invalid("cuDNN " + what + ": " + library().error_string(status));
}

// "384->384 conv 3x3x3 over 5 frames of 60x104", for error messages.
std::string describe(const Conv3dCudnnShape& shape) {
  return std::to_string(shape.in_channels) + "->" + std::to_string(shape.out_channels) + " conv " +
         std::to_string(shape.kernel_t) + "x" + std::to_string(shape.kernel_h) + "x" + std::to_string(shape.kernel_w) +
         " over " + std::to_string(shape.frames) + " frames of " + std::to_string(shape.height) + "x" +
         std::to_string(shape.width);
}

// 5-D sizes and packed strides of an [n=1, c, t, h, w] tensor as cuDNN takes them.
struct Dims5 {
  int sizes[5];
  int strides[5];
  Dims5(int64_t c, int64_t t, int64_t h, int64_t w) {
    const int64_t values[5] = {1, c, t, h, w};
    int64_t stride = 1;
    for (int i = 4; i >= 0; --i) {
      if (values[i] > INT32_MAX || stride > INT32_MAX) fail_invalid("CudnnConv3d: a dimension past 2^31");
      sizes[i] = static_cast<int>(values[i]);
      strides[i] = static_cast<int>(stride);
      stride *= values[i];
    }
  }
};

using ShapeKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

// The algorithm chosen for a shape and the math type it was timed with.
struct Choice {
  cudnnConvolutionFwdAlgo_t algorithm;
  cudnnMathType_t math;
};

// The choices of the whole process, by device and shape: two decoders (two
// requests, or a stream and a one-shot decode) must run a shape with the
// same algorithm to give the same values, and cuDNN's timing could pick
// another one each time it is asked.
struct Choices {
  std::mutex mutex;
  std::map<std::pair<int, ShapeKey>, Choice> by_shape;
};

Choices& process_choices() {
  static Choices choices;
  return choices;
}

}  // namespace

struct CudnnConv3d::State {
  const CudnnLibrary& cudnn = library();
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t convolution = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;

  ~State() {
    if (workspace != nullptr) cudaFree(workspace);
    if (convolution != nullptr) cudnn.destroy_convolution(convolution);
    if (w != nullptr) cudnn.destroy_filter(w);
    for (cudnnTensorDescriptor_t d : {x, y, bias})
      if (d != nullptr) cudnn.destroy_tensor(d);
    if (handle != nullptr) cudnn.destroy(handle);
  }
};

bool cudnn_available() { return library().missing.empty(); }
std::string cudnn_missing() { return library().missing; }

CudnnConv3d::CudnnConv3d() {
  if (!cudnn_available())
    fail_unsupported("cuDNN (" + std::string(kLibrary) + ") was not found (" + cudnn_missing() +
                     "); it is needed for the cudnn convolutions: install cuDNN 9 for CUDA 13 or put it on "
                     "LD_LIBRARY_PATH");
  state_ = std::make_unique<State>();
  State& s = *state_;
  check_cudnn(s.cudnn.create(&s.handle), "create");
  check_cudnn(s.cudnn.create_tensor(&s.x), "tensor descriptor");
  check_cudnn(s.cudnn.create_tensor(&s.y), "tensor descriptor");
  check_cudnn(s.cudnn.create_tensor(&s.bias), "tensor descriptor");
  check_cudnn(s.cudnn.create_filter(&s.w), "filter descriptor");
  check_cudnn(s.cudnn.create_convolution(&s.convolution), "convolution descriptor");
}

CudnnConv3d::~CudnnConv3d() = default;

void CudnnConv3d::forward(const float* x, const Conv3dCudnnShape& shape, const float* weight, const float* bias,
                          float* out, bool accumulate, void* stream) {
  State& s = *state_;
  const int64_t out_frames = shape.frames - shape.kernel_t + 1;
  if (out_frames < 1 || shape.kernel_h % 2 == 0 || shape.kernel_w % 2 == 0 || shape.in_channels < 1 ||
      shape.out_channels < 1 || shape.height < 1 || shape.width < 1)
    fail_invalid("CudnnConv3d: " + std::to_string(shape.frames) + " frames of " + std::to_string(shape.height) + "x" +
                 std::to_string(shape.width) + " for a kernel of " + std::to_string(shape.kernel_t) + "x" +
                 std::to_string(shape.kernel_h) + "x" + std::to_string(shape.kernel_w) + " (odd in space)");
  const Dims5 in(shape.in_channels, shape.frames, shape.height, shape.width);
  const Dims5 result(shape.out_channels, out_frames, shape.height, shape.width);
  const Dims5 channel_bias(shape.out_channels, 1, 1, 1);
  const int filter[5] = {static_cast<int>(shape.out_channels), static_cast<int>(shape.in_channels),
                         static_cast<int>(shape.kernel_t), static_cast<int>(shape.kernel_h),
                         static_cast<int>(shape.kernel_w)};
  const int padding[3] = {0, static_cast<int>(shape.kernel_h / 2), static_cast<int>(shape.kernel_w / 2)};
  const int ones[3] = {1, 1, 1};
  check_cudnn(s.cudnn.set_tensor(s.x, CUDNN_DATA_FLOAT, 5, in.sizes, in.strides), "input descriptor");
  check_cudnn(s.cudnn.set_tensor(s.y, CUDNN_DATA_FLOAT, 5, result.sizes, result.strides), "output descriptor");
  check_cudnn(s.cudnn.set_tensor(s.bias, CUDNN_DATA_FLOAT, 5, channel_bias.sizes, channel_bias.strides),
              "bias descriptor");
  check_cudnn(s.cudnn.set_filter(s.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, filter), "filter descriptor");
  check_cudnn(s.cudnn.set_convolution(s.convolution, 3, padding, ones, ones, CUDNN_CROSS_CORRELATION,
                                      CUDNN_DATA_FLOAT),
              "convolution descriptor");
  check_cudnn(s.cudnn.set_math(s.convolution, CUDNN_TENSOR_OP_MATH), "math type");
  check_cudnn(s.cudnn.set_stream(s.handle, static_cast<cudaStream_t>(stream)), "set stream");

  int device = 0;
  check_cuda(cudaGetDevice(&device), "CudnnConv3d device");
  const std::pair<int, ShapeKey> key{device, ShapeKey{shape.in_channels, shape.out_channels, shape.kernel_t,
                                                      shape.kernel_h, shape.kernel_w, shape.frames, shape.height,
                                                      shape.width}};
  Choices& choices = process_choices();
  // Held through the search, so that one shape is timed once.
  std::unique_lock choices_lock(choices.mutex);
  auto found = choices.by_shape.find(key);
  if (found == choices.by_shape.end()) {
    // cuDNN times every algorithm on buffers of its own (once per shape).
    constexpr int kRequested = 8;
    cudnnConvolutionFwdAlgoPerf_t results[kRequested];
    int returned = 0;
    check_cudnn(s.cudnn.find_algorithm(s.handle, s.x, s.w, s.convolution, s.y, kRequested, &returned, results),
                "algorithm search for a " + describe(shape));
    // The fastest deterministic one (results come fastest first): the same
    // inputs give the same values, as the streaming contract needs. Never
    // one that converts the f32 data to f16 (f32's range is the point).
    int chosen = -1;
    for (int i = 0; i < returned && chosen < 0; ++i)
      if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].determinism == CUDNN_DETERMINISTIC &&
          results[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        chosen = i;
    if (chosen < 0)
      fail_unsupported("CudnnConv3d: cuDNN has no deterministic algorithm that runs a " + describe(shape) + " (" +
                       std::to_string(returned) + " tried)");
    found = choices.by_shape.emplace(key, Choice{results[chosen].algo, results[chosen].mathType}).first;
  }
  const Choice choice = found->second;
  choices_lock.unlock();
  check_cudnn(s.cudnn.set_math(s.convolution, choice.math), "math type");
  size_t bytes = 0;
  check_cudnn(s.cudnn.workspace_size(s.handle, s.x, s.w, s.convolution, s.y, choice.algorithm, &bytes),
              "workspace size");
  if (bytes > s.workspace_bytes) {
    if (s.workspace != nullptr) {
      check_cuda(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "CudnnConv3d workspace");
      check_cuda(cudaFree(s.workspace), "CudnnConv3d workspace");
      s.workspace = nullptr;
      s.workspace_bytes = 0;
    }
    check_cuda(cudaMalloc(&s.workspace, bytes), "CudnnConv3d workspace");
    s.workspace_bytes = bytes;
  }
  const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  check_cudnn(s.cudnn.forward(s.handle, &one, s.x, x, s.w, weight, s.convolution, choice.algorithm, s.workspace,
                              s.workspace_bytes, &beta, s.y, out),
              "convolution forward of a " + describe(shape));
  if (bias != nullptr) check_cudnn(s.cudnn.add_tensor(s.handle, &one, s.bias, bias, &one, s.y, out), "bias add");
}

#else  // no cudnn.h at build time: never available

bool cudnn_available() { return false; }
std::string cudnn_missing() { return "this build found no cudnn.h"; }

struct CudnnConv3d::State {};

CudnnConv3d::CudnnConv3d() {
  fail_unsupported("cuDNN convolutions: this build found no cudnn.h (install cuDNN 9 for CUDA 13 and rebuild)");
}
CudnnConv3d::~CudnnConv3d() = default;
void CudnnConv3d::forward(const float*, const Conv3dCudnnShape&, const float*, const float*, float*, bool, void*) {
  fail_unsupported("cuDNN convolutions: this build found no cudnn.h");
}

#endif  // CITADEL_HAVE_CUDNN_HEADER

}  // namespace citadel::runtime::cuda

#ifdef CITADEL_HAVE_CUDNN_HEADER
#pragma GCC diagnostic pop
#endif
