// Pricing: scales the characterized points of a TechTable to a component's widths and sizes.
// Every rule here is stated, with its source, in arch/tech/README.md.

#include "arch/tech/tech.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "sim/core/diagnostics.h"

namespace codesim::arch {

namespace {

// CACTI's dynamic energy grows with depth as depth^(1.56/2), fitted by hwcomponents-cacti.
constexpr double kCactiDepthExponent = 0.78;
// Of CACTI's access energy, 70 % scales with the port width (bitlines, sense amps, drivers); the
// other 30 % (decoders, wordlines) does not (hwcomponents-cacti).
constexpr double kCactiWidthShare = 0.7;
// Distances within this are ties, so that widths like 16 between 8 and 32 tie exactly.
constexpr double kTie = 1e-9;

[[noreturn]] void fail(const std::string& table, const Component& c, const std::string& message,
                       const std::string& hint = "") {
  std::string text = "technology '" + table + "', component '" + c.name + "': " + message;
  if (!hint.empty()) text += " (" + hint + ")";
  throw sim::ConfigError(text);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool is_arithmetic(ComponentClass k) {
  return k != ComponentClass::kSram && k != ComponentClass::kDram;
}

}  // namespace

const std::vector<std::string>& TechTable::actions(ComponentClass klass) {
  static const std::vector<std::string> mac{"mac"}, mul{"mul"}, add{"add"}, shift{"shift"},
      read_write{"read", "write"};
  switch (klass) {
    case ComponentClass::kMac:
      return mac;
    case ComponentClass::kMultiplier:
      return mul;
    case ComponentClass::kAdder:
      return add;
    case ComponentClass::kShifter:
      return shift;
    case ComponentClass::kRegister:
    case ComponentClass::kSram:
    case ComponentClass::kDram:
      return read_write;
  }
  return read_write;
}

std::vector<std::string> TechTable::dram_types() const {
  std::vector<std::string> out;
  for (const auto& kv : dram_pj_per_bit_) out.push_back(kv.first);
  return out;
}

TechTable::Cost TechTable::unit_cost(const std::string& unit, const Component& c, int bits) const {
  if (bits <= 0) fail(name_, c, "width must be positive, got " + std::to_string(bits) + " bits");
  const auto it = units_.find(unit);
  if (it == units_.end()) {
    std::vector<std::string> have;
    for (const auto& kv : units_) have.push_back(kv.first);
    fail(name_, c, "the table has no '" + unit + "' unit", sim::did_you_mean(unit, have));
  }
  // The nearest point in log2(width): the scaling laws are powers of the width ratio, so a
  // factor of 2 up is as far as a factor of 2 down. Ties go to the wider point, so the result
  // does not depend on the order of points in the file.
  const UnitPoint* best = nullptr;
  double best_distance = 0;
  for (const UnitPoint& p : it->second.points) {
    const double distance = std::abs(std::log2(static_cast<double>(bits) / p.bits));
    if (!best || distance < best_distance - kTie ||
        (distance <= best_distance + kTie && p.bits > best->bits)) {
      best = &p;
      best_distance = distance;
    }
  }
  const double ratio = static_cast<double>(bits) / best->bits;
  const double scale = it->second.scaling == WidthScaling::kQuadratic ? ratio * ratio : ratio;
  return {best->energy_pj * scale, best->area_um2 * scale, best->leak_uw * scale / 1000.0};
}

TechTable::Cost TechTable::arithmetic_cost(const Component& c) const {
  if (c.klass == ComponentClass::kShifter) return unit_cost("shift", c, c.bits);
  if (c.klass == ComponentClass::kRegister) return unit_cost("register", c, c.bits);
  if (c.number != "int" && c.number != "fp")
    fail(name_, c, "number must be int or fp, got '" + c.number + "'",
         sim::did_you_mean(c.number, {"int", "fp"}));
  const std::string& n = c.number;
  if (c.klass == ComponentClass::kMultiplier) return unit_cost(n + "_mul", c, c.bits);
  if (c.klass == ComponentClass::kAdder) return unit_cost(n + "_add", c, c.bits);
  // A MAC is its multiplier plus its accumulating adder; the accumulator register is counted
  // separately by models that have one.
  const Cost mul = unit_cost(n + "_mul", c, c.bits);
  const Cost add = unit_cost(n + "_add", c, c.acc_bits);
  return {mul.energy_pj + add.energy_pj, mul.area_um2 + add.area_um2, mul.leak_mw + add.leak_mw};
}

TechTable::SramCost TechTable::sram_cost(const Component& c) const {
  if (c.bytes <= 0) fail(name_, c, "SRAM bytes must be positive, got " + std::to_string(c.bytes));
  if (c.port_bits <= 0)
    fail(name_, c, "SRAM port_bits must be positive, got " + std::to_string(c.port_bits));
  if (sram_.empty()) fail(name_, c, "the table has no SRAM points");
  const double bytes = static_cast<double>(c.bytes);
  const double width = c.port_bits;
  // Nearest in log2(capacity) + log2(width); ties go to the larger, then the wider point.
  const SramPoint* best = nullptr;
  double best_distance = 0;
  for (const SramPoint& p : sram_) {
    const double distance =
        std::abs(std::log2(bytes / p.bytes)) + std::abs(std::log2(width / p.width_bits));
    const bool tie = best && distance <= best_distance + kTie && distance >= best_distance - kTie;
    const bool larger = best && (p.bytes > best->bytes ||
                                 (p.bytes == best->bytes && p.width_bits > best->width_bits));
    if (!best || distance < best_distance - kTie || (tie && larger)) {
      best = &p;
      best_distance = distance;
    }
  }
  const double capacity_scale = bytes / best->bytes;
  const double width_scale = width / best->width_bits;
  double energy_scale = 0;
  if (sram_model_ == SramModel::kCacti) {
    // depth = rows of one port width; capacity_scale = width_scale · depth_scale.
    const double depth_scale = capacity_scale / width_scale;
    energy_scale = (kCactiWidthShare * width_scale + (1.0 - kCactiWidthShare)) *
                   std::pow(depth_scale, kCactiDepthExponent);
  } else {
    energy_scale = std::sqrt(capacity_scale) * width_scale;
  }
  // Area and leakage are per bit cell in both models: linear in width and depth.
  return {best->read_pj * energy_scale, best->write_pj * energy_scale,
          best->area_mm2 * 1e6 * capacity_scale, best->leak_mw * capacity_scale};
}

double TechTable::dram_pj_per_bit(const Component& c) const {
  const std::string type =
      c.dram_type.empty() || c.dram_type == "default" ? dram_default_type_ : c.dram_type;
  // Vendors and papers spell types in either case (HBM2, hbm2); the table keys are one spelling.
  for (const auto& kv : dram_pj_per_bit_)
    if (lower(kv.first) == lower(type)) return kv.second;
  if (dram_pj_per_bit_.empty()) fail(name_, c, "the table has no DRAM types");
  fail(name_, c, "unknown dram_type '" + type + "'", sim::did_you_mean(type, dram_types()));
}

double TechTable::energy_pj(const Component& c, const std::string& action) const {
  const std::vector<std::string>& valid = actions(c.klass);
  if (std::find(valid.begin(), valid.end(), action) == valid.end())
    fail(name_, c, "no action '" + action + "'", sim::did_you_mean(action, valid));
  if (is_arithmetic(c.klass)) return arithmetic_cost(c).energy_pj;
  if (c.klass == ComponentClass::kDram) return dram_pj_per_bit(c) * 8.0;
  if (c.word_bits <= 0)
    fail(name_, c, "SRAM word_bits must be positive, got " + std::to_string(c.word_bits));
  // A counted read or write moves one word of the port; the port's energy is shared by its words.
  const SramCost s = sram_cost(c);
  const double access = action == "read" ? s.read_pj : s.write_pj;
  return access * c.word_bits / c.port_bits;
}

double TechTable::leakage_mw(const Component& c) const {
  if (is_arithmetic(c.klass)) return arithmetic_cost(c).leak_mw;
  if (c.klass == ComponentClass::kSram) return sram_cost(c).leak_mw;
  return 0.0;
}

double TechTable::area_um2(const Component& c) const {
  if (is_arithmetic(c.klass)) return arithmetic_cost(c).area_um2;
  if (c.klass == ComponentClass::kSram) return sram_cost(c).area_um2;
  return 0.0;
}

std::string TechTable::check(const Component& c) const {
  try {
    area_um2(c);
    leakage_mw(c);
    for (const std::string& action : actions(c.klass)) energy_pj(c, action);
  } catch (const sim::ConfigError& e) {
    std::string message = e.what();
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return message;
  }
  return "";
}

}  // namespace codesim::arch
