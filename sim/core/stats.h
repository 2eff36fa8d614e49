#pragma once
// Typed statistics: a counter is a plain member registered once with its name, unit, description
// and the (component, action) pair that the technology table prices. Events add to the member
// directly; nothing is looked up by string while the simulation runs.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace codesim::sim {

struct Counter {
  std::string name;  // e.g. sram_ifmap_reads
  std::string unit;  // e.g. words, bytes, ops
  std::string desc;
  std::string component;  // component that performs the action (see arch::Component), or ""
  std::string action;     // action priced by the technology table: mac, read, write, ...
  uint64_t value = 0;

  Counter& operator+=(uint64_t n) {
    value += n;
    return *this;
  }
  Counter& operator++() {
    ++value;
    return *this;
  }
};

// A derived value evaluated when stats are dumped.
struct Formula {
  std::string name;
  std::string unit;
  std::string desc;
  std::function<double()> eval;
};

class StatGroup {
 public:
  StatGroup() = default;
  StatGroup(const StatGroup&) = delete;
  StatGroup& operator=(const StatGroup&) = delete;

  // Registers a counter; the returned reference stays valid for the group's lifetime.
  Counter& counter(const std::string& name, const std::string& unit, const std::string& desc,
                   const std::string& component = "", const std::string& action = "");
  void formula(const std::string& name, const std::string& unit, const std::string& desc,
               std::function<double()> eval);

  const std::vector<std::unique_ptr<Counter>>& counters() const { return counters_; }
  const std::vector<Formula>& formulas() const { return formulas_; }
  std::vector<uint64_t> snapshot() const;  // counter values in registration order

 private:
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<Formula> formulas_;
};

}  // namespace codesim::sim
