// The `cimlab ppa` experiment (see flow/ppa_experiment.hpp).
#include "flow/ppa_experiment.hpp"

#include <fmt/format.h>

namespace cimlab::flow {

using core::ParamSpec;

namespace {

const core::Schema& workload_schema() {
  static const core::Schema s{
      "workload", "what the chip runs: the model (network) or one macro on repeated matrix-vector products (mvm)",
      {ParamSpec::choice("type", {"network", "mvm"}, "network", "network: the config's model; mvm: rows x cols products"),
       ParamSpec::integer("rows", "", "mvm: matrix rows (inputs)").at_least(1).at_most(1 << 20),
       ParamSpec::integer("cols", "", "mvm: matrix columns (outputs)").at_least(1).at_most(1 << 20),
       ParamSpec::integer("input_bits", "", "mvm: input resolution (default mapping.input_bits)").at_least(1).at_most(16),
       ParamSpec::integer("weight_bits", "", "mvm: weight resolution (default mapping.weight_bits)").at_least(1).at_most(16),
       ParamSpec::integer("vectors", "1", "mvm: independent input vectors per inference (positions; copies run them at once)")
           .at_least(1).at_most(1 << 20),
       ParamSpec::real("input_density", core::Dim::kNone, "0.5",
                       "share of input digits that drive a row (bit-serial: 1 bits; multilevel: mean squared digit)")
           .at_least(0).at_most(1),
       ParamSpec::real("weight_density", core::Dim::kNone, "0.25",
                       "mean cell conductance as a share of the window above G_min").at_least(0).at_most(1)}};
  return s;
}

// The mvm workload as a one-layer network: a rows x cols Gemm, one position per product.
mapper::NetworkRequest mvm_network(const core::Params& w, const xbar::ChipConfig& chip) {
  mapper::NetworkRequest net;
  net.model = fmt::format("mvm {}x{}", w.integer("rows"), w.integer("cols"));
  mapper::LayerRequest l;
  l.name = "mvm";
  l.op = "Gemm";
  l.rows = w.integer("rows");
  l.cols = w.integer("cols");
  l.positions = w.integer("vectors");
  l.macs = l.rows * l.cols * l.positions;
  l.output_elements = l.cols * l.positions;
  l.mapping = chip.array.mapping;
  if (w.has("input_bits")) l.mapping.input_bits = static_cast<int>(w.integer("input_bits"));
  if (w.has("weight_bits")) l.mapping.weight_bits = static_cast<int>(w.integer("weight_bits"));
  l.adc_bits = chip.array.adc.bits;
  net.layers.push_back(l);
  net.input_elements = l.rows * l.positions;
  return net;
}

void check_workload(const core::Params& w, const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags) {
  const bool mvm = w.str("type") == "mvm";
  if (mvm && !(w.has("rows") && w.has("cols")))
    diags.add(core::at(root["workload"], origin, "workload type mvm needs workload.rows and workload.cols"));
  if (mvm && root["model"])
    diags.add(core::at(root["model"], origin, "workload type mvm runs one macro: remove the 'model' section"));
  if (!mvm)
    for (const char* key : {"rows", "cols", "input_bits", "weight_bits", "vectors"})
      if (root["workload"] && root["workload"][key])
        diags.add(core::at(root["workload"][key], origin,
                           fmt::format("'workload.{}' applies to workload type mvm (a network brings its own shapes)", key)));
}

}  // namespace

std::vector<const core::Schema*> ppa_schemas() {
  return {&ppa::technology_schema(), &ppa::circuits_schema(), &workload_schema(), &silicon_schema()};
}

PpaSections load_ppa_sections(const core::ConfigFile& cfg, core::Diagnostics& diags, YAML::Node& resolved) {
  PpaSections s;
  s.tech = ppa::at_supply(ppa::load_technology(cfg.root, cfg.origin, diags, resolved));
  s.circuits = ppa::load_circuits(cfg.root, cfg.origin, diags, resolved);
  s.workload = core::validate_section(cfg, "workload", workload_schema(), diags, resolved);
  s.silicon = load_silicon(cfg, diags, resolved, s.has_silicon);
  return s;
}

PpaExperiment load_ppa_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  PpaExperiment exp;
  core::Diagnostics diags;
  const core::ConfigFile cfg =
      read_chip_config(path, overrides, {"technology", "circuits", "workload", "silicon"}, exp.map, diags);
  PpaSections sections = load_ppa_sections(cfg, diags, exp.map.resolved);
  exp.ppa.tech = sections.tech;
  exp.ppa.circuits = sections.circuits;
  exp.silicon = std::move(sections.silicon);
  exp.has_silicon = sections.has_silicon;
  const core::Params& w = sections.workload;
  if (diags.empty()) check_workload(w, cfg.root, cfg.origin, diags);
  diags.throw_if_any();
  exp.mvm = w.str("type") == "mvm";
  exp.ppa.activity = {w.real("input_density"), w.real("weight_density")};
  ppa::use_chip(exp.ppa, exp.map.chip);
  if (exp.mvm) {
    exp.mvm_net = mvm_network(w, exp.map.chip);
    exp.map.model = exp.mvm_net.model;
    return exp;
  }
  load_network(cfg, exp.map);
  return exp;
}

