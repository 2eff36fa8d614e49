#include "workloads/yaml/workload_yaml.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>
#include <vector>

#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"
#include "workloads/zoo/builder.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

using sim::Diagnostics;
using sim::join_path;

// ---- declaration of the op keys ----

enum class KeyType {
  kInt,
  kPair,     // n or [h, w]
  kPads,     // p, [ph, pw] or [top, bottom, left, right]
  kLengths,  // n or [n1, n2]
  kBool,
  kEnum,
  kString,
  kSizes,  // map of one-letter index names to sizes
};

struct OpKey {
  std::string name;
  KeyType type = KeyType::kInt;
  std::string def;       // YAML text of the default; empty when required or computed
  std::string computed;  // how a computed default follows from other keys
  int64_t min = 0;       // lower bound of every integer in the value
  std::vector<std::string> choices;
  std::string doc;
  bool required() const { return def.empty() && computed.empty(); }
};

class OpArgs;
using BuildFn = void (*)(const std::string& op, OpArgs& args, WorkloadBuilder& b);

struct OpKind {
  std::string name;
  std::string doc;
  std::vector<OpKey> keys;
  BuildFn build;
};

OpKey integer(const std::string& name, const std::string& def, int64_t min,
              const std::string& doc) {
  OpKey k;
  k.name = name;
  k.def = def;
  k.min = min;
  k.doc = doc;
  return k;
}

OpKey typed(const std::string& name, KeyType type, const std::string& def, int64_t min,
            const std::string& doc) {
  OpKey k = integer(name, def, min, doc);
  k.type = type;
  return k;
}

OpKey computed(OpKey k, const std::string& how) {
  k.def.clear();
  k.computed = how;
  return k;
}

OpKey flag(const std::string& name, const std::string& def, const std::string& doc) {
  return typed(name, KeyType::kBool, def, 0, doc);
}

OpKey one_of(const std::string& name, const std::vector<std::string>& choices,
             const std::string& doc) {
  OpKey k = typed(name, KeyType::kEnum, "", 0, doc);
  k.choices = choices;
  return k;
}

// ---- parsed values of one op ----

struct Value {
  std::vector<int64_t> ints;
  bool flag = false;
  std::string text;
  std::vector<std::pair<std::string, int64_t>> sizes;
};

// The keys of one op after parsing, with their nodes for error locations.
class OpArgs {
 public:
  OpArgs(const YAML::Node& map, const std::string& file, const std::string& path,
         Diagnostics& diags)
      : map_(map), file_(file), path_(path), diags_(diags) {}

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  int64_t i(const std::string& key) const { return values_.at(key).ints.at(0); }
  const std::vector<int64_t>& ints(const std::string& key) const { return values_.at(key).ints; }
  bool b(const std::string& key) const { return values_.at(key).flag; }
  const std::string& s(const std::string& key) const { return values_.at(key).text; }
  const std::vector<std::pair<std::string, int64_t>>& sizes(const std::string& key) const {
    return values_.at(key).sizes;
  }

  // Records an error at the key's node (or the op's map when the key is absent).
  void error(const std::string& key, const std::string& message, const std::string& hint = "") {
    const YAML::Node at = (map_.IsMap() && map_[key]) ? map_[key] : map_;
    diags_.error_at(file_, at, join_path(path_, key), message, hint);
    ++errors_;
  }
  int errors() const { return errors_; }

  // Parses every declared key (defaults for absent optional ones) and rejects unknown keys.
  void parse(const OpKind& kind);

 private:
  void parse_key(const OpKey& key, const YAML::Node& node, const std::string& file);
  bool read_int_at(const YAML::Node& n, const std::string& file, const std::string& path,
                   const OpKey& key, int64_t& out);
  void fail(const std::string& file, const YAML::Node& n, const std::string& path,
            const std::string& message, const std::string& hint = "") {
    diags_.error_at(file, n, path, message, hint);
    ++errors_;
  }

  const YAML::Node map_;
  std::string file_;
  std::string path_;
  Diagnostics& diags_;
  int errors_ = 0;
  std::map<std::string, Value> values_;
};

bool OpArgs::read_int_at(const YAML::Node& n, const std::string& file, const std::string& path,
                         const OpKey& key, int64_t& out) {
  if (!sim::read_int(n, file, path, diags_, out)) {
    ++errors_;
    return false;
  }
  if (out < key.min) {
    fail(file, n, path,
         "must be >= " + std::to_string(key.min) + " (is " + std::to_string(out) + ")");
    return false;
  }
  return true;
}

