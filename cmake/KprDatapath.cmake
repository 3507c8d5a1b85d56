# kpr_add_datapath(<name> SCHEMA <cluster.yaml> [OUTPUT_DIR <dir>])
#
# Generates and compiles a cluster's data path at build time with kpr-gen:
# <dir>/kpr_sock.bpf.c (the specialised source) and <dir>/kpr_sock.bpf.o
# (the object kpr-agent loads). The target <name> builds both; the
# variable <name>_OBJECT names the object for tests and install rules.
function(kpr_add_datapath name)
  cmake_parse_arguments(ARG "" "SCHEMA;OUTPUT_DIR" "" ${ARGN})
  if(NOT ARG_SCHEMA)
    message(FATAL_ERROR "kpr_add_datapath(${name}): SCHEMA is required")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/${name})
  endif()
  file(GLOB_RECURSE templates CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bpf-templates/*)
  set(outputs ${ARG_OUTPUT_DIR}/kpr_sock.bpf.c ${ARG_OUTPUT_DIR}/kpr_sock.bpf.o)
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND kpr-gen build --schema ${ARG_SCHEMA} --out-dir ${ARG_OUTPUT_DIR}
    DEPENDS kpr-gen ${ARG_SCHEMA} ${templates}
    COMMENT "kpr-gen: building the data path for ${ARG_SCHEMA}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${outputs})
  set(${name}_OBJECT ${ARG_OUTPUT_DIR}/kpr_sock.bpf.o PARENT_SCOPE)
endfunction()
