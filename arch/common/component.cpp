#include "arch/common/component.h"

namespace codesim::arch {

const char* component_class_name(ComponentClass c) {
  switch (c) {
    case ComponentClass::kMac:
      return "mac";
    case ComponentClass::kMultiplier:
      return "multiplier";
    case ComponentClass::kAdder:
      return "adder";
    case ComponentClass::kShifter:
      return "shifter";
    case ComponentClass::kRegister:
      return "register";
    case ComponentClass::kSram:
      return "sram";
    case ComponentClass::kDram:
      return "dram";
  }
  return "?";
}

}  // namespace codesim::arch
