#include "report/html.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cimlab::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr std::string_view kStyle = R"css(
:root { --ink: #1d2433; --muted: #5b6475; --line: #dde2ea; --accent: #2b5d9b; --panel: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: var(--ink);
  font: 15px/1.5 "Segoe UI", "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif; }
header { background: var(--accent); color: #ffffff; padding: 28px 0 22px; }
header p { margin: 4px 0 0; opacity: 0.85; }
.wrap { max-width: 980px; margin: 0 auto; padding: 0 24px; }
h1 { margin: 0; font-size: 26px; font-weight: 600; }
h2 { margin: 36px 0 12px; font-size: 19px; font-weight: 600; border-bottom: 2px solid var(--line);
  padding-bottom: 6px; }
section p { margin: 8px 0; }
.note { background: var(--panel); border-left: 4px solid var(--accent); padding: 10px 14px;
  margin: 12px 0; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 14px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: var(--panel); font-weight: 600; }
tbody tr:hover { background: #fafbfd; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 20px; margin: 12px 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 12px 14px; overflow-x: auto;
  font: 13px/1.45 "SFMono-Regular", Consolas, "DejaVu Sans Mono", monospace; }
figure { margin: 16px 0; }
svg { max-width: 100%; height: auto; }
footer { margin-top: 48px; border-top: 1px solid var(--line); background: var(--panel); color: var(--muted);
  font-size: 13px; padding: 14px 0 24px; }
footer dl.kv { gap: 2px 16px; }
footer dd { word-break: break-all; }
)css";

std::string key_value_list(const KeyValues& items) {
  std::string out = "<dl class=\"kv\">\n";
  for (const auto& [key, value] : items)
    out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", escape(key), escape(value));
  return out + "</dl>\n";
}

}  // namespace

Page::Page(std::string title, std::string subtitle) : title_(std::move(title)), subtitle_(std::move(subtitle)) {}

void Page::close_section() {
  if (in_section_) body_ += "</section>\n";
  in_section_ = false;
}

Page& Page::section(std::string_view heading) {
  close_section();
  body_ += fmt::format("<section>\n<h2>{}</h2>\n", escape(heading));
  in_section_ = true;
  return *this;
}

Page& Page::paragraph(std::string_view text) {
  body_ += fmt::format("<p>{}</p>\n", escape(text));
  return *this;
}

Page& Page::note(std::string_view text) {
  body_ += fmt::format("<div class=\"note\">{}</div>\n", escape(text));
  return *this;
}

Page& Page::preformatted(std::string_view text) {
  body_ += fmt::format("<pre>{}</pre>\n", escape(text));
  return *this;
}

Page& Page::table(const TableRow& header, const std::vector<TableRow>& rows) {
  body_ += "<table>\n<thead><tr>";
  for (const auto& h : header) body_ += fmt::format("<th>{}</th>", escape(h));
  body_ += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (std::size_t i = 0; i < std::max(header.size(), row.size()); ++i)
      body_ += fmt::format("<td>{}</td>", i < row.size() ? escape(row[i]) : std::string());
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
  return *this;
}

Page& Page::key_values(const KeyValues& items) {
  body_ += key_value_list(items);
  return *this;
}

Page& Page::figure(std::string_view markup) {
  body_ += fmt::format("<figure>{}</figure>\n", markup);
  return *this;
}

Page& Page::footer(const KeyValues& provenance) {
  footer_ = key_value_list(provenance);
  return *this;
}

std::string Page::render() const {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<header><div class=\"wrap\"><h1>{}</h1>{}</div></header>\n<main class=\"wrap\">\n",
      escape(title_), kStyle, escape(title_), subtitle_.empty() ? "" : "<p>" + escape(subtitle_) + "</p>");
  out += body_;
  if (in_section_) out += "</section>\n";
  out += "</main>\n";
  if (!footer_.empty()) out += "<footer><div class=\"wrap\">\n" + footer_ + "</div></footer>\n";
  return out + "</body>\n</html>\n";
}

}  // namespace cimlab::report
