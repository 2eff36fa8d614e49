#pragma once
// A rows × cols systolic array of multiply-accumulate PEs, ticked once per cycle as a plain C++
// object (no SystemC process and no signal per PE). Operands enter the left edge (one lane per
// row) and, for output stationary, the top edge (one lane per column), each lane delayed by its
// index (the systolic skew), and move one PE per cycle. A tick evaluates every PE on the values in
// its input registers, then updates (shifts) the registers.
//
// Storage is structure of arrays. The pipeline registers of a row form a delay line: the operand
// in PE (r, c) at cycle t is the one that entered lane r at cycle t − c. The line is kept as a
// buffer written at a position that moves back by one each cycle, so PE c reads position
// `pos + c` and a shift is a pointer move instead of a copy; the vertical lines (top operand,
// partial sums) are rings of per-cycle slots indexed by t − r. Every per-PE loop then runs over
// contiguous memory and vectorizes.
//
// Modes:
//   output stationary  left and top operands stream for `stream_len` cycles; PE (r, c) sums
//                      left[r][e] · top[c][e] over e and writes the sum to the output port of its
//                      column in the cycle of its last product (no extra drain cycles).
//   stationary operand the top operand is a rows × cols tile loaded into the PEs (one row per
//                      cycle down per-column load paths, skewed by column like the data, into
//                      the idle register of a ping-pong pair); the left operand streams; partial
//                      sums move down the columns and leave the bottom row as outputs.
//
// A fold is one tile of work. Its timing is fixed by the full array, whatever part of it the
// tile uses: the band of its data must cross the whole array before the fold retires.

#include <cstdint>
#include <deque>
#include <type_traits>
#include <vector>

namespace codesim::arch {

enum class SystolicMode { kOutputStationary, kStationaryOperand };

// What occupies an operand slot: nothing, a padding zero made at the array edge (a valid operand
// that no SRAM read produced), or an element read from SRAM.
enum SlotKind : uint8_t { kSlotEmpty = 0, kSlotPad = 1, kSlotReal = 2 };

// Cycles from a fold's start to its retirement, inclusive of both (the array's fold length).
int64_t systolic_fold_cycles(SystolicMode mode, int rows, int cols, int64_t stream_len);

// The product a PE adds to its accumulator. Integer operands are at most 16 bits, so their product
// is exact in int32; it is then widened (or wrapped, for a 32-bit unsigned accumulator) into the
// accumulator type. Any model computing the same sums should use this for identical results.
template <class A, class V>
inline A systolic_product(V a, V b) {
  if constexpr (std::is_floating_point_v<V>)
    return static_cast<A>(a * b);
  else
    return static_cast<A>(static_cast<int32_t>(a) * static_cast<int32_t>(b));
}

template <class V, class A>
struct SystolicFold {
  uint64_t start = 0;       // output stationary: first cycle of the stream; else first load cycle
  int64_t stream_len = 0;   // elements per lane of the streamed operand
  int rows_used = 0;        // real rows of the tile (left lanes carrying data)
  int cols_used = 0;        // real columns (outputs that exist)
  bool accumulate = false;  // stationary mode: add outputs to what the output buffer holds
  // Left lanes, lane-major: lane r, element e at [r * stream_len + e]; rows × stream_len.
  std::vector<uint8_t> left_kind;
  std::vector<V> left_val;  // empty in timing-only runs
  // Output stationary: top lanes, cols × stream_len. Stationary: the tile, rows × cols.
  std::vector<uint8_t> top_kind;
  std::vector<V> top_val;
  // Functional output: element (a, c) goes to out[a * out_stride_a + c * out_stride_c], a being
  // the row (output stationary) or the stream element (stationary). nullptr: not kept.
  A* out = nullptr;
  int64_t out_stride_a = 0;
  int64_t out_stride_c = 0;
};

struct SystolicEvents {
  uint64_t macs = 0;                // products of two valid operands
  uint64_t left_reads = 0;          // real elements that entered the left lanes
  uint64_t top_reads = 0;           // real elements that entered the top lanes or were loaded
  uint64_t out_writes = 0;          // outputs (or partial sums) written to the output buffer
  uint64_t out_reads = 0;           // partial sums read back from it to accumulate
  uint64_t operand_reg_writes = 0;  // valid operands latched by PE registers
  uint64_t psum_reg_writes = 0;     // partial sums latched on their way down a column
};

// V: operand value type; A: accumulator type (sums wrap modulo 2^bits for unsigned A).
template <class V, class A>
class SystolicArray {
 public:
  SystolicArray(int rows, int cols, SystolicMode mode, bool functional);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  SystolicMode mode() const { return mode_; }
  uint64_t now() const { return now_; }
  bool empty() const { return folds_.empty(); }
  const SystolicEvents& events() const { return events_; }

  // Hands over a fold; it enters at fold.start (>= now()). Folds retire in the order issued.
  void issue(SystolicFold<V, A> fold);
  // One cycle: edge injection and loads, evaluate, outputs, then the register update. Returns
  // the number of folds that retired in this cycle.
  int tick();
  // Jumps an empty array forward to cycle `t` (nothing moves in an empty array).
  void skip_to(uint64_t t);

 private:
  struct InFlight {
    SystolicFold<V, A> f;
    int64_t stream_start;  // first cycle a left lane carries an element
    int64_t retire_at;
    int bank;  // stationary register of the ping-pong pair this fold uses
    // What actually left the array, checked against the fold's timing when it retires.
    int64_t outputs = 0;
    int64_t last_output = -1;
  };
  void check_retired(const InFlight& in) const;

  void inject_left(int64_t t);
  void inject_top(int64_t t);
  void load_stationary(int64_t t);
  void evaluate_os(int64_t t);
  void evaluate_stationary(int64_t t);
  void emit_os(int64_t t);
  void emit_stationary(int64_t t);
  void shift_lines();
  void clear_line_window();

  int rows_, cols_;
  SystolicMode mode_;
  bool functional_;
  uint64_t now_ = 0;
  std::deque<InFlight> folds_;
  int next_bank_ = 0;
  SystolicEvents events_;

  // Left delay lines: row r, position p at [r * line_len_ + p]; PE c reads pos_ + c.
  int64_t line_len_;
  int64_t pos_;
  std::vector<uint8_t> left_ok_;
  std::vector<V> left_val_;
  // Vertical rings: slot s (a cycle modulo ring_) holds one value per column.
  int64_t ring_mask_;
  std::vector<uint8_t> top_ok_;  // output stationary
  std::vector<V> top_val_;
  std::vector<A> acc_;               // output stationary: rows × cols
  std::vector<uint8_t> bank_ok_[2];  // stationary: rows × cols per bank
  std::vector<V> bank_val_[2];
  std::vector<A> psum_;          // stationary: ring of partial-sum slots
  std::vector<uint16_t> tally_;  // per column, valid products of the current cycle
};

}  // namespace codesim::arch
