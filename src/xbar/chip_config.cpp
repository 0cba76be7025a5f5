// The chip sections shared by `cimlab xbar` and the accuracy commands (see xbar/chip_config.hpp).
#include "xbar/chip_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fnmatch.h>

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

// Documentation of `layers:` for `cimlab describe` (its keys are patterns, so it is not validated by a schema).
const core::Schema& layers_schema() {
  static const core::Schema s{
      "layers",
      "per-layer settings: a layer name or glob pattern (conv1, \"fc*\", \"stage2_*\") -> chip sections for those layers",
      {ParamSpec::boolean("<pattern>.digital", "false", "keep the matching layers off the crossbars (digital units, float)"),
       ParamSpec::string("<pattern>.<section>.<key>", "",
                         "any key of device, mapping, adc, ir_drop, correction, effects (and array parasitics, not its "
                         "size); every matching entry applies, in the order written")}};
  return s;
}

// The chip sections without `layers:` (what a per-layer rule may set, array size aside).
const std::vector<std::string>& array_section_names() {
  static const std::vector<std::string> names{"array", "device", "mapping", "adc", "ir_drop", "correction", "effects"};
  return names;
}

ChipConfig load_sections(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                         core::Diagnostics& diags, YAML::Node& resolved);

std::string rule_prefix(const std::string& prefix, const std::string& pattern) {
  return fmt::format("{}layers.{}.", prefix, pattern);
}

// Checks one rule's keys (sections it may set, digital) and, when the chip itself validated, the chip
// with that rule alone applied.
void check_rule(const ChipConfig& chip, const LayerRule& rule, const YAML::Node& entry, core::Diagnostics& diags) {
  const std::string where = rule_prefix(chip.prefix, rule.pattern);
  std::vector<std::string> keys = array_section_names();
  keys.push_back("digital");
  for (const auto& kv : entry) {
    const std::string k = kv.first.Scalar();
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      const auto hint = core::closest(k, keys);
      diags.add(core::at(kv.first, chip.origin, fmt::format("unknown key '{}{}'{}", where, k,
                                                            hint ? fmt::format(" (did you mean '{}'?)", *hint) : "")));
    }
  }
  const YAML::Node array = entry["array"];
  for (const char* size : {"rows", "cols"})
    if (array && array.IsMap() && array[size])
      diags.add(core::at(array[size], chip.origin,
                         fmt::format("'{}array.{}': the arrays of a chip are all one size; set array.{} for the whole chip",
                                     where, size, size)));
}

}  // namespace

const std::vector<std::string>& chip_section_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = array_section_names();
    n.push_back("layers");
    return n;
  }();
  return names;
}

bool layer_matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

std::vector<const core::Schema*> chip_schemas() {
  std::vector<const core::Schema*> out{&array_schema(), &device::device_schema(), &mapping_schema(), &adc_schema(),
                                       &ir_drop_common_schema()};
  for (const auto& e : ir_drop_models()) out.push_back(&e.schema);
  out.push_back(&correction_schema());
  out.push_back(&effects_schema());
  out.push_back(&layers_schema());
  return out;
}

namespace {

void load_rules(const YAML::Node& root, ChipConfig& chip, bool chip_valid, core::Diagnostics& diags,
                YAML::Node& resolved) {
  const YAML::Node layers = root["layers"];
  if (!layers || layers.IsNull()) return;
  if (!layers.IsMap()) {
    diags.add(core::at(layers, chip.origin,
                       fmt::format("'{}layers' must map a layer name or pattern to its settings, e.g. layers: "
                                   "{{conv1: {{digital: true}}, \"fc*\": {{adc: {{bits: 8}}}}}}",
                                   chip.prefix)));
    return;
  }
  for (const auto& kv : layers) {
    LayerRule rule;
    rule.pattern = kv.first.Scalar();
    const std::string where = rule_prefix(chip.prefix, rule.pattern);
    if (!kv.second.IsMap()) {
      diags.add(core::at(kv.second, chip.origin, fmt::format("'{}' must be a map of chip sections", where.substr(0, where.size() - 1))));
      continue;
    }
    rule.sections = YAML::Node(YAML::NodeType::Map);
    for (const auto& e : kv.second) {
      if (e.first.Scalar() != "digital") {
        rule.sections[e.first.Scalar()] = e.second;
        continue;
      }
      const std::string v = e.second.IsScalar() ? e.second.Scalar() : "";
      if (v != "true" && v != "false") {
        diags.add(core::at(e.second, chip.origin, fmt::format("'{}digital' must be true or false", where)));
        continue;
      }
      rule.sets_digital = true;
      rule.digital = v == "true";
    }
    check_rule(chip, rule, kv.second, diags);
    if (chip_valid) {
      YAML::Node ignored;
      (void)load_sections(core::merge(chip.sections, rule.sections), chip.origin, where, diags, ignored);
    }
    resolved["layers"][rule.pattern] = kv.second;
    chip.layer_rules.push_back(std::move(rule));
  }
}

}  // namespace

ChipConfig load_chip(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                     core::Diagnostics& diags, YAML::Node& resolved) {
  const std::size_t before = diags.items().size();
  ChipConfig chip = load_sections(root, origin, prefix, diags, resolved);
  chip.origin = origin;
  chip.prefix = prefix;
  chip.sections = YAML::Node(YAML::NodeType::Map);
  if (root && root.IsMap())
    for (const auto& kv : root)
      if (kv.first.Scalar() != "layers") chip.sections[kv.first.Scalar()] = kv.second;
  load_rules(root, chip, diags.items().size() == before, diags, resolved);
  return chip;
}

LayerChip chip_for_layer(const ChipConfig& chip, const std::string& layer) {
  LayerChip out;
  YAML::Node merged = chip.sections;
  for (const auto& rule : chip.layer_rules) {
    if (!layer_matches(rule.pattern, layer)) continue;
    out.patterns.push_back(rule.pattern);
    if (rule.sets_digital) out.digital = rule.digital;
    merged = core::merge(merged, rule.sections);
  }
  if (out.patterns.empty()) {
    out.chip = chip;
    out.chip.layer_rules.clear();
    return out;
  }
  core::Diagnostics diags;
  YAML::Node ignored;
  out.chip = load_sections(merged, chip.origin, fmt::format("{}layers[{}].", chip.prefix, layer), diags, ignored);
  diags.throw_if_any();
  out.chip.origin = chip.origin;
  out.chip.prefix = chip.prefix;
  out.chip.sections = merged;
  return out;
}

void check_layer_rules(const ChipConfig& chip, const std::vector<std::string>& layers) {
  core::Diagnostics diags;
  for (const auto& rule : chip.layer_rules) {
    const bool used = std::any_of(layers.begin(), layers.end(), [&](const std::string& l) { return layer_matches(rule.pattern, l); });
    if (!used)
      diags.add({chip.origin.file, 0, 0,
                 fmt::format("'{}layers.{}' matches no layer of the network (its layers: {})", chip.prefix, rule.pattern,
                             fmt::join(layers, ", "))});
  }
  diags.throw_if_any();
}

namespace {

ChipConfig load_sections(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
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

}  // namespace

}  // namespace cimlab::xbar
