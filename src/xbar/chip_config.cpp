// The chip sections shared by `cimlab xbar` and the accuracy commands (see xbar/chip_config.hpp).
#include "xbar/chip_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "device/presets.hpp"
#include "xbar/array_spec.hpp"
#include "xbar/correction.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

using core::ParamSpec;

namespace {

const core::Schema& effects_schema() {
  static const core::Schema s{
      "effects", "the non-ideality classes switched on (cimlab xbar also runs each alone)",
      {ParamSpec::boolean("quantisation", "true", "weight, input (DAC / bit-serial) and ADC quantisation"),
       ParamSpec::boolean("programming", "true", "device-to-device programming variation"),
       ParamSpec::boolean("read_noise", "true", "cycle-to-cycle read noise"),
       ParamSpec::boolean("drift", "true", "conductance drift at device.drift.time"),
       ParamSpec::boolean("faults", "true", "stuck-at-ON/OFF cells"),
       ParamSpec::boolean("nonlinearity", "true", "cell I-V nonlinearity"),
       ParamSpec::boolean("ir_drop", "true", "wire, driver and sense resistance (IR drop)")}};
  return s;
}

const core::Schema& ir_drop_common_schema() {
  static const core::Schema s{"ir_drop", "how IR drop is computed: exact solver or an approximation",
                              {ParamSpec::string("type", "exact", "the IR-drop model: one of the ir_drop.<type> components below")}};
  return s;
}

void load_ir_drop(const YAML::Node& root, const core::Origin& origin, const std::string& prefix, ChipConfig& chip,
                  core::Diagnostics& diags, YAML::Node& resolved) {
  const YAML::Node node = root["ir_drop"];
  std::string& type = chip.array.ir_drop_type;
  type = "exact";
  if (node && node.IsMap() && node["type"]) {
    if (!node["type"].IsScalar()) {
      diags.add(core::at(node["type"], origin, fmt::format("'{}ir_drop.type' must be a name, e.g. exact", prefix)));
      return;
    }
    type = node["type"].Scalar();
  }
  std::vector<std::string> types;
  for (const auto& e : ir_drop_models()) types.push_back(e.type);
  const auto it = std::find_if(ir_drop_models().begin(), ir_drop_models().end(),
                               [&](const IrDropEntry& e) { return e.type == type; });
  if (it == ir_drop_models().end()) {
    const auto hint = core::closest(type, types);
    diags.add(core::at(node["type"], origin,
                       fmt::format("'{}ir_drop.type' = '{}' is not one of {}{}", prefix, type, fmt::join(types, "|"),
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "")));
    return;
  }
  chip.array.ir_drop_params = core::validate(node, it->schema, prefix + "ir_drop.", origin, diags, {"type"});
  resolved["ir_drop"] = core::to_yaml(chip.array.ir_drop_params, it->schema);
  resolved["ir_drop"]["type"] = type;
}

}  // namespace

const std::vector<std::string>& chip_section_names() {
  static const std::vector<std::string> names{"array", "device", "mapping", "adc", "ir_drop", "correction", "effects"};
  return names;
}

std::vector<const core::Schema*> chip_schemas() {
  std::vector<const core::Schema*> out{&array_schema(), &device::device_schema(), &mapping_schema(), &adc_schema(),
                                       &ir_drop_common_schema()};
  for (const auto& e : ir_drop_models()) out.push_back(&e.schema);
  out.push_back(&correction_schema());
  out.push_back(&effects_schema());
  return out;
}

ChipConfig load_chip(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                     core::Diagnostics& diags, YAML::Node& resolved) {
  const std::size_t before = diags.items().size();
  ChipConfig chip;
  const core::Params array = core::validate_section(root, "array", array_schema(), origin, prefix, diags, resolved);
  YAML::Node device_resolved;
  chip.array.device = device::load_device(root["device"], origin, diags, &device_resolved);
  resolved["device"] = device_resolved;
  const core::Params mapping = core::validate_section(root, "mapping", mapping_schema(), origin, prefix, diags, resolved);
  const core::Params adc = core::validate_section(root, "adc", adc_schema(), origin, prefix, diags, resolved);
  load_ir_drop(root, origin, prefix, chip, diags, resolved);
  chip.correction = core::validate_section(root, "correction", correction_schema(), origin, prefix, diags, resolved);
  const core::Params effects = core::validate_section(root, "effects", effects_schema(), origin, prefix, diags, resolved);
  if (diags.items().size() != before) return chip;  // specs are built only from sections that validated
  chip.array.circuit = make_circuit_spec(array);
  chip.array.mapping = make_mapping_spec(mapping, chip.array.device, origin, diags);
  chip.array.adc = make_adc_spec(adc, origin, diags);
  chip.correction_enabled = chip.correction.boolean("enabled");
  for (int e = 0; e < kEffectCount; ++e)
    chip.effects.set(static_cast<Effect>(e), effects.boolean(std::string(effect_name(static_cast<Effect>(e)))));
  return chip;
}

}  // namespace cimlab::xbar
