/*
 * compiled.repeat(n): one native call runs a specialisation's entry point n times.
 * Between iterations each output slot moves to its next row of the stacked result, and each
 * draw's Philox offset moves on by the blocks its generator gives one call (what n Python calls
 * would claim); in-place updates need nothing: the entry writes them into the tensors the next
 * iteration reads. Returns 0, or the 1-based iteration whose entry reported an error (its
 * outputs and draws are left as that iteration saw them).
 */
#include <stdint.h>

typedef int (*graphc_entry_t)(void *const *slots, const uint64_t *draws, int threads);

int64_t graphc_repeat(void *entry, void **slots, uint64_t *draws, const uint64_t *draw_steps,
                      int64_t draw_count, const int64_t *moving_slots,
                      const int64_t *slot_steps, int64_t moving_count, int64_t n, int threads)
{
    const graphc_entry_t call = (graphc_entry_t)entry;
    for (int64_t iteration = 0; iteration < n; iteration++) {
        if (iteration > 0) {
            for (int64_t k = 0; k < moving_count; k++)
                slots[moving_slots[k]] = (char *)slots[moving_slots[k]] + slot_steps[k];
            for (int64_t d = 0; d < draw_count; d++)
                draws[2 * d + 1] += draw_steps[d];  /* wraps at 2^64, as Generator.claim */
        }
        if (call(slots, draws, threads))
            return iteration + 1;
    }
    return 0;
}
