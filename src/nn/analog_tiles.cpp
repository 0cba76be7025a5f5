// CrossbarTiles: the arrays of one analog layer, programmed through xbar::ArraySim and evaluated as
// batched tensor products (see nn/analog.hpp).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "core/errors.hpp"
#include "device/device_model.hpp"
#include "nn/analog.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::nn {

using torch::indexing::Slice;

namespace {

constexpr std::int64_t kChunkElements = std::int64_t{1} << 21;  // per bmm operand: stays in cache, bounds memory
constexpr std::int64_t kObservedPerCall = std::int64_t{1} << 16;  // partial sums kept per array per batch

double pow2(int bits) { return std::ldexp(1.0, bits); }

torch::Tensor to_tensor(const Eigen::MatrixXd& m) {
  // Eigen is column-major: the blob read as cols x rows is m^T.
  auto t = torch::from_blob(const_cast<double*>(m.data()), {m.cols(), m.rows()}, torch::kFloat64);
  return t.t().clone(at::MemoryFormat::Contiguous);
}

// Parameters of the configured IR-drop model; empty params take the model's declared defaults.
core::Params ir_params(const xbar::ArraySimSpec& spec) {
  if (!spec.ir_drop_params.values().empty()) return spec.ir_drop_params;
  for (const xbar::IrDropEntry& e : xbar::ir_drop_models())
    if (e.type == spec.ir_drop_type) {
      core::Diagnostics unused;
      return core::validate(YAML::Node(), e.schema, "ir_drop.", {"defaults"}, unused);
    }
  return spec.ir_drop_params;
}

// Physical columns of a layer's stacked arrays: full blocks of cols_per_array, the last block only
// as wide as its outputs need (no conversions of unused columns).
std::int64_t used_columns(const xbar::MappingSpec& mapping, std::int64_t out, std::int64_t outputs_per_array,
                          std::int64_t cols_per_array, std::int64_t col_blocks) {
  const std::int64_t last = out - (col_blocks - 1) * outputs_per_array;
  return (col_blocks - 1) * cols_per_array + xbar::Layout::of(mapping, 1, static_cast<int>(last)).cols_used();
}

// Torch port of xbar::split_digits (same rule): real codes r -> `count` digits of digit_bits bits,
// r = sum_s d_s 2^(digit_bits s); integer codes give their exact digits. Result: count x r.shape.
torch::Tensor split_digits(const torch::Tensor& code, int digit_bits, int count) {
  const double top = pow2(digit_bits) - 1.0;
  std::vector<torch::Tensor> digits(static_cast<std::size_t>(count));
  torch::Tensor r = code;
  for (int s = count - 1; s >= 1; --s) {
    const double place = pow2(digit_bits * s);
    const torch::Tensor d =
        torch::maximum(torch::floor(r / place).clamp_max(top), (r - (place - 1.0)) / place).clamp_min(0.0);
    r = r - d * place;
    digits[static_cast<std::size_t>(s)] = d;
  }
  digits[0] = r.clamp(0.0, top);
  return torch::stack(digits);
}

// Cell currents per unit conductance h(V) (device::CellIV): a table lookup over the 2^b_x DAC levels
// when digits are integers, else element by element.
torch::Tensor cell_response(const device::CellIV& iv, const torch::Tensor& digits, double volts_per_digit,
                            int digit_bits, bool integer_digits) {
  if (integer_digits) {
    const auto levels = static_cast<std::int64_t>(pow2(digit_bits));
    auto table = torch::empty({levels}, torch::kFloat64);
    for (std::int64_t d = 0; d < levels; ++d)
      table[d] = iv.current(1.0, static_cast<double>(d) * volts_per_digit);
    return table.to(digits.scalar_type()).index({digits.to(torch::kLong)});
  }
  torch::Tensor v = (digits * volts_per_digit).to(torch::kFloat64).contiguous();
  double* p = v.data_ptr<double>();
  for (std::int64_t i = 0; i < v.numel(); ++i) p[i] = iv.current(1.0, p[i]);
  return v.to(digits.scalar_type());
}


// row[c] += sqrt(var[c]) z_c for c < n, one N(0, 1) draw z_c per element with var > 0 (in order).
template <typename T, typename Normal>
void add_noise_row(T* row, const T* var, std::int64_t n, Normal& normal) {
  std::int64_t draws = 0;
  for (std::int64_t c = 0; c < n; ++c) draws += var[c] > T(0) ? 1 : 0;
  if (draws == 0) return;
  const T* zp = normal.template draw<T>(draws);
  if (draws == n) {  // every element drawn: vectorised
    for (std::int64_t c = 0; c < n; ++c) row[c] += std::sqrt(var[c]) * zp[c];
    return;
  }
  for (std::int64_t c = 0; c < n; ++c)
    if (var[c] > T(0)) row[c] += std::sqrt(var[c]) * *zp++;
}

template <typename T, typename Normal>
void add_noise(torch::Tensor& i, const torch::Tensor& var, Normal& normal) {
  T* pi = i.data_ptr<T>();
  const T* pv = var.data_ptr<T>();
  const std::int64_t n = i.numel(), block = 4096;
  for (std::int64_t e = 0; e < n; e += block) add_noise_row(pi + e, pv + e, std::min(block, n - e), normal);
}

template <typename Normal>
void add_read_noise(torch::Tensor& i, const torch::Tensor& var, Normal& normal) {
  TORCH_CHECK(i.is_contiguous() && var.is_contiguous() && i.sizes() == var.sizes());
  if (i.scalar_type() == torch::kFloat64)
    add_noise<double>(i, var, normal);
  else
    add_noise<float>(i, var, normal);
}


// Row voltages of quantised inputs (integer codes, so exact digits), fused: clip, scale to 2^B_in
// levels, round, split into `cycles` digits of digit_bits, look up the DAC level (or h(V)) of each
// digit, and write in the bmm layout: x (n x groups in) -> (groups RB) x (P Cy n) x Rmax.
// B_in <= 16 (mapping spec), so codes fit int32.
template <typename T>
void fill_digit_voltages(const T* x, T* v, std::int64_t n, std::int64_t groups, std::int64_t in, std::int64_t row_blocks,
                         std::int64_t rows_max, int phases, int cycles, int digit_bits, T levels,
                         const std::vector<T>& table) {
  const std::int32_t mask = (std::int32_t{1} << digit_bits) - 1;
  const T level0 = table[0], level1 = table[1];
  std::vector<std::int32_t> codes(static_cast<std::size_t>(rows_max), 0);
  std::int32_t* code = codes.data();
  for (std::int64_t g = 0; g < groups; ++g)
    for (std::int64_t rb = 0; rb < row_blocks; ++rb) {
      const std::int64_t tile = g * row_blocks + rb, r_used = std::min(rows_max, in - rb * rows_max);
      for (int p = 0; p < phases; ++p) {
        const T sign = p == 0 ? T(1) : T(-1);
        for (std::int64_t i = 0; i < n; ++i) {
          const T* xi = x + i * groups * in + g * in + rb * rows_max;
          for (std::int64_t r = 0; r < r_used; ++r)  // rows past r_used (padding) keep code 0
            code[r] = static_cast<std::int32_t>(std::nearbyint(std::min(std::max(sign * xi[r], T(0)), T(1)) * levels));
          T* out = v + ((tile * phases + p) * cycles * n + i) * rows_max;
          for (int c = 0; c < cycles; ++c, out += n * rows_max) {
            const int shift = digit_bits * c;
            if (digit_bits == 1)  // bit-serial: a select, vectorised
              for (std::int64_t r = 0; r < rows_max; ++r) out[r] = ((code[r] >> shift) & 1) != 0 ? level1 : level0;
            else
              for (std::int64_t r = 0; r < rows_max; ++r) out[r] = table[static_cast<std::size_t>((code[r] >> shift) & mask)];
          }
        }
      }
    }
}

// The conversions and the digital shift-and-add over phases and cycles, fused: for partial sums i
// (tiles x (steps n) x cols, LSB units, rows row_stride apart; overwritten), optional noise variances nv
// (same shape and strides),
// y[t, j, c] = scale[t, c] sum_k w_k ADC(i[t, k n + j, c] + sqrt(nv) z) -> tiles x n x cols.
// ADC (quantise), xbar::Adc::convert semantics on LSB units: clip to [lo, lo + top], round to 2^B codes
// (half to even, as torch::round), read back with static INL (only with the nonlinearity effect, as in ArraySim).
template <typename T, typename Normal>
void convert_combine(T* i, const T* nv, std::int64_t row_stride, T* y, std::int64_t tiles, std::int64_t steps,
                     std::int64_t n, std::int64_t cols,
                     const std::vector<T>& w, const T* lo, const T* scale, bool quantise, T top, const T* inl,
                     Normal* normal) {
  std::vector<T> zero(static_cast<std::size_t>(cols), T(0));
  for (std::int64_t t = 0; t < tiles; ++t) {
    const T* lo_t = lo ? lo + t * cols : zero.data();
    T* yt = y + t * n * cols;
    std::fill(yt, yt + n * cols, T(0));
    for (std::int64_t k = 0; k < steps; ++k) {
      const T wk = w[static_cast<std::size_t>(k)];
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t offset = ((t * steps + k) * n + j) * row_stride;
        T* row = i + offset;
        T* yr = yt + j * cols;
        if (nv) add_noise_row(row, nv + offset, cols, *normal);
        if (!quantise) {
          for (std::int64_t c = 0; c < cols; ++c) yr[c] += wk * row[c];
        } else if (inl) {
          for (std::int64_t c = 0; c < cols; ++c) {
            const T code = std::nearbyint(std::min(std::max(row[c] - lo_t[c], T(0)), top));
            yr[c] += wk * (code + inl[static_cast<std::int64_t>(code)] + lo_t[c]);
          }
        } else {
          for (std::int64_t c = 0; c < cols; ++c)
            yr[c] += wk * (std::nearbyint(std::min(std::max(row[c] - lo_t[c], T(0)), top)) + lo_t[c]);
        }
      }
    }
    const T* st = scale + t * cols;
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t c = 0; c < cols; ++c) yt[j * cols + c] *= st[c];
  }
}

}  // namespace

