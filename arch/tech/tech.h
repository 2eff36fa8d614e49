#pragma once
// Technology tables: energy per action, leakage and area per component, loaded from
// arch/tech/<name>.yaml (or a user file) and scaled to other widths and sizes by the rules of
// shared/reference/technology.md (multiplier energy quadratic in width, adder linear, SRAM by
// the CACTI interpolation or the Horowitz square-root fit). arch/tech/README.md states every rule
// and the file format.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "arch/common/component.h"

namespace codesim::arch {

class TechTable {
 public:
  // `name_or_path`: a built-in table name (generic45, aladdin40) looked up in the tech directory,
  // or a path to a YAML file. Errors are sim::ConfigError with file:line:col.
  static TechTable load(const std::string& name_or_path);
  // Directory of the built-in tables (CODESIM_TECH_DIR at build time, overridable by the
  // environment variable CODESIM_TECH_DIR).
  static std::string builtin_dir();
  static std::vector<std::string> builtin_names();
  // The actions `energy_pj` prices for a component class, e.g. {"read", "write"} for kSram.
  static const std::vector<std::string>& actions(ComponentClass klass);

  const std::string& name() const { return name_; }
  int node_nm() const { return node_nm_; }
  // One line on where the numbers come from (the file's `description`).
  const std::string& description() const { return description_; }
  // The DRAM types this table prices, sorted; "" or "default" selects default_dram_type().
  std::vector<std::string> dram_types() const;
  const std::string& default_dram_type() const { return dram_default_type_; }

  // Energy in pJ of one `action` of component `c`. Actions by class:
  //   kMac: "mac";  kMultiplier: "mul";  kAdder: "add";  kShifter: "shift";
  //   kRegister: "read", "write";  kSram: "read", "write" (per word_bits word);
  //   kDram: "read", "write" (per byte).
  // Throws sim::ConfigError for an action the class does not have.
  double energy_pj(const Component& c, const std::string& action) const;
  // Leakage power of ONE instance, in mW.
  double leakage_mw(const Component& c) const;
  // Area of ONE instance, in µm² (0 for DRAM).
  double area_um2(const Component& c) const;
  // "" when every action, the area and the leakage of `c` can be priced by this table, else the
  // reason (an unknown dram_type, a unit the table lacks, a non-positive width...). Lets a caller
  // reject an arch file before simulating instead of failing when the energy is summed.
  std::string check(const Component& c) const;

 private:
  // How energy, area and leakage of a unit grow with its width from a characterized point.
  enum class WidthScaling { kLinear, kQuadratic };
  // One characterized width of an arithmetic unit or register.
  struct UnitPoint {
    int bits = 0;
    double energy_pj = 0;
    double area_um2 = 0;
    double leak_uw = 0;
  };
  struct Unit {
    WidthScaling scaling = WidthScaling::kLinear;
    std::vector<UnitPoint> points;
  };
  // A unit scaled to a width: energy of one operation, area and leakage of one instance.
  struct Cost {
    double energy_pj = 0;
    double area_um2 = 0;
    double leak_mw = 0;
  };
  // How SRAM access energy grows with capacity and width from a characterized point.
  enum class SramModel { kCacti, kSqrt };
  struct SramPoint {
    int64_t bytes = 0;
    int width_bits = 0;
    double read_pj = 0;  // per access of width_bits
    double write_pj = 0;
    double leak_mw = 0;
    double area_mm2 = 0;
  };
  // An SRAM scaled to a component: energies per access of port_bits, area and leakage of one.
  struct SramCost {
    double read_pj = 0;
    double write_pj = 0;
    double area_um2 = 0;
    double leak_mw = 0;
  };

  Cost unit_cost(const std::string& unit, const Component& c, int bits) const;
  Cost arithmetic_cost(const Component& c) const;
  SramCost sram_cost(const Component& c) const;
  double dram_pj_per_bit(const Component& c) const;

  std::string name_;
  std::string description_;
  int node_nm_ = 45;
  std::map<std::string, Unit> units_;  // int_add, int_mul, fp_add, fp_mul, shift, register
  SramModel sram_model_ = SramModel::kCacti;
  std::vector<SramPoint> sram_;
  std::string dram_default_type_;
  std::map<std::string, double> dram_pj_per_bit_;
  friend class TechTableLoader;
};

}  // namespace codesim::arch
