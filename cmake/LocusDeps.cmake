# Finds Locus's system libraries through pkg-config. A missing one stops the
# configure step with the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(locus_require_pkg var module debian_pkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian_pkg}")
  endif()
endfunction()

function(locus_require_program var program debian_pkg)
  find_program(${var} ${program})
  if(NOT ${var})
    message(FATAL_ERROR "${program} not found: apt-get install ${debian_pkg}")
  endif()
endfunction()

locus_require_pkg(LIBEVENT libevent libevent-dev)
locus_require_pkg(LIBEVENT_PTHREADS libevent_pthreads libevent-dev)
locus_require_pkg(PROTOBUF_C libprotobuf-c libprotobuf-c-dev)
locus_require_pkg(HIREDIS hiredis libhiredis-dev)
locus_require_pkg(LMDB lmdb liblmdb-dev)
locus_require_pkg(JANSSON jansson libjansson-dev)
# The probe's Alluxio and WebHDFS client (keep-alive, HTTPS, SPNEGO, proxies).
locus_require_pkg(CURL libcurl libcurl4-openssl-dev)
locus_require_program(PROTOC_C protoc-c protobuf-c-compiler)
if(LOCUS_BUILD_TESTS)
  locus_require_pkg(CMOCKA cmocka libcmocka-dev)
endif()
find_package(Threads REQUIRED)