// Standard normal draws for read noise, from the layer's torch generator: every conversion of every
// forward gets its own independent draw, reproducible by seed. Only conversions with a non-zero noise
// variance draw. The draws come in blocks (Tensor::normal_ on a buffer, whose vectorised Box-Muller
// runs at a few ns per draw; one call per row of conversions cost more in dispatch than in drawing);
// the block grows with use, so a small forward leaves few draws unused.
class CrossbarTiles::NormalStream {
 public:
  static NormalStream from(torch::Generator& gen) { return NormalStream(gen); }
  // n independent N(0, 1) draws, valid until the next call.
  template <typename T>
  const T* draw(std::int64_t n) {
    const auto dtype = c10::CppTypeToScalarType<T>::value;
    if (!buffer_.defined() || buffer_.scalar_type() != dtype || used_ + n > buffer_.numel()) {
      block_ = std::min(std::max(2 * block_, n), std::max(kMaxBlock, n));
      buffer_ = torch::empty({block_}, torch::TensorOptions().dtype(dtype)).normal_(0.0, 1.0, gen_);
      used_ = 0;
    }
    const T* out = buffer_.data_ptr<T>() + used_;
    used_ += n;
    return out;
  }

 private:
  static constexpr std::int64_t kMaxBlock = std::int64_t{1} << 16;
  explicit NormalStream(torch::Generator& gen) : gen_(gen) {}
  torch::Generator& gen_;
  torch::Tensor buffer_;
  std::int64_t block_ = 1024, used_ = 0;
};


