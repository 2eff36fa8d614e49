#include "compress/transforms/tt/contraction.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

namespace {

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

int64_t letters_size(const TensorNetwork& n, const std::string& letters) {
  int64_t p = 1;
  for (char c : letters) p *= n.sizes.at(c);
  return p;
}

std::string union_letters(const std::string& a, const std::string& b) {
  std::string u = a;
  for (char c : b)
    if (!has(u, c)) u += c;
  return u;
}

// Bit of a letter in a 64-bit index mask.
int letter_bit(char c) { return c >= 'a' && c <= 'z' ? c - 'a' : 26 + (c - 'A'); }

}  // namespace

char index_letter(int i) {
  if (i < 0 || i >= 52) throw std::invalid_argument("einsum networks have at most 52 indices");
  return i < 26 ? static_cast<char>('a' + i) : static_cast<char>('A' + i - 26);
}

int64_t ContractionPlan::macs() const {
  int64_t total = 0;
  for (const auto& s : steps) total += s.macs;
  return total;
}

std::string ContractionPlan::order_text(const TensorNetwork& n) const {
  std::vector<std::string> names;
  for (const auto& t : n.tensors) names.push_back(t.name);
  for (const auto& s : steps) names.push_back("(" + names[s.lhs] + "*" + names[s.rhs] + ")");
  if (steps.empty()) return names.empty() ? "" : names[0];
  const std::string& last = names.back();
  return last.substr(1, last.size() - 2);
}

std::string ContractionPlan::stage_macs_text() const {
  std::string s;
  for (const auto& st : steps) s += (s.empty() ? "" : " + ") + std::to_string(st.macs);
  return s;
}

void check_network(const TensorNetwork& n) {
  if (n.tensors.size() < 2) throw std::invalid_argument("a network needs at least two tensors");
  std::set<char> seen;
  for (const auto& t : n.tensors) {
    std::set<char> own;
    for (char c : t.indices) {
      if (!std::isalpha(static_cast<unsigned char>(c)))
        throw std::invalid_argument("tensor " + t.name + ": index '" + c + "' is not a letter");
      if (!own.insert(c).second)
        throw std::invalid_argument("tensor " + t.name + ": index '" + c + "' repeats");
      auto it = n.sizes.find(c);
      if (it == n.sizes.end() || it->second < 1)
        throw std::invalid_argument("index '" + std::string(1, c) + "' has no size");
      seen.insert(c);
    }
  }
  for (char c : n.output)
    if (!seen.count(c))
      throw std::invalid_argument("output index '" + std::string(1, c) + "' is in no tensor");
}

ContractionPlan plan_from_pairs(const TensorNetwork& n,
                                const std::vector<std::pair<int, int>>& pairs) {
  check_network(n);
  const int count = static_cast<int>(n.tensors.size());
  if (static_cast<int>(pairs.size()) != count - 1)
    throw std::invalid_argument("a plan of " + std::to_string(count) + " tensors has " +
                                std::to_string(count - 1) + " steps");
  std::vector<std::string> indices;
  for (const auto& t : n.tensors) indices.push_back(t.indices);
  std::vector<bool> live(count, true);
  ContractionPlan plan;
  for (size_t s = 0; s < pairs.size(); ++s) {
    const auto [a, b] = pairs[s];
    if (a == b || a < 0 || b < 0 || a >= static_cast<int>(live.size()) ||
        b >= static_cast<int>(live.size()) || !live[a] || !live[b])
      throw std::invalid_argument("step " + std::to_string(s) + " uses an operand twice");
    live[a] = live[b] = false;
    ContractionStep st;
    st.lhs = a;
    st.rhs = b;
    st.lhs_indices = indices[a];
    st.rhs_indices = indices[b];
    const std::string all = union_letters(indices[a], indices[b]);
    st.macs = letters_size(n, all);
    if (s + 1 == pairs.size()) {
      for (char c : n.output)
        if (!has(all, c))
          throw std::invalid_argument("output index '" + std::string(1, c) + "' was summed early");
      st.out_indices = n.output;
    } else {
      std::string others = n.output;
      for (size_t i = 0; i < live.size(); ++i)
        if (live[i]) others += indices[i];
      for (char c : all)
        if (has(others, c)) st.out_indices += c;
    }
    indices.push_back(st.out_indices);
    live.push_back(true);
    plan.steps.push_back(st);
  }
  return plan;
}

