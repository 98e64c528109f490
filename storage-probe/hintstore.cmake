# liblocus-hints: the hint store (LMDB + protobuf-c), shared by the probe,
# the allocator plugin and the simulator, and the locus-hints operator CLI.
add_library(locus_hints SHARED
  src/hintstore.c src/hintstore_arena.c src/hintstore_codec.c
  src/hintstore_batch.c src/hintstore_snapshot.c)
set_target_properties(locus_hints PROPERTIES OUTPUT_NAME locus-hints VERSION ${PROJECT_VERSION} SOVERSION 0)
target_include_directories(locus_hints PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
target_link_libraries(locus_hints PUBLIC locus_common PRIVATE locus_proto PkgConfig::LMDB)
install(TARGETS locus_hints LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/locus/hintstore.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/locus)

# locus-hints: inspect and seed a store by hand (JSON in and out).
add_executable(locus-hints tools/locus-hints.c)
target_link_libraries(locus-hints PRIVATE locus_hints PkgConfig::JANSSON)
install(TARGETS locus-hints RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# A small seed file for trying the CLI (docs/hint-store.md).
install(FILES tools/sample-hints.jsonl DESTINATION ${CMAKE_INSTALL_DATADIR}/locus/examples)
