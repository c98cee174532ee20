// LabelSelector::Parse: the string form of Kubernetes' labels.Parse, converted into a
// metav1.LabelSelector as metav1.ParseToLabelSelector does.

#include <cctype>

#include "lifeboat/api/label_selector.h"

namespace lifeboat::api {
namespace {

using Op = LabelSelector::Operator;

enum class Tok { kEnd, kIdent, kComma, kOpenPar, kClosePar, kEq, kDoubleEq, kNotEq, kBang, kGt, kLt };

bool IsSpecial(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  Tok Next(std::string* text) {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    text->clear();
    if (pos_ >= s_.size()) return Tok::kEnd;
    char c = s_[pos_];
    if (IsSpecial(c)) {
      ++pos_;
      bool eq_next = pos_ < s_.size() && s_[pos_] == '=';
      switch (c) {
        case '=':
          if (eq_next) {
            ++pos_;
            *text = "==";
            return Tok::kDoubleEq;
          }
          *text = "=";
          return Tok::kEq;
        case '!':
          if (eq_next) {
            ++pos_;
            *text = "!=";
            return Tok::kNotEq;
          }
          *text = "!";
          return Tok::kBang;
        case '(':
          *text = "(";
          return Tok::kOpenPar;
        case ')':
          *text = ")";
          return Tok::kClosePar;
        case ',':
          *text = ",";
          return Tok::kComma;
        case '>':
          *text = ">";
          return Tok::kGt;
        default:
          *text = "<";
          return Tok::kLt;
      }
    }
    size_t start = pos_;
    while (pos_ < s_.size() && !IsSpecial(s_[pos_]) &&
           !std::isspace(static_cast<unsigned char>(s_[pos_]))) {
      ++pos_;
    }
    *text = std::string(s_.substr(start, pos_ - start));
    return Tok::kIdent;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : lex_(s) { Advance(); }

  Status Run(std::map<std::string, std::string>* labels,
             std::vector<LabelSelector::Requirement>* reqs) {
    if (tok_ == Tok::kEnd) return absl::OkStatus();
    while (true) {
      LIFEBOAT_RETURN_IF_ERROR(Requirement(labels, reqs));
      if (tok_ == Tok::kEnd) return absl::OkStatus();
      if (tok_ != Tok::kComma) return Error("found '" + text_ + "', expected: ',' or 'end of string'");
      Advance();
    }
  }

 private:
  void Advance() { tok_ = lex_.Next(&text_); }
  static Status Error(std::string msg) {
    return absl::InvalidArgumentError("unable to parse requirement: " + msg);
  }

  Status Requirement(std::map<std::string, std::string>* labels,
                     std::vector<LabelSelector::Requirement>* reqs) {
    bool negated = false;
    if (tok_ == Tok::kBang) {
      negated = true;
      Advance();
    }
    if (tok_ != Tok::kIdent) return Error("found '" + text_ + "', expected: identifier");
    std::string key = text_;
    Advance();
    if (negated || tok_ == Tok::kEnd || tok_ == Tok::kComma) {
      if (negated && tok_ != Tok::kEnd && tok_ != Tok::kComma) {
        return Error("found '" + text_ + "', expected: ',' or 'end of string'");
      }
      reqs->push_back({key, negated ? Op::kDoesNotExist : Op::kExists, {}});
      return absl::OkStatus();
    }
    if (tok_ == Tok::kGt || tok_ == Tok::kLt) {
      return absl::InvalidArgumentError("\"" + std::string(tok_ == Tok::kGt ? "gt" : "lt") +
                                        "\" isn't supported in label selectors");
    }
    if (tok_ == Tok::kEq || tok_ == Tok::kDoubleEq || tok_ == Tok::kNotEq) {
      bool is_not_eq = tok_ == Tok::kNotEq;
      Advance();
      std::string value;
      if (tok_ == Tok::kIdent) {
        value = text_;
        Advance();
      } else if (tok_ != Tok::kEnd && tok_ != Tok::kComma) {
        return Error("found '" + text_ + "', expected: identifier");
      }
      if (is_not_eq) {
        reqs->push_back({key, Op::kNotIn, {value}});
      } else {
        (*labels)[key] = value;
      }
      return absl::OkStatus();
    }
    if (tok_ == Tok::kIdent && (text_ == "in" || text_ == "notin")) {
      Op op = text_ == "in" ? Op::kIn : Op::kNotIn;
      Advance();
      if (tok_ != Tok::kOpenPar) return Error("found '" + text_ + "', expected: '('");
      Advance();
      std::vector<std::string> values;
      while (tok_ != Tok::kClosePar) {
        if (tok_ == Tok::kIdent) {
          values.push_back(text_);
          Advance();
        } else if (tok_ == Tok::kComma) {
          Advance();
        } else {
          return Error("found '" + text_ + "', expected: ',', ')' or identifier");
        }
      }
      Advance();
      reqs->push_back({key, op, std::move(values)});
      return absl::OkStatus();
    }
    return Error("found '" + text_ +
                 "', expected: in, notin, =, ==, !=, gt, lt");
  }

  Lexer lex_;
  Tok tok_ = Tok::kEnd;
  std::string text_;
};

}  // namespace

StatusOr<LabelSelector> LabelSelector::Parse(std::string_view text) {
  std::map<std::string, std::string> labels;
  std::vector<Requirement> reqs;
  Parser p(text);
  LIFEBOAT_RETURN_IF_ERROR(p.Run(&labels, &reqs));
  return Make(std::move(labels), std::move(reqs));
}

}  // namespace lifeboat::api
