# locus-probe: the storage probe daemon (libevent loop, HTTP API, metrics) and
# its backends. Everything but main() goes into the static library
# locus_probe_core so tests link the same code the daemon runs.
#
# Sources are probe_*.c, backends.c and backend_*.c (the hint store the probe
# writes is the locus_hints library in hintstore/). Backends are picked up by
# file name (CONFIGURE_DEPENDS re-globs at build time): a backend whose file
# is absent from a tree is simply left out, and backends.c learns which ones
# are present from LOCUS_PROBE_HAVE_<NAME> definitions so that present ones
# are referenced strongly (a weak reference would not pull their object out
# of the static archive).
set(LOCUS_PROBE_BACKENDS "static;redis;alluxio;hdfs" CACHE STRING
  "Backends built into locus-probe (a subset of static;redis;alluxio;hdfs)")

file(GLOB LOCUS_PROBE_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/probe_*.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backend_*.c
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backends.c)
list(REMOVE_ITEM LOCUS_PROBE_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/src/probe_main.c)

set(LOCUS_PROBE_HAVE)
foreach(backend static redis alluxio hdfs)
  string(TOUPPER ${backend} upper)
  if(NOT backend IN_LIST LOCUS_PROBE_BACKENDS)
    # Left out: drop its files (backend_<name>.c and backend_<name>_*.c).
    list(FILTER LOCUS_PROBE_SOURCES EXCLUDE REGEX "/src/backend_${backend}(_[^/]*)?\\.c$")
  elseif(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/backend_${backend}.c)
    list(APPEND LOCUS_PROBE_HAVE LOCUS_PROBE_HAVE_${upper}=1)
  endif()
endforeach()

# Read by tests/probe-core (another directory scope).
set_property(GLOBAL PROPERTY LOCUS_PROBE_HAVE "${LOCUS_PROBE_HAVE}")

add_library(locus_probe_core STATIC ${LOCUS_PROBE_SOURCES})
target_include_directories(locus_probe_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(locus_probe_core PRIVATE ${LOCUS_PROBE_HAVE}
  LOCUS_PROBE_VERSION="${PROJECT_VERSION}")
target_link_libraries(locus_probe_core PUBLIC
  locus_hints locus_common PkgConfig::LIBEVENT PkgConfig::HIREDIS PkgConfig::JANSSON PkgConfig::CURL
  Threads::Threads m)

add_executable(locus-probe ${CMAKE_CURRENT_SOURCE_DIR}/src/probe_main.c)
target_link_libraries(locus-probe PRIVATE locus_probe_core)
install(TARGETS locus-probe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/locus-probe.conf.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR} OPTIONAL)
