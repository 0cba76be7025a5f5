#pragma once
// The `cimlab xbar` experiment: one crossbar array, its weights and inputs, every non-ideality class
// alone and together, IR-drop solving, and (optionally) weight-mapping correction.
//
// Two modes: `circuit` (conductances and row voltages given as files: the exact column currents, the
// ideal product and each approximation's error), and `weights` (weights and inputs given or drawn
// from a seeded distribution, mapped onto the device: outputs ideal vs with each non-ideality).
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"
#include "core/run_dir.hpp"
#include "device/device_spec.hpp"
#include "xbar/adc.hpp"
#include "xbar/array_sim.hpp"
#include "xbar/circuit.hpp"
#include "xbar/mapping.hpp"

namespace cimlab::xbar {

struct WeightsSpec {
  std::string file;          // CSV/NPY rows x n_out; empty = drawn
  std::string distribution;  // normal | uniform
  double scale = 0.0;        // std (normal) or half-width (uniform)
  int cols = 0;              // logical outputs drawn; 0 = as many as fit the array
};

// The inputs scored, and the separate inputs that calibrate the ADC range (adc.range: calibrated), so
// that no output is scored with a range fitted to itself: with drawn inputs, calibration_count vectors
// of a separate draw from the same distribution (stream (seed, inputs, 1)); with an input file, the
// vectors of calibration_file (required then).
struct InputsSpec {
  std::string file;  // CSV/NPY, one input vector (activations in [0, 1]) per line; empty = drawn
  int count = 0;     // vectors drawn
  double density = 1.0;  // fraction of non-zero activations when drawn
  std::string calibration_file;  // CSV/NPY as file: the ADC calibration inputs; empty = drawn
  int calibration_count = 32;    // vectors drawn for the ADC calibration
};

struct XbarExperiment {
  std::uint64_t seed = 1;
  CircuitSpec circuit;
  bool rows_given = false;  // array.rows / array.cols written in the config (not defaulted)
  bool cols_given = false;
  device::DeviceSpec device;
  MappingSpec mapping;
  AdcSpec adc;
  std::string ir_drop_type;
  core::Params ir_drop_params;
  core::Params correction_params;
  bool correction_enabled = false;
  WeightsSpec weights;
  InputsSpec inputs;
  EffectSet effects;       // the classes included in the "all" run
  bool voltage_map = true;
  YAML::Node resolved;     // resolved config (defaults filled in) for the run folder
};

// What a run produced: result.json's content and the IR-drop map (voltage across every cell for the
// first input, R x C volts; empty when output.voltage_map is off).
struct XbarRun {
  nlohmann::json result;
  Eigen::MatrixXd cell_voltage;
};

// Every schema the experiment reads, for validation and `cimlab describe`.
std::vector<const core::Schema*> experiment_schemas();

// Loads and validates a config file with `--set` overrides. Throws ConfigError listing every problem.
XbarExperiment load_xbar_experiment(const std::string& path, const std::vector<std::string>& overrides);

// Circuit mode: exact currents of conductances G (R x C, S) for inputs V (R x K, V). Writes
// currents.csv (K lines of C currents), cell_voltage.csv and result.json into the run folder.
// `spice_path` non-empty: also write the array with the first input as an ngspice netlist.
XbarRun run_circuit(const XbarExperiment& exp, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                    core::RunDir& run, const std::string& spice_path);

// Weights mode: ideal vs each non-ideality (and all together, with correction when enabled).
XbarRun run_weights(const XbarExperiment& exp, core::RunDir& run, const std::string& spice_path);

// Writes the array with input vector v as an ngspice netlist.
void write_spice(const std::string& path, const CircuitSpec& circuit, const Eigen::MatrixXd& G,
                 const Eigen::VectorXd& v);

// Checks a conductance file's values (finite, > 0) and shape against the experiment's array.
void check_conductances(const XbarExperiment& exp, const std::string& path, const Eigen::MatrixXd& G);

}  // namespace cimlab::xbar