CrossbarTiles::CrossbarTiles(AnalogSpec spec, std::int64_t groups, std::int64_t out, std::int64_t in)
    : spec_(std::move(spec)), groups_(groups), out_(out), in_(in),
      dtype_(spec_.double_precision ? torch::kFloat64 : torch::kFloat32) {
  const xbar::CircuitSpec& c = spec_.array.circuit;
  outputs_per_array_ = xbar::max_outputs(spec_.array.mapping, c.cols);
  if (outputs_per_array_ < 1 || c.rows < 1)
    throw core::ModelError(fmt::format("analog layer: a {} x {} array holds no output with {} slices per weight",
                                       c.rows, c.cols, spec_.array.mapping.slices()));
  row_blocks_ = (in + c.rows - 1) / c.rows;
  col_blocks_ = (out + outputs_per_array_ - 1) / outputs_per_array_;
  rows_max_ = std::min<std::int64_t>(in, c.rows);
  cols_per_array_ = xbar::Layout::of(spec_.array.mapping, 1, static_cast<int>(outputs_per_array_)).cols_used();
}

// The array's exact linear response M (R x C, currents = M^T V) from the configured IR-drop model.
Eigen::MatrixXd CrossbarTiles::array_response(const xbar::ArraySim& sim) const {
  auto model = xbar::make_ir_drop_model(spec_.array.ir_drop_type, spec_.array.circuit, ir_params(spec_.array));
  model->program(sim.programmed_conductances());
  if (auto* exact = dynamic_cast<xbar::ExactSolver*>(model.get())) return exact->transfer_matrix();
  const int rows = spec_.array.circuit.rows;
  return model->currents(Eigen::MatrixXd::Identity(rows, rows)).transpose();  // linear models: M^T = I(identity)
}

struct CrossbarTiles::Stacked {
  torch::Tensor g, var, scale, recombine;  // as g_, noise_var_, col_scale_, recombine_ (without w / S), float64
};