void OpArgs::parse_key(const OpKey& key, const YAML::Node& n, const std::string& file) {
  const std::string path = join_path(path_, key.name);
  Value v;
  // Integers given either as one scalar or as a list whose allowed lengths depend on the type.
  auto ints = [&](const std::vector<size_t>& lengths, const std::string& form) {
    if (n.IsScalar()) {
      int64_t x = 0;
      if (!read_int_at(n, file, path, key, x)) return false;
      v.ints.assign(key.type == KeyType::kLengths ? 1 : lengths.back(), x);
      return true;
    }
    bool length_ok = false;
    for (size_t len : lengths) length_ok |= n.IsSequence() && n.size() == len;
    if (!length_ok) {
      fail(file, n, path, "expected " + form);
      return false;
    }
    bool ok = true;
    for (size_t j = 0; j < n.size(); ++j) {
      int64_t x = 0;
      ok &= read_int_at(n[j], file, path + "[" + std::to_string(j) + "]", key, x);
      v.ints.push_back(x);
    }
    return ok;
  };
  bool ok = true;
  switch (key.type) {
    case KeyType::kInt: {
      int64_t x = 0;
      ok = read_int_at(n, file, path, key, x);
      v.ints = {x};
      break;
    }
    case KeyType::kPair:
      ok = ints({2}, "an integer or [h, w]");
      break;
    case KeyType::kPads:
      ok = ints({2, 4}, "an integer, [h, w] or [top, bottom, left, right]");
      // [h, w] means top = bottom = h and left = right = w.
      if (ok && v.ints.size() == 2) v.ints = {v.ints[0], v.ints[0], v.ints[1], v.ints[1]};
      break;
    case KeyType::kLengths:
      ok = ints({1, 2}, "an integer or a list of one or two integers");
      break;
    case KeyType::kBool:
      ok = sim::read_bool(n, file, path, diags_, v.flag);
      if (!ok) ++errors_;
      break;
    case KeyType::kString:
      ok = sim::read_string(n, file, path, diags_, v.text);
      if (!ok) ++errors_;
      break;
    case KeyType::kEnum: {
      ok = sim::read_string(n, file, path, diags_, v.text);
      if (!ok) {
        ++errors_;
        break;
      }
      bool known = false;
      for (const auto& c : key.choices) known |= c == v.text;
      if (!known) {
        std::string all;
        for (const auto& c : key.choices) all += (all.empty() ? "" : ", ") + c;
        fail(file, n, path, "'" + v.text + "' is not one of {" + all + "}",
             sim::did_you_mean(v.text, key.choices));
        ok = false;
      }
      break;
    }
    case KeyType::kSizes:
      if (!n.IsMap()) {
        fail(file, n, path, "expected a map of index sizes", "e.g. {a: 4, b: 8}");
        ok = false;
        break;
      }
      for (const auto& kv : n) {
        const std::string letter = kv.first.Scalar();
        const std::string item = join_path(path, letter);
        if (letter.size() != 1 || !std::isalpha(static_cast<unsigned char>(letter[0]))) {
          fail(file, kv.first, item, "an index name must be one letter");
          ok = false;
          continue;
        }
        int64_t x = 0;
        if (read_int_at(kv.second, file, item, key, x))
          v.sizes.emplace_back(letter, x);
        else
          ok = false;
      }
      break;
  }
  if (ok) values_[key.name] = v;
}

void OpArgs::parse(const OpKind& kind) {
  if (!map_.IsNull() && !map_.IsMap()) {
    diags_.error_at(file_, map_, path_, "expected a map of " + kind.name + " keys");
    ++errors_;
    return;
  }
  std::vector<std::string> names;
  for (const auto& k : kind.keys) names.push_back(k.name);
  const size_t before = diags_.size();
  sim::check_keys(map_, file_, path_, names, diags_);
  errors_ += static_cast<int>(diags_.size() - before);
  for (const auto& k : kind.keys) {
    const YAML::Node n = map_.IsMap() ? map_[k.name] : YAML::Node();
    if (n && !n.IsNull()) {
      parse_key(k, n, file_);
    } else if (!k.def.empty()) {
      parse_key(k, YAML::Load(k.def), "<default>");
    } else if (k.required()) {
      error(k.name, "missing required key", "add `" + k.name + ":` (" + k.doc + ")");
    }
  }
}

// ---- building one op of each kind ----

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

void build_gemm(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  const int64_t batch = a.i("batch"), m = a.i("m"), n = a.i("n"), k = a.i("k");
  if (a.b("bias") && !a.b("weight"))
    a.error("bias", "a bias needs B to be a weight", "set weight: true or remove bias");
  if (a.errors()) return;
  const Shape a_shape = batch > 1 ? Shape{batch, m, k} : Shape{m, k};
  if (a.b("weight")) {
    b.linear(op, b.input(op + ".in", a_shape), batch, m, n, k, a.b("bias"));
  } else {
    b.matmul(op, b.input(op + ".in0", a_shape), b.input(op + ".in1", {batch, k, n}), batch, m, n,
             k);
  }
}

