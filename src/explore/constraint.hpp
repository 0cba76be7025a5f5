#pragma once
// Constraints of a search (issue 12), one comparison each, as written in `explore.constraints`:
//   - area_mm2 <= 100                          # on a metric
//   - adc.bits <= mapping.cell_bits + 6        # between config keys
//   - tile.input_buffer >= "16 KiB"            # a quantity in quotes, in its unit
//   - energy_per_inference_j * latency_s < 1e-12
// Grammar: expr OP expr with OP one of <= < >= > == !=; expr: numbers, "quantities", names (a metric or
// a dotted config key), + - * / and parentheses, unary minus. A constraint naming any metric is checked
// after the point is evaluated; one naming only config keys is checked before (the point is not evaluated).
// Values are SI (a key's resolved value "32 KiB" is 32768). Thread-safety: immutable after parsing.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cimlab::explore {

// The value of a name (a metric or a config key), or nothing when it has none.
using Lookup = std::function<std::optional<double>(const std::string& name)>;

class Expression;

class Constraint {
 public:
  // Parses `text`; throws core::ConfigError (message without position: the caller adds it) when malformed.
  // `metrics` are the names that are metrics; every other name is a config key.
  Constraint(const std::string& text, const std::vector<std::string>& metrics);
  ~Constraint();
  Constraint(const Constraint&);
  Constraint& operator=(const Constraint&);

  const std::string& text() const { return text_; }
  bool on_metrics() const { return on_metrics_; }
  const std::vector<std::string>& names() const { return names_; }

  // How far it is from holding: 0 when it holds, else |lhs - rhs| / max(|rhs|, |lhs|, tiny) (> 0). Sets
  // `why` to a sentence naming the values when it does not hold. nullopt (and `why`) when a name has no value.
  std::optional<double> violation(const Lookup& lookup, std::string* why) const;

 private:
  std::string text_;
  std::string op_;
  std::shared_ptr<const Expression> lhs_, rhs_;
  std::vector<std::string> names_;
  bool on_metrics_ = false;
};

}  // namespace cimlab::explore