ContractionPlan plan_left_to_right(const TensorNetwork& n) {
  std::vector<std::pair<int, int>> pairs;
  const int count = static_cast<int>(n.tensors.size());
  for (int i = 1; i < count; ++i) pairs.emplace_back(i == 1 ? 0 : count + i - 2, i);
  return plan_from_pairs(n, pairs);
}

namespace {

// Exact DP over subsets. cost[S] is the cheapest way to contract the tensors of S into one.
std::vector<std::pair<int, int>> exact_pairs(const TensorNetwork& n) {
  const int count = static_cast<int>(n.tensors.size());
  const uint32_t full = (1u << count) - 1;
  std::vector<uint64_t> own(count, 0);
  for (int i = 0; i < count; ++i)
    for (char c : n.tensors[i].indices) own[i] |= uint64_t{1} << letter_bit(c);
  uint64_t out_mask = 0;
  for (char c : n.output) out_mask |= uint64_t{1} << letter_bit(c);
  std::vector<double> log_size(64, 0.0);
  for (const auto& [c, s] : n.sizes) log_size[letter_bit(c)] = std::log(static_cast<double>(s));

  // letters[S]: indices of S's tensors; idx[S]: indices of S contracted into one tensor.
  std::vector<uint64_t> letters(full + 1, 0), idx(full + 1, 0);
  std::vector<double> idx_log(full + 1, 0.0);
  for (uint32_t s = 1; s <= full; ++s) {
    const int low = __builtin_ctz(s);
    letters[s] = letters[s & (s - 1)] | own[low];
  }
  const auto mask_log = [&](uint64_t m) {
    double l = 0;
    for (; m; m &= m - 1) l += log_size[__builtin_ctzll(m)];
    return l;
  };
  for (uint32_t s = 1; s <= full; ++s) {
    idx[s] = (s & (s - 1)) == 0 ? letters[s] : letters[s] & (letters[full & ~s] | out_mask);
    idx_log[s] = mask_log(idx[s]);
  }
  // Costs in the log domain would lose the sum; keep them as doubles of the MAC counts.
  std::vector<double> cost(full + 1, std::numeric_limits<double>::infinity());
  std::vector<uint32_t> split(full + 1, 0);
  for (int i = 0; i < count; ++i) cost[1u << i] = 0;
  for (uint32_t s = 1; s <= full; ++s) {
    if ((s & (s - 1)) == 0) continue;
    const uint32_t low = s & (~s + 1);
    // Subsets containing the lowest tensor enumerate every unordered split once.
    for (uint32_t a = (s - 1) & s; a; a = (a - 1) & s) {
      if (!(a & low)) continue;
      const uint32_t b = s ^ a;
      const double base = cost[a] + cost[b];
      if (base >= cost[s]) continue;
      const double step = std::exp(idx_log[a] + idx_log[b] - mask_log(idx[a] & idx[b]));
      if (base + step < cost[s]) {
        cost[s] = base + step;
        split[s] = a;
      }
    }
  }
  std::vector<std::pair<int, int>> pairs;
  // Post-order: both halves first; the half holding the lower-numbered tensor (X) goes left.
  std::function<int(uint32_t)> build = [&](uint32_t s) -> int {
    if ((s & (s - 1)) == 0) return __builtin_ctz(s);
    const int a = build(split[s]);
    const int b = build(s ^ split[s]);
    pairs.emplace_back(a, b);
    return count + static_cast<int>(pairs.size()) - 1;
  };
  build(full);
  return pairs;
}

// Greedy for large networks: contract the connected pair whose step is cheapest.
std::vector<std::pair<int, int>> greedy_pairs(const TensorNetwork& n) {
  const int count = static_cast<int>(n.tensors.size());
  std::vector<std::string> indices;
  for (const auto& t : n.tensors) indices.push_back(t.indices);
  std::vector<int> live;
  for (int i = 0; i < count; ++i) live.push_back(i);
  std::vector<std::pair<int, int>> pairs;
  while (live.size() > 1) {
    double best = std::numeric_limits<double>::infinity();
    bool best_connected = false;
    size_t bi = 0, bj = 1;
    for (size_t i = 0; i < live.size(); ++i)
      for (size_t j = i + 1; j < live.size(); ++j) {
        const std::string& a = indices[live[i]];
        const std::string& b = indices[live[j]];
        bool connected = false;
        for (char c : a) connected = connected || has(b, c);
        const double c = static_cast<double>(letters_size(n, union_letters(a, b)));
        if ((connected && !best_connected) || (connected == best_connected && c < best)) {
          best = c;
          best_connected = connected;
          bi = i;
          bj = j;
        }
      }
    const int a = live[bi], b = live[bj];
    std::string others = n.output;
    for (size_t i = 0; i < live.size(); ++i)
      if (i != bi && i != bj) others += indices[live[i]];
    std::string out;
    for (char c : union_letters(indices[a], indices[b]))
      if (has(others, c)) out += c;
    pairs.emplace_back(a, b);
    indices.push_back(out);
    live.erase(live.begin() + static_cast<long>(bj));
    live.erase(live.begin() + static_cast<long>(bi));
    live.push_back(static_cast<int>(indices.size()) - 1);
  }
  return pairs;
}

}  // namespace

