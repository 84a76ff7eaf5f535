#pragma once
/// @file
/// How the library is built, and its ABI namespace.
///
/// By default `pipeline::core` is a compiled library: the public headers declare the API
/// and the bodies of non-template functions live in `*-inl.hpp` files that only the
/// library's own translation units (`src/core/*.cpp`) include. Define
/// `PIPELINE_HEADER_ONLY` (or link `pipeline::core_header_only`) to include those bodies
/// in every translation unit instead, with no library to link.
///
/// Every public name lives in `pipeline::inline v0`: a program that mixes two
/// incompatible builds of the library fails to link instead of misbehaving. The
/// namespace changes with the ABI (see `CHANGELOG.md`); code keeps writing `pipeline::`.

#ifdef PIPELINE_HEADER_ONLY
/// Marks the definitions in `*-inl.hpp`: `inline` when they are included into every
/// translation unit, nothing when they are compiled once into the library.
#define PIPELINE_INLINE inline
#else
#define PIPELINE_INLINE
#endif
