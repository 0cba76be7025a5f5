// The PPA roll-up (issue 11): sums, monotonicity, the pipeline's timing, and the mvm workload against the
// same macro inside a one-layer network.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/config.hpp"
#include "flow/ppa_experiment.hpp"
#include "graph/zoo.hpp"
#include "mapper/network.hpp"
#include "ppa/estimate.hpp"

namespace cimlab::ppa {
namespace {

xbar::ChipConfig chip_of(const std::string& yaml) {
  const core::ConfigFile cfg = core::parse_config(yaml, "test.yaml");
  core::Diagnostics diags;
  YAML::Node resolved;
  xbar::ChipConfig chip = xbar::load_chip(cfg.root, cfg.origin, "", diags, resolved);
  diags.throw_if_any();
  return chip;
}

const char* kChip = R"(
device: {preset: rram}
array: {rows: 128, cols: 128}
mapping: {signed: differential, weight_bits: 8, cell_bits: 2, input: bit_serial, input_bits: 8}
adc: {bits: 8}
)";

struct Design {
  mapper::NetworkRequest net;
  mapper::MapSpec spec;
  PpaSpec ppa;
};

Design setup(const std::string& model, const std::string& chip_yaml = kChip, int side = 12) {
  Design s;
  const auto [channels, image] = graph::parse_image_shape(model == "lenet5" ? "1x28x28" : "3x32x32");
  const xbar::ChipConfig chip = chip_of(chip_yaml);
  s.net = mapper::network_request(graph::zoo_graph(model, channels, image), chip);
  s.spec.array_rows = chip.array.circuit.rows;
  s.spec.array_cols = chip.array.circuit.cols;
  s.spec.hierarchy.mesh.width = s.spec.hierarchy.mesh.height = side;
  s.spec.placement.iterations = 2000;
  use_chip(s.ppa, chip);
  return s;
}

PpaResult run(const Design& s) { return estimate(s.net, s.spec, mapper::map_network(s.net, s.spec), s.ppa); }

double component(const PpaResult& r, const std::string& name, double Cost::*field) {
  for (const auto& [n, c] : r.components)
    if (n == name) return c.*field;
  ADD_FAILURE() << "no component " << name;
  return 0;
}

TEST(Ppa, FiguresAreFiniteAndTotalsAreSums) {
  for (const char* model : {"lenet5", "vgg8", "resnet20"}) {
    Design s = setup(model);
    s.spec.pipeline.mode = mapper::PipelineMode::kBalanced;
    const PpaResult r = run(s);
    ASSERT_TRUE(r.feasible) << model;
    Cost by_component, by_layer;
    for (const auto& [n, c] : r.components) {
      for (double v : {c.energy_j, c.area_m2, c.latency_s, c.leakage_w}) {
        EXPECT_TRUE(std::isfinite(v)) << model << " " << n;
        EXPECT_GE(v, 0.0) << model << " " << n;
      }
      by_component += c;
    }
    for (const auto& [n, c] : r.layers) {
      for (double v : {c.energy_j, c.area_m2, c.latency_s}) EXPECT_GE(v, -1e-12 * r.totals.energy_per_inference_j) << n;
      by_layer += c;
    }
    const PpaTotals& t = r.totals;
    EXPECT_NEAR(by_component.energy_j, t.energy_per_inference_j, 1e-12 * t.energy_per_inference_j);
    EXPECT_NEAR(by_component.area_m2, t.area_m2, 1e-12 * t.area_m2);
    EXPECT_NEAR(by_component.latency_s, t.latency_s, 1e-12 * t.latency_s);
    EXPECT_NEAR(by_layer.energy_j, t.energy_per_inference_j, 1e-9 * t.energy_per_inference_j);
    EXPECT_NEAR(by_layer.area_m2, t.area_m2, 1e-9 * t.area_m2);
    EXPECT_NEAR(by_layer.latency_s, t.latency_s, 1e-9 * t.latency_s);
    EXPECT_GT(t.tops, 0.0);
    EXPECT_NEAR(t.tops_per_w, 2.0 * t.macs / t.energy_per_inference_j / 1e12, 1e-9 * t.tops_per_w);
    EXPECT_NEAR(t.tops, 2.0 * t.macs / t.interval_s / 1e12, 1e-9 * t.tops);
  }
}

TEST(Ppa, PipelineTimingIsTheSlowestStageAndTheFill) {
  Design s = setup("vgg8", kChip, 16);
  s.spec.pipeline.mode = mapper::PipelineMode::kLatency;
  const mapper::Mapping m = mapper::map_network(s.net, s.spec);
  const PpaResult r = estimate(s.net, s.spec, m, s.ppa);
  double slowest = 0, fill = 0;
  for (std::size_t i = 0; i + 1 < r.layers.size(); ++i) {
    slowest = std::max(slowest, r.layers[i].second.latency_s);
    fill += r.layers[i].second.latency_s;
  }
  EXPECT_DOUBLE_EQ(r.totals.interval_s, std::max({slowest, component(r, "digital", &Cost::latency_s),
                                                  m.placement.max_link_bits / (64.0 * 1e9)}));
  // One inference through the empty pipeline: every stage in turn, then the digital work and the hops.
  EXPECT_NEAR(r.totals.latency_s,
              fill + component(r, "digital", &Cost::latency_s) + component(r, "noc", &Cost::latency_s),
              1e-12 * r.totals.latency_s);
  // A stage: positions / copies x input cycles x (read + conversions); conv1 of VGG-8.
  const auto& l0 = m.layers[0];
  const double slot = std::max(adc_conversion(s.ppa.circuits, s.ppa.tech, 8).time, 1e-9);
  const double steps = std::ceil(1024.0 / static_cast<double>(l0.copies)) * 8;
  EXPECT_NEAR(r.layers[0].second.latency_s, steps * (s.ppa.circuits.read_time + l0.conversion_cycles * slot),
              1e-12 * r.layers[0].second.latency_s);
}

TEST(Ppa, EnergyAndAreaGrowWithWhatTheyShould) {
  const Design base = setup("lenet5");
  const PpaResult r0 = run(base);
  Design more_bits = base;
  more_bits.ppa.adc_bits = 10;
  for (auto& l : more_bits.net.layers) l.adc_bits = 10;
  const PpaResult r_bits = run(more_bits);
  EXPECT_GT(r_bits.totals.energy_per_inference_j, r0.totals.energy_per_inference_j);
  EXPECT_GT(r_bits.totals.area_m2, r0.totals.area_m2);
  Design busy = base;
  busy.ppa.activity.input_density = 0.9;
  EXPECT_GT(component(run(busy), "array", &Cost::energy_j), component(r0, "array", &Cost::energy_j));
  Design long_wires = base;
  long_wires.ppa.tech.wire_capacitance_per_um *= 2;
  EXPECT_GT(run(long_wires).totals.energy_per_inference_j, r0.totals.energy_per_inference_j);
  Design bigger = base;
  bigger.spec.hierarchy.mesh.width += 2;
  EXPECT_GT(run(bigger).totals.area_m2, r0.totals.area_m2);
  Design more_arrays = base;
  more_arrays.spec.hierarchy.macro.arrays = 2;
  more_arrays.spec.hierarchy.macro.adcs = 32;
  EXPECT_GT(component(run(more_arrays), "array", &Cost::area_m2), component(r0, "array", &Cost::area_m2));
}

TEST(Ppa, InfeasibleMappingIsAResult) {
  Design s = setup("vgg8", kChip, 2);
  const PpaResult r = run(s);
  EXPECT_FALSE(r.feasible);
  EXPECT_EQ(r.totals.energy_per_inference_j, 0.0);
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

const char* kTechnology = R"(technology: {feature_size: "22 nm", vdd: "0.8 V", fo4_delay: "8 ps",
  gate_capacitance_per_um: "1 fF", wire_capacitance_per_um: "0.2 fF", wire_resistance_per_um: "10 ohm",
  sram_cell_area: "0.092 um2", nand2_area: "0.2 um2", gate_energy: "0.2 fJ", leakage_per_gate: "1 nW",
  dff_energy: "1 fJ"}
)";

