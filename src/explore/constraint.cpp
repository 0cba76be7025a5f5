// Constraint expressions (see explore/constraint.hpp): a small recursive-descent parser and evaluator.
#include "explore/constraint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/errors.hpp"
#include "explore/space.hpp"

namespace cimlab::explore {

// A parsed arithmetic expression: a number, a name, or an operation on one or two sub-expressions.
class Expression {
 public:
  enum class Kind { kNumber, kName, kNegate, kAdd, kSubtract, kMultiply, kDivide };
  Kind kind = Kind::kNumber;
  double number = 0;
  std::string name;
  std::shared_ptr<const Expression> a, b;

  std::optional<double> eval(const Lookup& lookup, std::string* missing) const {
    if (kind == Kind::kNumber) return number;
    if (kind == Kind::kName) {
      auto v = lookup(name);
      if (!v && missing) *missing = name;
      return v;
    }
    const auto x = a->eval(lookup, missing);
    if (!x) return std::nullopt;
    if (kind == Kind::kNegate) return -*x;
    const auto y = b->eval(lookup, missing);
    if (!y) return std::nullopt;
    switch (kind) {
      case Kind::kAdd: return *x + *y;
      case Kind::kSubtract: return *x - *y;
      case Kind::kMultiply: return *x * *y;
      default: return *x / *y;
    }
  }
};

namespace {

using ExprPtr = std::shared_ptr<const Expression>;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  ExprPtr expression() {
    ExprPtr left = term();
    for (skip(); pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'); skip()) {
      const char op = s_[pos_++];
      left = binary(op == '+' ? Expression::Kind::kAdd : Expression::Kind::kSubtract, left, term());
    }
    return left;
  }

  std::string comparison() {
    skip();
    static const char* kOps[] = {"<=", ">=", "==", "!=", "<", ">"};
    for (const char* op : kOps)
      if (s_.compare(pos_, std::string(op).size(), op) == 0) {
        pos_ += std::string(op).size();
        return op;
      }
    fail("expected a comparison (<=, <, >=, >, ==, !=)");
    return "";
  }

  void end() {
    skip();
    if (pos_ != s_.size()) fail(fmt::format("unexpected '{}'", s_.substr(pos_)));
  }

  const std::vector<std::string>& names() const { return names_; }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw core::ConfigError(fmt::format("constraint '{}': {} (at column {})", s_, why, pos_ + 1));
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  static ExprPtr binary(Expression::Kind k, ExprPtr a, ExprPtr b) {
    auto e = std::make_shared<Expression>();
    e->kind = k;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }
  ExprPtr term() {
    ExprPtr left = factor();
    for (skip(); pos_ < s_.size() && (s_[pos_] == '*' || s_[pos_] == '/'); skip()) {
      const char op = s_[pos_++];
      left = binary(op == '*' ? Expression::Kind::kMultiply : Expression::Kind::kDivide, left, factor());
    }
    return left;
  }
  ExprPtr factor() {
    skip();
    if (pos_ >= s_.size()) fail("expected a value");
    const char c = s_[pos_];
    if (c == '-') {
      ++pos_;
      return binary(Expression::Kind::kNegate, factor(), nullptr);
    }
    if (c == '(') {
      ++pos_;
      ExprPtr e = expression();
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ')') fail("expected ')'");
      ++pos_;
      return e;
    }
    if (c == '"' || c == '\'') return quantity(c);
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return name();
    fail(fmt::format("unexpected '{}'", c));
  }
  ExprPtr number() {
    std::size_t used = 0;
    auto e = std::make_shared<Expression>();
    try {
      e->number = std::stod(s_.substr(pos_), &used);
    } catch (const std::exception&) {
      fail("malformed number");
    }
    pos_ += used;
    return e;
  }
  ExprPtr quantity(char quote) {
    const std::size_t close = s_.find(quote, pos_ + 1);
    if (close == std::string::npos) fail("unterminated quote");
    const std::string text = s_.substr(pos_ + 1, close - pos_ - 1);
    const Value v = read_value(text);
    if (!v.number) fail(fmt::format("'{}' is not a number or a quantity with a known unit", text));
    pos_ = close + 1;
    auto e = std::make_shared<Expression>();
    e->number = *v.number;
    return e;
  }
  ExprPtr name() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    auto e = std::make_shared<Expression>();
    e->kind = Expression::Kind::kName;
    e->name = s_.substr(start, pos_ - start);
    if (std::find(names_.begin(), names_.end(), e->name) == names_.end()) names_.push_back(e->name);
    return e;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
  std::vector<std::string> names_;
};

bool holds(const std::string& op, double l, double r) {
  if (op == "<=") return l <= r;
  if (op == "<") return l < r;
  if (op == ">=") return l >= r;
  if (op == ">") return l > r;
  if (op == "==") return l == r;
  return l != r;
}

}  // namespace

Constraint::Constraint(const std::string& text, const std::vector<std::string>& metrics) : text_(text) {
  Parser p(text_);
  lhs_ = p.expression();
  op_ = p.comparison();
  rhs_ = p.expression();
  p.end();
  names_ = p.names();
  on_metrics_ = std::any_of(names_.begin(), names_.end(), [&](const std::string& n) {
    return std::find(metrics.begin(), metrics.end(), n) != metrics.end();
  });
}

Constraint::~Constraint() = default;
Constraint::Constraint(const Constraint&) = default;
Constraint& Constraint::operator=(const Constraint&) = default;

std::optional<double> Constraint::violation(const Lookup& lookup, std::string* why) const {
  std::string missing;
  const auto l = lhs_->eval(lookup, &missing);
  const auto r = l ? rhs_->eval(lookup, &missing) : std::nullopt;
  if (!l || !r) {
    if (why) *why = fmt::format("constraint '{}': '{}' has no value", text_, missing);
    return std::nullopt;
  }
  if (holds(op_, *l, *r)) return 0.0;
  if (why) *why = fmt::format("constraint '{}' does not hold ({:.6g} {} {:.6g} is false)", text_, *l, op_, *r);
  const double scale = std::max({std::fabs(*l), std::fabs(*r), 1e-300});
  return std::max(std::fabs(*l - *r) / scale, 1e-12);
}

}  // namespace cimlab::explore
