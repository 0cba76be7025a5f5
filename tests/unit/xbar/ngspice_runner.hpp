#pragma once
// Test helper: writes a crossbar netlist (xbar/spice.hpp) into a fresh temporary directory, runs
// `ngspice -b` on it there and reads the column currents (amperes) back from the ASCII raw file.
// Throws std::runtime_error (with the end of ngspice's log) if ngspice fails. Thread-safe (each call
// has its own directory).
#include <Eigen/Dense>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "xbar/spice.hpp"

namespace cimlab::xbar::testing {

inline bool ngspice_available() { return std::system("ngspice --version > /dev/null 2>&1") == 0; }

// Reads every vector of a one-point ASCII raw file: name -> value.
inline std::map<std::string, double> read_ascii_raw(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("ngspice wrote no raw file " + path.string());
  std::map<int, std::string> names;
  std::map<std::string, double> values;
  std::string line;
  bool in_variables = false;
  while (std::getline(in, line)) {
    if (line.rfind("Variables:", 0) == 0) {
      in_variables = true;
    } else if (line.rfind("Values:", 0) == 0) {
      int point = 0;
      in >> point;
      for (std::size_t k = 0; k < names.size(); ++k) in >> values[names[static_cast<int>(k)]];
      return values;
    } else if (in_variables) {
      std::istringstream fields(line);
      int index = 0;
      std::string name;
      if (fields >> index >> name) names[index] = name;
    }
  }
  throw std::runtime_error("no Values section in " + path.string());
}

inline std::string tail_of(const std::filesystem::path& path, std::size_t chars) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::string s = all.str();
  return s.size() > chars ? s.substr(s.size() - chars) : s;
}

// The column currents (spec.cols entries, A) of ngspice's operating point for input V (volts).
inline Eigen::VectorXd ngspice_currents(const CircuitSpec& spec, const Eigen::MatrixXd& G, const Eigen::VectorXd& V,
                                        const SpiceOptions& options = {}) {
  namespace fs = std::filesystem;
  std::string templ = (fs::temp_directory_path() / "cimlab_ngspice_XXXXXX").string();
  if (!mkdtemp(templ.data())) throw std::runtime_error("cannot create a temporary directory");
  const fs::path dir = templ;
  {
    std::ofstream netlist(dir / "crossbar.cir");
    write_spice_netlist(netlist, spec, G, V, options);
  }
  const std::string cmd = "cd '" + dir.string() + "' && ngspice -b crossbar.cir > ngspice.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    const std::string log = tail_of(dir / "ngspice.log", 2000);
    fs::remove_all(dir);
    throw std::runtime_error("ngspice failed:\n" + log);
  }
  const std::map<std::string, double> values = read_ascii_raw(dir / options.raw_file);
  fs::remove_all(dir);
  Eigen::VectorXd out(spec.cols);
  for (int j = 0; j < spec.cols; ++j) {
    const auto it = values.find(spice_column_current(j));
    if (it == values.end()) throw std::runtime_error("ngspice raw file lacks " + spice_column_current(j));
    out(j) = it->second;
  }
  return out;
}

}  // namespace cimlab::xbar::testing