ContractionPlan plan_min_macs(const TensorNetwork& n) {
  check_network(n);
  ContractionPlan naive = plan_left_to_right(n);
  const int count = static_cast<int>(n.tensors.size());
  ContractionPlan best =
      plan_from_pairs(n, count <= kMaxExactTensors ? exact_pairs(n) : greedy_pairs(n));
  // The DP optimum is exact up to double rounding of near-equal costs; the guard keeps the
  // promise of never being worse than left to right in integer MACs either way.
  return best.macs() <= naive.macs() ? best : naive;
}

std::vector<ir::v1::Op> emit_einsum_ops(ir::v1::Workload& w, const TensorNetwork& n,
                                        const ContractionPlan& plan,
                                        const std::vector<std::string>& tensor_names,
                                        const std::string& output, const std::string& prefix) {
  if (tensor_names.size() != n.tensors.size())
    throw std::invalid_argument("emit_einsum_ops: one IR tensor per network tensor");
  std::vector<std::string> names = tensor_names;
  std::vector<ir::v1::Op> ops;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const ContractionStep& st = plan.steps[s];
    const bool last = s + 1 == plan.steps.size();
    std::string out = last ? output : unique_tensor_name(w, prefix + ".t" + std::to_string(s));
    if (!ir::find_tensor(w, out)) {
      ir::v1::Tensor t;
      t.set_name(out);
      for (char c : st.out_indices) t.add_shape(n.sizes.at(c));
      t.set_dtype(ir::v1::FLOAT32);
      t.set_bits(32);
      add_tensor(w, std::move(t));
    }
    ir::v1::Op op;
    op.set_name(prefix + ".c" + std::to_string(s));
    op.add_inputs(names[st.lhs]);
    op.add_inputs(names[st.rhs]);
    op.add_outputs(out);
    auto* e = op.mutable_einsum();
    e->set_equation(st.lhs_indices + "," + st.rhs_indices + "->" + st.out_indices);
    for (char c : union_letters(st.lhs_indices, st.rhs_indices)) {
      auto* ix = e->add_indices();
      ix->set_name(std::string(1, c));
      ix->set_size(n.sizes.at(c));
    }
    names.push_back(out);
    ops.push_back(std::move(op));
  }
  return ops;
}

}  // namespace codesim::compress
