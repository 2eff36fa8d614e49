#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"

namespace codesim::cli {

namespace {

bool has_suffix(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

std::string thousands(int64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "126 ops (53 conv2d, 49 eltwise, ...), 4,089,184,256 MACs, 25,530,472 params". A weight read by
// several ops (tied weights) counts once.
std::string summary(const ir::v1::Workload& w) {
  std::map<std::string, int> kinds;
  int64_t macs = 0;
  std::set<std::string> weights;
  for (const auto& op : w.ops()) {
    ++kinds[ir::op_kind(op)];
    macs += ir::op_macs(w, op);
    for (const auto& in : op.inputs()) {
      const auto* t = ir::find_tensor(w, in);
      if (t && t->is_weight()) weights.insert(in);
    }
  }
  int64_t params = 0;
  for (const auto& name : weights) params += ir::tensor_elements(*ir::find_tensor(w, name));
  std::vector<std::pair<int, std::string>> by_count;
  for (const auto& [kind, count] : kinds) by_count.push_back({-count, kind});
  std::sort(by_count.begin(), by_count.end());
  std::ostringstream os;
  os << w.ops_size() << " ops (";
  for (size_t i = 0; i < by_count.size(); ++i)
    os << (i ? ", " : "") << -by_count[i].first << " " << by_count[i].second;
  os << "), " << thousands(macs) << " MACs, " << thousands(params) << " params";
  return os.str();
}

}  // namespace

int cmd_import(const std::vector<std::string>& argv) {
  Args args(
      "import", "import MODEL.onnx -o OUT.pb|OUT.textproto [--allow-unknown] [--batch N]",
      "Converts an ONNX model into a codesim workload (IR protobuf). Shapes come from ONNX\n"
      "shape inference, initializers become weight data, constant subgraphs are folded,\n"
      "BatchNormalization after a Conv is folded into the conv. An op that cannot be mapped\n"
      "is an error naming it, unless --allow-unknown keeps it as a generic op with its byte\n"
      "traffic. Prints one summary line. Any command that takes a workload also accepts the\n"
      ".onnx file directly (imported with the defaults).",
      {{"output", "o", "FILE", "the workload to write: .pb (binary) or .textproto (text)"},
       {"allow-unknown", "", "", "keep unmappable ops as generic ops with their byte traffic"},
       {"batch", "", "N", "value of the model's dynamic (symbolic) input dimensions (1)"}},
      "MODEL.onnx: an ONNX model with its weights (opset <= 17, the newest libonnx 1.12 knows)");
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (args.positional().size() != 1)
    throw UsageError("codesim import: expected one MODEL.onnx; see `codesim import --help`");
  const std::string out = args.get("output");
  if (out.empty()) throw UsageError("codesim import: name the output with -o OUT.pb");
  if (!has_suffix(out, ".pb") && !has_suffix(out, ".textproto") && !has_suffix(out, ".pbtxt") &&
      !has_suffix(out, ".txtpb"))
    throw UsageError("codesim import: the output must end in .pb, .textproto, .pbtxt or .txtpb");
  workloads::OnnxImportOptions options;
  options.allow_unknown = args.has("allow-unknown");
  if (args.has("batch")) {
    const std::string b = args.get("batch");
    try {
      size_t used = 0;
      options.batch = std::stoll(b, &used);
      if (used != b.size() || options.batch < 1) throw std::invalid_argument(b);
    } catch (const std::exception&) {
      throw UsageError("codesim import: --batch must be an integer >= 1 (is '" + b + "')");
    }
  }
  const std::string& model = args.positional()[0];
  const auto w = workloads::import_onnx(model, options);
  ir::save_proto_file(w, out);
  std::cout << model << " -> " << out << ": " << summary(w) << "\n";
  return 0;
}

}  // namespace codesim::cli
