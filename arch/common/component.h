#pragma once
// A hardware component instance as the technology table sees it: what it is (its class and
// attributes) and how many there are. Counters name a component and an action; energy is
// Σ count(action) × energy(component, action) + leakage(component) × runtime, and area is
// Σ instances × area(component).

#include <cstdint>
#include <string>

namespace codesim::arch {

enum class ComponentClass {
  kMac,         // multiply-accumulate unit: multiplier of `bits` + adder of `acc_bits`
  kMultiplier,  // multiplier of `bits`
  kAdder,       // adder of `bits`
  kShifter,     // barrel shifter of `bits`
  kRegister,    // register of `bits`
  kSram,        // SRAM of `bytes`, accessed `port_bits` wide, counted per `word_bits` word
  kDram,        // off-chip memory of `dram_type`, counted in bytes
};

const char* component_class_name(ComponentClass c);

struct Component {
  std::string name;  // unique within a model, e.g. pe_array, sram_ifmap, dram
  ComponentClass klass = ComponentClass::kMac;
  int64_t count = 1;           // instances (for area and leakage)
  std::string number = "int";  // "int" or "fp" for arithmetic units
  int bits = 8;                // operand width of arithmetic units and registers
  int acc_bits = 32;           // accumulator width of a MAC
  int64_t bytes = 0;           // SRAM capacity of one instance
  int port_bits = 64;          // SRAM access width
  int word_bits = 8;           // SRAM counted word width (one counted read moves this many bits)
  std::string dram_type;  // "" = the technology table's default
};

}  // namespace codesim::arch
