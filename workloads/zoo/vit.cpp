#include "workloads/zoo/transformer.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

struct VitShape {
  int64_t hidden, layers, heads, mlp;
};

// Table 1 of Dosovitskiy et al. (ICLR 2021): ViT-Base and ViT-Large.
VitShape vit_shape(const std::string& variant) {
  if (variant == "l16") return {1024, 24, 16, 4096};
  return {768, 12, 12, 3072};
}

}  // namespace

const sim::ParamSchema<VitParams>& VitParams::schema() {
  static const auto s =
      sim::ParamSchema<VitParams>()
          .choice("variant", &VitParams::variant, {"b16", "l16"},
                  "b16: ViT-B (hidden 768, 12 layers, 12 heads, MLP 3072); l16: ViT-L (hidden "
                  "1024, 24 layers, 16 heads, MLP 4096)")
          .def("b16")
          .integer("image", &VitParams::image, "input image height and width")
          .def(224)
          .min(1)
          .unit("pixels")
          .integer("patch", &VitParams::patch, "patch height and width")
          .def(16)
          .min(1)
          .unit("pixels")
          .integer("classes", &VitParams::classes, "outputs of the classification head")
          .def(1000)
          .min(1)
          .integer("batch", &VitParams::batch, "images per inference")
          .def(1)
          .min(1);
  return s;
}

std::vector<ParamProblem> VitParams::problems() const {
  if (image % patch != 0)
    return {{"patch", "must divide image (" + std::to_string(image) + ") into whole patches"}};
  return {};
}

ir::v1::Workload build_vit(const VitParams& p) {
  using ir::v1::ADD;
  const VitShape s = vit_shape(p.variant);
  const int64_t grid = p.image / p.patch;
  WorkloadBuilder b("vit_" + p.variant + "_" + std::to_string(p.image));
  EncoderDims d;
  d.hidden = s.hidden;
  d.heads = s.heads;
  d.ffn = s.mlp;
  d.seq = grid * grid + 1;  // patches + class token
  d.batch = p.batch;

  const std::string image = b.input("image", {p.batch, 3, p.image, p.image});
  ir::v1::Conv2d patchify;
  patchify.set_batch(p.batch);
  patchify.set_h(p.image);
  patchify.set_w(p.image);
  patchify.set_c(3);
  patchify.set_filters(s.hidden);
  patchify.set_kernel_h(p.patch);
  patchify.set_kernel_w(p.patch);
  patchify.set_stride_h(p.patch);
  patchify.set_stride_w(p.patch);
  patchify.set_dilation_h(1);
  patchify.set_dilation_w(1);
  patchify.set_groups(1);
  const std::string patches = b.conv2d("patch_embed", image, patchify, true);
  // Prepending the class token and adding the position embedding is one element-wise pass over
  // the token matrix; both are parameters of that op.
  const std::string cls = b.weight("embed", "class_token", {1, s.hidden});
  const std::string pos = b.weight("embed", "position", {d.seq, s.hidden});
  std::string x = b.eltwise("embed", ADD, {patches, cls, pos}, {d.rows(), s.hidden});

  for (int64_t l = 0; l < s.layers; ++l)
    x = encoder_layer(b, "layer" + std::to_string(l), x, d, /*pre_norm=*/true);
  x = b.layernorm("norm", x, d.rows(), s.hidden);
  const std::string cls_out = b.generic("select_class_token", "gather", x, {p.batch, s.hidden});
  b.mark_output(b.linear("head", cls_out, 1, p.batch, p.classes, s.hidden, true));
  return b.finish();
}

}  // namespace codesim::workloads
