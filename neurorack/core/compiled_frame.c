/* The percussion model's frame in C: the equations of PercussionRuntime (percussion.py), one hit's
 * frame at a time, for models whose frame network is a GRU.
 *
 * The NumPy runtime spends most of a frame in the interpreter: about sixty NumPy calls on
 * arrays of 48 to 384 values, each costing a few microseconds whatever its size. Here the same
 * arithmetic runs in one call for the frame's controls (the hit network on the first frame, the
 * frame network, the amplitudes) and one for its samples. percussion.py stays the reference:
 * every step below names the line of _render_frame it follows, computes in the same precision
 * (float32 where NumPy computes in float32, double where it computes in float64), and the tests
 * compare the two frame by frame. Sums run in another order than BLAS's, so the two agree to a
 * few float32 roundings, not bit for bit.
 *
 * Weights come transposed ([in, out], the _t fields), so each product runs along its output
 * (y += W_t[j] * x[j]) and the compiler vectorises it without reordering any sum.
 *
 * Nothing here allocates, locks or calls into Python: the Python side owns every buffer (the
 * model's weights and scratch, each hit's state) and passes their addresses (compiled_frame.py).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef NEURORACK_SOURCE_DIGEST
#define NEURORACK_SOURCE_DIGEST "unknown"
#endif

/* The model: sizes, weights, fixed tables and scratch. compiled_frame.py's _Model mirrors it. */
typedef struct {
    int32_t hop, code_size, timbre_size, input_width, gru_width, trunk_width, residual_width, head_size;
    int32_t n_harmonics, n_modes, n_partials, noise_grid, n_bands, hit_width, hit_mid_width, hit_size;
    int32_t n_atoms, atom_length, envelope_length, envelope_step, table_length, max_transient;
    double sample_rate;
    /* constants of percussion_config and timbre */
    double mode_scale, level_scale, mode_detune_octaves, harmonic_prior, masked_logit, level_nepers;
    double envelope_nepers, register_ref_hz, register_scale, max_transpose;
    /* weights; _t: transposed to [in, out] */
    const float *input_desc_t, *input_z_t, *input_bias;
    const float *gru_ih_t, *gru_hh_t, *gru_bias_ih, *gru_bias_hh;
    const float *trunk_t, *trunk_bias, *residual_in_t, *residual_in_bias, *residual_out_t, *residual_out_bias;
    const float *head_t, *head_bias;
    const float *hit_desc_t, *hit_z_t, *hit_in_bias, *hit_mid_t, *hit_mid_bias, *hit_out_t, *hit_out_bias;
    const float *atoms;          /* [A, L] */
    const float *table_t;        /* [n_bands, table_length + hop]: reads never wrap mid-frame */
    const double *band_octaves;  /* [n_bands] */
    const double *grid_octaves;  /* [noise_grid], increasing */
    /* scratch, written by every call */
    float *x;                    /* [6] the frame's invariant inputs (written by Python) */
    float *work;                 /* [work_length(model)] */
    float *signal;               /* [hop] the frame's samples, for Python to copy out */
} Model;

/* One hit's state: the header, then its arrays (hit_layout). Python allocates hit_bytes(model). */
typedef struct {
    double phase, omega, level, next_omega, next_level;
    int64_t noise_pos, transient_length;
    float *z, *z_input, *hidden, *ratios, *ceiling, *prior, *partial, *noise, *next_partial, *next_noise;
    float *transient, *envelope;
} Hit;

#define N_INPUTS 6
#define TWO_PI 6.283185307179586

static size_t aligned(size_t floats) { return (floats + 3) & ~(size_t)3; } /* 16-byte steps */

static size_t hit_layout(const Model *m, Hit *hit) {
    size_t lengths[12] = {(size_t)m->code_size, (size_t)m->input_width, (size_t)m->gru_width,
                          (size_t)m->n_partials, (size_t)m->n_partials, (size_t)m->n_partials,
                          (size_t)m->n_partials, (size_t)m->n_bands, (size_t)m->n_partials,
                          (size_t)m->n_bands, (size_t)m->max_transient, (size_t)m->envelope_length};
    size_t offset = aligned((sizeof(Hit) + 3) / 4);
    float **slots[12];
    if (hit) {
        float **s[12] = {&hit->z, &hit->z_input, &hit->hidden, &hit->ratios, &hit->ceiling, &hit->prior,
                         &hit->partial, &hit->noise, &hit->next_partial, &hit->next_noise, &hit->transient,
                         &hit->envelope};
        memcpy(slots, s, sizeof(slots));
    }
    for (int i = 0; i < 12; i++) {
        if (hit) *slots[i] = (float *)hit + offset;
        offset += aligned(lengths[i]);
    }
    return offset * sizeof(float);
}

