/* test_alloc_wrap.h — the allocator-counting wrappers shared by the tests
 * that check a steady-state training step calls the process allocator zero
 * times (test_threads.c, test_layers_alloc.c).
 *
 * Include it from exactly one file of a test binary linked with
 * -Wl,--wrap=malloc,calloc,realloc,aligned_alloc,posix_memalign
 * (tests/meson.build): every call from the test and from the static libbmnn
 * then lands in the __wrap_ functions below. Their counter is a test-only
 * process-wide global; the library itself has none. */
#ifndef BM_TEST_ALLOC_WRAP_H
#define BM_TEST_ALLOC_WRAP_H

#include <stdatomic.h>
#include <stddef.h>

static atomic_size_t n_allocs; /* test-only global: calls of the wrapped allocators */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __real_aligned_alloc(a, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    atomic_fetch_add(&n_allocs, 1);
    return __real_posix_memalign(p, a, n);
}

/* The number of allocator calls so far. */
static size_t allocs(void) { return atomic_load(&n_allocs); }

#endif
