/* The audio callback in C: Engine.pull without the interpreter lock.
 *
 * PortAudio calls this on its real-time thread. It does what Engine.pull does in Python
 * (neurorack/audio/engine.py), on the same memory: the FIFO's ring and indices
 * (fifo.py), the callback timeline's records (timeline.py) and the engine's two
 * callback counters. Python owns every array; this file only holds pointers into them.
 * It never waits for the render thread, the poller or the UI, whatever they hold.
 *
 * Built by pip install (setup.py's _native_callback extension) and loaded with ctypes by
 * native_callback.py; no Python or PortAudio headers are needed, so the two PortAudio
 * types it uses are declared here.
 */

#define _GNU_SOURCE          /* pthread_setaffinity_np */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    double input_adc_time;
    double current_time;
    double output_dac_time;
} pa_time_info;                      /* PaStreamCallbackTimeInfo */

#define PA_OUTPUT_UNDERFLOW 0x4ul    /* paOutputUnderflow */
#define PA_CONTINUE 0                /* paContinue */

enum { WRITE_INDEX = 0, READ_INDEX = 1 };   /* SampleFifo.indices */
enum { UNDERFLOWS = 0, LATE_RENDERS = 1 };  /* Engine.callback_counters */

typedef struct {
    /* SampleFifo */
    const float *samples;
    int64_t sample_mask;
    int64_t *fifo_indices;
    /* CallbackTimeline */
    int64_t *record_read_index;
    double *record_called_at;
    double *record_stream_time;
    int64_t record_mask;
    double *origins;
    int64_t origin_mask;
    int64_t *record_count;
    double inverse_rate;
    /* Engine */
    int64_t *counters;
    int32_t channels;
    int32_t priority;   /* SCHED_FIFO priority the callback's thread raises itself to; 0: left alone */
    int32_t realtime;   /* 0 before the first call, then 1 (at that priority or above) or -1 (refused) */
    int32_t cpu;        /* core the callback's thread pins itself to on its first call; -1: left alone */
    int32_t pinned;     /* 0 before the first call, then 1 (on that core) or -1 (refused) */
} neurorack_shared;

static int32_t raise_priority(int32_t priority)
{
    struct sched_param param;
    int policy;
    pthread_t self = pthread_self();
    if (pthread_getschedparam(self, &policy, &param) == 0 && policy == SCHED_FIFO
            && param.sched_priority >= priority)
        return 1;
    param.sched_priority = priority;
    return pthread_setschedparam(self, SCHED_FIFO, &param) == 0 ? 1 : -1;
}

static int32_t pin_to_cpu(int32_t cpu)
{
    cpu_set_t set;
    if (cpu >= CPU_SETSIZE)
        return -1;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 ? 1 : -1;
}

#ifndef NEURORACK_SOURCE_DIGEST
#define NEURORACK_SOURCE_DIGEST ""
#endif

/* This file's SHA-256 when it was built (setup.py passes it), so that a build of an older
 * source is refused rather than run with another layout of neurorack_shared. */
const char *neurorack_source_digest(void)
{
    return NEURORACK_SOURCE_DIGEST;
}

void neurorack_store_release(int64_t *slot, int64_t value)
{
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
}

int neurorack_callback(const void *input, void *output, unsigned long frames,
                       const pa_time_info *time_info, unsigned long status, void *user)
{
    neurorack_shared *s = user;
    float *out = output;
    struct timespec now_ts;
    (void)input;

    if (s->pinned == 0 && s->cpu >= 0)
        s->pinned = pin_to_cpu(s->cpu);
    if (s->realtime == 0 && s->priority > 0)   /* last: the backend reads pinned once realtime is set */
        __atomic_store_n(&s->realtime, raise_priority(s->priority), __ATOMIC_RELEASE);
    if (status & PA_OUTPUT_UNDERFLOW)
        s->counters[UNDERFLOWS] += 1;

    /* CallbackTimeline.record: CLOCK_MONOTONIC is Python's time.monotonic() on Linux. */
    clock_gettime(CLOCK_MONOTONIC, &now_ts);
    double now = (double)now_ts.tv_sec + 1e-9 * (double)now_ts.tv_nsec;
    int64_t read = s->fifo_indices[READ_INDEX];
    int64_t k = s->record_count[0];
    int64_t slot = k & s->record_mask;
    s->record_read_index[slot] = read;
    s->record_called_at[slot] = now;
    s->record_stream_time[slot] = time_info ? time_info->current_time : 0.0;
    s->origins[k & s->origin_mask] = now - (double)read * s->inverse_rate;
    __atomic_store_n(&s->record_count[0], k + 1, __ATOMIC_RELEASE);

    /* SampleFifo.read_into, mono to every channel, then silence for what was missing. */
    int64_t written = __atomic_load_n(&s->fifo_indices[WRITE_INDEX], __ATOMIC_ACQUIRE);
    int64_t count = written - read;
    if (count > (int64_t)frames)
        count = (int64_t)frames;
    int channels = s->channels;
    for (int64_t i = 0; i < count; i++) {
        float sample = s->samples[(read + i) & s->sample_mask];
        for (int c = 0; c < channels; c++)
            out[i * channels + c] = sample;
    }
    if (count < (int64_t)frames) {
        for (int64_t i = count * channels; i < (int64_t)frames * channels; i++)
            out[i] = 0.0f;
        s->counters[LATE_RENDERS] += 1;
    }
    __atomic_store_n(&s->fifo_indices[READ_INDEX], read + count, __ATOMIC_RELEASE);
    return PA_CONTINUE;
}
