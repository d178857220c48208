// neutone-native-host: runs a model.nm session the way a native plugin (Neutone FX) does.
//
//   neutone-native-host MODEL SESSION RESULT [--inference-mode none|process|configure|both]
//                       [--intra-op-threads N]
//
// Loads MODEL with torch::jit::load, then runs the host calls in SESSION: configure and reset
// on the main ("message") thread, process calls on a separate realtime thread that sets the
// intra-op thread count (default 1) and, by default, holds a c10::InferenceMode guard. Each
// call's result is appended to RESULT and flushed, so a crash leaves every completed call on
// disk. The byte layouts of SESSION and RESULT are documented in session.py next to this file.
//
// Exit codes: 0 every call ran; 1 bad command line; 2 the model did not load; 3 a call raised
// (the error record names the call); 4 the host itself failed (a malformed session file, an
// unwritable RESULT).

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/script.h>

#include <bit>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

static_assert(std::endian::native == std::endian::little, "the session and result formats are little-endian");

namespace {

constexpr char kSessionMagic[4] = {'N', 'T', 'N', 'S'};
constexpr char kResultMagic[4] = {'N', 'T', 'N', 'R'};
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kParamCount = 4;
constexpr std::size_t kMaxMessageLines = 400;
constexpr std::size_t kMaxMessageBytes = 65536;

enum ExitCode : int { kExitOk = 0, kExitUsage = 1, kExitLoadFailure = 2, kExitCallException = 3, kExitBadSession = 4 };
enum ErrorKind : uint8_t { kErrorLoadFailure = 1, kErrorException = 2 };

// A malformed session file or an unwritable result file: the tool's fault, not the model's.
class SessionError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string model_path;
  std::string session_path;
  std::string result_path;
  bool inference_mode_on_process = true;
  bool inference_mode_on_configure = false;
  int intra_op_threads = 1;
};

struct Call {
  char kind = 0;  // 'C' configure, 'P' process, 'R' reset
  int64_t sample_rate_hz = 0;
  int64_t buffer_size_samples = 0;
  bool forward_bt = false;
  int64_t channels = 0;
  int64_t samples = 0;
  bool has_params = false;
  std::vector<float> audio;   // (channels, samples), row-major
  std::vector<float> params;  // (4, samples), row-major, when has_params
};

struct ProcessOutcome {
  uint64_t time_ns = 0;
  uint64_t cpu_time_ns = 0;  // the realtime thread's CPU time over the same span
  std::optional<at::Tensor> output;  // contiguous; empty when the method returned None
};

struct ConfigureOutcome {
  int64_t returned = 0;
  int64_t buffering_delay_samples = 0;
  int64_t model_delay_samples = 0;
};

const char* usage() {
  return "usage: neutone-native-host MODEL SESSION RESULT [--inference-mode none|process|configure|both] "
         "[--intra-op-threads N]";
}

Options parse_options(int argc, char** argv) {
  if (argc < 4) {
    throw std::invalid_argument(usage());
  }
  Options options;
  options.model_path = argv[1];
  options.session_path = argv[2];
  options.result_path = argv[3];
  for (int i = 4; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      throw std::invalid_argument(flag + " needs a value; " + usage());
    }
    const std::string value = argv[i + 1];
    if (flag == "--inference-mode") {
      if (value != "none" && value != "process" && value != "configure" && value != "both") {
        throw std::invalid_argument("--inference-mode " + value + ": expected none, process, configure or both");
      }
      options.inference_mode_on_process = value == "process" || value == "both";
      options.inference_mode_on_configure = value == "configure" || value == "both";
    } else if (flag == "--intra-op-threads") {
      options.intra_op_threads = std::stoi(value);
      if (options.intra_op_threads < 1) {
        throw std::invalid_argument("--intra-op-threads " + value + ": must be >= 1");
      }
    } else {
      throw std::invalid_argument("unknown option " + flag + "; " + usage());
    }
  }
  return options;
}

// An exception's message without LibTorch's C++ backtrace, cut to its first lines and, when
// cut, its last line (where TorchScript names the exception: "builtins.ValueError: ...").
std::string short_message(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::istringstream text(c10_error != nullptr ? c10_error->what_without_backtrace() : error.what());
  std::vector<std::string> lines;
  for (std::string line; std::getline(text, line);) {
    lines.push_back(line);
  }
  if (lines.size() > kMaxMessageLines) {
    const std::string last = lines.back();
    lines.resize(kMaxMessageLines - 2);
    lines.push_back("...");
    lines.push_back(last);
  }
  std::string message;
  for (const std::string& line : lines) {
    message += line + "\n";
  }
  if (message.size() > kMaxMessageBytes) {
    message = message.substr(0, kMaxMessageBytes / 2) + "\n...\n" + message.substr(message.size() - kMaxMessageBytes / 2);
  }
  return message;
}

