#include "arch/models/nm_sparse/nm_format.h"

#include <algorithm>
#include <cctype>

namespace codesim::arch::nm_sparse {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& s, const std::string& seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (seps.find(ch) != std::string::npos) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

bool parse_int(const std::string& s, int& v) {
  if (s.empty() || s.size() > 4) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return false;
  v = std::stoi(s);
  return true;
}

}  // namespace

std::string NmPattern::str() const {
  return dense() ? "dense" : std::to_string(n) + ":" + std::to_string(m);
}

bool parse_pattern(const std::string& text, NmPattern& out, std::string& error) {
  const std::string t = trim(text);
  if (t == "dense") {
    out = NmPattern{};
    return true;
  }
  const auto colon = t.find(':');
  int n = 0, m = 0;
  if (colon == std::string::npos || !parse_int(trim(t.substr(0, colon)), n) ||
      !parse_int(trim(t.substr(colon + 1)), m)) {
    error = "'" + t + "' is not a pattern N:M (e.g. 2:4) or `dense`";
    return false;
  }
  if (n < 1 || m < 2 || n >= m) {
    error = "'" + t + "' needs 1 <= N < M";
    return false;
  }
  out = NmPattern{n, m};
  return true;
}

std::string parse_pattern_list(const std::string& text, std::vector<NmPattern>& out) {
  out.clear();
  if (trim(text).empty()) return "";
  for (const std::string& item : split(text, ",;")) {
    NmPattern p;
    std::string err;
    if (!parse_pattern(item, p, err)) return err;
    if (p.dense()) continue;  // dense mode is always available
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return "";
}

std::string parse_rules(const std::string& text, std::vector<NmRule>& out) {
  out.clear();
  if (trim(text).empty()) return "";
  for (const std::string& raw : split(text, ";")) {
    const std::string item = trim(raw);
    if (item.empty()) continue;
    // The pattern follows the last '=', so a regex may contain '='.
    const auto eq = item.rfind('=');
    NmRule r;
    r.regex_text = eq == std::string::npos ? ".*" : trim(item.substr(0, eq));
    std::string err;
    if (!parse_pattern(eq == std::string::npos ? item : item.substr(eq + 1), r.pattern, err))
      return "rule '" + item + "': " + err;
    try {
      r.regex = std::regex(r.regex_text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return "rule '" + item + "': invalid regex '" + r.regex_text + "'";
    }
    out.push_back(std::move(r));
  }
  return "";
}

bool contained(const NmPattern& a, const NmPattern& b) {
  if (b.dense()) return true;
  if (a.dense()) return false;
  // b's groups are whole multiples of a's: each holds at most (b.m / a.m)·a.n non-zeros.
  if (b.m % a.m == 0) return b.n >= (b.m / a.m) * a.n;
  // b's groups lie inside one of a's: at most min(a.n, b.m) non-zeros each.
  if (a.m % b.m == 0) return b.n >= std::min(a.n, b.m);
  return false;
}

NmPattern best_supported(const NmPattern& declared, const std::vector<NmPattern>& supported) {
  NmPattern best;  // dense
  if (declared.dense()) return best;
  for (const NmPattern& p : supported) {
    if (!contained(declared, p)) continue;
    const bool better =
        best.dense() || static_cast<int64_t>(p.n) * best.m < static_cast<int64_t>(best.n) * p.m ||
        (static_cast<int64_t>(p.n) * best.m == static_cast<int64_t>(best.n) * p.m && p.m < best.m);
    if (better) best = p;
  }
  return best;
}

int index_bits(int m) {
  int b = 0;
  while ((1 << b) < m) ++b;
  return b;
}

ColumnLayout::ColumnLayout(int64_t k, NmPattern p) : k_(k), p_(p) {
  if (p_.dense()) {
    p_ = NmPattern{};
    rows_ = k;
    return;
  }
  const int64_t full = k / p.m, rest = k % p.m;
  rows_ = full * p.n + std::min<int64_t>(p.n, rest);
}

int64_t ColumnLayout::group_size(int64_t g) const {
  if (p_.dense()) return 1;
  return std::min<int64_t>(p_.m, k_ - g * p_.m);
}

int64_t ColumnLayout::window_end(int64_t r1) const {
  const int64_t g = group_of(r1 - 1);
  return group_begin(g) + group_size(g);
}

int64_t ColumnLayout::metadata_bits(int64_t r0, int64_t r1, IndexFormat f) const {
  if (p_.dense() || r1 <= r0) return 0;
  if (f == IndexFormat::kIndices) return (r1 - r0) * index_bits(p_.m);
  int64_t bits = 0;
  for (int64_t g = (r0 + p_.n - 1) / p_.n; g * p_.n < r1; ++g) bits += group_size(g);
  return bits;
}

}  // namespace codesim::arch::nm_sparse