// The mapping spec of this layer's arrays: w_max per layer (max |W| for weight_range max_abs).
xbar::ArraySimSpec CrossbarTiles::layer_array_spec(const torch::Tensor& w) {
  xbar::ArraySimSpec array = spec_.array;
  if (array.mapping.weight_range == xbar::WeightRange::kMaxAbs) {
    const double max_abs = w.abs().max().item<double>();
    array.mapping.weight_range = xbar::WeightRange::kValue;
    array.mapping.w_max = max_abs > 0.0 ? max_abs : 1.0;
  }
  w_max_ = array.mapping.w_max;
  return array;
}

void CrossbarTiles::program(const torch::Tensor& weight, const core::Rng& chip_rng) {
  const torch::Tensor w = weight.detach().to(torch::kFloat64).reshape({groups_, out_, in_}).contiguous();
  const xbar::ArraySimSpec array = layer_array_spec(w);
  const std::int64_t tiles = groups_ * row_blocks_;
  const std::int64_t ctot = used_columns(spec_.array.mapping, out_, outputs_per_array_, cols_per_array_, col_blocks_);
  const auto f64 = torch::kFloat64;
  Stacked s{torch::zeros({tiles, rows_max_, ctot}, f64), torch::zeros({tiles, rows_max_, ctot}, f64),
            torch::ones({tiles, 1, ctot}, f64), torch::zeros({groups_, ctot, out_}, f64)};
  const std::int64_t arrays = tiles * col_blocks_;  // index (g RB + r) CB + c, as observed_ and adcs_
  adcs_.clear();
  if (spec_.effects.has(xbar::Effect::kQuantisation))  // full range: R_used G_max V_read (xbar::Adc)
    for (std::int64_t a = 0; a < arrays; ++a) {
      const std::int64_t R = spec_.array.circuit.rows, rows = std::min(R, in_ - a / col_blocks_ % row_blocks_ * R);
      adcs_.emplace_back(spec_.array.adc, static_cast<double>(rows) * spec_.array.device.g_max * spec_.array.device.v_read);
    }
  observed_.assign(static_cast<std::size_t>(arrays), {});
  // The arrays are independent (own ArraySim, solver and forked random stream; disjoint slices of the
  // stacked tensors), so they are programmed in parallel: with IR drop on, their transfer matrices are
  // most of a chip's setup.
  std::vector<double> per_siemens(static_cast<std::size_t>(arrays), 1.0);
  at::parallel_for(0, arrays, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t a = begin; a < end; ++a) {
      const std::int64_t g = a / (row_blocks_ * col_blocks_), r = a / col_blocks_ % row_blocks_, c = a % col_blocks_;
      per_siemens[static_cast<std::size_t>(a)] = program_array(array, w[g], {g, r, c}, chip_rng, s);
    }
  });
  weight_per_siemens_ = per_siemens.front();  // one mapping per layer: the same for every array
  g_ = s.g.to(dtype_);
  noise_var_ = spec_.effects.has(xbar::Effect::kReadNoise) ? s.var.to(dtype_) : torch::Tensor();
  col_scale_ = s.scale.to(dtype_);
  const torch::Tensor recombine = s.recombine * weight_per_siemens_;
  recombine_ = recombine.to(dtype_);
  weight_eff_ = torch::bmm((s.g * s.scale).view({groups_, row_blocks_ * rows_max_, ctot}), recombine)
                    .index({Slice(), Slice(0, in_), Slice()})
                    .transpose(1, 2)
                    .reshape({groups_ * out_, in_})
                    .to(torch::kFloat32);
  build_adc_tensors();
}