class SessionReader {
 public:
  explicit SessionReader(const std::string& path) : file_(path, std::ios::binary) {
    if (!file_) {
      throw SessionError("cannot open session file " + path);
    }
    char magic[4];
    read_bytes(magic, sizeof magic, "header");
    if (!std::equal(magic, magic + 4, kSessionMagic)) {
      throw SessionError(path + " is not a neutone native-host session (bad magic)");
    }
    const auto version = read<uint32_t>("header");
    if (version != kFormatVersion) {
      throw SessionError("session format version " + std::to_string(version) + ": this host reads version " +
                         std::to_string(kFormatVersion));
    }
    call_count_ = read<uint32_t>("header");
  }

  uint32_t call_count() const { return call_count_; }

  Call next(uint32_t index) {
    const std::string where = "call " + std::to_string(index);
    Call call;
    call.kind = read<char>(where);
    if (call.kind == 'C') {
      call.sample_rate_hz = read<int64_t>(where);
      call.buffer_size_samples = read<int64_t>(where);
    } else if (call.kind == 'P') {
      call.forward_bt = read<uint8_t>(where) != 0;
      call.has_params = read<uint8_t>(where) != 0;
      call.channels = read<uint32_t>(where);
      call.samples = read<uint32_t>(where);
      call.audio = read_floats(call.channels * call.samples, where);
      if (call.has_params) {
        call.params = read_floats(kParamCount * call.samples, where);
      }
    } else if (call.kind != 'R') {
      throw SessionError(where + ": unknown call kind byte " + std::to_string(static_cast<int>(call.kind)));
    }
    return call;
  }

 private:
  void read_bytes(char* out, std::size_t size, const std::string& where) {
    file_.read(out, static_cast<std::streamsize>(size));
    if (static_cast<std::size_t>(file_.gcount()) != size) {
      throw SessionError("session file truncated in " + where);
    }
  }

  template <typename T>
  T read(const std::string& where) {
    T value;
    read_bytes(reinterpret_cast<char*>(&value), sizeof value, where);
    return value;
  }

  std::vector<float> read_floats(int64_t count, const std::string& where) {
    std::vector<float> values(static_cast<std::size_t>(count));
    read_bytes(reinterpret_cast<char*>(values.data()), values.size() * sizeof(float), where);
    return values;
  }

  std::ifstream file_;
  uint32_t call_count_ = 0;
};

class ResultWriter {
 public:
  explicit ResultWriter(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) {
      throw SessionError("cannot write result file " + path);
    }
    write_bytes(kResultMagic, sizeof kResultMagic);
    write(kFormatVersion);
    flush();
  }
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;
  ~ResultWriter() { std::fclose(file_); }

  void configured(uint32_t index, const ConfigureOutcome& outcome) {
    write('C');
    write(index);
    write(outcome.returned);
    write(outcome.buffering_delay_samples);
    write(outcome.model_delay_samples);
    flush();
  }

  void processed(uint32_t index, const ProcessOutcome& outcome) {
    write('P');
    write(index);
    write(outcome.time_ns);
    write(outcome.cpu_time_ns);
    write(static_cast<uint8_t>(outcome.output.has_value()));
    if (outcome.output.has_value()) {
      const at::Tensor& output = *outcome.output;
      write(static_cast<uint32_t>(output.dim()));
      for (int64_t size : output.sizes()) {
        write(size);
      }
      write_bytes(output.const_data_ptr<float>(), static_cast<std::size_t>(output.numel()) * sizeof(float));
    }
    flush();
  }

  void was_reset(uint32_t index) {
    write('R');
    write(index);
    flush();
  }

  void error(ErrorKind kind, int32_t index, const std::string& message) {
    write('E');
    write(static_cast<uint8_t>(kind));
    write(index);
    write(static_cast<uint32_t>(message.size()));
    write_bytes(message.data(), message.size());
    flush();
  }

 private:
  void write_bytes(const void* data, std::size_t size) {
    if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
      throw SessionError("writing the result file failed");
    }
  }

  template <typename T>
  void write(T value) {
    write_bytes(&value, sizeof value);
  }

  void flush() {
    if (std::fflush(file_) != 0) {
      throw SessionError("flushing the result file failed");
    }
  }

  std::FILE* file_;
};

// The audio thread: runs one job at a time, handed over by the message thread, which waits for
// it. Sets the intra-op thread count and holds an InferenceMode guard for its whole life when
// asked, as a plugin's processing thread does.
class RealtimeThread {
 public:
  RealtimeThread(int intra_op_threads, bool inference_mode)
      : thread_([this, intra_op_threads, inference_mode] { loop(intra_op_threads, inference_mode); }) {}
  RealtimeThread(const RealtimeThread&) = delete;
  RealtimeThread& operator=(const RealtimeThread&) = delete;

  ~RealtimeThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  // Run ``job`` on the realtime thread and wait; rethrows what the job threw.
  void run(std::function<void()> job) {
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = std::move(job);
    job_error_ = nullptr;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !job_; });
    if (job_error_) {
      std::rethrow_exception(job_error_);
    }
  }

 private:
  void loop(int intra_op_threads, bool inference_mode) {
    at::set_num_threads(intra_op_threads);
    std::optional<c10::InferenceMode> guard;
    if (inference_mode) {
      guard.emplace();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return stopping_ || job_; });
      if (!job_) {
        return;
      }
      try {
        job_();
      } catch (...) {
        job_error_ = std::current_exception();
      }
      job_ = nullptr;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;
  std::exception_ptr job_error_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

