# kpr_add_datapath(<name> SCHEMA <cluster.yaml> [OUTPUT_DIR <dir>] [CHECK])
#
# Builds a cluster's data path at build time with kpr-gen:
#   <dir>/kpr_sock.bpf.c         the specialised source
#   <dir>/kpr_sock.bpf.o         the object kpr-agent loads
#   <dir>/kpr_sock.manifest.json what it was built from (kpr-agent checks it)
# and, when the schema's tcPrograms has podIngress or podEgress, the same
# three files for kpr_tc (the pod TC programs). The target <name> builds
# them; <name>_OBJECT and <name>_MANIFEST name the socket object and its
# manifest, <name>_TC_OBJECT and <name>_TC_MANIFEST the TC ones (empty
# without TC programs), for tests and install rules. CHECK adds the test
# <name>.check: `kpr-gen check`, which loads every program into the
# kernel's verifier when the test runs with CAP_BPF (and says it skipped
# otherwise).
#
# Inside the kpr build the kpr-gen target is used. A cluster repository
# includes this file from a kpr checkout or install and sets KPR_GEN to the
# kpr-gen executable (see examples/cluster-repo/).
function(kpr_add_datapath name)
  cmake_parse_arguments(ARG "CHECK" "SCHEMA;OUTPUT_DIR" "" ${ARGN})
  if(NOT ARG_SCHEMA)
    message(FATAL_ERROR "kpr_add_datapath(${name}): SCHEMA is required")
  endif()
  get_filename_component(schema ${ARG_SCHEMA} ABSOLUTE)
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/${name})
  endif()
  if(TARGET kpr-gen)
    set(generator kpr-gen)
    file(GLOB_RECURSE generator_inputs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/bpf-templates/*)
    list(APPEND generator_inputs kpr-gen)
  elseif(KPR_GEN)
    set(generator ${KPR_GEN})
    set(generator_inputs ${KPR_GEN})
  else()
    message(FATAL_ERROR "kpr_add_datapath(${name}): set KPR_GEN to the kpr-gen executable")
  endif()
  set(outputs ${ARG_OUTPUT_DIR}/kpr_sock.bpf.c ${ARG_OUTPUT_DIR}/kpr_sock.bpf.o
              ${ARG_OUTPUT_DIR}/kpr_sock.manifest.json)
  # Whether kpr-gen will write the TC object, read from the schema at
  # configure time (comments left out): the build must know its outputs.
  file(STRINGS ${schema} schema_lines REGEX "podIngress|podEgress")
  list(FILTER schema_lines EXCLUDE REGEX "^[ \t]*#")
  if(schema_lines)
    set(tc_object ${ARG_OUTPUT_DIR}/kpr_tc.bpf.o)
    set(tc_manifest ${ARG_OUTPUT_DIR}/kpr_tc.manifest.json)
    list(APPEND outputs ${ARG_OUTPUT_DIR}/kpr_tc.bpf.c ${tc_object} ${tc_manifest})
  else()
    set(tc_object "")
    set(tc_manifest "")
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${generator} build --schema ${schema} --out-dir ${ARG_OUTPUT_DIR}
    DEPENDS ${schema} ${generator_inputs}
    COMMENT "kpr-gen: building the data path for ${ARG_SCHEMA}"
    VERBATIM)
  add_custom_target(${name} ALL DEPENDS ${outputs})
  if(ARG_CHECK)
    add_test(NAME ${name}.check COMMAND ${generator} check --schema ${schema})
    set_tests_properties(${name}.check PROPERTIES PASS_REGULAR_EXPRESSION
                         "every program loads in this kernel|skipped: needs CAP_BPF")
  endif()
  set(${name}_OBJECT ${ARG_OUTPUT_DIR}/kpr_sock.bpf.o PARENT_SCOPE)
  set(${name}_MANIFEST ${ARG_OUTPUT_DIR}/kpr_sock.manifest.json PARENT_SCOPE)
  set(${name}_TC_OBJECT ${tc_object} PARENT_SCOPE)
  set(${name}_TC_MANIFEST ${tc_manifest} PARENT_SCOPE)
endfunction()
