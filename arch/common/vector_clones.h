#pragma once
// The build targets baseline x86-64 (SSE2), which lacks the 16- and 32-bit widening multiplies
// the hot per-PE loops need. Functions marked CODESIM_VECTOR_CLONES are compiled twice, for AVX2
// and for the baseline, and the loader picks the one the CPU can run (GCC function
// multiversioning), so binaries stay portable and run ~3x faster where AVX2 exists.

// The loops they call are marked CODESIM_ALWAYS_INLINE so that they are compiled into each clone.

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CODESIM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CODESIM_VECTOR_CLONES
#endif

#if defined(__GNUC__)
#define CODESIM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CODESIM_ALWAYS_INLINE inline
#endif