void build_conv2d(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  ir::v1::Conv2d c;
  c.set_batch(a.i("batch"));
  c.set_h(a.i("h"));
  c.set_w(a.i("w"));
  c.set_c(a.i("c"));
  c.set_filters(a.i("filters"));
  c.set_kernel_h(a.ints("kernel")[0]);
  c.set_kernel_w(a.ints("kernel")[1]);
  c.set_stride_h(a.ints("stride")[0]);
  c.set_stride_w(a.ints("stride")[1]);
  c.set_pad_top(a.ints("padding")[0]);
  c.set_pad_bottom(a.ints("padding")[1]);
  c.set_pad_left(a.ints("padding")[2]);
  c.set_pad_right(a.ints("padding")[3]);
  c.set_dilation_h(a.ints("dilation")[0]);
  c.set_dilation_w(a.ints("dilation")[1]);
  c.set_groups(a.i("groups"));
  if (c.c() % c.groups() != 0 || c.filters() % c.groups() != 0)
    a.error("groups", "must divide c (" + std::to_string(c.c()) + ") and filters (" +
                          std::to_string(c.filters()) + ")");
  const int64_t oh = ir::conv_out_dim(c.h(), c.kernel_h(), c.stride_h(), c.pad_top(),
                                      c.pad_bottom(), c.dilation_h());
  const int64_t ow = ir::conv_out_dim(c.w(), c.kernel_w(), c.stride_w(), c.pad_left(),
                                      c.pad_right(), c.dilation_w());
  if (oh < 1 || ow < 1)
    a.error("kernel", "the (dilated) kernel is larger than the padded input " +
                          std::to_string(c.h()) + "x" + std::to_string(c.w()));
  if (a.errors()) return;
  b.conv2d(op, b.input(op + ".in", {c.batch(), c.c(), c.h(), c.w()}), c, a.b("bias"));
}

void build_butterfly(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  ir::v1::Butterfly s;
  s.set_batch(a.i("batch"));
  s.set_length(a.i("length"));
  s.set_stacks(a.i("stacks"));
  if (!is_pow2(s.length())) {
    a.error("length", "must be a power of two (is " + std::to_string(s.length()) + ")",
            "pad the vectors to " + std::to_string(pow2_ceil(s.length())));
    return;
  }
  s.set_stages(a.has("stages") ? a.i("stages") : log2_exact(s.length()));
  if (s.stages() > log2_exact(s.length()))
    a.error("stages", "must be <= log2(length) = " + std::to_string(log2_exact(s.length())));
  if (a.errors()) return;
  b.butterfly(op, b.input(op + ".in", {s.batch(), s.length()}), s, s.stacks() * s.length());
}

void build_fft(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  ir::v1::Fft f;
  f.set_batch(a.i("batch"));
  f.set_real_input(a.b("real_input"));
  f.set_real_output(a.b("real_output"));
  f.set_inverse(a.b("inverse"));
  Shape shape = {f.batch()};
  for (int64_t n : a.ints("lengths")) {
    if (!is_pow2(n))
      a.error("lengths", "every length must be a power of two (one is " + std::to_string(n) + ")",
              "zero-pad to " + std::to_string(pow2_ceil(n)));
    f.add_lengths(n);
    shape.push_back(n);
  }
  if (a.errors()) return;
  b.fft(op, b.input(op + ".in", shape), f);
}

void build_einsum(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  const std::string& eq = a.s("equation");
  const size_t comma = eq.find(',');
  const size_t arrow = eq.find("->");
  bool form_ok = comma != std::string::npos && arrow != std::string::npos && comma < arrow &&
                 eq.find(',', comma + 1) == std::string::npos;
  std::string letters;
  for (char ch : eq) {
    if (std::isalpha(static_cast<unsigned char>(ch))) {
      if (letters.find(ch) == std::string::npos) letters += ch;
    } else if (ch != ',' && ch != '-' && ch != '>' && ch != ' ') {
      form_ok = false;
    }
  }
  if (!form_ok) {
    a.error("equation", "expected two operands and an output, like 'ab,bc->ac'");
    return;
  }
  std::map<char, int64_t> size_of;
  for (const auto& [name, size] : a.sizes("sizes")) size_of[name[0]] = size;
  ir::v1::Einsum e;
  e.set_equation(eq);
  for (char ch : letters) {
    if (!size_of.count(ch)) {
      a.error("sizes", std::string("index '") + ch + "' of the equation has no size");
      continue;
    }
    auto* ix = e.add_indices();
    ix->set_name(std::string(1, ch));
    ix->set_size(size_of[ch]);
  }
  for (const auto& [ch, size] : size_of)
    if (letters.find(ch) == std::string::npos)
      a.error("sizes", std::string("index '") + ch + "' does not appear in the equation");
  if (a.errors()) return;
  const std::string lhs = b.input(op + ".in0", einsum_shape(e, 0));
  const std::string rhs = a.b("weight") ? b.weight(op, "weight", einsum_shape(e, 1))
                                        : b.input(op + ".in1", einsum_shape(e, 1));
  b.einsum(op, lhs, rhs, e);
}

