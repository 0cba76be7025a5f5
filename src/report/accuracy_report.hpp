#pragma once
// report.html of `cimlab run`: the accuracy table (float, analog, hat, hat_wmc per chip), a bar chart
// of the mean accuracies, each chip's error budget (accuracy with each non-ideality class alone) and
// where the numbers come from. Input: the run's result.json content (see nn/accuracy_run.hpp):
// {"rows": [{model, dataset, device, stage, mean, std, p5, ratio_to_float, per_chip}],
//  "details": {"chips": {device: {"analog": {"budget": [{effect, mean, ...}], ...}}}}, "provenance": {...}}.
// Pure function of its input; missing keys are shown as missing, never a crash.
#include <nlohmann/json.hpp>

#include <string>

namespace cimlab::report {

std::string accuracy_report(const nlohmann::json& result);

}  // namespace cimlab::report
