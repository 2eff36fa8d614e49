#pragma once
// N:M patterns as the STA engine sees them: which patterns the selectors support, which pattern a
// weight runs in (its annotation, else the arch file's per-layer rules), the fallback to a
// supported pattern that contains the declared one, and the compressed storage of a weight
// (values plus index metadata) tile by tile.

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

namespace codesim::arch::nm_sparse {

// At most n non-zeros in every group of m consecutive weights along the reduction dimension.
// Dense is 1:1 (every position is stored, the selectors are bypassed).
struct NmPattern {
  int n = 1;
  int m = 1;
  bool dense() const { return n >= m; }
  std::string str() const;  // "2:4" or "dense"
  bool operator==(const NmPattern& o) const { return n == o.n && m == o.m; }
};

enum class IndexFormat { kIndices, kBitmap };

// "2:4" or "dense"; false (and `error` set) when malformed or n >= m.
bool parse_pattern(const std::string& text, NmPattern& out, std::string& error);
// "1:4, 2:4, 2:8"; "" when valid, else the problem.
std::string parse_pattern_list(const std::string& text, std::vector<NmPattern>& out);

// One per-layer rule of the arch file: ops whose whole name matches `regex` run their weight
// in `pattern` (unless the weight carries its own annotation).
struct NmRule {
  std::string regex_text;
  std::regex regex;
  NmPattern pattern;
};
// "ffn\..*=2:4; attn\..*=4:8; 1:4" (a rule without `regex=` matches every op); "" when valid.
std::string parse_rules(const std::string& text, std::vector<NmRule>& out);

// Whether every weight that satisfies `a` also satisfies `b`.
bool contained(const NmPattern& a, const NmPattern& b);
// The supported pattern that contains `declared` and keeps the fewest values (ties: the smaller
// m); dense when none does.
NmPattern best_supported(const NmPattern& declared, const std::vector<NmPattern>& supported);

int index_bits(int m);  // ceil(log2 m)

// Compressed storage of one reduction column of length k: groups of m, each keeping min(n, size)
// value slots (dense: k slots, one per position).
class ColumnLayout {
 public:
  ColumnLayout(int64_t k, NmPattern p);
  int64_t k() const { return k_; }
  NmPattern pattern() const { return p_; }
  int64_t rows() const { return rows_; }  // compressed rows (value slots)
  int64_t group_of(int64_t row) const { return p_.dense() ? row : row / p_.n; }
  int64_t group_begin(int64_t g) const { return p_.dense() ? g : g * p_.m; }
  int64_t group_size(int64_t g) const;
  // Dense reduction positions read by compressed rows [r0, r1): the windows of their groups.
  int64_t window_begin(int64_t r0) const { return group_begin(group_of(r0)); }
  int64_t window_end(int64_t r1) const;
  // Index metadata of compressed rows [r0, r1) of one column, in bits (bitmap: a group's bits
  // belong to the tile holding its first row).
  int64_t metadata_bits(int64_t r0, int64_t r1, IndexFormat f) const;

 private:
  int64_t k_;
  NmPattern p_;
  int64_t rows_;
};

}  // namespace codesim::arch::nm_sparse