void build_softmax(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  const int64_t rows = a.i("rows"), length = a.i("length");
  b.softmax(op, b.input(op + ".in", {rows, length}), rows, length);
}

void build_layernorm(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  const int64_t rows = a.i("rows"), length = a.i("length");
  b.layernorm(op, b.input(op + ".in", {rows, length}), rows, length);
}

ir::v1::EltwiseFunc eltwise_func(const std::string& name) {
  static const std::map<std::string, ir::v1::EltwiseFunc> funcs = {
      {"add", ir::v1::ADD},         {"mul", ir::v1::MUL},     {"sub", ir::v1::SUB},
      {"relu", ir::v1::RELU},       {"relu6", ir::v1::RELU6}, {"gelu", ir::v1::GELU},
      {"sigmoid", ir::v1::SIGMOID}, {"tanh", ir::v1::TANH},   {"hardswish", ir::v1::HARDSWISH}};
  return funcs.at(name);
}

void build_eltwise(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  const std::string& func = a.s("func");
  const int64_t n = a.i("elements");
  const bool binary = func == "add" || func == "mul" || func == "sub";
  const std::vector<std::string> inputs =
      binary ? std::vector<std::string>{b.input(op + ".in0", {n}), b.input(op + ".in1", {n})}
             : std::vector<std::string>{b.input(op + ".in", {n})};
  b.eltwise(op, eltwise_func(func), inputs);
}

void build_pool(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  ir::v1::Pool p;
  const std::string& kind = a.s("kind");
  p.set_kind(kind == "max" ? ir::v1::MAX : kind == "avg" ? ir::v1::AVG : ir::v1::GLOBAL_AVG);
  p.set_batch(a.i("batch"));
  p.set_h(a.i("h"));
  p.set_w(a.i("w"));
  p.set_c(a.i("c"));
  if (p.kind() == ir::v1::GLOBAL_AVG) {
    for (const char* key : {"kernel", "stride"})
      if (a.has(key)) a.error(key, "global_avg pools the whole input", "remove this key");
    if (a.ints("padding") != std::vector<int64_t>{0, 0})
      a.error("padding", "global_avg pools the whole input", "remove this key");
  } else if (!a.has("kernel")) {
    a.error("kernel", "missing required key", "add `kernel:` (" + kind + " pooling window)");
  } else {
    const auto& k = a.ints("kernel");
    const auto& s = a.has("stride") ? a.ints("stride") : k;
    p.set_kernel_h(k[0]);
    p.set_kernel_w(k[1]);
    p.set_stride_h(s[0]);
    p.set_stride_w(s[1]);
    p.set_pad_h(a.ints("padding")[0]);
    p.set_pad_w(a.ints("padding")[1]);
    if (ir::conv_out_dim(p.h(), k[0], s[0], p.pad_h(), p.pad_h(), 1) < 1 ||
        ir::conv_out_dim(p.w(), k[1], s[1], p.pad_w(), p.pad_w(), 1) < 1)
      a.error("kernel", "the window is larger than the padded input " + std::to_string(p.h()) +
                            "x" + std::to_string(p.w()));
  }
  if (a.errors()) return;
  b.pool(op, b.input(op + ".in", {p.batch(), p.c(), p.h(), p.w()}), p);
}

void build_lstm_cell(const std::string& op, OpArgs& a, WorkloadBuilder& b) {
  ir::v1::LstmCell l;
  l.set_batch(a.i("batch"));
  l.set_input_size(a.i("input_size"));
  l.set_hidden_size(a.i("hidden_size"));
  l.set_steps(a.i("steps"));
  b.lstm_cell(op, b.input(op + ".in", {l.steps(), l.batch(), l.input_size()}), l, a.b("bias"));
}