TEST(Ppa, MvmWorkloadEqualsTheSameMacroInAOneLayerNetwork) {
  // The macro on repeated 128 x 16 products, and a network of one 128 -> 16 linear layer (Gemm) on the
  // same chip: the layer's energy and stage time are the workload's.
  const std::string chip = "chip: {preset: demo}\n";
  const auto mvm = flow::load_ppa_experiment(
      write("ppa_mvm.yaml", chip + kTechnology + "workload: {type: mvm, rows: 128, cols: 16}\n"), {});
  const flow::PpaRun a = flow::run_ppa(mvm);
  graph::Graph g;
  g.name = "one_layer";
  const int x = g.add_input("input", {1, 128});
  graph::Constant w;
  w.shape = {16, 128};
  w.f.assign(16 * 128, 0.5f);
  const int weight = g.add_constant("fc.weight", w);
  const int y = g.add_value("fc");
  graph::Node node{"fc", "Gemm", {x, weight}, {y}, {}};
  node.attrs.set("transB", std::int64_t{1});
  g.add_node(node);
  g.outputs = {y};
  graph::infer_shapes(g);
  const mapper::NetworkRequest net = mapper::network_request(g, mvm.map.chip);
  const mapper::Mapping m = mapper::map_network(net, mvm.map.spec);
  const PpaResult b = estimate(net, mvm.map.spec, m, mvm.ppa);
  ASSERT_TRUE(a.result.feasible);
  ASSERT_TRUE(b.feasible);
  EXPECT_DOUBLE_EQ(a.result.layers[0].second.energy_j, b.layers[0].second.energy_j);
  EXPECT_DOUBLE_EQ(a.result.layers[0].second.latency_s, b.layers[0].second.latency_s);
  EXPECT_DOUBLE_EQ(a.result.totals.area_m2, b.totals.area_m2);
  EXPECT_DOUBLE_EQ(a.result.totals.macs, 128.0 * 16.0);
}

