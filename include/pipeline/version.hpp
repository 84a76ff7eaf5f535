#pragma once
/// @file
/// The library's version: the one place it is written. CMake reads it from here.

#define PIPELINE_VERSION_MAJOR 0
#define PIPELINE_VERSION_MINOR 2
#define PIPELINE_VERSION_PATCH 0

namespace pipeline::inline v0 {
/// The version as "MAJOR.MINOR.PATCH".
inline constexpr const char* kVersion = "0.2.0";
}  // namespace pipeline::inline v0