const std::vector<OpKind>& op_kinds() {
  const OpKey batch = integer("batch", "1", 1, "independent instances");
  static const std::vector<OpKind> kinds = {
      {"gemm",
       "Matrix product `out[batch, m, n] = A[batch, m, k] · B[k, n]` (B a weight) or "
       "`· B[batch, k, n]` (B an activation).",
       {integer("m", "", 1, "rows of A and of the output"),
        integer("n", "", 1, "columns of B and of the output"),
        integer("k", "", 1, "reduction length"), integer("batch", "1", 1, "independent products"),
        flag("weight", "true", "B is a weight [k, n] shared by the batch; false: an activation"),
        flag("bias", "false", "add a bias weight [n] (needs weight: true)")},
       build_gemm},
      {"conv2d",
       "2-D convolution over an NCHW input; weight [filters, c/groups, kh, kw].",
       {integer("h", "", 1, "input height"), integer("w", "", 1, "input width"),
        integer("c", "", 1, "input channels"), integer("filters", "", 1, "output channels"),
        typed("kernel", KeyType::kPair, "", 1, "kernel size"),
        typed("stride", KeyType::kPair, "1", 1, "stride"),
        typed("padding", KeyType::kPads, "0", 0, "zero padding"),
        typed("dilation", KeyType::kPair, "1", 1, "kernel dilation"),
        integer("groups", "1", 1, "channel groups (c for depthwise)"), batch,
        flag("bias", "false", "add a bias weight [filters]")},
       build_conv2d},
      {"butterfly",
       "Butterfly transform of power-of-two vectors: `stages` stages of length/2 2x2 blocks "
       "(twiddles [stacks, stages, length/2, 2, 2]); output [batch, stacks·length].",
       {integer("length", "", 2, "vector length, a power of two"),
        computed(integer("stages", "", 1, "butterfly stages, at most log2(length)"),
                 "log2(length)"),
        integer("stacks", "1", 1, "stacked butterflies (wider output)"),
        integer("batch", "1", 1, "vectors transformed")},
       build_butterfly},
      {"fft",
       "Radix-2 FFT, 1-D or 2-D, over power-of-two lengths.",
       {typed("lengths", KeyType::kLengths, "", 2, "transform length(s), powers of two"),
        flag("real_input", "false", "the input is real"),
        flag("real_output", "false", "keep only the real part of the output"),
        flag("inverse", "false", "inverse transform"), batch},
       build_fft},
      {"einsum",
       "Two-operand tensor contraction; operand shapes follow the equation.",
       {typed("equation", KeyType::kString, "", 0, "e.g. \"ab,bc->ac\""),
        typed("sizes", KeyType::kSizes, "", 1, "size of every index letter, e.g. {a: 4, b: 8}"),
        flag("weight", "true", "the second operand is a weight; false: an activation")},
       build_einsum},
      {"softmax",
       "Softmax over rows.",
       {integer("rows", "", 1, "rows normalised independently"),
        integer("length", "", 1, "elements per row")},
       build_softmax},
      {"layernorm",
       "Layer normalisation over rows, with scale and shift weights [length].",
       {integer("rows", "", 1, "rows normalised independently"),
        integer("length", "", 1, "elements per row")},
       build_layernorm},
      {"eltwise",
       "Element-wise function; add, mul and sub take two inputs.",
       {one_of("func",
               {"add", "mul", "sub", "relu", "relu6", "gelu", "sigmoid", "tanh", "hardswish"},
               "the function"),
        integer("elements", "", 1, "elements of the output")},
       build_eltwise},
      {"pool",
       "Pooling over an NCHW input.",
       {one_of("kind", {"max", "avg", "global_avg"}, "pooling function"),
        integer("h", "", 1, "input height"), integer("w", "", 1, "input width"),
        integer("c", "", 1, "channels"),
        computed(typed("kernel", KeyType::kPair, "", 1, "window size"),
                 "required unless global_avg"),
        computed(typed("stride", KeyType::kPair, "", 1, "window stride"), "kernel"),
        typed("padding", KeyType::kPair, "0", 0, "zero padding [h, w]"), batch},
       build_pool},
      {"lstm_cell",
       "LSTM cell run for `steps` time steps with the same weights (gates i, f, g, o).",
       {integer("input_size", "", 1, "input features per step"),
        integer("hidden_size", "", 1, "hidden state size"), integer("steps", "1", 1, "time steps"),
        integer("batch", "1", 1, "sequences"),
        flag("bias", "false", "add a bias weight [4·hidden_size]")},
       build_lstm_cell},
  };
  return kinds;
}

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (const auto& k : op_kinds()) names.push_back(k.name);
  return names;
}

const OpKind* find_kind(const std::string& name) {
  for (const auto& k : op_kinds())
    if (k.name == name) return &k;
  return nullptr;
}

// ---- mapping ir::validate problems back to YAML ----

// "ops[3].conv2d.stride_h: must be >= 1" -> {"ops[3].conv2d.stride_h", "must be >= 1"}.
std::pair<std::string, std::string> split_problem(const std::string& problem) {
  const size_t colon = problem.find(": ");
  if (colon == std::string::npos) return {"", problem};
  return {problem.substr(0, colon), problem.substr(colon + 2)};
}

// Index in "ops[12]..." / "tensors[4]..." after `prefix`, or -1.
int index_after(const std::string& path, const std::string& prefix) {
  if (path.compare(0, prefix.size(), prefix) != 0) return -1;
  return std::atoi(path.c_str() + prefix.size());
}

// The YAML key an IR field of an op kind comes from (stride_h <- stride, pad_top <- padding).
std::string yaml_key_of(const std::string& field) {
  const std::string stem = field.substr(0, field.find_first_of("_["));
  if (stem == "pad") return "padding";
  if (stem == "indices") return "sizes";
  return stem;
}

struct Location {
  YAML::Node node;
  std::string path;
};

