# What `cmake --install` puts in a prefix, and how installed files find each
# other. Included at the end of the top-level CMakeLists.txt, once every
# target exists.
#
# - liblocus-hints is the one installed library: besides the hint store it
#   carries the functions of the other installed headers (status codes of
#   error.h, the plugin loader of allocator_loader.h), and a version script
#   exports exactly those (cmake/locus-hints.map).
# - Installed programs and the plugin find it through RPATH $ORIGIN/../lib,
#   so a prefix works without ld.so.conf or LD_LIBRARY_PATH and can be moved.
# - find_package(Locus) (lib/cmake/Locus) and pkg-config (locus.pc) describe
#   it to other builds.
include(CMakePackageConfigHelpers)

target_sources(locus_hints PRIVATE
  ${PROJECT_SOURCE_DIR}/common/src/error.c
  ${PROJECT_SOURCE_DIR}/allocator/src/loader.c)
target_include_directories(locus_hints PRIVATE ${PROJECT_SOURCE_DIR}/allocator/include)
target_compile_definitions(locus_hints PRIVATE
  LOCUS_PLUGIN_BUILD_PATH="${CMAKE_BINARY_DIR}/allocator/locus-allocator.so"
  LOCUS_PLUGIN_INSTALL_PATH="${CMAKE_INSTALL_FULL_LIBDIR}/locus/locus-allocator.so")
target_compile_definitions(locus_hints PRIVATE LOCUS_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")
target_compile_definitions(locus_allocator_loader PRIVATE LOCUS_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")
target_link_libraries(locus_hints PRIVATE ${CMAKE_DL_LIBS})
set(LOCUS_HINTS_MAP ${PROJECT_SOURCE_DIR}/cmake/locus-hints.map)
target_link_options(locus_hints PRIVATE -Wl,--version-script=${LOCUS_HINTS_MAP} -Wl,--no-undefined)
set_property(TARGET locus_hints APPEND PROPERTY LINK_DEPENDS ${LOCUS_HINTS_MAP})

# Programs in bin/ and the library itself look in ../lib; the plugin and the
# Mesos module in lib/locus/ look one level up.
file(RELATIVE_PATH LOCUS_BIN_TO_LIB ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH LOCUS_PLUGIN_TO_LIB ${CMAKE_INSTALL_FULL_LIBDIR}/locus ${CMAKE_INSTALL_FULL_LIBDIR})
foreach(program locus-probe locus-hints locus-sim locus-alloc-config)
  if(TARGET ${program})
    set_target_properties(${program} PROPERTIES INSTALL_RPATH "$ORIGIN/${LOCUS_BIN_TO_LIB}")
  endif()
endforeach()
foreach(module locus_allocator_plugin locus_mesos_allocator)
  if(TARGET ${module})
    set_target_properties(${module} PROPERTIES INSTALL_RPATH "$ORIGIN/${LOCUS_PLUGIN_TO_LIB}")
  endif()
endforeach()

# CMake package: Locus::hints (library + headers) and LOCUS_PLUGIN_PATH.
set(LOCUS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Locus)
file(RELATIVE_PATH LOCUS_CONFIG_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${LOCUS_CMAKE_DIR} ${CMAKE_INSTALL_PREFIX})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/LocusConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/LocusConfig.cmake INSTALL_DESTINATION ${LOCUS_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/LocusConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/LocusConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/LocusConfigVersion.cmake DESTINATION ${LOCUS_CMAKE_DIR})