PpaRun run_ppa(const PpaExperiment& exp) {
  PpaRun run;
  run.net = exp.mvm ? exp.mvm_net : mapper::network_request(exp.map.graph, exp.map.chip);
  run.mapping = mapper::map_network(run.net, exp.map.spec);
  run.result = ppa::estimate(run.net, exp.map.spec, run.mapping, exp.ppa);
  return run;
}

nlohmann::json ppa_json(const PpaExperiment& exp, const PpaRun& run) {
  nlohmann::json out = ppa::to_json(run.result);
  out["model"] = exp.map.model;
  out["chip"] = chip_json(exp.map);
  out["chip"]["technology"] = exp.ppa.tech.node.empty() ? nlohmann::json(nullptr) : nlohmann::json(exp.ppa.tech.node);
  out["workload"] = exp.mvm ? "mvm" : "network";
  out["mapping"] = map_json(exp.map, run.net, run.mapping);
  if (exp.has_silicon)
    out["silicon"] = {{"source", exp.silicon.source}, {"role", exp.silicon.role}, {"kind", exp.silicon.kind},
                      {"published", exp.silicon.figures}, {"excludes", exp.silicon.excludes},
                      {"model", published_scope(exp.silicon, out)}, {"error", silicon_errors(exp.silicon, out)}};
  return out;
}

std::string ppa_text(const PpaExperiment& exp, const PpaRun& run) {
  const ppa::PpaTotals& t = run.result.totals;
  if (!run.result.feasible)
    return fmt::format("{}: INFEASIBLE: {}; short of {} arrays\n", exp.map.model, run.mapping.reason,
                       run.mapping.shortfall_arrays);
  std::string s = fmt::format("{} on {} ({})\n", exp.map.model,
                              exp.map.chip_preset.empty() ? std::string("the configured chip") : exp.map.chip_preset,
                              exp.ppa.tech.node.empty() ? std::string("custom technology") : exp.ppa.tech.node);
  s += fmt::format("{:<14} {:>14} {:>12} {:>14} {:>12}\n", "component", "energy (J)", "area (mm2)", "latency (s)", "leakage (W)");
  for (const auto& [name, c] : run.result.components)
    s += fmt::format("{:<14} {:>14.4g} {:>12.4g} {:>14.4g} {:>12.4g}\n", name, c.energy_j, c.area_m2 * 1e6, c.latency_s,
                     c.leakage_w);
  s += fmt::format("area {:.4g} mm2, {:.4g} J per inference, latency {:.4g} s, {:.4g} inferences/s (limited by {}); "
                   "{:.4g} TOPS, {:.4g} TOPS/W, {:.4g} TOPS/mm2\n",
                   t.area_m2 * 1e6, t.energy_per_inference_j, t.latency_s, t.throughput_inferences_per_s, t.limited_by,
                   t.tops, t.tops_per_w, t.tops_per_mm2);
  if (exp.has_silicon) {
    const nlohmann::json ppa = ppa::to_json(run.result);
    const nlohmann::json totals = published_scope(exp.silicon, ppa);
    s += fmt::format("published ({}, {}): {}\n", exp.silicon.kind, exp.silicon.source, exp.silicon.notes);
    for (const auto& [name, e] : silicon_errors(exp.silicon, ppa))
      s += fmt::format("  {:<24} published {:>11.4g}  model {:>11.4g}  error {:+.1f}%\n", name, exp.silicon.figures.at(name),
                       totals[name].get<double>(), 100.0 * e);
  }
  return s;
}

}  // namespace cimlab::flow