// Where the YAML of an ops list defines an IR field: the key's node when the field maps to a
// key the user wrote, else the op's kind map, else the op. (Nodes are never reassigned here:
// assigning a YAML::Node rebinds the node it refers to, which would alter the document.)
Location locate_op_field(const YAML::Node& op_node, const ir::v1::Op& op, int index,
                         const std::string& ir_path, const std::string& path) {
  const std::string op_path = "ops[" + std::to_string(index) + "]";
  const std::string kind = ir::op_kind(op);
  const std::string kind_path = op_path + "." + kind + ".";
  if (ir_path.compare(0, kind_path.size(), kind_path) != 0 || !op_node[kind])
    return {op_node, join_path(path, ir_path)};
  const std::string key = yaml_key_of(ir_path.substr(kind_path.size()));
  if (op_node[kind].IsMap() && op_node[kind][key])
    return {op_node[kind][key], join_path(path, kind_path + key)};
  return {op_node[kind], join_path(path, ir_path)};
}

void report_validation(const ir::v1::Workload& w, const YAML::Node& node,
                       const std::vector<YAML::Node>& op_nodes, const std::string& file,
                       const std::string& path, Diagnostics& diags) {
  for (const auto& problem : ir::validate(w)) {
    auto [ir_path, message] = split_problem(problem);
    int op = index_after(ir_path, "ops[");
    const int t = index_after(ir_path, "tensors[");
    std::string op_ir_path = ir_path;
    if (t >= 0 && t < w.tensors_size()) {
      // A tensor problem belongs to the op that reads or writes the tensor.
      const std::string& name = w.tensors(t).name();
      message = "tensor '" + name + "': " + ir_path.substr(ir_path.find(']') + 2) + ": " + message;
      for (int i = 0; i < w.ops_size() && op < 0; ++i) {
        for (const auto& in : w.ops(i).inputs()) op = in == name ? i : op;
        for (const auto& out : w.ops(i).outputs()) op = out == name ? i : op;
      }
      if (op >= 0) op_ir_path = "ops[" + std::to_string(op) + "]";
    }
    if (op >= 0 && op < static_cast<int>(op_nodes.size())) {
      const Location at = locate_op_field(op_nodes[op], w.ops(op), op, op_ir_path, path);
      diags.error_at(file, at.node, at.path, message);
    } else {
      diags.error_at(file, node, join_path(path, op_ir_path), message);
    }
  }
}

// ---- the two forms of a workload ----

ir::v1::Workload workload_from_ops(const YAML::Node& node, const std::string& file,
                                   const std::string& path, Diagnostics& diags) {
  const size_t before = diags.size();
  sim::check_keys(node, file, path, {"name", "ops"}, diags);
  std::string name = std::filesystem::path(file).stem().string();
  if (node["name"]) sim::read_string(node["name"], file, join_path(path, "name"), diags, name);
  if (name.empty()) name = "workload";
  WorkloadBuilder builder(name);

  const YAML::Node ops = node["ops"];
  const std::string ops_path = join_path(path, "ops");
  if (!ops.IsSequence() || ops.size() == 0) {
    diags.error_at(file, ops, ops_path, "expected a non-empty list of ops",
                   "e.g. ops: [{name: l0, gemm: {m: 64, n: 64, k: 64}}]");
    return ir::v1::Workload();
  }
  std::vector<YAML::Node> op_nodes;
  std::map<std::string, size_t> first_use;
  for (size_t i = 0; i < ops.size(); ++i) {
    const YAML::Node op = ops[i];
    op_nodes.push_back(op);
    const std::string op_path = ops_path + "[" + std::to_string(i) + "]";
    if (!op.IsMap()) {
      diags.error_at(file, op, op_path, "expected a map with `name:` and one op kind",
                     "e.g. {name: l0, gemm: {m: 64, n: 64, k: 64}}");
      continue;
    }
    const size_t op_before = diags.size();
    std::vector<std::string> known = kind_names();
    known.insert(known.begin(), "name");
    sim::check_keys(op, file, op_path, known, diags);

    // Unnamed ops are called op<index>.
    std::string op_name = "op" + std::to_string(i);
    const std::string name_path = join_path(op_path, "name");
    if (op["name"] && sim::read_string(op["name"], file, name_path, diags, op_name) &&
        op_name.empty())
      diags.error_at(file, op["name"], name_path, "must not be empty");
    auto [it, fresh] = first_use.emplace(op_name, i);
    if (!fresh)
      diags.error_at(file, op["name"] ? op["name"] : op, name_path,
                     "duplicate op name '" + op_name + "'",
                     "ops[" + std::to_string(it->second) + "] has the same name");

    const OpKind* kind = nullptr;
    for (const auto& kv : op) {
      const OpKind* k = find_kind(kv.first.Scalar());
      if (!k) continue;
      if (kind) {
        diags.error_at(file, kv.first, join_path(op_path, k->name),
                       "op has two kinds ('" + kind->name + "' and '" + k->name + "')",
                       "give each op one kind; split it into two ops");
        continue;
      }
      kind = k;
    }
    if (!kind) {
      std::string all;
      for (const auto& k : kind_names()) all += (all.empty() ? "" : ", ") + k;
      diags.error_at(file, op, op_path, "op has no kind", "add one of: " + all);
      continue;
    }
    OpArgs args(op[kind->name], file, join_path(op_path, kind->name), diags);
    args.parse(*kind);
    // Build only a fully valid op: the builder's shapes need every value, and the names must
    // be unique.
    if (diags.size() != op_before) continue;
    kind->build(op_name, args, builder);
  }
  if (diags.size() != before) return ir::v1::Workload();
  ir::v1::Workload w = builder.finish();
  for (const auto& op : w.ops()) w.add_outputs(op.outputs(0));
  report_validation(w, node, op_nodes, file, path, diags);
  return w;
}

}  // namespace

