#include "sim/core/params.h"

#include <algorithm>
#include <cmath>
#include <iomanip>

namespace codesim::sim {

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::kInt:
      return "int";
    case ParamType::kDouble:
      return "float";
    case ParamType::kBool:
      return "bool";
    case ParamType::kString:
      return "string";
    case ParamType::kEnum:
      return "enum";
  }
  return "?";
}

namespace {
std::string num(double v) {
  std::ostringstream os;
  if (v == std::floor(v) && std::abs(v) < 1e15)
    os << static_cast<long long>(v);
  else
    os << v;
  return os.str();
}
}  // namespace

std::string ParamInfo::range_text() const {
  if (type == ParamType::kEnum) {
    std::string s = "{";
    for (size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + choices[i];
    return s + "}";
  }
  if (!min && !max) return "";
  return "[" + (min ? num(*min) : std::string("-inf")) + ", " +
         (max ? num(*max) : std::string("inf")) + "]";
}

std::string format_params_text(const std::vector<ParamInfo>& params) {
  std::vector<std::vector<std::string>> rows = {
      {"name", "type", "default", "range", "unit", "doc"}};
  for (const auto& p : params)
    rows.push_back({p.name, param_type_name(p.type), p.required ? "(required)" : p.default_text,
                    p.range_text(), p.unit, p.doc});
  std::vector<size_t> w(5, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], r[i].size());
  std::ostringstream os;
  for (const auto& r : rows) {
    for (size_t i = 0; i < 5; ++i) os << std::left << std::setw(static_cast<int>(w[i] + 2)) << r[i];
    os << r[5] << "\n";
  }
  return os.str();
}

std::string format_params_markdown(const std::vector<ParamInfo>& params) {
  std::ostringstream os;
  os << "| name | type | default | range | unit | doc |\n|---|---|---|---|---|---|\n";
  for (const auto& p : params)
    os << "| `" << p.name << "` | " << param_type_name(p.type) << " | "
       << (p.required ? "required" : "`" + p.default_text + "`") << " | " << p.range_text() << " | "
       << p.unit << " | " << p.doc << " |\n";
  return os.str();
}

}  // namespace codesim::sim
