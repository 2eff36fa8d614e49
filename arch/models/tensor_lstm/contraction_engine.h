#pragma once
// The contraction engine of the tensor LSTM model: P PEs with q MACs each execute one two-operand
// einsum stage at a time as A [M x K] times B [K x N]. A is the activation side (the layer input
// or the previous stage's result, in the working SRAM), B a factor (or a product of factors) in
// the weight SRAM. README.md in this folder has the rules; in short:
//   * groups: P outputs are computed together, P consecutive rows of A at one column n of B (when
//     M < P: all M rows at floor(P / M) consecutive columns). A group sweeps K in ceil(K / q)
//     cycles, PE p reading q consecutive columns of its row per cycle.
//   * working SRAM: two buffers (ping-pong: a stage reads one and writes the other), each of
//     `banks` banks of q-element words, one access per bank per cycle. A group's results drain
//     through per-bank write queues while the next group sweeps.
//   * memory schemes: kFdht stores every intermediate in the matrix layout its consumer reads
//     (the reshape/transpose done by the write address generator), row r of the consumer's
//     [M' x K'] view in bank r mod banks, with the consumer's row order chosen by the producer;
//     kNaive stores it row-major in the einsum's output order, words interleaved over the banks,
//     and the consumer reads it through strided addresses.
//   * a read of a bank that is already busy in that cycle, or a write that does not drain during
//     the next group's sweep, is a bank conflict and costs a stall cycle.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace codesim::arch::tensor_lstm {

enum class MemoryScheme { kFdht, kNaive };

// Where a tensor's elements live in the working SRAM. Letters name the tensor's axes.
struct Layout {
  // kFdht: the consumer's matrix view. Row r (mixed radix over `rows`, first letter slowest) is
  // in bank r mod banks; its columns (mixed radix over `cols`) are consecutive words.
  // kNaive: row-major over `rows` + `cols` (the stored order); word = address / q.
  std::string rows;
  std::string cols;
};

// One stage as the array executes it.
struct StageGeometry {
  std::string m, k, n;  // letters of M (A's free axes, in row order), K and N, slowest first
  int64_t M = 1, K = 1, N = 1;
  Layout a_layout;    // how A is stored (its rows must be `m`, in that order, for kFdht)
  Layout out_layout;  // where the outputs go
  bool out_to_sram = true;  // false: results stay in the weight SRAM (weight-only stages)
};

struct EngineConfig {
  int64_t pes = 16;
  int64_t macs_per_pe = 1;
  int64_t banks = 16;
  MemoryScheme scheme = MemoryScheme::kFdht;
  bool cycle = false;  // enumerate every cycle's accesses (bank conflicts) or use closed forms
};

// Action counts and time of one stage.
struct StageEvents {
  uint64_t cycles = 0;
  uint64_t macs = 0;
  uint64_t groups = 0;
  uint64_t work_reads = 0;    // working-SRAM word reads
  uint64_t work_writes = 0;   // working-SRAM element writes
  uint64_t weight_reads = 0;  // weight-SRAM element reads (one per distinct element per cycle)
  uint64_t bank_conflicts = 0;
  uint64_t conflict_stalls = 0;
  StageEvents& operator+=(const StageEvents& o);
};

// Pipeline depth of one stage: operand read, MAC, write.
inline constexpr uint64_t kStagePipelineDepth = 3;

// Sizes of the letters of a layer network.
using LetterSizes = std::map<char, int64_t>;

// Groups of a stage: (rows per group, columns per group, group count).
struct Grouping {
  int64_t rows = 1, cols = 1, count = 0;
};
Grouping make_grouping(int64_t M, int64_t N, int64_t pes);

// Times a stage and counts its actions. In cycle mode every cycle's bank accesses are
// enumerated; in fast mode the closed forms of a conflict-free stage are used (exact for kFdht,
// see the tests; kNaive conflicts are only seen in cycle mode).
StageEvents run_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg);

// Mixed-radix index of `letters` (first slowest) for letter values `v` (indexed by letter).
int64_t mixed_index(const std::string& letters, const LetterSizes& sizes,
                    const std::map<char, int64_t>& v);
int64_t letters_product(const std::string& letters, const LetterSizes& sizes);

}  // namespace codesim::arch::tensor_lstm