size_t neurorack_hit_bytes(const Model *m) { return hit_layout(m, NULL); }

/* The model's scratch, in slots: work_slot(m, slot) is where a slot starts. */
enum { GI, GH, TRUNK, Y, INNER, HEAD, INPUTS, HIT_H, HIT_H2, HIT_OUT, WAVE, POINTS, WITHIN, SUMS, WAVES, SLOTS };

static size_t slot_floats(const Model *m, int slot) {
    switch (slot) {
    case GI: case GH: return aligned(3 * (size_t)m->gru_width);
    case TRUNK: return aligned(2 * (size_t)m->trunk_width);
    case Y: return aligned(m->trunk_width);
    case INNER: return aligned(m->residual_width);
    case HEAD: return aligned(m->head_size);
    case INPUTS: return aligned(m->input_width);
    case HIT_H: return aligned(m->hit_width);
    case HIT_H2: return aligned(m->hit_mid_width);
    case HIT_OUT: return aligned(m->hit_size);
    case WAVE: return aligned((size_t)m->atom_length + 2);  /* the transient before resampling */
    case POINTS: return aligned((size_t)m->envelope_length / m->envelope_step + 1);  /* the envelope's points */
    case WITHIN: return aligned(m->hop);
    case SUMS: return 4 * aligned(m->hop);  /* the partials' and the noise's sums, at the frame's start and their change */
    default: return (size_t)m->n_partials * m->hop;          /* WAVES: [P, hop] */
    }
}

static float *work_slot(const Model *m, int slot) {
    size_t offset = 0;
    for (int i = 0; i < slot; i++) offset += slot_floats(m, i);
    return m->work + offset;
}

size_t neurorack_work_floats(const Model *m) {
    size_t total = 0;
    for (int i = 0; i < SLOTS; i++) total += slot_floats(m, i);
    return total;
}

const char *neurorack_source_digest(void) { return NEURORACK_SOURCE_DIGEST; }
size_t neurorack_model_struct_bytes(void) { return sizeof(Model); }

/* y = b + W x, W given transposed as [in, out] */
static void affine(float *y, const float *w_t, const float *b, const float *x, int in, int out) {
    if (b) memcpy(y, b, sizeof(float) * out); else memset(y, 0, sizeof(float) * out);
    for (int j = 0; j < in; j++) {
        const float xj = x[j], *row = w_t + (size_t)j * out;
        for (int i = 0; i < out; i++) y[i] += row[i] * xj;
    }
}

