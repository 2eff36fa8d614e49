// AdderNet (Chen et al., CVPR 2020): the op computes Y = -sum |X - W| (an L1 distance) instead of
// X W, so its multipliers become adders/subtractors. The weights are not changed: AdderNets are
// trained as adder networks, and no post-training mapping turns a multiply network's weights
// into adder weights of the same quality. The report therefore states "needs retraining" for the
// op and for the accuracy after the pipeline, instead of an invented figure.
//
// The IR has no adder op kind: the op keeps its kind and its weight carries an AdderStructure
// annotation, which simulators read as "this op runs on adders" and the reference executor runs
// as -sum |x - w|; scoring the network still needs a retrained model.

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class AdderTransform : public Transform {
 public:
  struct Params {
    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s;
      return s;
    }
  };
  static constexpr const char* kSummary =
      "adder op -sum|x-w| (AdderNet); quality: needs retraining";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d"}; }

  explicit AdderTransform(const Params&) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    for (const auto& name : matrix_weights(w, w.ops(op_index)))
      ir::find_tensor(w, name)->mutable_structure()->mutable_adder();
    c.needs_retraining = true;
    c.notes.push_back(
        "needs retraining: an adder op computes -sum|x - w|; the weights of the "
        "multiply network are kept unchanged and no quality figure is stated");
    return c;
  }
};

CODESIM_REGISTER_TRANSFORM("adder", AdderTransform);

}  // namespace codesim::compress
