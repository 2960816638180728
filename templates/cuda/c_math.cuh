/*
 * c_math.cuh: C's <math.h> for generated kernels. A formula calls a math function by its C
 * name: `fmod`, `sin` and `pow` compute in double, whatever the argument types, as in the C
 * backend. In C++ (CUDA) the same names are overloaded: sin(float) would compute in float, and
 * fmod(float, double) picks a host-only std template that device code may not call. Inside the
 * namespace graphc_kernels, GRAPHC_C_MATH(name) declares `name` as a function that converts every
 * argument to double and calls the global one: it hides the overloads, so a call means what it
 * means in C. (The float names, sinf and fmodf, are not overloaded and stay as they are.)
 */
#ifndef GRAPHC_C_MATH_CUH
#define GRAPHC_C_MATH_CUH

#include "graphc_cuda.cuh"

#define GRAPHC_C_MATH(name)                                  \
    template <class... T>                                    \
    __host__ __device__ inline double name(T... arguments)   \
    {                                                        \
        return ::name(static_cast<double>(arguments)...);    \
    }

#endif  /* GRAPHC_C_MATH_CUH */