ir::v1::Workload workload_from_yaml(const YAML::Node& node, const std::string& file,
                                    const std::string& path, Diagnostics& diags) {
  const std::string hint = "e.g. {zoo: bert, seq_len: 128} or {name: n, ops: [...]}";
  if (!node || !node.IsMap()) {
    diags.error_at(file, node, path, "expected a map with `zoo:` or `ops:`", hint);
    return ir::v1::Workload();
  }
  if (node["zoo"] && node["ops"]) {
    diags.error_at(file, node["ops"], join_path(path, "ops"),
                   "a workload is either a zoo model or a list of ops, not both",
                   "remove `zoo:` or `ops:`");
    return ir::v1::Workload();
  }
  if (node["ops"]) return workload_from_ops(node, file, path, diags);
  if (!node["zoo"]) {
    sim::check_keys(node, file, path, {"zoo", "name", "ops"}, diags);
    diags.error_at(file, node, path, "missing `zoo:` or `ops:`", hint);
    return ir::v1::Workload();
  }
  std::string name;
  if (!sim::read_string(node["zoo"], file, join_path(path, "zoo"), diags, name))
    return ir::v1::Workload();
  const size_t before = diags.size();
  ir::v1::Workload w = build_zoo(name, node, file, path, diags);
  if (diags.size() == before) report_validation(w, node, {}, file, path, diags);
  return w;
}

ir::v1::Workload load_workload(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  Diagnostics diags;
  ir::v1::Workload w;
  if (ext == ".yaml" || ext == ".yml") {
    const YAML::Node top = sim::load_yaml_file(path);
    sim::check_keys(top, path, "", {"workload"}, diags);
    if (top.IsMap() && top["workload"])
      w = workload_from_yaml(top["workload"], path, "workload", diags);
    else
      diags.error_at(path, top, "", "expected a top-level key `workload:`",
                     "e.g. workload: {zoo: resnet50}");
  } else if (ext == ".pb" || ext == ".textproto" || ext == ".pbtxt" || ext == ".txtpb") {
    w = ir::load_proto_file(path);
    for (const auto& problem : ir::validate(w)) {
      auto [ir_path, message] = split_problem(problem);
      sim::Diagnostic d;
      d.file = path;
      d.path = ir_path;
      d.message = message;
      diags.error(d);
    }
  } else if (ext == ".onnx") {
    // The importer validates its result and throws with every problem.
    w = import_onnx(path);
  } else {
    sim::Diagnostic d;
    d.file = path;
    d.message = "unknown workload file type '" + ext + "'";
    d.hint = "use .yaml / .yml, .pb, .textproto / .pbtxt, or .onnx";
    diags.error(d);
  }
  diags.throw_if_any();
  return w;
}

namespace {

std::string thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

// 268800 -> "268.8 k", 85054464 -> "85.05 M": four significant digits and an SI prefix.
std::string si(int64_t v) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  double x = static_cast<double>(v);
  int p = 0;
  while (x >= 1000 && p < 5) {
    x /= 1000;
    ++p;
  }
  std::ostringstream os;
  os << std::setprecision(4) << x << " " << prefixes[p];
  return os.str();
}

