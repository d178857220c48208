// native_overhead: CPU time per forward() call of several TorchScript models in one process,
// called as the Neutone FX plugin calls them (C++ through LibTorch).
//
//   native_overhead RESULT_JSON ROUNDS CALLS WARMUP MODEL...
//
// Loads every MODEL with torch::jit::load and, where the model has it, calls
// set_daw_sample_rate_and_buffer_size(48000, 512) on the main thread outside InferenceMode, as
// the plugin's message thread does. Then, on the same thread with one intra-op thread and a
// c10::InferenceMode guard: WARMUP calls per model, then ROUNDS interleaved rounds; in round r
// the models run in turn starting at model r mod M, each CALLS calls of forward(x, params) with
// the same stereo (2, 512) float32 block and (4, 512) knobs. Each call is timed alone, thread
// CPU time (CLOCK_THREAD_CPUTIME_ID) and wall time (steady_clock). RESULT_JSON gets, per model
// in the order given, each round's mean and median call in us (behind a FIFO the model runs on
// some calls only, so the mean is the cost per call and the median a call that does not run it),
// and the median cost of the timing itself (the clock reads with no call between), measured
// before the rounds.
//
// Exit codes: 0 done; 1 bad command line; 2 a model did not load or a call raised.

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <utility>
#include <string>
#include <vector>

namespace {

constexpr int64_t kHostRate = 48000;
constexpr int64_t kBlock = 512;
constexpr int64_t kChannels = 2;
constexpr int64_t kParamCount = 4;
constexpr int kClockPairs = 20000;

uint64_t thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

uint64_t wall_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double value : values) {
    sum += value;
  }
  return sum / static_cast<double>(values.size());
}

// Median ns between two reads of each clock, read in the order a timed call reads them.
std::pair<double, double> clock_cost_ns() {
  std::vector<double> cpu(kClockPairs);
  std::vector<double> wall(kClockPairs);
  for (int i = 0; i < kClockPairs; ++i) {
    const uint64_t cpu_start = thread_cpu_ns();
    const uint64_t wall_start = wall_ns();
    const uint64_t wall_end = wall_ns();
    const uint64_t cpu_end = thread_cpu_ns();
    cpu[i] = static_cast<double>(cpu_end - cpu_start);
    wall[i] = static_cast<double>(wall_end - wall_start);
  }
  return {median(cpu), median(wall)};
}

// One call as a plugin makes it: the inputs handed over, forward run, the output kept.
void call_once(torch::jit::Method& forward, const at::Tensor& x, const at::Tensor& params) {
  c10::IValue returned = forward(std::vector<c10::IValue>{x, params});
  if (!returned.isTensor()) {
    throw std::runtime_error("forward() returned " + returned.tagKind() + ": the host expects a float32 tensor");
  }
}

void write_list(std::ostream& out, const std::vector<double>& values) {
  out << "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    out << (i ? ", " : "") << values[i];
  }
  out << "]";
}

// A named figure per round for every model: series[s].second[model][round].
using Series = std::vector<std::pair<std::string, std::vector<std::vector<double>>>>;

void write_json(const std::string& path, const std::pair<double, double>& clock, const Series& series) {
  std::ofstream out(path);
  out << std::setprecision(6) << "{\"clock_cpu_ns\": " << clock.first << ", \"clock_wall_ns\": " << clock.second
      << ", \"models\": [";
  for (std::size_t m = 0; m < series[0].second.size(); ++m) {
    out << (m ? ", " : "") << "{";
    for (std::size_t s = 0; s < series.size(); ++s) {
      out << (s ? ", " : "") << "\"" << series[s].first << "\": ";
      write_list(out, series[s].second[m]);
    }
    out << "}";
  }
  out << "]}\n";
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: native_overhead RESULT_JSON ROUNDS CALLS WARMUP MODEL...\n";
    return 1;
  }
  const std::string result_path = argv[1];
  const int rounds = std::stoi(argv[2]);
  const int calls = std::stoi(argv[3]);
  const int warmup = std::stoi(argv[4]);
  const std::vector<std::string> paths(argv + 5, argv + argc);
  if (rounds < 1 || calls < 1 || warmup < 0) {
    std::cerr << "ROUNDS and CALLS must be at least 1, WARMUP at least 0\n";
    return 1;
  }
  const std::size_t count = paths.size();
  try {
    at::set_num_threads(1);
    std::vector<torch::jit::Module> models;
    for (const std::string& path : paths) {
      models.push_back(torch::jit::load(path));
      torch::jit::Module& model = models.back();
      if (model.find_method("set_daw_sample_rate_and_buffer_size")) {
        model.get_method("set_daw_sample_rate_and_buffer_size")({kHostRate, kBlock});
      }
    }
    c10::InferenceMode guard;
    torch::manual_seed(0);
    const at::Tensor x = torch::rand({kChannels, kBlock}) * 2 - 1;
    const at::Tensor params = torch::rand({kParamCount, kBlock});
    std::vector<torch::jit::Method> forwards;
    for (torch::jit::Module& model : models) {
      forwards.push_back(model.get_method("forward"));
    }
    for (torch::jit::Method& forward : forwards) {
      for (int i = 0; i < warmup; ++i) {
        call_once(forward, x, params);
      }
    }
    const std::pair<double, double> clock = clock_cost_ns();
    Series series{{"cpu_mean_us", {}}, {"cpu_median_us", {}}, {"wall_mean_us", {}}, {"wall_median_us", {}}};
    for (auto& named : series) {
      named.second.resize(count);
    }
    std::vector<double> cpu(calls);
    std::vector<double> wall(calls);
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t j = 0; j < count; ++j) {
        const std::size_t m = (r + j) % count;
        for (int i = 0; i < calls; ++i) {
          const uint64_t cpu_start = thread_cpu_ns();
          const uint64_t wall_start = wall_ns();
          call_once(forwards[m], x, params);
          const uint64_t wall_end = wall_ns();
          const uint64_t cpu_end = thread_cpu_ns();
          cpu[i] = static_cast<double>(cpu_end - cpu_start) / 1000.0;
          wall[i] = static_cast<double>(wall_end - wall_start) / 1000.0;
        }
        series[0].second[m].push_back(mean(cpu));
        series[1].second[m].push_back(median(cpu));
        series[2].second[m].push_back(mean(wall));
        series[3].second[m].push_back(median(wall));
      }
    }
    write_json(result_path, clock, series);
  } catch (const std::exception& error) {
    std::cerr << "native_overhead failed: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