// One array (group g, row block r, column block c): ArraySim maps and programs it (programming
// variation, drift, faults; IR drop and read noise are applied here), then its conductances (or its
// linear response M), read-noise variances, drift gain and recombination go into the stacked tensors
// (this array's slices only: arrays run concurrently). Returns the mapping's weight per siemens.
double CrossbarTiles::program_array(const xbar::ArraySimSpec& array, const torch::Tensor& w_group,
                                    std::array<std::int64_t, 3> grc, const core::Rng& chip_rng, Stacked& s) const {
  const auto [g, r, c] = grc;
  const std::int64_t R = spec_.array.circuit.rows, n0 = outputs_per_array_, cu = cols_per_array_;
  const std::int64_t rows = std::min(R, in_ - r * R), n = std::min(n0, out_ - c * n0), tile = g * row_blocks_ + r;
  const torch::Tensor block = w_group.index({Slice(c * n0, c * n0 + n), Slice(r * R, r * R + rows)}).t().contiguous();
  const Eigen::MatrixXd W =
      Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(block.data_ptr<double>(), rows, n);
  xbar::EffectSet chip = spec_.effects;
  chip.set(xbar::Effect::kIrDrop, false).set(xbar::Effect::kReadNoise, false);
  const xbar::ArraySim sim(array, W, chip, chip_rng.fork(static_cast<std::uint64_t>(array_index(g, r, c) + 1)),
                           spec_.correction.get());
  const xbar::Layout& L = sim.mapping().layout();
  const Eigen::MatrixXd G = spec_.effects.has(xbar::Effect::kIrDrop) ? array_response(sim) : sim.programmed_conductances();
  const auto cols = Slice(c * cu, c * cu + L.cols_used());
  s.g.index_put_({tile, Slice(0, rows), cols}, to_tensor(G.topLeftCorner(L.rows, L.cols_used())));
  if (spec_.effects.has(xbar::Effect::kReadNoise)) {
    const device::DeviceModel device(spec_.array.device);
    const Eigen::MatrixXd sd = device.read_noise_sigma(sim.programmed_conductances().topLeftCorner(L.rows, L.cols_used()));
    s.var.index_put_({tile, Slice(0, rows), cols}, to_tensor(sd.array().square().matrix()));
  }
  s.scale.index_put_({tile, 0, cols}, 1.0 / (sim.drift_gain() * sim.correction_gain()));
  if (r == 0)  // the same for every row block of (g, c)
    s.recombine.index_put_({g, cols, Slice(c * n0, c * n0 + n)}, to_tensor(sim.mapping().recombination()).t());
  return sim.mapping().weight_per_siemens();
}

// The exact path works in ADC units: conductances (and noise variances) divided by each column's LSB,
// so that a conversion is round-and-clip of the product, and the LSB returns in the column scale.
void CrossbarTiles::build_adc_tensors() {
  g_exact_ = g_;
  var_exact_ = noise_var_;
  scale_exact_ = col_scale_;
  if (adcs_.empty()) return;
  const std::int64_t tiles = groups_ * row_blocks_, cu = cols_per_array_;
  const std::int64_t ctot = g_.size(2);
  auto lo = torch::zeros({tiles, 1, ctot}, torch::kFloat64);
  auto lsb = torch::ones({tiles, 1, ctot}, torch::kFloat64);
  for (std::int64_t t = 0; t < tiles; ++t)
    for (std::int64_t c = 0; c < col_blocks_; ++c) {
      const xbar::Adc& adc = adcs_[static_cast<std::size_t>(t * col_blocks_ + c)];
      const auto cols = Slice(c * cu, std::min((c + 1) * cu, ctot));
      lo.index_put_({t, 0, cols}, adc.lo() / adc.lsb());
      lsb.index_put_({t, 0, cols}, adc.lsb());
    }
  adc_lo_ = lo.abs().max().item<double>() > 0.0 ? lo.to(dtype_) : torch::Tensor();
  g_exact_ = g_ / lsb.to(dtype_);
  if (noise_var_.defined()) var_exact_ = noise_var_ / lsb.square().to(dtype_);
  scale_exact_ = col_scale_ * lsb.to(dtype_);
  const auto& inl = spec_.array.adc.inl;
  inl_ = inl.empty() ? torch::Tensor() : torch::tensor(inl, torch::kFloat64).to(dtype_);
}

bool CrossbarTiles::adc_ready() const {
  return std::all_of(adcs_.begin(), adcs_.end(), [](const xbar::Adc& a) { return a.calibrated(); });
}

torch::Tensor CrossbarTiles::effective_weights(torch::Generator& gen) const {
  if (!noise_var_.defined()) return weight_eff_;
  const torch::Tensor dg = noise_var_.sqrt() * at::randn(noise_var_.sizes(), gen, noise_var_.options()) * col_scale_;
  const torch::Tensor dw = torch::bmm(dg.view({groups_, row_blocks_ * rows_max_, -1}), recombine_)
                               .index({Slice(), Slice(0, in_), Slice()})
                               .transpose(1, 2)
                               .reshape({groups_ * out_, in_});
  return weight_eff_ + dw.to(torch::kFloat32);
}

