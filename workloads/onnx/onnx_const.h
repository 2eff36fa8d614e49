#pragma once
// Constant tensors of an ONNX graph (initializers and the values of constant subgraphs) and the
// evaluator that folds constant subgraphs at import time. Internal to the ONNX importer.

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace codesim::workloads::onnx_detail {

using Shape = std::vector<int64_t>;

int64_t numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1, 3, 224, 224]"

// Floating-point tensors keep float values (the IR stores float); integer and boolean tensors
// keep int64 values so that shape arithmetic and INT64_MAX slice bounds stay exact.
struct ConstTensor {
  Shape shape;
  bool is_float = true;
  std::vector<float> f;
  std::vector<int64_t> i;
  int32_t elem_type = onnx::TensorProto::FLOAT;  // ONNX type it came from (or converts to)

  int64_t size() const {
    return is_float ? static_cast<int64_t>(f.size()) : static_cast<int64_t>(i.size());
  }
  double at(int64_t k) const { return is_float ? f[k] : static_cast<double>(i[k]); }
  int64_t int_at(int64_t k) const { return is_float ? static_cast<int64_t>(f[k]) : i[k]; }
  std::vector<int64_t> ints() const;
};

// A constant that cannot be read or evaluated (bad data, unsupported element type, ...).
class ConstError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Decodes an ONNX tensor; external data are read relative to `model_dir`.
ConstTensor decode_tensor(const onnx::TensorProto& t, const std::string& model_dir);
// The reverse, for giving folded values back to ONNX shape inference.
onnx::TensorProto encode_tensor(const ConstTensor& c, const std::string& name);

// Bytes of one element of an ONNX element type (0 when it has no fixed size, e.g. STRING).
int64_t elem_size(int32_t elem_type);

// Node attributes, with the default when absent.
const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name);
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def);
float attr_float(const onnx::NodeProto& n, const std::string& name, float def);
std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& def);
// False (and `out` untouched) when absent.
bool attr_ints(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t>& out);

// True when `op_type` (default domain) is one the evaluator can fold.
bool foldable(const std::string& op_type);

// Evaluates a node whose inputs are all constant. `inputs` holds one pointer per node input
// (nullptr for an omitted optional input); `input_shapes` the shape of every input (for Shape
// and Size, whose input need not be constant). Returns one tensor per node output. Throws
// ConstError when the node cannot be evaluated.
std::vector<ConstTensor> fold_node(const onnx::NodeProto& node,
                                   const std::vector<const ConstTensor*>& inputs,
                                   const std::vector<Shape>& input_shapes);

}  // namespace codesim::workloads::onnx_detail