TEST(Ppa, ConfigProblemsAreReported) {
  EXPECT_THROW(flow::load_ppa_experiment(write("ppa_no_tech.yaml", "model: {name: lenet5}\n"), {}), core::ConfigError);
  EXPECT_THROW(flow::load_ppa_experiment(write("ppa_mvm_no_rows.yaml", std::string(kTechnology) + "workload: {type: mvm}\n"), {}),
               core::ConfigError);
  EXPECT_THROW(flow::load_ppa_experiment(
                   write("ppa_bad_fom.yaml", std::string(kTechnology) + "model: {name: lenet5}\ncircuits: {adc: {fom: \"-1 fJ\"}}\n"), {}),
               core::ConfigError);
}

}  // namespace
}  // namespace cimlab::ppa

namespace cimlab::ppa {
namespace {

TEST(Technology, SupplyScalesEnergiesLeakageAndDelays) {
  TechSpec t;  // defaults: vdd 0.8 V, vth 0.3 V
  EXPECT_EQ(at_supply(t).gate_energy, t.gate_energy);
  t.supply = 0.4;
  const TechSpec low = at_supply(t);
  EXPECT_DOUBLE_EQ(low.vdd, 0.4);
  EXPECT_DOUBLE_EQ(low.gate_energy, 0.25 * t.gate_energy);
  EXPECT_DOUBLE_EQ(low.dff_energy, 0.25 * t.dff_energy);
  EXPECT_DOUBLE_EQ(low.leakage_per_gate, 0.5 * t.leakage_per_gate);
  // Alpha-power law: (0.4 / 0.1^1.3) / (0.8 / 0.5^1.3).
  EXPECT_NEAR(low.fo4_delay / t.fo4_delay, (0.4 / std::pow(0.1, 1.3)) / (0.8 / std::pow(0.5, 1.3)), 1e-12);
  EXPECT_GT(low.fo4_delay, t.fo4_delay);
}

// One 128 x 16 product (8-bit weights, 2-bit cells, differential: 64 columns) on one array of kChip.
Design one_product() {
  Design s = setup("lenet5");
  mapper::LayerRequest l = s.net.layers[0];
  l.name = "mvm";
  l.rows = 128, l.cols = 16, l.groups = 1, l.positions = 1, l.macs = 128 * 16, l.output_elements = 16;
  s.net.layers = {l};
  s.net.digital.clear();
  s.net.traffic.clear();
  return s;
}

TEST(Ppa, PartialParallelReadConvertsEachGroupOfRows) {
  Design s = one_product();
  const mapper::Mapping all = mapper::map_network(s.net, s.spec);
  s.spec.hierarchy.macro.parallel_rows = 32;
  const mapper::Mapping part = mapper::map_network(s.net, s.spec);
  EXPECT_EQ(all.layers[0].row_reads, 1);
  EXPECT_EQ(part.layers[0].row_reads, 4);
  EXPECT_EQ(part.layers[0].columns_converted, 4 * all.layers[0].columns_converted);
  EXPECT_EQ(part.layers[0].conversion_cycles, 4 * all.layers[0].conversion_cycles);
  const PpaResult a = estimate(s.net, s.spec, all, s.ppa), b = estimate(s.net, s.spec, part, s.ppa);
  EXPECT_NEAR(component(b, "adc", &Cost::energy_j), 4 * component(a, "adc", &Cost::energy_j),
              1e-9 * component(b, "adc", &Cost::energy_j));
  EXPECT_NEAR(component(b, "array", &Cost::latency_s), 4 * component(a, "array", &Cost::latency_s), 1e-18);
}

TEST(Ppa, AnalogCombiningConvertsOncePerSliceOrOutput) {
  Design s = one_product();  // 16 outputs x 4 slices x 2 polarities = 128 columns
  const auto conversions = [&](mapper::AnalogCombine c) {
    s.spec.hierarchy.macro.combine = c;
    return mapper::map_network(s.net, s.spec).layers[0].columns_converted;
  };
  EXPECT_EQ(conversions(mapper::AnalogCombine::kNone), 128);
  EXPECT_EQ(conversions(mapper::AnalogCombine::kPolarities), 64);
  EXPECT_EQ(conversions(mapper::AnalogCombine::kSlices), 16);
  EXPECT_EQ(mapper::map_network(s.net, s.spec).layers[0].columns_read, 128);  // every column is still read
}

TEST(Ppa, PulseCodedInputsAndSampleHold) {
  Design s = one_product();
  s.ppa.circuits.adc_conversion_time = 3e-9;
  s.ppa.tech.leakage_per_gate = 0;  // dynamic energy only
  const auto step = [&](const Design& d) {
    const mapper::Mapping m = mapper::map_network(d.net, d.spec);
    return estimate(d.net, d.spec, m, d.ppa).layers[0].second.latency_s / m.layers[0].input_cycles;
  };
  const double cycles = static_cast<double>(mapper::map_network(s.net, s.spec).layers[0].conversion_cycles);
  EXPECT_NEAR(step(s), s.ppa.circuits.read_time + cycles * 3e-9, 1e-18);  // read, then the conversions
  Design held = s;
  held.ppa.circuits.sample_hold = true;  // the next read overlaps them
  EXPECT_NEAR(step(held), std::max(s.ppa.circuits.read_time, cycles * 3e-9), 1e-18);
  Design pulses = s;
  for (auto& l : pulses.net.layers) l.mapping.input = xbar::InputMode::kMultilevel, l.mapping.dac_bits = 4, l.mapping.input_bits = 4;
  Design one_shot = pulses;  // a DAC per row
  one_shot.ppa.circuits.dac_gates_per_bit = 0;
  pulses.ppa.circuits.coding = InputCoding::kCount;  // a 4-bit digit: up to 15 unit pulses
  EXPECT_NEAR(step(pulses) - step(one_shot), 14 * s.ppa.circuits.read_time, 1e-18);
  EXPECT_NEAR(component(run(pulses), "row_drivers", &Cost::energy_j), 15 * component(run(one_shot), "row_drivers", &Cost::energy_j),
              1e-9 * component(run(pulses), "row_drivers", &Cost::energy_j));
  Design width = pulses;  // one pulse up to 15 units long: as long as the count, but it switches once
  width.ppa.circuits.coding = InputCoding::kWidth;
  EXPECT_NEAR(step(width), step(pulses), 1e-18);
  EXPECT_NEAR(component(run(width), "row_drivers", &Cost::energy_j), component(run(one_shot), "row_drivers", &Cost::energy_j) / 0.5,
              1e-9 * component(run(width), "row_drivers", &Cost::energy_j));
}

TEST(Ppa, ReadsLastAtLeastAsLongAsTheirLinesSettle) {
  Design s = one_product();  // kChip: ideal lines, so a read takes read_time
  const mapper::Mapping m = mapper::map_network(s.net, s.spec);
  const double base = estimate(s.net, s.spec, m, s.ppa).layers[0].second.latency_s;
  EXPECT_EQ(line_settling_time(s.ppa.circuits, s.ppa.tech, 128, 128, 0, 0, 0, 0, 8), 0.0);
  s.ppa.lines.r_row = s.ppa.lines.r_col = 1e4;  // 10 kohm segments: lines of tens of nanoseconds
  const double settle = line_settling_time(s.ppa.circuits, s.ppa.tech, 128, 128, 1e4, 1e4, 0, 0, 8);
  EXPECT_GT(settle, s.ppa.circuits.read_time);
  const double slow = estimate(s.net, s.spec, m, s.ppa).layers[0].second.latency_s;
  EXPECT_NEAR(slow - base, m.layers[0].input_cycles * (settle - s.ppa.circuits.read_time), 1e-9 * slow);
  // Twice the resistance, twice the time constant.
  EXPECT_NEAR(line_settling_time(s.ppa.circuits, s.ppa.tech, 128, 128, 2e4, 2e4, 0, 0, 8), 2 * settle, 1e-9 * settle);
}

TEST(Ppa, ChargeSensingCostsCapacitorsNotCurrent) {
  Design s = one_product();
  s.ppa.circuits.sensing = Sensing::kCharge;
  s.ppa.circuits.cell_capacitance = 1e-15;
  const double e1 = component(run(s), "array", &Cost::energy_j);
  s.ppa.circuits.cell_capacitance = 2e-15;
  const double e2 = component(run(s), "array", &Cost::energy_j);
  s.ppa.g_max *= 10;  // no DC current: the window does not matter
  EXPECT_DOUBLE_EQ(component(run(s), "array", &Cost::energy_j), e2);
  // 128 x 128 weight cells (one copy; kChip has no reference columns), half of the inputs on, 8 input cycles:
  // the extra femtofarad costs cells x density x cycles x V^2.
  EXPECT_NEAR(e2 - e1, 128.0 * 128 * 0.5 * 8 * 1e-15 * s.ppa.tech.vdd * s.ppa.tech.vdd, 1e-9 * e2);
}

}  // namespace
}  // namespace cimlab::ppa