torch::Tensor CrossbarTiles::fast_inputs(const torch::Tensor& x) const {
  const xbar::MappingSpec& m = spec_.array.mapping;
  const double levels = pow2(m.input_bits) - 1.0;
  const bool quantise = spec_.effects.has(xbar::Effect::kQuantisation);
  torch::Tensor u = x.abs().clamp_max(1.0) * levels;
  if (quantise) u = u.round();
  const device::CellIV& iv = spec_.array.device.iv;
  if (!spec_.effects.has(xbar::Effect::kNonlinearity) || iv.linear()) return x.sign() * u / levels;
  const xbar::InputEncoding enc(m, spec_.array.device.v_read);
  const int digit_bits = m.input_digit_bits();
  const double volts_per_digit = spec_.array.device.v_read / (pow2(digit_bits) - 1.0);
  const torch::Tensor h = cell_response(iv, split_digits(u, digit_bits, enc.cycles()), volts_per_digit, digit_bits, quantise);
  torch::Tensor sum = torch::zeros_like(u);
  for (int c = 0; c < enc.cycles(); ++c) sum = sum + enc.cycle_weight(c) * h[c];
  return x.sign() * sum / enc.volts_per_unit();
}

bool CrossbarTiles::expands() const {
  const xbar::EffectSet& e = spec_.effects;
  return e.has(xbar::Effect::kQuantisation) || e.has(xbar::Effect::kReadNoise) ||
         (e.has(xbar::Effect::kNonlinearity) && !spec_.array.device.iv.linear());
}

// Row voltages (or h(V) with a nonlinear cell I-V) of every conversion: x (N x groups in, in [-1, 1])
// -> (groups RB) x (phases cycles N) x Rmax; phase 1 carries the negative part (xbar::ArraySim).
// expand = false: one pseudo-cycle carrying the whole code (sum_c 2^(b_x c) d_c = u).
torch::Tensor CrossbarTiles::voltages(const torch::Tensor& x, bool expand) const {
  const xbar::MappingSpec& m = spec_.array.mapping;
  const std::int64_t n = x.size(0);
  if (expand && spec_.effects.has(xbar::Effect::kQuantisation)) return digit_voltages(x);
  torch::Tensor xs = x.to(dtype_).reshape({n, groups_, in_});
  xs = torch::constant_pad_nd(xs, {0, row_blocks_ * rows_max_ - in_}).view({n, groups_, row_blocks_, rows_max_});
  std::vector<torch::Tensor> phases{xs.clamp(0.0, 1.0)};
  if ((xs < 0).any().item<bool>()) phases.push_back((-xs).clamp(0.0, 1.0));
  const bool quantise = spec_.effects.has(xbar::Effect::kQuantisation);
  torch::Tensor u = torch::stack(phases) * (pow2(m.input_bits) - 1.0);  // P x N x G x RB x Rmax
  if (quantise) u = u.round();
  const int digit_bits = m.input_digit_bits();
  const double volts_per_digit = spec_.array.device.v_read / (pow2(digit_bits) - 1.0);
  torch::Tensor d = expand ? split_digits(u, digit_bits, m.input_cycles()).transpose(0, 1) : u.unsqueeze(1);
  const device::CellIV& iv = spec_.array.device.iv;
  const bool nonlinear = spec_.effects.has(xbar::Effect::kNonlinearity) && !iv.linear();
  d = nonlinear ? cell_response(iv, d, volts_per_digit, digit_bits, quantise) : d * volts_per_digit;
  // P x Cy x N x G x RB x Rmax -> (G RB) x (P Cy N) x Rmax
  return d.permute({3, 4, 0, 1, 2, 5}).reshape({groups_ * row_blocks_, -1, rows_max_});
}

// The fused voltages() for quantised inputs with the cycles expanded (see fill_digit_voltages).
torch::Tensor CrossbarTiles::digit_voltages(const torch::Tensor& x) const {
  const xbar::MappingSpec& m = spec_.array.mapping;
  const std::int64_t n = x.size(0);
  const torch::Tensor xs = x.to(dtype_).reshape({n, groups_ * in_}).contiguous();
  const int phases = (xs < 0).any().item<bool>() ? 2 : 1, cycles = m.input_cycles(), digit_bits = m.input_digit_bits();
  const double volts_per_digit = spec_.array.device.v_read / (pow2(digit_bits) - 1.0);
  const device::CellIV& iv = spec_.array.device.iv;
  const bool nonlinear = spec_.effects.has(xbar::Effect::kNonlinearity) && !iv.linear();
  torch::Tensor v = torch::empty({groups_ * row_blocks_, phases * cycles * n, rows_max_}, xs.options());
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> table(static_cast<std::size_t>(pow2(digit_bits)));
    for (std::size_t d = 0; d < table.size(); ++d)  // as cell_response() / d * volts_per_digit
      table[d] = nonlinear ? static_cast<T>(iv.current(1.0, static_cast<double>(d) * volts_per_digit))
                           : static_cast<T>(d) * static_cast<T>(volts_per_digit);
    fill_digit_voltages<T>(xs.data_ptr<T>(), v.data_ptr<T>(), n, groups_, in_, row_blocks_, rows_max_, phases,
                                    cycles, digit_bits, static_cast<T>(pow2(m.input_bits) - 1.0), table);
  };
  if (dtype_ == torch::kFloat64)
    run(0.0);
  else
    run(0.0f);
  return v;
}