static void relu(float *y, int n) { for (int i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : 0.0f; }

static double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* sin of a float32 phase (>= 0 or not) to about one float32 rounding, as np.sin: reduced to
   [-pi/4, pi/4] around the nearest multiple of pi/2 (the multiple in three parts, so that k * part
   is exact), then the sine or cosine polynomial of the quadrant, picked and signed with bit masks:
   no branch, so the loop over a frame's samples vectorises. */
static inline float sin_phase(float x) {
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding and taking it away rounds to a whole number */
    float k = (x * 0.63661977236758134f + magic) - magic;
    int q = (int)k;
    float r = ((x - k * 1.5703125f) - k * 4.837512969970703125e-4f) - k * 7.54978995489188216e-8f;
    float r2 = r * r;
    float s = r + r * r2 * ((-1.9515295891e-4f * r2 + 8.3321608736e-3f) * r2 - 1.6666654611e-1f);
    float c = 1.0f - 0.5f * r2 + r2 * r2 * ((2.443315711809948e-5f * r2 - 1.388731625493765e-3f) * r2
                                           + 4.166664568298827e-2f);
    uint32_t s_bits, c_bits, odd = -(uint32_t)(q & 1), bits;
    memcpy(&s_bits, &s, 4);
    memcpy(&c_bits, &c, 4);
    bits = ((s_bits & ~odd) | (c_bits & odd)) ^ (((uint32_t)q & 2u) << 30); /* quadrant: which, and its sign */
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* np.interp(x, xp, fp) for increasing xp: fp's ends outside, linear between */
static double interp(double x, const double *xp, const float *fp, int n) {
    if (x <= xp[0]) return fp[0];
    if (x >= xp[n - 1]) return fp[n - 1];
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (xp[mid] <= x) lo = mid; else hi = mid;
    }
    double slope = ((double)fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
    return slope * (x - xp[lo]) + fp[lo];
}

/* initial_state: the timbre code's share of the input layer, a zero memory, the noise position */
void neurorack_hit_init(const Model *m, Hit *hit, const float *z, int64_t noise_pos) {
    memset(hit, 0, sizeof(Hit));
    size_t bytes = hit_layout(m, hit);
    memset((char *)hit + sizeof(Hit), 0, bytes - sizeof(Hit));
    memcpy(hit->z, z, sizeof(float) * m->code_size);
    affine(hit->z_input, m->input_z_t, m->input_bias, z, m->code_size, m->input_width);
    hit->noise_pos = noise_pos;
}

/* _start_hit: ratios, ceiling, prior, the transient at the hit's pitch, the attack envelope */
static void start_hit(const Model *m, Hit *hit, double first_pitch) {
    float *h = work_slot(m, HIT_H), *h2 = work_slot(m, HIT_H2), *out = work_slot(m, HIT_OUT);
    float *wave = work_slot(m, WAVE);
    const int nm = m->n_modes, na = m->n_atoms, nh = m->n_harmonics, L = m->atom_length;
    const float *z = hit->z;
    affine(h, m->hit_desc_t, m->hit_in_bias, m->x, N_INPUTS, m->hit_width);
    for (int j = 0; j < m->code_size; j++) {
        const float zj = z[j], *row = m->hit_z_t + (size_t)j * m->hit_width;
        for (int i = 0; i < m->hit_width; i++) h[i] += row[i] * zj;
    }
    relu(h, m->hit_width);
    affine(h2, m->hit_mid_t, m->hit_mid_bias, h, m->hit_width, m->hit_mid_width);
    relu(h2, m->hit_mid_width);
    affine(out, m->hit_out_t, m->hit_out_bias, h2, m->hit_mid_width, m->hit_size);
    const float *mode_octaves = z + m->code_size - 2 * nm, *mode_levels = z + m->code_size - nm;
    for (int p = 0; p < nh; p++) {
        hit->ratios[p] = (float)(p + 1);
        hit->prior[p] = (float)m->harmonic_prior;
    }
    for (int i = 0; i < nm; i++) {
        float octaves = mode_octaves[i] * (float)m->mode_scale + tanhf(out[i]) * (float)m->mode_detune_octaves;
        hit->ratios[nh + i] = powf(2.0f, octaves);
        hit->prior[nh + i] = mode_levels[i] * (float)m->level_scale;
    }
    for (int p = 0; p < m->n_partials; p++) hit->ceiling[p] = (float)(0.5 * m->sample_rate) / hit->ratios[p];
    /* the transient: the atoms mixed (two zeros after), resampled at rate by linear interpolation */
    memset(wave, 0, sizeof(float) * (L + 2));
    for (int a = 0; a < na; a++) {
        const float weight = out[nm + a], *atom = m->atoms + (size_t)a * L;
        for (int i = 0; i < L; i++) wave[i] += weight * atom[i];
    }
    double pitch = clip(first_pitch, 40.0, 4000.0);
    double rate = pitch / (m->register_ref_hz * pow(2.0, m->register_scale * (double)z[m->timbre_size - 1]));
    rate = rate == rate ? clip(rate, 1.0 / m->max_transpose, m->max_transpose) : 1.0; /* NaN: at its own speed */
    int64_t length = (int64_t)ceil((double)(L + 1) / rate);
    if (length > m->max_transient) length = m->max_transient;
    for (int64_t i = 0; i < length; i++) {
        double position = (double)i * rate;
        int64_t below = (int64_t)position;
        if (below >= L + 1) { hit->transient[i] = wave[L + 1]; continue; }
        double slope = (double)wave[below + 1] - (double)wave[below];
        hit->transient[i] = (float)(slope * (position - (double)below) + (double)wave[below]);
    }
    hit->transient_length = length;
    /* the attack envelope: points linearly interpolated, envelope_step samples apart, ending at 1 */
    const int points = m->envelope_length / m->envelope_step;
    float *point = work_slot(m, POINTS);
    for (int i = 0; i < points; i++) point[i] = expf((float)m->envelope_nepers * tanhf(out[nm + na + i]));
    point[points] = 1.0f;
    for (int i = 0; i < m->envelope_length; i++) {
        int below = i / m->envelope_step;
        float fraction = (float)((double)i / m->envelope_step - below);
        hit->envelope[i] = point[below] * (1.0f - fraction) + point[below + 1] * fraction;
    }
}

/* _frame_network then _amplitudes: the frame's head, then its partial and noise amplitudes,
   level and pitch, kept as the hit's next_* until the samples are rendered. first: the hit's
   first frame (the hit network runs, at first_pitch). */
void neurorack_frame_controls(const Model *m, Hit *hit, double loudness, double centroid, double pitch,
                              double first_pitch, int32_t first) {
    const int G = m->gru_width, T = m->trunk_width, P = m->n_partials, R = m->noise_grid;
    if (first) start_hit(m, hit, first_pitch);
    float *gi = work_slot(m, GI), *gh = work_slot(m, GH), *trunk = work_slot(m, TRUNK), *y = work_slot(m, Y);
    float *inner = work_slot(m, INNER), *head = work_slot(m, HEAD), *inputs = work_slot(m, INPUTS);
    /* inputs = relu(input_desc @ x + z_input) */
    memcpy(inputs, hit->z_input, sizeof(float) * m->input_width);
    for (int j = 0; j < N_INPUTS; j++) {
        const float xj = m->x[j], *row = m->input_desc_t + (size_t)j * m->input_width;
        for (int i = 0; i < m->input_width; i++) inputs[i] += row[i] * xj;
    }
    relu(inputs, m->input_width);
    /* the GRU (gate order reset, update, new) */
    affine(gi, m->gru_ih_t, m->gru_bias_ih, inputs, m->input_width, 3 * G);
    affine(gh, m->gru_hh_t, m->gru_bias_hh, hit->hidden, G, 3 * G);
    for (int i = 0; i < G; i++) {
        float reset = 1.0f / (1.0f + expf(-(gi[i] + gh[i])));
        float update = 1.0f / (1.0f + expf(-(gi[G + i] + gh[G + i])));
        float candidate = tanhf(gi[2 * G + i] + reset * gh[2 * G + i]);
        hit->hidden[i] = (1.0f - update) * candidate + update * hit->hidden[i];
    }
    /* gated trunk, residual block, head */
    affine(trunk, m->trunk_t, m->trunk_bias, hit->hidden, G, 2 * T);
    for (int i = 0; i < T; i++) y[i] = trunk[i] / (1.0f + expf(-trunk[T + i]));
    affine(inner, m->residual_in_t, m->residual_in_bias, y, T, m->residual_width);
    relu(inner, m->residual_width);
    for (int j = 0; j < m->residual_width; j++) {
        const float xj = inner[j], *row = m->residual_out_t + (size_t)j * T;
        for (int i = 0; i < T; i++) y[i] += row[i] * xj;
    }
    for (int i = 0; i < T; i++) y[i] += m->residual_out_bias[i];
    affine(head, m->head_t, m->head_bias, y, T, m->head_size);

    /* _amplitudes */
    double f0 = clip(pitch, 40.0, 4000.0);
    double level = pow(10.0, clip(loudness, -90.0, 0.0) / 20.0);
    level *= exp(m->level_nepers * tanh((double)head[P + R + 1]));
    double mix_logit = head[P + R];
    double log_mix = mix_logit > -30 ? -log1p(exp(-mix_logit)) : mix_logit;
    double log_rest = mix_logit < 30 ? -log1p(exp(mix_logit)) : -mix_logit;
    float *partial = hit->next_partial, *noise = hit->next_noise;
    float top = -INFINITY;
    const float f0_32 = (float)f0;
    for (int p = 0; p < P; p++) {
        partial[p] = hit->ceiling[p] > f0_32 ? head[p] + hit->prior[p] : (float)m->masked_logit;
        if (partial[p] > top) top = partial[p];
    }
    float power = 0.0f;
    for (int p = 0; p < P; p++) {
        partial[p] = expf(0.5f * (partial[p] - top));
        power += partial[p] * partial[p];
    }
    float gain = (float)(level * exp(0.5 * (log_mix + log(2.0))) / sqrt((double)power));
    for (int p = 0; p < P; p++) partial[p] = hit->ceiling[p] > f0_32 ? partial[p] * gain : 0.0f;
    double log_centroid = log2(clip(centroid, 20.0, 20000.0));
    double shape_top = -INFINITY;
    double shape[512];
    const int Nb = m->n_bands < 512 ? m->n_bands : 512;
    for (int b = 0; b < Nb; b++) {
        shape[b] = interp(m->band_octaves[b] - log_centroid, m->grid_octaves, head + P, R);
        if (shape[b] > shape_top) shape_top = shape[b];
    }
    power = 0.0f;
    for (int b = 0; b < Nb; b++) {
        noise[b] = (float)exp(0.5 * (shape[b] - shape_top));
        power += noise[b] * noise[b];
    }
    gain = (float)(level * exp(0.5 * log_rest) / sqrt((double)power));
    for (int b = 0; b < Nb; b++) noise[b] *= gain;
    hit->next_level = level;
    hit->next_omega = f0 * TWO_PI / m->sample_rate;
}

/* The frame's samples into m->signal (the rest of _render_frame), then the hit moves on a frame.
   sample: the hit's samples before this frame. */
void neurorack_frame_samples(const Model *m, Hit *hit, int64_t sample) {
    const int hop = m->hop, P = m->n_partials, Nb = m->n_bands;
    float *waves = work_slot(m, WAVES), *signal = m->signal;
    if (sample == 0) {
        memcpy(hit->partial, hit->next_partial, sizeof(float) * P);
        memcpy(hit->noise, hit->next_noise, sizeof(float) * Nb);
        hit->level = hit->next_level;
        hit->omega = hit->next_omega;
    }
    const double omega = hit->next_omega, d_omega = omega - hit->omega;
    /* the fundamental's phase over the frame (float64, then float32 as NumPy's), then each
       partial's phases, float32 as NumPy's outer product, and their sines */
    float *within = work_slot(m, WITHIN);
    double last_within = 0.0;
    for (int n = 0; n < hop; n++) {
        double k = n + 1;
        last_within = k * hit->omega + d_omega * (k * (k + 1) / (2.0 * hop));
        within[n] = (float)last_within;
    }
    for (int p = 0; p < P; p++) {
        double start64 = fmod(hit->phase * (double)hit->ratios[p], TWO_PI);
        if (start64 < 0) start64 += TWO_PI;
        const float start = (float)start64, ratio = hit->ratios[p];
        float *wave = waves + (size_t)p * hop;
        for (int n = 0; n < hop; n++) wave[n] = sin_phase(within[n] * ratio + start);
    }
    /* signal = waves @ previous + ramp * (waves @ (next - previous)), and the same over the noise
       bands: each sum runs along the frame's samples, a partial (a band) at a time */
    float *partials = work_slot(m, SUMS), *partials_change = partials + aligned(hop);
    float *noise = partials_change + aligned(hop), *noise_change = noise + aligned(hop);
    memset(partials, 0, sizeof(float) * 4 * aligned(hop));
    for (int p = 0; p < P; p++) {
        const float previous = hit->partial[p], change = hit->next_partial[p] - previous;
        const float *wave = waves + (size_t)p * hop;
        for (int n = 0; n < hop; n++) {
            partials[n] += wave[n] * previous;
            partials_change[n] += wave[n] * change;
        }
    }
    const size_t column_length = (size_t)m->table_length + hop;
    for (int b = 0; b < Nb; b++) {
        const float *band = m->table_t + (size_t)b * column_length + hit->noise_pos;
        const float previous = hit->noise[b], change = hit->next_noise[b] - previous;
        for (int n = 0; n < hop; n++) {
            noise[n] += band[n] * previous;
            noise_change[n] += band[n] * change;
        }
    }
    for (int n = 0; n < hop; n++) {
        const float ramp = (float)(n + 1) / (float)hop;
        signal[n] = (partials[n] + ramp * partials_change[n]) + (noise[n] + ramp * noise_change[n]);
    }
    /* the transient times the level, then the attack envelope */
    if (sample < hit->transient_length) {
        int64_t take = hit->transient_length - sample < hop ? hit->transient_length - sample : hop;
        const float from = (float)hit->level, change = (float)(hit->next_level - hit->level);
        for (int64_t n = 0; n < take; n++) {
            const float ramp = (float)(n + 1) / (float)hop;
            signal[n] += hit->transient[sample + n] * (from + change * ramp);
        }
    }
    if (sample < m->envelope_length) {
        int64_t take = m->envelope_length - sample < hop ? m->envelope_length - sample : hop;
        for (int64_t n = 0; n < take; n++) signal[n] *= hit->envelope[sample + n];
    }
    hit->phase += last_within;
    hit->noise_pos = (hit->noise_pos + hop) % m->table_length;
    memcpy(hit->partial, hit->next_partial, sizeof(float) * P);
    memcpy(hit->noise, hit->next_noise, sizeof(float) * Nb);
    hit->level = hit->next_level;
    hit->omega = omega;
}
