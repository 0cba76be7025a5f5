#pragma once
// Building blocks of the HTML reports: escaping, and a self-contained page (inline CSS and SVG, no
// scripts or external assets) so a report opens anywhere, offline. Pure functions, thread-safe;
// a Page is a plain value (not shared between threads while being built).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cimlab::report {

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string escape(std::string_view text);

using KeyValues = std::vector<std::pair<std::string, std::string>>;
using TableRow = std::vector<std::string>;

// An HTML page assembled in order: a header (title, optional subtitle), sections, a footer.
// Every text argument is plain text and is escaped; only figure() takes markup.
class Page {
 public:
  explicit Page(std::string title, std::string subtitle = "");

  // Starts a new section with heading `heading`; content added afterwards goes into it.
  Page& section(std::string_view heading);
  Page& paragraph(std::string_view text);
  // A highlighted box, e.g. the one-line summary of a run.
  Page& note(std::string_view text);
  // Monospaced text with its line breaks and spacing kept (e.g. a fixed-width text table).
  Page& preformatted(std::string_view text);
  // A table with a header row; cells after the first column are right-aligned (numbers).
  // Rows shorter than the header are padded with empty cells.
  Page& table(const TableRow& header, const std::vector<TableRow>& rows);
  // A two-column list of names and values.
  Page& key_values(const KeyValues& items);
  // Trusted markup (e.g. an SVG from svg.hpp) inserted verbatim inside a <figure>.
  Page& figure(std::string_view markup);
  // The footer: where the numbers come from (version, commit, seed, command, time).
  Page& footer(const KeyValues& provenance);

  // The complete document, <!DOCTYPE html> to </html>.
  std::string render() const;

 private:
  void close_section();

  std::string title_;
  std::string subtitle_;
  std::string body_;
  std::string footer_;
  bool in_section_ = false;
};

}  // namespace cimlab::report