// Column currents (A) of every conversion, plus read noise per conversion: the exact sum of the
// per-cell terms, sqrt(sum_i sigma_ij^2 h(V_i)^2) z (as xbar::ArraySim's ideal path).
torch::Tensor CrossbarTiles::currents(const torch::Tensor& v, const torch::Tensor& g, const torch::Tensor& var,
                                      NormalStream& normal) const {
  torch::Tensor i = torch::bmm(v, g);
  if (var.defined()) add_read_noise(i, torch::bmm(v.square(), var), normal);
  return i;
}

// Digital shift-and-add: over phases and cycles (weights +-2^(b_x c)), per-array scale (drift
// compensation), over row blocks, then slices / polarities / reference (recombination) ->
// N x (groups out) in units of W x. i: the partial sums in LSB units (overwritten); nv: their read-noise
// variances (undefined without read noise); each conversion fused with the sum over steps.
torch::Tensor CrossbarTiles::combine(torch::Tensor& i, const torch::Tensor& nv, std::int64_t n, bool expand,
                                     NormalStream& normal) const {
  const xbar::InputEncoding enc(spec_.array.mapping, spec_.array.device.v_read);
  const std::int64_t tiles = groups_ * row_blocks_, steps = i.size(1) / n, cycles = expand ? enc.cycles() : 1;
  const std::int64_t cols = i.size(2);
  const bool quantise = spec_.effects.has(xbar::Effect::kQuantisation);
  const bool use_inl = inl_.defined() && spec_.effects.has(xbar::Effect::kNonlinearity);
  const torch::Tensor lo = adc_lo_.defined() ? adc_lo_.contiguous() : torch::Tensor();
  const torch::Tensor scale = scale_exact_.expand({tiles, 1, cols}).contiguous();
  // i and nv: contiguous, or column ranges of one contiguous T x (steps n) x (2 cols) product (same strides)
  const std::int64_t row_stride = i.stride(1);
  TORCH_CHECK(i.scalar_type() == dtype_ && i.stride(2) == 1 && i.stride(0) == row_stride * i.size(1));
  TORCH_CHECK(!nv.defined() || nv.strides() == i.strides());
  const torch::Tensor& nvc = nv;
  torch::Tensor y = torch::empty({tiles, n, cols}, i.options());
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> w(static_cast<std::size_t>(steps));
    for (std::int64_t k = 0; k < steps; ++k)
      w[static_cast<std::size_t>(k)] = static_cast<T>(
          (k < cycles ? 1.0 : -1.0) * (expand ? enc.cycle_weight(static_cast<int>(k % cycles)) : 1.0));
    convert_combine<T>(i.data_ptr<T>(), nvc.defined() ? nvc.data_ptr<T>() : nullptr, row_stride, y.data_ptr<T>(), tiles,
                       steps, n,
                       cols, w, lo.defined() ? lo.data_ptr<T>() : nullptr, scale.data_ptr<T>(), quantise,
                       static_cast<T>(pow2(spec_.array.adc.bits) - 1.0), use_inl ? inl_.data_ptr<T>() : nullptr,
                       &normal);
  };
  if (dtype_ == torch::kFloat64)
    run(0.0);
  else
    run(0.0f);
  y = y.view({groups_, row_blocks_, n, cols}).sum(1);
  y = torch::bmm(y, recombine_) / enc.volts_per_unit();  // G x N x out
  return y.permute({1, 0, 2}).reshape({n, groups_ * out_});
}

std::int64_t CrossbarTiles::chunk_rows(bool expand) const {
  const xbar::MappingSpec& m = spec_.array.mapping;
  const std::int64_t per_row = 2 * (expand ? m.input_cycles() : 1) * groups_ * row_blocks_ *
                               std::max(rows_max_, col_blocks_ * cols_per_array_);
  return std::max<std::int64_t>(1, kChunkElements / per_row);
}