int64_t expect_int(const c10::IValue& value, const std::string& method) {
  if (!value.isInt()) {
    throw std::runtime_error(method + "() returned " + value.tagKind() + ": the host expects int");
  }
  return value.toInt();
}

int64_t call_int_method(torch::jit::Module& model, const std::string& method, std::vector<c10::IValue> inputs) {
  return expect_int(model.get_method(method)(std::move(inputs)), method);
}

ConfigureOutcome configure(torch::jit::Module& model, const Call& call, bool inference_mode) {
  std::optional<c10::InferenceMode> guard;
  if (inference_mode) {
    guard.emplace();
  }
  ConfigureOutcome outcome;
  outcome.returned =
      call_int_method(model, "set_daw_sample_rate_and_buffer_size", {call.sample_rate_hz, call.buffer_size_samples});
  outcome.buffering_delay_samples = call_int_method(model, "calc_buffering_delay_samples", {});
  outcome.model_delay_samples = call_int_method(model, "calc_model_delay_samples", {});
  return outcome;
}

void reset(torch::jit::Module& model, bool inference_mode) {
  std::optional<c10::InferenceMode> guard;
  if (inference_mode) {
    guard.emplace();
  }
  model.get_method("reset")(std::vector<c10::IValue>{});
}

std::optional<at::Tensor> expect_audio(const c10::IValue& value, const std::string& method) {
  if (value.isNone() && method == "forward_bt") {
    return std::nullopt;
  }
  if (!value.isTensor()) {
    throw std::runtime_error(method + "() returned " + value.tagKind() + ": the host expects a float32 tensor");
  }
  const at::Tensor& output = value.toTensor();
  if (output.scalar_type() != at::kFloat) {
    throw std::runtime_error(method + "() returned a tensor of dtype " + std::string(c10::toString(output.scalar_type())) +
                             ": the host expects float32");
  }
  return output.contiguous();
}

// CPU time of the calling thread, in ns.
uint64_t thread_cpu_time_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

// Runs on the realtime thread: wraps the session's buffers as tensors and times the call alone.
ProcessOutcome process(torch::jit::Module& model, Call& call) {
  const std::string method_name = call.forward_bt ? "forward_bt" : "forward";
  torch::jit::Method method = model.get_method(method_name);
  std::vector<c10::IValue> inputs;
  inputs.emplace_back(torch::from_blob(call.audio.data(), {call.channels, call.samples}, at::kFloat));
  if (call.has_params) {
    inputs.emplace_back(torch::from_blob(call.params.data(), {kParamCount, call.samples}, at::kFloat));
  } else {
    inputs.emplace_back(c10::IValue());
  }
  const uint64_t cpu_start = thread_cpu_time_ns();
  const auto start = std::chrono::steady_clock::now();
  c10::IValue returned = method(std::move(inputs));
  const auto end = std::chrono::steady_clock::now();
  const uint64_t cpu_end = thread_cpu_time_ns();
  ProcessOutcome outcome;
  outcome.time_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
  outcome.cpu_time_ns = cpu_end - cpu_start;
  outcome.output = expect_audio(returned, method_name);
  return outcome;
}

// Runs every call in order; returns the exit code.
int run_session(torch::jit::Module& model, SessionReader& session, ResultWriter& results, const Options& options) {
  RealtimeThread realtime(options.intra_op_threads, options.inference_mode_on_process);
  for (uint32_t index = 0; index < session.call_count(); ++index) {
    Call call = session.next(index);
    try {
      if (call.kind == 'C') {
        results.configured(index, configure(model, call, options.inference_mode_on_configure));
      } else if (call.kind == 'R') {
        reset(model, options.inference_mode_on_configure);
        results.was_reset(index);
      } else {
        ProcessOutcome outcome;
        realtime.run([&] { outcome = process(model, call); });
        results.processed(index, outcome);
      }
    } catch (const SessionError&) {
      throw;
    } catch (const std::exception& error) {
      const std::string message = short_message(error);
      results.error(kErrorException, static_cast<int32_t>(index), message);
      std::cerr << "call " << index << " raised:\n" << message;
      return kExitCallException;
    }
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << error.what() << "\n";
    return kExitUsage;
  }
  try {
    SessionReader session(options.session_path);
    ResultWriter results(options.result_path);
    torch::jit::Module model;
    try {
      model = torch::jit::load(options.model_path);
    } catch (const std::exception& error) {
      const std::string message = "cannot load " + options.model_path + ": " + short_message(error);
      results.error(kErrorLoadFailure, -1, message);
      std::cerr << message;
      return kExitLoadFailure;
    }
    return run_session(model, session, results, options);
  } catch (const std::exception& error) {
    std::cerr << "native host failed: " << error.what() << "\n";
    return kExitBadSession;
  }
}
