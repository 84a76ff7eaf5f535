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