torch::Tensor CrossbarTiles::exact_forward(const torch::Tensor& x, torch::Generator& gen) const {
  if (!programmed()) throw core::ModelError("analog layer: program() the chip before running it");
  const bool quantise = spec_.effects.has(xbar::Effect::kQuantisation);
  if (quantise && !adc_ready())
    throw core::ModelError("analog layer: the ADC range is 'calibrated' but calibrate_all() was never run");
  torch::NoGradGuard no_grad;
  const bool expand = expands();
  const std::int64_t chunk = chunk_rows(expand);
  NormalStream normal = NormalStream::from(gen);  // one stream per forward: a fresh draw per conversion
  // Binary digits (bit-serial) whose 0 level is 0 V: h(V)^2 = h_1 h(V), so the noise variances
  // sum_i sigma^2 h(V_i)^2 = h_1 sum_i sigma^2 h(V_i) come from the same product as the currents.
  const std::int64_t cols = g_exact_.size(2);
  torch::Tensor g_var;
  if (var_exact_.defined() && expand && spec_.effects.has(xbar::Effect::kQuantisation) &&
      spec_.array.mapping.input_digit_bits() == 1) {
    const device::CellIV& iv = spec_.array.device.iv;
    const bool nonlinear = spec_.effects.has(xbar::Effect::kNonlinearity) && !iv.linear();
    const double v_read = spec_.array.device.v_read;  // the 1 level (volts_per_digit with 1-bit digits)
    const double level0 = nonlinear ? iv.current(1.0, 0.0) : 0.0;
    const double level1 = nonlinear ? iv.current(1.0, v_read) : v_read;
    if (level0 == 0.0) g_var = torch::cat({g_exact_, var_exact_ * level1}, 2);
  }
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < x.size(0); start += chunk) {
    const torch::Tensor xc = x.index({Slice(start, std::min(start + chunk, x.size(0)))});
    const torch::Tensor v = voltages(xc, expand);
    if (g_var.defined()) {  // one product gives the partial sums and the noise variances
      const torch::Tensor both = torch::bmm(v, g_var);
      torch::Tensor i = both.narrow(2, 0, cols);
      parts.push_back(combine(i, both.narrow(2, cols, cols), xc.size(0), expand, normal));
      continue;
    }
    torch::Tensor i = torch::bmm(v, g_exact_);
    const torch::Tensor nv = var_exact_.defined() ? torch::bmm(v.square(), var_exact_) : torch::Tensor();
    parts.push_back(combine(i, nv, xc.size(0), expand, normal));
  }
  return torch::cat(parts).to(torch::kFloat32);
}

void CrossbarTiles::observe(const torch::Tensor& x, torch::Generator& gen) {
  if (adcs_.empty() || spec_.array.adc.range != xbar::AdcRange::kCalibrated) return;
  torch::NoGradGuard no_grad;
  const std::int64_t chunk = chunk_rows(true);
  const std::int64_t cu = cols_per_array_;
  // The kObservedPerCall samples kept per array and call are spread over the call's chunks (large
  // layers run in many small chunks: a quota per chunk would keep gigabytes).
  const std::int64_t chunks = (x.size(0) + chunk - 1) / chunk;
  const std::int64_t per_chunk = std::max<std::int64_t>(1, kObservedPerCall / std::max<std::int64_t>(1, chunks));
  NormalStream normal = NormalStream::from(gen);
  for (std::int64_t start = 0; start < x.size(0); start += chunk) {
    const torch::Tensor xc = x.index({Slice(start, std::min(start + chunk, x.size(0)))});
    const torch::Tensor i = currents(voltages(xc, true), g_, noise_var_, normal);  // amperes
    for (std::int64_t t = 0; t < groups_ * row_blocks_; ++t)
      for (std::int64_t c = 0; c < col_blocks_; ++c) {
        const std::int64_t n = std::min(outputs_per_array_, out_ - c * outputs_per_array_);
        const std::int64_t used = xbar::Layout::of(spec_.array.mapping, 1, static_cast<int>(n)).cols_used();
        const torch::Tensor sums = i[t].index({Slice(), Slice(c * cu, c * cu + used)}).flatten();
        const std::int64_t stride = std::max<std::int64_t>(1, sums.numel() / per_chunk);
        observed_[static_cast<std::size_t>(t * col_blocks_ + c)].push_back(
            sums.index({Slice(0, torch::indexing::None, stride)}).to(torch::kFloat64).clone());
      }
  }
}

void CrossbarTiles::calibrate_adc() {
  for (std::size_t a = 0; a < adcs_.size() && a < observed_.size(); ++a) {
    if (observed_[a].empty()) continue;
    const torch::Tensor all = torch::cat(observed_[a]).contiguous();
    adcs_[a].calibrate(Eigen::Map<const Eigen::MatrixXd>(all.data_ptr<double>(), all.numel(), 1));
    observed_[a].clear();
  }
  build_adc_tensors();
}

}  // namespace cimlab::nn
