#include "workloads/ir/ir.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sim/core/diagnostics.h"

namespace codesim::ir {

std::string op_kind(const Op& op) {
  if (op.kind_case() == Op::KIND_NOT_SET) return "none";
  return Op::descriptor()->FindFieldByNumber(op.kind_case())->name();
}

const Tensor* find_tensor(const Workload& w, const std::string& name) {
  for (const auto& t : w.tensors())
    if (t.name() == name) return &t;
  return nullptr;
}

Tensor* find_tensor(Workload& w, const std::string& name) {
  for (auto& t : *w.mutable_tensors())
    if (t.name() == name) return &t;
  return nullptr;
}

int64_t tensor_elements(const Tensor& t) {
  int64_t n = 1;
  for (int64_t d : t.shape()) n *= d;
  return n;
}

int64_t conv_out_dim(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                     int64_t dilation) {
  const int64_t eff = dilation * (kernel - 1) + 1;
  const int64_t span = in + pad_begin + pad_end - eff;
  if (span < 0 || stride <= 0) return 0;
  return span / stride + 1;
}

namespace {
int64_t ilog2(int64_t n) {
  int64_t l = 0;
  while ((int64_t{1} << l) < n) ++l;
  return l;
}
int64_t at_least_one(int64_t v) { return v < 1 ? 1 : v; }
}  // namespace

int64_t op_macs(const Workload& w, const Op& op) {
  switch (op.kind_case()) {
    case Op::kGemm: {
      const auto& g = op.gemm();
      return at_least_one(g.batch()) * g.m() * g.n() * g.k();
    }
    case Op::kConv2D: {
      const auto& c = op.conv2d();
      const int64_t oh = conv_out_dim(c.h(), c.kernel_h(), c.stride_h(), c.pad_top(),
                                      c.pad_bottom(), at_least_one(c.dilation_h()));
      const int64_t ow = conv_out_dim(c.w(), c.kernel_w(), c.stride_w(), c.pad_left(),
                                      c.pad_right(), at_least_one(c.dilation_w()));
      const int64_t g = at_least_one(c.groups());
      return at_least_one(c.batch()) * oh * ow * c.filters() * c.kernel_h() * c.kernel_w() *
             (c.c() / g);
    }
    case Op::kButterfly: {
      // Every stage applies length/2 2x2 blocks: 4 multiplies each.
      const auto& b = op.butterfly();
      return at_least_one(b.batch()) * at_least_one(b.stacks()) * b.stages() * 2 * b.length();
    }
    case Op::kFft: {
      // Radix-2: (n/2)·log2(n) butterflies per 1-D transform, one complex multiply (4 real) each.
      const auto& f = op.fft();
      int64_t total_points = 1;
      for (int64_t n : f.lengths()) total_points *= n;
      int64_t macs = 0;
      for (int64_t n : f.lengths()) macs += (total_points / n) * (n / 2) * ilog2(n) * 4;
      return at_least_one(f.batch()) * macs;
    }
    case Op::kEinsum: {
      int64_t p = 1;
      for (const auto& i : op.einsum().indices()) p *= i.size();
      return p;
    }
    case Op::kLstmCell: {
      const auto& l = op.lstm_cell();
      return at_least_one(l.steps()) * at_least_one(l.batch()) * 4 * l.hidden_size() *
             (l.input_size() + l.hidden_size());
    }
    default:
      return 0;
  }
}

int64_t op_params(const Workload& w, const Op& op) {
  int64_t n = 0;
  for (const auto& name : op.inputs()) {
    const Tensor* t = find_tensor(w, name);
    if (t && t->is_weight()) n += tensor_elements(*t);
  }
  return n;
}

namespace {

class Checker {
 public:
  std::vector<std::string> problems;
  void need(bool ok, const std::string& path, const std::string& msg) {
    if (!ok) problems.push_back(path + ": " + msg);
  }
  void at_least(int64_t v, int64_t lo, const std::string& path) {
    if (v < lo)
      problems.push_back(path + ": must be >= " + std::to_string(lo) + " (is " + std::to_string(v) +
                         ")");
  }
};

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

void check_op(const Op& op, const std::string& p, Checker& c) {
  switch (op.kind_case()) {
    case Op::KIND_NOT_SET:
      c.need(false, p, "op has no kind (set one of gemm, conv2d, butterfly, ...)");
      break;
    case Op::kGemm: {
      const auto& g = op.gemm();
      c.at_least(g.batch(), 0, p + ".gemm.batch");
      c.at_least(g.m(), 1, p + ".gemm.m");
      c.at_least(g.n(), 1, p + ".gemm.n");
      c.at_least(g.k(), 1, p + ".gemm.k");
      break;
    }
    case Op::kConv2D: {
      const auto& v = op.conv2d();
      const std::string q = p + ".conv2d.";
      c.at_least(v.batch(), 0, q + "batch");
      c.at_least(v.h(), 1, q + "h");
      c.at_least(v.w(), 1, q + "w");
      c.at_least(v.c(), 1, q + "c");
      c.at_least(v.filters(), 1, q + "filters");
      c.at_least(v.kernel_h(), 1, q + "kernel_h");
      c.at_least(v.kernel_w(), 1, q + "kernel_w");
      c.at_least(v.stride_h(), 1, q + "stride_h");
      c.at_least(v.stride_w(), 1, q + "stride_w");
      c.at_least(v.pad_top(), 0, q + "pad_top");
      c.at_least(v.pad_bottom(), 0, q + "pad_bottom");
      c.at_least(v.pad_left(), 0, q + "pad_left");
      c.at_least(v.pad_right(), 0, q + "pad_right");
      c.at_least(v.dilation_h(), 0, q + "dilation_h");
      c.at_least(v.dilation_w(), 0, q + "dilation_w");
      c.at_least(v.groups(), 0, q + "groups");
      const int64_t g = at_least_one(v.groups());
      if (v.c() > 0 && v.filters() > 0)
        c.need(v.c() % g == 0 && v.filters() % g == 0, q + "groups",
               "must divide c (" + std::to_string(v.c()) + ") and filters (" +
                   std::to_string(v.filters()) + ")");
      if (v.stride_h() >= 1 && v.stride_w() >= 1 && v.kernel_h() >= 1 && v.kernel_w() >= 1) {
        const int64_t oh = conv_out_dim(v.h(), v.kernel_h(), v.stride_h(), v.pad_top(),
                                        v.pad_bottom(), at_least_one(v.dilation_h()));
        const int64_t ow = conv_out_dim(v.w(), v.kernel_w(), v.stride_w(), v.pad_left(),
                                        v.pad_right(), at_least_one(v.dilation_w()));
        c.need(oh > 0 && ow > 0, q + "kernel_h",
               "the kernel does not fit the padded input (output would be empty)");
      }
      break;
    }
    case Op::kButterfly: {
      const auto& b = op.butterfly();
      const std::string q = p + ".butterfly.";
      c.need(is_pow2(b.length()) && b.length() >= 2, q + "length", "must be a power of two >= 2");
      c.at_least(b.stages(), 1, q + "stages");
      if (is_pow2(b.length()))
        c.need(b.stages() <= ilog2(b.length()), q + "stages",
               "must be <= log2(length) = " + std::to_string(ilog2(b.length())));
      c.at_least(b.stacks(), 0, q + "stacks");
      c.at_least(b.batch(), 0, q + "batch");
      break;
    }
    case Op::kFft: {
      const auto& f = op.fft();
      c.need(f.lengths_size() == 1 || f.lengths_size() == 2, p + ".fft.lengths",
             "must hold one (1-D) or two (2-D) lengths");
      for (int i = 0; i < f.lengths_size(); ++i)
        c.need(is_pow2(f.lengths(i)), p + ".fft.lengths[" + std::to_string(i) + "]",
               "must be a power of two (is " + std::to_string(f.lengths(i)) + ")");
      c.at_least(f.batch(), 0, p + ".fft.batch");
      break;
    }
    case Op::kEinsum: {
      const auto& e = op.einsum();
      const std::string q = p + ".einsum.";
      const auto arrow = e.equation().find("->");
      const auto comma = e.equation().find(',');
      c.need(arrow != std::string::npos && comma != std::string::npos && comma < arrow,
             q + "equation", "must be of the form 'ab,bc->ac' (two operands)");
      std::set<char> declared;
      for (int i = 0; i < e.indices_size(); ++i) {
        const auto& ix = e.indices(i);
        c.need(ix.name().size() == 1, q + "indices[" + std::to_string(i) + "].name",
               "must be one letter");
        c.at_least(ix.size(), 1, q + "indices[" + std::to_string(i) + "].size");
        if (!ix.name().empty()) declared.insert(ix.name()[0]);
      }
      for (char ch : e.equation())
        if (std::isalpha(static_cast<unsigned char>(ch)))
          c.need(declared.count(ch) > 0, q + "equation",
                 std::string("index '") + ch + "' has no size in indices");
      break;
    }
    case Op::kSoftmax:
      c.at_least(op.softmax().rows(), 1, p + ".softmax.rows");
      c.at_least(op.softmax().length(), 1, p + ".softmax.length");
      break;
    case Op::kLayernorm:
      c.at_least(op.layernorm().rows(), 1, p + ".layernorm.rows");
      c.at_least(op.layernorm().length(), 1, p + ".layernorm.length");
      break;
    case Op::kEltwise:
      c.need(op.eltwise().func() != v1::ELTWISE_UNSPECIFIED, p + ".eltwise.func",
             "must be set (add, mul, relu, gelu, sigmoid, tanh, ...)");
      c.at_least(op.eltwise().elements(), 1, p + ".eltwise.elements");
      break;
    case Op::kPool: {
      const auto& v = op.pool();
      const std::string q = p + ".pool.";
      c.need(v.kind() != v1::POOL_UNSPECIFIED, q + "kind", "must be max, avg or global_avg");
      c.at_least(v.h(), 1, q + "h");
      c.at_least(v.w(), 1, q + "w");
      c.at_least(v.c(), 1, q + "c");
      if (v.kind() != v1::GLOBAL_AVG) {
        c.at_least(v.kernel_h(), 1, q + "kernel_h");
        c.at_least(v.kernel_w(), 1, q + "kernel_w");
        c.at_least(v.stride_h(), 1, q + "stride_h");
        c.at_least(v.stride_w(), 1, q + "stride_w");
      }
      break;
    }
    case Op::kLstmCell:
      c.at_least(op.lstm_cell().input_size(), 1, p + ".lstm_cell.input_size");
      c.at_least(op.lstm_cell().hidden_size(), 1, p + ".lstm_cell.hidden_size");
      c.at_least(op.lstm_cell().steps(), 0, p + ".lstm_cell.steps");
      c.at_least(op.lstm_cell().batch(), 0, p + ".lstm_cell.batch");
      break;
    case Op::kGeneric:
      c.at_least(op.generic().bytes_read(), 0, p + ".generic.bytes_read");
      c.at_least(op.generic().bytes_written(), 0, p + ".generic.bytes_written");
      break;
    case Op::kReshape:
      break;
    case Op::kTranspose: {
      std::set<int64_t> seen(op.transpose().perm().begin(), op.transpose().perm().end());
      bool ok = static_cast<int>(seen.size()) == op.transpose().perm_size();
      for (int64_t a : seen) ok = ok && a >= 0 && a < op.transpose().perm_size();
      c.need(ok, p + ".transpose.perm", "must be a permutation of 0..rank-1");
      break;
    }
    case Op::kReduce:
      c.need(op.reduce().kind() != v1::REDUCE_UNSPECIFIED, p + ".reduce.kind",
             "must be mean, sum or max");
      break;
    case Op::kConcat:
      c.need(op.inputs_size() >= 1, p + ".inputs", "concat needs at least one input");
      break;
    case Op::kSlice: {
      const auto& v = op.slice();
      c.need(v.starts_size() == v.axes_size() && v.ends_size() == v.axes_size() &&
                 (v.steps_size() == 0 || v.steps_size() == v.axes_size()),
             p + ".slice", "axes, starts, ends (and steps) must have the same length");
      for (int i = 0; i < v.steps_size(); ++i)
        c.need(v.steps(i) != 0, p + ".slice.steps[" + std::to_string(i) + "]", "must not be 0");
      break;
    }
  }
}

}  // namespace

std::vector<std::string> validate(const Workload& w) {
  Checker c;
  std::set<std::string> tensor_names;
  for (int i = 0; i < w.tensors_size(); ++i) {
    const auto& t = w.tensors(i);
    const std::string p = "tensors[" + std::to_string(i) + "]";
    c.need(!t.name().empty(), p + ".name", "must not be empty");
    c.need(tensor_names.insert(t.name()).second, p + ".name",
           "duplicate tensor name '" + t.name() + "'");
    for (int d = 0; d < t.shape_size(); ++d)
      c.at_least(t.shape(d), 1, p + ".shape[" + std::to_string(d) + "]");
    c.need(t.bits() <= 64, p + ".bits", "must be <= 64");
    const int64_t n = tensor_elements(t);
    if (t.float_data_size() > 0)
      c.need(t.float_data_size() == n, p + ".float_data",
             "holds " + std::to_string(t.float_data_size()) + " values but the shape has " +
                 std::to_string(n));
    if (t.int_data_size() > 0)
      c.need(t.int_data_size() == n, p + ".int_data",
             "holds " + std::to_string(t.int_data_size()) + " values but the shape has " +
                 std::to_string(n));
    if (t.structure().has_nm()) {
      const auto& nm = t.structure().nm();
      c.need(nm.m() >= 1 && nm.n() < nm.m(), p + ".structure.nm",
             "needs 0 <= n < m (is " + std::to_string(nm.n()) + ":" + std::to_string(nm.m()) + ")");
    }
    if (t.structure().has_unstructured()) {
      const double d = t.structure().unstructured().density();
      c.need(d > 0 && d <= 1, p + ".structure.unstructured.density", "must be in (0, 1]");
    }
  }
  std::set<std::string> op_names;
  for (int i = 0; i < w.ops_size(); ++i) {
    const auto& op = w.ops(i);
    const std::string p = "ops[" + std::to_string(i) + "]";
    c.need(!op.name().empty(), p + ".name", "must not be empty");
    c.need(op_names.insert(op.name()).second, p + ".name", "duplicate op name '" + op.name() + "'");
    for (int j = 0; j < op.inputs_size(); ++j)
      c.need(tensor_names.count(op.inputs(j)) > 0, p + ".inputs[" + std::to_string(j) + "]",
             "unknown tensor '" + op.inputs(j) + "'");
    for (int j = 0; j < op.outputs_size(); ++j)
      c.need(tensor_names.count(op.outputs(j)) > 0, p + ".outputs[" + std::to_string(j) + "]",
             "unknown tensor '" + op.outputs(j) + "'");
    check_op(op, p, c);
  }
  return c.problems;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_text_path(const std::string& path) {
  return ends_with(path, ".textproto") || ends_with(path, ".pbtxt") || ends_with(path, ".txtpb");
}

class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextErrors(std::string file) : file_(std::move(file)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber col,
                const std::string& message) override {
    sim::Diagnostic d;
    d.file = file_;
    d.line = line + 1;
    d.col = col + 1;
    d.message = "malformed text protobuf: " + message;
    diags.error(d);
  }
  sim::Diagnostics diags;

 private:
  std::string file_;
};

[[noreturn]] void file_error(const std::string& path, const std::string& msg,
                             const std::string& hint) {
  sim::Diagnostics d;
  sim::Diagnostic dg;
  dg.file = path;
  dg.message = msg;
  dg.hint = hint;
  d.error(dg);
  throw sim::ConfigError(d);
}

}  // namespace

Workload load_proto_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) file_error(path, "cannot open file", "check the path");
  Workload w;
  if (is_text_path(path)) {
    std::stringstream ss;
    ss << in.rdbuf();
    google::protobuf::TextFormat::Parser parser;
    TextErrors errors(path);
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(ss.str(), &w)) {
      errors.diags.throw_if_any();
      file_error(path, "malformed text protobuf", "expected a codesim.ir.v1.Workload");
    }
  } else if (!w.ParseFromIstream(&in)) {
    file_error(path, "not a binary codesim.ir.v1.Workload protobuf",
               "use .textproto for text format, or regenerate the file");
  }
  return w;
}

void save_proto_file(const Workload& w, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) file_error(path, "cannot write file", "check that the folder exists");
  if (is_text_path(path)) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(w, &text);
    out << text;
  } else if (!w.SerializeToOstream(&out)) {
    file_error(path, "cannot serialize workload", "");
  }
}

}  // namespace codesim::ir