std::string op_dims(const ir::v1::Op& op) {
  std::ostringstream os;
  switch (op.kind_case()) {
    case ir::v1::Op::kGemm: {
      const auto& g = op.gemm();
      if (g.batch() > 1) os << "batch " << g.batch() << ", ";
      os << "m " << g.m() << ", n " << g.n() << ", k " << g.k();
      break;
    }
    case ir::v1::Op::kConv2D: {
      const auto& c = op.conv2d();
      os << c.c() << "x" << c.h() << "x" << c.w() << " -> " << c.filters() << ", k " << c.kernel_h()
         << "x" << c.kernel_w() << ", s " << c.stride_h();
      if (c.groups() > 1) os << ", groups " << c.groups();
      break;
    }
    case ir::v1::Op::kButterfly: {
      const auto& b = op.butterfly();
      os << "length " << b.length() << ", stages " << b.stages() << ", stacks " << b.stacks()
         << ", batch " << b.batch();
      break;
    }
    case ir::v1::Op::kFft: {
      const auto& f = op.fft();
      for (int i = 0; i < f.lengths_size(); ++i) os << (i ? "x" : "") << f.lengths(i);
      if (f.batch() > 1) os << ", batch " << f.batch();
      break;
    }
    case ir::v1::Op::kEinsum:
      os << op.einsum().equation();
      break;
    case ir::v1::Op::kSoftmax:
      os << op.softmax().rows() << " x " << op.softmax().length();
      break;
    case ir::v1::Op::kLayernorm:
      os << op.layernorm().rows() << " x " << op.layernorm().length();
      break;
    case ir::v1::Op::kEltwise: {
      std::string func = ir::v1::EltwiseFunc_Name(op.eltwise().func());
      for (auto& ch : func) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      os << func << ", " << op.eltwise().elements();
      break;
    }
    case ir::v1::Op::kPool: {
      const auto& p = op.pool();
      std::string kind = ir::v1::PoolKind_Name(p.kind());
      for (auto& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      os << kind << ", " << p.c() << "x" << p.h() << "x" << p.w();
      if (p.kind() != ir::v1::GLOBAL_AVG) os << ", k " << p.kernel_h() << ", s " << p.stride_h();
      break;
    }
    case ir::v1::Op::kLstmCell: {
      const auto& l = op.lstm_cell();
      os << "in " << l.input_size() << ", hidden " << l.hidden_size() << ", steps " << l.steps();
      break;
    }
    case ir::v1::Op::kGeneric:
      os << op.generic().op_type();
      break;
    case ir::v1::Op::kTranspose:
      for (int i = 0; i < op.transpose().perm_size(); ++i)
        os << (i ? "," : "perm ") << op.transpose().perm(i);
      break;
    case ir::v1::Op::kReshape:
    case ir::v1::Op::kReduce:
    case ir::v1::Op::kConcat:
    case ir::v1::Op::kSlice:
    case ir::v1::Op::KIND_NOT_SET:
      break;
  }
  return os.str();
}

}  // namespace

std::string workload_stats_table(const ir::v1::Workload& w) {
  std::vector<std::vector<std::string>> rows = {{"#", "op", "kind", "dims", "MACs", "params"}};
  int64_t total_macs = 0, total_params = 0;
  for (int i = 0; i < w.ops_size(); ++i) {
    const auto& op = w.ops(i);
    const int64_t macs = ir::op_macs(w, op);
    const int64_t params = ir::op_params(w, op);
    total_macs += macs;
    total_params += params;
    rows.push_back({std::to_string(i), op.name(), ir::op_kind(op), op_dims(op), thousands(macs),
                    thousands(params)});
  }
  rows.push_back({"", "total", "", "", thousands(total_macs), thousands(total_params)});
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::ostringstream os;
  os << "workload " << w.name() << ": " << w.ops_size() << " ops, " << si(total_macs) << "MAC, "
     << si(total_params) << " params\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size(); ++c) {
      // Numbers right-aligned, text left-aligned.
      const bool numeric = c == 0 || c >= 4;
      os << (numeric ? std::right : std::left) << std::setw(static_cast<int>(width[c]))
         << rows[r][c] << (c + 1 < rows[r].size() ? "  " : "\n");
    }
  }
  return os.str();
}

std::string op_keys_markdown() {
  auto type_text = [](const OpKey& k) -> std::string {
    switch (k.type) {
      case KeyType::kInt:
        return "int";
      case KeyType::kPair:
        return "int or [h, w]";
      case KeyType::kPads:
        return "int, [h, w] or [top, bottom, left, right]";
      case KeyType::kLengths:
        return "int or [n1, n2]";
      case KeyType::kBool:
        return "bool";
      case KeyType::kEnum: {
        std::string s;
        for (const auto& c : k.choices) s += (s.empty() ? "" : " \\| ") + c;
        return s;
      }
      case KeyType::kString:
        return "string";
      case KeyType::kSizes:
        return "map letter: int";
    }
    return "";
  };
  std::ostringstream os;
  for (const auto& kind : op_kinds()) {
    if (&kind != &op_kinds().front()) os << "\n";
    os << "### `" << kind.name << "`\n\n" << kind.doc << "\n\n";
    os << "| key | type | default | min | doc |\n|---|---|---|---|---|\n";
    for (const auto& k : kind.keys) {
      const std::string def = k.required()     ? "required"
                              : !k.def.empty() ? "`" + k.def + "`"
                                               : k.computed;
      const bool numeric =
          k.type != KeyType::kBool && k.type != KeyType::kEnum && k.type != KeyType::kString;
      os << "| `" << k.name << "` | " << type_text(k) << " | " << def << " | "
         << (numeric ? std::to_string(k.min) : "") << " | " << k.doc << " |\n";
    }
  }
  return os.str();
}

}  // namespace codesim::workloads
