/* arena.c — the tape's chunk lists.
 *
 * A tape has two arenas of the same kind: `meta` (nodes, tensor headers,
 * plans, leaves, constants, scratch) and `data` (the buffers a memory plan
 * may place: op outputs and saved blocks of recorded nodes). Each is a list
 * of chunks that bm_tape_reset() rewinds without freeing, so recording the
 * same graph again reuses the same memory and calls the allocator zero
 * times. The memory planner (memplan.c) swaps the data arena for one slab. */
#include <string.h>

#include "engine_internal.h"

/* Place `bytes` in chunk c if they fit; NULL otherwise. */
static void *chunk_take(chunk *c, size_t bytes, size_t align)
{
    size_t start = (c->used + align - 1) & ~(align - 1);
    if (start > c->cap || bytes > c->cap - start)
        return NULL;
    c->used = start + bytes;
    return c->base + start;
}

chunk *bm_chunk_new(bm_tape *tape, size_t cap)
{
    if (cap > SIZE_MAX - sizeof(chunk) - BM_ARENA_ALIGN) {
        bm_tape_fail(tape, BM_ERR_NOMEM, "out of memory: arena request of %zu bytes", cap);
        return NULL;
    }
    chunk *c = tape->alloc.alloc(tape->alloc.ud, sizeof(chunk) + BM_ARENA_ALIGN + cap);
    if (!c) {
        bm_tape_fail(tape, BM_ERR_NOMEM, "out of memory: arena request of %zu bytes", cap);
        return NULL;
    }
    uintptr_t raw = (uintptr_t)(c + 1);
    c->base = (unsigned char *)((raw + BM_ARENA_ALIGN - 1) & ~(uintptr_t)(BM_ARENA_ALIGN - 1));
    c->cap = cap;
    c->used = 0;
    c->next = NULL;
    return c;
}

void *bm_arena_alloc(bm_tape *tape, bm_arena *a, size_t bytes, size_t align)
{
    if (bytes == 0)
        bytes = 1;
    /* Try the current chunk, then later chunks kept from before a reset. */
    for (chunk *c = a->cur; c; c = c->next) {
        void *p = chunk_take(c, bytes, align);
        if (p) {
            a->cur = c;
            return p;
        }
    }
    size_t size = BM_ARENA_CHUNK;
    if (a->grows) {
        size_t held = bm_arena_cap(a);
        size = held < BM_ARENA_MIN_CHUNK ? BM_ARENA_MIN_CHUNK : held < size ? held : size;
    }
    chunk *c = bm_chunk_new(tape, bytes > size ? bytes : size);
    if (!c)
        return NULL;
    /* Append at the end so the chunk order stays the allocation order. */
    if (!a->first) {
        a->first = c;
    } else {
        chunk *last = a->cur ? a->cur : a->first;
        while (last->next)
            last = last->next;
        last->next = c;
    }
    a->cur = c;
    return chunk_take(c, bytes, align);
}

void bm_arena_rewind(bm_arena *a)
{
    for (chunk *c = a->first; c; c = c->next)
        c->used = 0;
    a->cur = a->first;
}

void bm_arena_release(bm_tape *tape, bm_arena *a)
{
    chunk *c = a->first;
    while (c) {
        chunk *next = c->next;
        tape->alloc.free(tape->alloc.ud, c);
        c = next;
    }
    a->first = a->cur = NULL;
}

size_t bm_arena_cap(const bm_arena *a)
{
    size_t n = 0;
    for (const chunk *c = a->first; c; c = c->next)
        n += c->cap;
    return n;
}

int bm_arena_holds(const bm_arena *a, const void *p)
{
    uintptr_t q = (uintptr_t)p;
    for (const chunk *c = a->first; c; c = c->next)
        if (q >= (uintptr_t)c->base && q < (uintptr_t)c->base + c->cap)
            return 1;
    return 0;
}

void *bm_tape_alloc(bm_tape *tape, size_t bytes)
{
    return bm_arena_alloc(tape, &tape->meta, bytes, BM_ARENA_ALIGN);
}

size_t bm_tape_arena_bytes(const bm_tape *tape)
{
    return tape ? bm_arena_cap(&tape->meta) + bm_arena_cap(&tape->data) : 0;
}
