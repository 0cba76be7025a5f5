#pragma once
// The HTML report of one `cimlab xbar` run (report.html): rendered from its result.json, in either
// shape ("mode": "weights" or "circuit"), plus the optional map of the voltage across every cell.
// Keys missing from the result are shown as "n/a" rather than failing, so a report is always written.
// Pure rendering; thread-safe.
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <string>

namespace cimlab::report {

// The complete self-contained HTML document. `cell_voltage` (volts, rows x cols of the array, for the
// first input vector) may be null, in which case the IR-drop section says no map was recorded.
std::string render_xbar_report(const nlohmann::json& result, const Eigen::MatrixXd* cell_voltage);

// Renders as above and writes `path` atomically (core::write_file_atomic). Throws core::InputError
// when the file cannot be written.
void write_xbar_report(const std::string& path, const nlohmann::json& result, const Eigen::MatrixXd* cell_voltage);

}  // namespace cimlab::report
