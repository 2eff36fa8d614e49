#pragma once
// The contraction engine of the tensor LSTM model: P PEs with q MACs each execute one two-operand
// einsum stage at a time as A [M x K] times B [K x N]. A is the activation side (the layer input
// or the previous stage's result, in the working SRAM), B a factor (or a product of factors) in
// the weight SRAM. README.md in this folder has the rules; in short:
//   * groups: a group computes rho x gamma outputs together, rho consecutive rows of A at gamma
//     consecutive columns of B (rho * gamma <= P; gamma is chosen per stage). It sweeps K in
//     ceil(K / q) cycles; every cycle each of its rows reads one q-element word (shared by the
//     PEs of that row) and each of its columns q weight elements.
//   * working SRAM: two buffers (ping-pong: a stage reads one and writes the other), each of
//     `banks` banks of q-element words, one access per bank per cycle. A group's results are
//     issued to the write buffer together and drain while the next group sweeps.
//   * memory schemes: kFdht stores every intermediate in the matrix layout its consumer reads
//     (the reshape/transpose done by the write address generator): row r of the consumer's
//     [M' x K'] view in bank r mod banks, its columns consecutive words; the letter orders and
//     gamma are planned so that a group's rows and its results fall in distinct banks.
//     kNaive stores every tensor row-major in its einsum letter order, words interleaved over the
//     banks, and reads it through strided addresses.
//   * a bank conflict is an access issued in a cycle in which its bank is busy: reads of one
//     cycle that share a bank are serialized (a stall cycle each), a group's writes that share a
//     bank queue, and stall only when the queue outlasts the next group's sweep.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace codesim::arch::tensor_lstm {

enum class MemoryScheme { kFdht, kNaive };

// Where a tensor's elements live in the working SRAM. Letters name the tensor's axes.
struct Layout {
  // kFdht: a matrix view. Row r (mixed radix over `rows`, first letter slowest) is in bank
  // r mod banks; its columns (mixed radix over `cols`) are consecutive elements.
  // kNaive: row-major over `rows` + `cols` (the stored order); word = address / q, bank =
  // word mod banks.
  std::string rows;
  std::string cols;
};

// One stage as the array executes it.
struct StageGeometry {
  std::string m, k, n;  // letters of M (A's free axes), K and N, slowest first: the group order
  int64_t M = 1, K = 1, N = 1;
  int64_t cols_per_group = 0;  // gamma; 0: 1 when M >= P, else floor(P / M)
  Layout a_layout;             // how A is stored
  Layout out_layout;           // where the outputs go
  bool out_to_sram = true;     // false: results stay in the weight SRAM (weight-only stages)
  bool conflict_free = false;  // kFdht plan verified: the closed forms of run_stage are exact
};

struct EngineConfig {
  int64_t pes = 16;
  int64_t macs_per_pe = 1;
  int64_t banks = 16;
  MemoryScheme scheme = MemoryScheme::kFdht;
  bool cycle = false;  // enumerate every cycle's accesses, or closed forms where they are exact
};

// Action counts and time of one stage.
struct StageEvents {
  uint64_t cycles = 0;
  uint64_t macs = 0;
  uint64_t groups = 0;
  uint64_t work_reads = 0;    // working-SRAM word reads
  uint64_t work_writes = 0;   // working-SRAM element writes
  uint64_t weight_reads = 0;  // weight-SRAM element reads (one per column and K element)
  uint64_t bank_conflicts = 0;
  uint64_t conflict_stalls = 0;
  StageEvents& operator+=(const StageEvents& o);
  bool operator==(const StageEvents& o) const;
};

// Pipeline depth of one stage: operand read, MAC, write.
inline constexpr uint64_t kStagePipelineDepth = 3;

// Sizes of the letters of a layer network.
using LetterSizes = std::map<char, int64_t>;

// Groups of a stage: rows and columns per group, and how many groups.
struct Grouping {
  int64_t rows = 1, cols = 1, count = 0;
};
Grouping make_grouping(int64_t M, int64_t N, int64_t pes, int64_t cols_per_group);

// Times a stage and counts its actions. Cycle mode enumerates every cycle's bank accesses,
// fast mode uses the closed forms of a conflict-free stage when the geometry is marked
// conflict_free, and enumerates otherwise (the tests check that both agree).
StageEvents run_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg);

// The stage's writes only: accesses that would wait for a busy bank, counting until `limit` is
// passed (the planner's early exit); adds the results it looked at to `visited`.
int64_t write_conflicts(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg,
                        int64_t limit, int64_t* visited = nullptr);

int64_t letters_product(const std::string& letters, const LetterSizes& sizes);
// Stride of every letter in a row-major tensor over `letters` (the last letter fastest).
std::map<char, int64_t> letter_strides(const std::string& letters, const LetterSizes& sizes);
// Per index of `from` (mixed radix, first letter slowest), its offset in a row-major tensor over
// `to`; letters of `from` absent from `to` contribute nothing. Mixed-radix indices are sums of
// per-letter terms, so the rows and columns of a matrix view can be mapped separately and added.
std::vector<int64_t> contribution(const std::string& from, const std::string& to,
                                  const LetterSizes& sizes);

// Where element (i, j) of a [rows x cols] view of a tensor lives under a layout.
struct Slot {
  int64_t bank = 0, word = 0, lane = 0;
};
class Addresser {
 public:
  Addresser(const std::string& row_letters, const std::string& col_letters, const Layout& l,
            const LetterSizes& sizes, const EngineConfig& cfg);
  Slot at(int64_t i, int64_t j) const;

 private:
  bool fdht_;
  int64_t q_, banks_, words_per_row_ = 1;
  std::vector<int64_t> row_r_, row_c_, col_r_, col_c_;
};

// One working-SRAM buffer holding real values (functional mode).
class WorkBuffer {
 public:
  WorkBuffer(int64_t banks, int64_t q) : q_(q), banks_(static_cast<size_t>(banks)) {}
  void write(const Slot& s, float v);
  float read(const Slot& s) const;  // throws std::logic_error on a slot never written

 private:
  int64_t q_;
  std::vector<std::vector<float>> banks_;
  std::vector<std::vector<bool>> written_;
};

// Functional execution of one stage through the banks: A read from `in` through the stage's
// a_layout, B (the weight operand, row-major over `b_letters`) from the weight SRAM, results
// written to `out` through out_layout. Each output sums its K products in K order in float32.
void execute_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg,
                   const WorkBuffer& in, const std::vector<float>& b, const std::string& b_letters,
                   WorkBuffer& out);

}  // namespace codesim::arch::tensor_lstm
