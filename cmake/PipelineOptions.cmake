# Build flags for this project's own targets (never forced on consumers).

set(PIPELINE_WARNING_FLAGS -Wall -Wextra -Wpedantic)
if(PIPELINE_WERROR)
  list(APPEND PIPELINE_WARNING_FLAGS -Werror)
endif()

if(PIPELINE_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${PIPELINE_SANITIZE}")
  foreach(_s ${_sanitizers})
    if(NOT _s MATCHES "^(address|undefined|thread)$")
      message(FATAL_ERROR "PIPELINE_SANITIZE: unknown sanitizer '${_s}' (use address,undefined or thread)")
    endif()
  endforeach()
  # Applied globally so header-only code instantiated anywhere is instrumented alike.
  add_compile_options(-fsanitize=${PIPELINE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PIPELINE_SANITIZE})
endif()

# pipeline_apply_flags(target): warnings (and -Werror when asked) for our own targets.
function(pipeline_apply_flags target)
  target_compile_options(${target} PRIVATE ${PIPELINE_WARNING_FLAGS})
endfunction()

# ---- the compiled adapters: PIPELINE_WITH_<ADAPTER> ---------------------------------------
# pipeline_adapter_option(<ADAPTER> <description> [PROBE_ALWAYS]
#                         [FIND_PACKAGE "<find_package args>"]... [PKG_CONFIG <module>...])
#
# Declares the cache option PIPELINE_WITH_<ADAPTER>, which builds pipeline::<adapter>
# (and the package component of the same name). Its default:
#   - top-level build: ON. A missing dependency stops the configure, so a developer's or
#     CI's build never silently leaves an adapter out.
#   - subproject (add_subdirectory, FetchContent): ON when the adapter's dependencies are
#     found, so `pipeline::sqlite` and `pipeline::schedule` are there to link as soon as
#     their Debian packages are installed, and a missing one never breaks the parent's
#     configure (the adapter is left out, with a status line saying what to install).
#     Nothing is compiled unless something links it when the parent adds pipeline with
#     EXCLUDE_FROM_ALL.
# PROBE_ALWAYS makes the top-level default the subproject's too (ON when found), for a
# target only tests need (pipeline::gmock: a top-level build with tests needs GoogleTest
# anyway, so it is never left out there). Either way -DPIPELINE_WITH_<ADAPTER>=ON|OFF
# decides. The default is computed on the first configure and then kept in the cache:
# installing a package later needs =ON (or a fresh build directory).
function(pipeline_adapter_option adapter description)
  cmake_parse_arguments(PARSE_ARGV 2 arg "PROBE_ALWAYS" "" "FIND_PACKAGE;PKG_CONFIG")
  set(_var PIPELINE_WITH_${adapter})
  if(DEFINED ${_var})  # set by the user, the parent project or an earlier configure
    return()
  endif()
  set(_default ON)
  set(_missing "")
  if(NOT PIPELINE_IS_TOP_LEVEL OR arg_PROBE_ALWAYS)
    foreach(_spec IN LISTS arg_FIND_PACKAGE)
      separate_arguments(_args UNIX_COMMAND "${_spec}")
      list(GET _args 0 _name)
      find_package(${_args} QUIET)
      if(NOT ${_name}_FOUND)
        list(APPEND _missing "${_spec}")
      endif()
    endforeach()
    if(arg_PKG_CONFIG)
      find_package(PkgConfig QUIET)
      foreach(_module IN LISTS arg_PKG_CONFIG)
        if(PKG_CONFIG_FOUND)
          pkg_check_modules(_pipeline_probe_${_module} QUIET ${_module})
        endif()
        if(NOT _pipeline_probe_${_module}_FOUND)
          list(APPEND _missing "pkg-config ${_module}")
        endif()
      endforeach()
    endif()
    if(_missing)
      set(_default OFF)
      list(JOIN _missing ", " _missing)
      message(STATUS "pipeline: ${_var} defaults to OFF (not found: ${_missing}); "
                     "install it and configure with -D${_var}=ON to build it")
    endif()
  endif()
  option(${_var} "${description}" ${_default})
endfunction()
